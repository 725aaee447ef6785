#!/usr/bin/env bash
# Runs scim2-tester against a fresh Roster: `conformance-tests/run.sh sqlite|postgres`.
# Needs the roster binary ($ROSTER_BIN, default: cargo build) and, for postgres, a
# server reachable as $ROSTER_CONFORMANCE_PG (default postgres://postgres@127.0.0.1:5432).
set -euo pipefail
backend="${1:-sqlite}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"

if [ -z "${ROSTER_BIN:-}" ]; then
    (cd "$root" && cargo build --quiet --bin roster)
    ROSTER_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/roster"
fi

venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"

work="$(mktemp -d)"
server_pid=""
pg_base="${ROSTER_CONFORMANCE_PG:-postgres://postgres@127.0.0.1:5432}"
pg_db="roster_conformance_$$"
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    if [ "$backend" = postgres ]; then
        psql "$pg_base/postgres" -qc "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

case "$backend" in
    sqlite) database_url="sqlite://$work/roster.db" ;;
    postgres)
        psql "$pg_base/postgres" -qc "CREATE DATABASE $pg_db" >/dev/null
        database_url="$pg_base/$pg_db"
        ;;
    *) echo "usage: $0 sqlite|postgres" >&2; exit 2 ;;
esac

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
token="$("$ROSTER_BIN" tenant create conformance --database-url "$database_url" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["scim_token"])')"
ROSTER_LOG=warn "$ROSTER_BIN" serve --listen "127.0.0.1:$port" --database-url "$database_url" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/healthz')" 2>/dev/null && break
    sleep 0.1
done

echo "== scim2-tester against Roster on $backend =="
"$venv/bin/python" "$here/run_scim2_tester.py" "http://127.0.0.1:$port/scim/v2" "$token"
