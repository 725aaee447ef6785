"""Runs scim2-tester against a Roster SCIM endpoint and prints its results.

Usage: run_scim2_tester.py BASE_URL TOKEN

Every check that fails is reported; a failure listed in known-checker-issues.json
(a check that is wrong about the RFC, with the reason) is reported as such and does
not fail the run. The last line is `conformance: N passed, M failed`.
"""

import json
import pathlib
import sys

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

KNOWN = json.loads((pathlib.Path(__file__).parent / "known-checker-issues.json").read_text())


def known_issue(result):
    reason = " ".join((result.reason or "").split())
    for issue in KNOWN:
        if result.title in issue["checks"] and issue["reason_contains"] in reason:
            return issue
    return None


def main():
    base_url, token = sys.argv[1], sys.argv[2]
    client = SyncSCIMClient(httpx2.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}))
    results = check_server(client)
    passed = failed = known = 0
    for result in results:
        resource = getattr(result, "resource_type", None) or "-"
        reason = (result.reason or "").replace("\n", " ")[:1200]
        if result.status == Status.SUCCESS:
            passed += 1
            print(f"PASS  {result.title} [{resource}] {reason}")
        elif result.status.name in ("SKIPPED", "SKIP"):
            print(f"SKIP  {result.title} [{resource}] {reason}")
        elif known_issue(result):
            known += 1
            print(f"KNOWN {result.title} [{resource}] {reason}")
        else:
            failed += 1
            print(f"FAIL  {result.title} [{resource}] {reason}")
    print(f"known checker issues (see conformance-tests/README.md): {known}")
    print(f"conformance: {passed} passed, {failed + known} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
