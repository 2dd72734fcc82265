#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL server: `.ci/with-postgres.sh make test`.
#
# Installs PostgreSQL from Debian's packages when no server binaries are found (needs root), initialises a cluster
# in a temporary directory, starts it on 127.0.0.1 on a free port (as the `postgres` user when run as root:
# initdb refuses root), creates the role `tas` that may create databases, then runs the command with
#   TAS_TEST_DATABASE=postgresql  TAS_TEST_PG_URL=postgresql+asyncpg://tas:tas@127.0.0.1:<port>/postgres
# and stops and deletes the cluster afterwards, whatever the command's outcome. The command's exit code is kept.
# The cluster trades durability for speed (fsync off): it holds test data only.
set -euo pipefail

find_bindir() {
    local candidate
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir
        return 0
    fi
    for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then
            echo "$candidate"
            return 0
        fi
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

BINDIR="$(find_bindir || true)"
if [ -z "$BINDIR" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "with-postgres: PostgreSQL server binaries not found; install the 'postgresql' package" >&2
        exit 1
    fi
    echo "with-postgres: installing PostgreSQL from Debian's packages ..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
    BINDIR="$(find_bindir)"
fi

PGWORK="$(mktemp -d "${TMPDIR:-/tmp}/tas-pg.XXXXXX")"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

as_pg() {
    # Run a PostgreSQL server binary as the `postgres` user when we are root (initdb and postgres refuse root).
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir "$PGWORK" --shell /bin/sh postgres
    chown postgres "$PGWORK"
fi

stop_cluster() {
    as_pg "$BINDIR/pg_ctl" -D "$PGWORK/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PGWORK"
}
trap stop_cluster EXIT

as_pg "$BINDIR/initdb" -D "$PGWORK/data" -U postgres --auth=trust --encoding=UTF8 --no-locale >"$PGWORK/initdb.log" \
    || { cat "$PGWORK/initdb.log" >&2; exit 1; }
as_pg "$BINDIR/pg_ctl" -D "$PGWORK/data" -l "$PGWORK/postgres.log" -w -t 60 start -o \
    "-h 127.0.0.1 -p $PORT -k $PGWORK -c max_connections=400 -c fsync=off -c synchronous_commit=off \
     -c full_page_writes=off -c shared_buffers=128MB" >/dev/null \
    || { cat "$PGWORK/postgres.log" >&2; exit 1; }

PSQL="$BINDIR/psql"
[ -x "$PSQL" ] || PSQL="$(command -v psql)"
"$PSQL" -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE tas LOGIN CREATEDB PASSWORD 'tas'" >/dev/null

export TAS_TEST_DATABASE=postgresql
export TAS_TEST_PG_URL="postgresql+asyncpg://tas:tas@127.0.0.1:$PORT/postgres"
echo "with-postgres: PostgreSQL $("$BINDIR/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT" >&2

set +e
"$@"
rc=$?
set -e
exit $rc
