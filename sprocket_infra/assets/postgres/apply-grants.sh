#!/bin/sh
# Applies the rendered PostgreSQL grants as the cluster's admin, then runs its arguments (the Swarm
# service passes a long sleep, so the task stays up and its healthcheck says the grants are in place).
# The admin login is read from Docker secret files into this process only; nothing secret is printed.
# The server may not be reachable yet (a new cluster, a firewall rule still applying): psql is retried
# a bounded number of times, then the script fails and Swarm's restart policy takes over.
set -eu

need() {
  eval "value=\${$1:-}"
  if [ -z "$value" ]; then
    echo "apply-grants: $1 is not set" >&2
    exit 1
  fi
}
for var in PGHOST PGPORT PGDATABASE SPROCKET_ADMIN_USER_FILE SPROCKET_ADMIN_PASSWORD_FILE \
  SPROCKET_GRANTS_FILE SPROCKET_GRANTS_ATTEMPTS SPROCKET_GRANTS_RETRY_S; do
  need "$var"
done
if [ "$#" -eq 0 ]; then
  echo "apply-grants: give the command to run once the grants are applied" >&2
  exit 1
fi

PGUSER="$(cat "$SPROCKET_ADMIN_USER_FILE")"
PGPASSWORD="$(cat "$SPROCKET_ADMIN_PASSWORD_FILE")"
export PGUSER PGPASSWORD

attempt=1
until psql --no-psqlrc --quiet --file="$SPROCKET_GRANTS_FILE"; do
  if [ "$attempt" -ge "$SPROCKET_GRANTS_ATTEMPTS" ]; then
    echo "apply-grants: psql failed $attempt times against $PGHOST:$PGPORT; giving up" >&2
    exit 1
  fi
  echo "apply-grants: attempt $attempt failed; retrying in $SPROCKET_GRANTS_RETRY_S s" >&2
  attempt=$((attempt + 1))
  sleep "$SPROCKET_GRANTS_RETRY_S"
done
unset PGPASSWORD
echo "apply-grants: grants applied to $PGHOST:$PGPORT"
exec "$@"
