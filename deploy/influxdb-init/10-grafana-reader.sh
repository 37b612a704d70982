#!/bin/bash
# Runs once, on InfluxDB's first start (docker-entrypoint-initdb.d; skipped when influxd.bolt already
# exists in the influx-data volume), after `influx setup`: the entrypoint has pointed the influx CLI at
# its temporary setup instance with the operator token and exported DOCKER_INFLUXDB_INIT_ORG_ID and
# DOCKER_INFLUXDB_INIT_BUCKET_ID.
#
# Creates a read-only InfluxQL (v1 compatibility) login for Grafana on the pipeline's bucket, so the
# dashboards never hold the token the services write with. Its password comes from .env
# (INFLUX_GRAFANA_PASSWORD); to change it later:
#   docker compose exec influxdb influx v1 auth set-password --username grafana --password '<new>'
# then update .env and `docker compose up -d grafana`.
set -euo pipefail

user="${INFLUX_GRAFANA_USER:-grafana}"
if [ -z "${INFLUX_GRAFANA_PASSWORD:-}" ]; then
  echo "10-grafana-reader: INFLUX_GRAFANA_PASSWORD is empty; refusing to create a login without a password" >&2
  exit 1
fi

influx v1 auth create \
  --org-id "${DOCKER_INFLUXDB_INIT_ORG_ID}" \
  --username "${user}" \
  --password "${INFLUX_GRAFANA_PASSWORD}" \
  --read-bucket "${DOCKER_INFLUXDB_INIT_BUCKET_ID}" \
  --description "grafana: read-only InfluxQL on ${DOCKER_INFLUXDB_INIT_BUCKET}"
echo "10-grafana-reader: read-only v1 login '${user}' created on bucket ${DOCKER_INFLUXDB_INIT_BUCKET}"
