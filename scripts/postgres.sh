#!/usr/bin/env bash
# A PostgreSQL server for the tests, from Debian's packages: installs them if missing, then starts
# (or reuses) a throwaway server on a private Unix socket, tuned for speed not durability, and
# prints its URL. `scripts/postgres.sh stop` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

find_bin() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$found" ] && [ -x "$found/pg_ctl" ]; then echo "$found"; return; fi
  found=$(command -v pg_ctl || true)
  [ -n "$found" ] && dirname "$found"
}

bin=$(find_bin || true)
if [ -z "$bin" ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin=$(find_bin)
  else
    echo "Please install PostgreSQL (sudo apt-get install postgresql), or set DIGIKNOW_TEST_POSTGRES to a server's URL." >&2
    exit 1
  fi
fi

# One server per checkout, outside it: the server's own user must be able to reach the folder.
dir="${TMPDIR:-/tmp}/digiknow-desk-pg-$(pwd | cksum | cut -d ' ' -f 1)"
run=()
if [ "$(id -u)" = 0 ]; then run=(runuser -u postgres --); fi  # PostgreSQL refuses to run as root

if [ "${1:-}" = stop ]; then
  [ -d "$dir" ] && "${run[@]}" "$bin/pg_ctl" -D "$dir" -m fast stop >/dev/null || true
  exit 0
fi

if ! { [ -f "$dir/PG_VERSION" ] && "${run[@]}" "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; }; then
  if [ ! -f "$dir/PG_VERSION" ]; then
    rm -rf "$dir" && mkdir -p "$dir" && chmod 700 "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    "${run[@]}" "$bin/initdb" -D "$dir" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  "${run[@]}" "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -o \
    "-k $dir -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null
fi
echo "postgresql+psycopg://postgres@/postgres?host=$dir"
