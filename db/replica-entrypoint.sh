#!/bin/sh
# db-replica: a streaming hot standby of $PRIMARY_HOST, from the official postgres image. On an
# empty volume, copies the primary with pg_basebackup as the replication role, through a
# replication slot (the primary keeps the WAL this replica has not received yet, up to
# max_slot_wal_keep_size), and writes the standby settings (-R); then runs postgres, which
# replays the primary's WAL for as long as it runs. Runs as the postgres user.
set -eu

PGDATA="${PGDATA:-/var/lib/postgresql/data}"
export PGPASSWORD="$(cat "$REPLICATION_PASSWORD_FILE")"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -q -h "$PRIMARY_HOST" -p 5432; do sleep 1; done
  # The slot survives a rebuilt replica: make it only when it is not there yet.
  if ! pg_basebackup -h "$PRIMARY_HOST" -p 5432 -U "$REPLICATION_USER" -D "$PGDATA" \
      -R -X stream -C -S "$REPLICATION_SLOT"; then
    rm -rf "${PGDATA:?}"/*
    pg_basebackup -h "$PRIMARY_HOST" -p 5432 -U "$REPLICATION_USER" -D "$PGDATA" \
      -R -X stream -S "$REPLICATION_SLOT"
  fi
  chmod 700 "$PGDATA"
fi
unset PGPASSWORD

exec postgres -D "$PGDATA" -c hot_standby=on -c hot_standby_feedback=on
