#!/usr/bin/env bash
# Runs scim2-tester against a fresh Roster: `conformance-tests/run.sh sqlite|postgres`.
# Needs the roster binary ($ROSTER_BIN, default: cargo build) and, for postgres, a
# server reachable as $ROSTER_CONFORMANCE_PG (default postgres://postgres@127.0.0.1:5432).
set -euo pipefail
backend="${1:-sqlite}"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../.ci/fresh-roster.sh"

bin="$(venv_with "$here")"
start_fresh_roster "$backend" "${ROSTER_CONFORMANCE_PG:-postgres://postgres@127.0.0.1:5432}" conformance
token="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["scim_token"])' "$tenant_json")"

echo "== scim2-tester against Roster on $backend =="
"$bin/python" "$here/run_scim2_tester.py" "$base/scim/v2" "$token"
