#!/usr/bin/env bash
# Fuzzes a fresh Roster against its own /openapi.json with schemathesis:
# `openapi-tests/run.sh sqlite|postgres`. No 5xx, no panic, and every status, media
# type and body as the document says. Needs the roster binary ($ROSTER_BIN, default:
# cargo build) and, for postgres, a server reachable as $ROSTER_OPENAPI_PG (default
# postgres://postgres@127.0.0.1:5432). $ROSTER_OPENAPI_SEED picks other examples;
# $ROSTER_OPENAPI_EXAMPLES and $ROSTER_OPENAPI_SECONDS bound the run.
set -euo pipefail
backend="${1:-sqlite}"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../.ci/fresh-roster.sh"

bin="$(venv_with "$here")"
start_fresh_roster "$backend" "${ROSTER_OPENAPI_PG:-postgres://postgres@127.0.0.1:5432}" openapi
# An access token of the Management Application: the fuzzer may revoke every token
# /v1/tokens lists, but not this one.
token="$(python3 - "$base" "$tenant_json" <<'PY'
import json, sys, urllib.parse, urllib.request
base, tenant = sys.argv[1], json.load(open(sys.argv[2]))
form = urllib.parse.urlencode({
    "grant_type": "client_credentials",
    "client_id": tenant["client_id"],
    "client_secret": tenant["client_secret"],
}).encode()
with urllib.request.urlopen(urllib.request.Request(f"{base}/oauth2/token", data=form)) as response:
    print(json.load(response)["access_token"])
PY
)"

echo "== schemathesis against Roster on $backend =="
status=0
# From the work folder, where schemathesis leaves its cache.
cd "$fresh_work"
"$bin/st" run "$base/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "${ROSTER_OPENAPI_EXAMPLES:-25}" \
    --max-time "${ROSTER_OPENAPI_SECONDS:-180}" \
    --seed "${ROSTER_OPENAPI_SEED:-20261208}" \
    --generation-database none \
    --workers 1 \
    --no-color || status=$?
if fresh_roster_log | grep -q "panicked"; then
    echo "roster panicked:" >&2
    fresh_roster_log | grep -A3 "panicked" | head -40 >&2
    status=1
fi
exit "$status"
