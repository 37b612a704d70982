#!/usr/bin/env bash
# Gives Grafana a read-only InfluxDB token in place of the operator token it starts with.
# Run on the server from the repository root, once `docker compose up -d` has set InfluxDB up:
#   deploy/grafana-read-token.sh
# It creates a token that may only read the bucket INFLUX_BUCKET, writes it to .env as
# INFLUX_GRAFANA_TOKEN and recreates the grafana container. The old value is kept in .env.bak.
# (Written for Docker Compose v2 or v1; CI has no Docker engine, so this script is not run there.)
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "grafana-read-token: $*" >&2; exit 1; }
[ -f .env ] || fail ".env not found (cp .env.example .env first)"
if docker compose version >/dev/null 2>&1; then compose=(docker compose); else compose=(docker-compose); fi

value() { sed -n "s/^$1=//p" .env | tail -n 1; }
bucket="$(value INFLUX_BUCKET)"; bucket="${bucket:-ews}"
org="$(value INFLUX_ORG)"; org="${org:-laichau}"

# the influx CLI inside the container is configured with the operator token at first start
bucket_id="$("${compose[@]}" exec -T influxdb influx bucket list --org "${org}" --name "${bucket}" --hide-headers | cut -f 1 | tr -d '[:space:]')"
[ -n "${bucket_id}" ] || fail "bucket ${bucket} not found in org ${org} (is influxdb up and healthy?)"

token="$("${compose[@]}" exec -T influxdb influx auth create --org "${org}" --read-bucket "${bucket_id}" \
  --description "grafana: read-only ${bucket}" --json | sed -n 's/^ *"token": *"\([^"]*\)".*/\1/p')"
[ -n "${token}" ] || fail "influx auth create returned no token"

cp -p .env .env.bak
if grep -q '^INFLUX_GRAFANA_TOKEN=' .env; then
  sed -i "s|^INFLUX_GRAFANA_TOKEN=.*|INFLUX_GRAFANA_TOKEN=${token}|" .env
else
  printf 'INFLUX_GRAFANA_TOKEN=%s\n' "${token}" >> .env
fi
"${compose[@]}" up -d grafana
echo "grafana-read-token: Grafana now reads ${bucket} with a read-only token (previous .env in .env.bak)."
echo "  Once the dashboards show data, delete .env.bak: it holds the old value."
