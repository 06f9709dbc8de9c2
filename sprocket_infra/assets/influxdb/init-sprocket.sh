#!/bin/sh
# Runs once, after the image's first-start setup (org, admin, 'metrics' bucket) and never again.
# Creates the platform's bucket and one InfluxDB 1.x-compatible login per reader/writer, each scoped to
# the buckets it needs, with passwords read from Docker secret files. Prints no secret.
set -eu

need() {
  eval "value=\${$1:-}"
  if [ -z "$value" ]; then
    echo "init-sprocket: $1 is not set" >&2
    exit 1
  fi
}
for var in DOCKER_INFLUXDB_INIT_ORG DOCKER_INFLUXDB_INIT_BUCKET SPROCKET_PLATFORM_BUCKET \
  SPROCKET_PLATFORM_RETENTION SPROCKET_TELEGRAF_PASSWORD_FILE SPROCKET_GRAFANA_PASSWORD_FILE \
  SPROCKET_PLATFORM_PASSWORD_FILE; do
  need "$var"
done

org="$DOCKER_INFLUXDB_INIT_ORG"
bucket_id() {
  influx bucket list --org "$org" --name "$1" --hide-headers | cut -f 1
}

influx bucket create --org "$org" --name "$SPROCKET_PLATFORM_BUCKET" \
  --retention "$SPROCKET_PLATFORM_RETENTION" >/dev/null
metrics_id="$(bucket_id "$DOCKER_INFLUXDB_INIT_BUCKET")"
platform_id="$(bucket_id "$SPROCKET_PLATFORM_BUCKET")"

# 1.x clients name a database; map each bucket to a database of the same name.
influx v1 dbrp create --org "$org" --db "$DOCKER_INFLUXDB_INIT_BUCKET" --rp autogen \
  --bucket-id "$metrics_id" --default >/dev/null
influx v1 dbrp create --org "$org" --db "$SPROCKET_PLATFORM_BUCKET" --rp autogen \
  --bucket-id "$platform_id" --default >/dev/null

login() {
  user="$1"
  file="$2"
  shift 2
  influx v1 auth create --org "$org" --username "$user" --password "$(cat "$file")" "$@" >/dev/null
  echo "init-sprocket: created login $user"
}
login telegraf "$SPROCKET_TELEGRAF_PASSWORD_FILE" --write-bucket "$metrics_id"
login grafana "$SPROCKET_GRAFANA_PASSWORD_FILE" --read-bucket "$metrics_id" --read-bucket "$platform_id"
login platform "$SPROCKET_PLATFORM_PASSWORD_FILE" --read-bucket "$platform_id" --write-bucket "$platform_id"
