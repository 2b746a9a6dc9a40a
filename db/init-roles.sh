#!/bin/sh
# Run by the postgres image once, on an empty data directory (docker-entrypoint-initdb.d), as
# POSTGRES_USER, the owner of POSTGRES_DB: makes the two roles the other services log in as.
# - The application role (user and password from the app_database_url secret): no superuser, no
#   DDL; it may read and write the tables that the owner's migrations create, nothing else.
# - `replicator`, a replication-only role (password from the replication_password secret) that
#   db-replica streams WAL as; pg_hba.conf lets it in for replication only.
set -eu

app_url="$(cat /run/secrets/app_database_url)"
app_user="$(printf '%s' "$app_url" | sed -E 's#^postgres(ql)?://([^:@/]+):([^@]*)@.*$#\2#')"
app_password="$(printf '%s' "$app_url" | sed -E 's#^postgres(ql)?://([^:@/]+):([^@]*)@.*$#\3#')"
if [ "$app_user" = "$app_url" ] || [ "$app_user" = "$POSTGRES_USER" ]; then
  echo "app_database_url must be postgres://<user>:<password>@…, with a user other than $POSTGRES_USER" >&2
  exit 1
fi
replication_password="$(cat /run/secrets/replication_password)"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_user="$app_user" -v app_password="$app_password" \
  -v replication_password="$replication_password" \
  -v owner="$POSTGRES_USER" -v db="$POSTGRES_DB" <<'SQL'
create role :"app_user" login password :'app_password'
  nosuperuser nocreatedb nocreaterole noreplication;
grant connect on database :"db" to :"app_user";
grant usage on schema public to :"app_user";
-- Tables and sequences the owner's migrations create from now on.
alter default privileges for role :"owner" in schema public
  grant select, insert, update, delete on tables to :"app_user";
alter default privileges for role :"owner" in schema public
  grant usage, select on sequences to :"app_user";
create role replicator login replication password :'replication_password';
SQL

echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
