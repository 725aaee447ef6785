# Sourced by conformance-tests/run.sh and openapi-tests/run.sh (bash, set -euo pipefail).
# `venv_with DIR`: DIR/.venv with DIR/requirements.txt installed; prints its bin folder.
# `start_fresh_roster BACKEND PG_BASE NAME`: `roster serve` ($ROSTER_BIN, default: cargo
# build) on a new SQLite file or a new PostgreSQL database under PG_BASE, with the tenant
# NAME. Sets `base` (the server's URL) and `tenant_json` (the tenant's credentials);
# the server, the store and the work folder go on exit.

venv_with() {
    local venv="$1/.venv"
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$1/requirements.txt"
    echo "$venv/bin"
}

start_fresh_roster() {
    local backend="$1" root
    fresh_pg_base="$2"
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    if [ -z "${ROSTER_BIN:-}" ]; then
        (cd "$root" && cargo build --quiet --bin roster)
        ROSTER_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/roster"
    fi
    fresh_work="$(mktemp -d)"
    fresh_pid=""
    fresh_pg_db=""
    trap stop_fresh_roster EXIT
    local database_url
    case "$backend" in
        sqlite) database_url="sqlite://$fresh_work/roster.db" ;;
        postgres)
            fresh_pg_db="roster_${3}_$$"
            psql "$fresh_pg_base/postgres" -qc "CREATE DATABASE $fresh_pg_db" >/dev/null
            database_url="$fresh_pg_base/$fresh_pg_db"
            ;;
        *) echo "usage: $0 sqlite|postgres" >&2; exit 2 ;;
    esac
    local port
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    base="http://127.0.0.1:$port"
    tenant_json="$fresh_work/tenant.json"
    "$ROSTER_BIN" tenant create "$3" --database-url "$database_url" >"$tenant_json"
    ROSTER_LOG=warn "$ROSTER_BIN" serve --listen "127.0.0.1:$port" --database-url "$database_url" \
        >"$fresh_work/serve.log" 2>&1 &
    fresh_pid=$!
    for _ in $(seq 1 100); do
        python3 -c "import urllib.request; urllib.request.urlopen('$base/healthz')" 2>/dev/null && break
        sleep 0.1
    done
}

# The server's log so far.
fresh_roster_log() {
    cat "$fresh_work/serve.log"
}

stop_fresh_roster() {
    [ -n "$fresh_pid" ] && kill "$fresh_pid" 2>/dev/null && wait "$fresh_pid" 2>/dev/null
    if [ -n "$fresh_pg_db" ]; then
        psql "$fresh_pg_base/postgres" -qc "DROP DATABASE IF EXISTS $fresh_pg_db" >/dev/null 2>&1 || true
    fi
    rm -rf "$fresh_work"
}
