#!/usr/bin/env bash
# Validates docker-compose.yml without a Docker engine (`config -q` parses, checks types and
# interpolates; it starts nothing). Uses Debian's Compose v1 (`apt-get install docker-compose`) or
# Compose v2 (`docker compose`), whichever is installed.
#   deploy/check-compose.sh          CI: .env.example with placeholders for its empty REQUIRED values,
#                                    with and without the demo and cluster profiles; the unfilled example must fail
#   deploy/check-compose.sh .env     your own .env, before `docker compose up -d`
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  echo "check-compose: neither docker-compose nor docker compose is installed (apt-get install docker-compose)" >&2
  exit 2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT
# a clean environment: variables of the caller's shell must not fill gaps in the .env file
config() {
  local env_file=$1
  shift
  env -i PATH="${PATH}" HOME="${tmp}" "${compose[@]}" --project-directory . -f docker-compose.yml --env-file "${env_file}" "$@" config -q
}

if [ $# -ge 1 ]; then
  config "$1"
  config "$1" --profile demo
  config "$1" --profile cluster
  echo "check-compose: docker-compose.yml is valid with $1"
  exit 0
fi

# every ${VAR:?…} of docker-compose.yml
required="$(grep -o '\${[A-Za-z0-9_]*:?' docker-compose.yml | sed 's/^\${//; s/:?$//' | sort -u)"
while IFS= read -r line || [ -n "${line}" ]; do
  name="${line%%=*}"
  if [[ "${line}" =~ ^[A-Z0-9_]+=$ ]] && grep -qx "${name}" <<<"${required}"; then
    case "${name}" in
      *_URL) echo "${name}=https://ews.example.invalid" ;;
      *) echo "${name}=ci-placeholder-${name,,}-0123456789" ;;
    esac
  else
    echo "${line}"
  fi
done <.env.example >"${tmp}/filled.env"

config "${tmp}/filled.env"
config "${tmp}/filled.env" --profile demo
config "${tmp}/filled.env" --profile cluster
if config .env.example 2>"${tmp}/unfilled.err"; then
  echo "check-compose: the unfilled .env.example was accepted; every secret must be \${VAR:?…}" >&2
  exit 1
fi
grep -qi 'required\|mandatory' "${tmp}/unfilled.err" || { cat "${tmp}/unfilled.err" >&2; exit 1; }
echo "check-compose: docker-compose.yml is valid ($(wc -l <<<"${required}") required values filled with placeholders; the unfilled .env.example is refused)"
