#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster for the API tests and export CHURNRADAR_TEST_POSTGRES_URL.
# Sourced by scripts/test.sh; the cluster lives in a mktemp folder and is stopped (and removed) on
# exit. As root the server runs as the `postgres` user (initdb refuses root). Takes about 2 s.
# Without PostgreSQL binaries it prints why and returns 1; the PostgreSQL test variants then skip.

_pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$_pg_bin" ] && command -v pg_ctl >/dev/null 2>&1; then
  _pg_bin=$(dirname "$(command -v pg_ctl)")
fi
if [ -z "$_pg_bin" ]; then
  echo "test_postgres.sh: no PostgreSQL binaries (apt-get install postgresql); API tests run on SQLite only" >&2
  return 1 2>/dev/null || exit 1
fi

_pg_dir=$(mktemp -d -t churnradar-pg.XXXXXX)  # under $TMPDIR (default /tmp)
_pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [ "$(id -u)" = 0 ]; then
  chown postgres "$_pg_dir"
  _pg_as=(runuser -u postgres --)
else
  _pg_as=()
fi

_pg_stop() {
  "${_pg_as[@]}" "$_pg_bin/pg_ctl" -D "$_pg_dir/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$_pg_dir"
}
trap _pg_stop EXIT

# (each step checked by hand: errexit does not apply inside `. script || true`)
if ! "${_pg_as[@]}" "$_pg_bin/initdb" -D "$_pg_dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$_pg_dir/initdb.log" 2>&1; then
  echo "test_postgres.sh: initdb failed: $(tail -3 "$_pg_dir/initdb.log")" >&2
  return 1 2>/dev/null || exit 1
fi
if ! "${_pg_as[@]}" "$_pg_bin/pg_ctl" -D "$_pg_dir/data" -l "$_pg_dir/server.log" -w -t 30 \
  -o "-p $_pg_port -k $_pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null; then
  echo "test_postgres.sh: the server did not start: $(tail -3 "$_pg_dir/server.log")" >&2
  return 1 2>/dev/null || exit 1
fi
if ! "$_pg_bin/psql" -h 127.0.0.1 -p "$_pg_port" -U postgres -v ON_ERROR_STOP=1 -q \
  -c "CREATE ROLE churnradar LOGIN CREATEDB PASSWORD 'churnradar'" \
  -c "CREATE DATABASE churnradar OWNER churnradar" >/dev/null; then
  echo "test_postgres.sh: could not create the test role and database" >&2
  return 1 2>/dev/null || exit 1
fi
export CHURNRADAR_TEST_POSTGRES_URL="postgresql://churnradar:churnradar@127.0.0.1:$_pg_port/churnradar"
echo "PostgreSQL $("$_pg_bin/postgres" --version | awk '{print $3}') for the API tests on 127.0.0.1:$_pg_port"
