#!/bin/sh
# One-shot (temporalio/admin-tools): creates the Temporal databases on PostgreSQL and applies the
# schema, or upgrades it. Safe to re-run: existing databases are kept, applied versions skipped.
# Env: POSTGRES_SEEDS (host), DB_PORT, POSTGRES_USER, SQL_PASSWORD.
set -eu
: "${POSTGRES_SEEDS:?POSTGRES_SEEDS is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
PORT="${DB_PORT:-5432}"
SCHEMA=/etc/temporal/schema/postgresql/v12

echo "waiting for PostgreSQL at ${POSTGRES_SEEDS}:${PORT}"
until nc -z -w 5 "${POSTGRES_SEEDS}" "${PORT}"; do sleep 1; done

sql() { temporal-sql-tool --plugin postgres12 --ep "${POSTGRES_SEEDS}" -u "${POSTGRES_USER}" -p "${PORT}" "$@"; }

for db in temporal temporal_visibility; do
  dir=temporal
  [ "$db" = temporal_visibility ] && dir=visibility
  echo "schema for database ${db}"
  sql --db "$db" create
  sql --db "$db" setup-schema -v 0.0
  sql --db "$db" update-schema -d "${SCHEMA}/${dir}/versioned"
done
echo "Temporal schema ready"
