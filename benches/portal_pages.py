#!/usr/bin/env python3
"""Times the Admin Portal's pages on a running Roster: each page five times, median
and slowest, signed in as a tenant's Management Application.

    python3 benches/portal_pages.py http://127.0.0.1:8080 CLIENT_ID CLIENT_SECRET
"""
import re
import statistics
import sys
import time

import requests


def main(base, client_id, secret):
    session = requests.Session()
    page = session.get(base + "/admin/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    signed_in = session.post(
        base + "/admin/sign-in",
        data={"client_id": client_id, "client_secret": secret, "csrf": csrf},
        allow_redirects=False,
    )
    if signed_in.status_code != 303:
        sys.exit("sign-in refused: check the client id and secret")

    def timed(path, times=5):
        spent = []
        for _ in range(times):
            start = time.perf_counter()
            response = session.get(base + path, allow_redirects=False)
            spent.append((time.perf_counter() - start) * 1000)
        return response, statistics.median(spent), max(spent)

    def link(path, pattern):
        response, _, _ = timed(path, 1)
        found = re.search(pattern, response.text)
        return found.group(1).replace("&#38;", "&") if found else None

    user = link("/admin/users", r'href="(/admin/users/[0-9a-f-]{36})"')
    next_page = link("/admin/users", r'href="(/admin/users\?cursor=[^"]+)"')
    sorted_next = link("/admin/users?sort=userName", r'href="(/admin/users\?sort=userName&#38;cursor=[^"]+)"')
    group = link("/admin/groups", r'href="(/admin/groups/[0-9a-f-]{36})"')
    pages = [
        "/admin/users",
        next_page,
        "/admin/users?sort=userName",
        sorted_next,
        "/admin/users?sort=userName&order=descending",
        "/admin/users?sort=meta.lastModified",
        "/admin/users?q=smith&partial=1",
        "/admin/users?q=smi&partial=1",
        "/admin/users?q=zzqx&partial=1",
        "/admin/users?q=example&partial=1",
        "/admin/users?q=sm&partial=1",
        "/admin/users?filter=title%20eq%20%22Engineer%22",
        user,
        "/admin/users/new",
        "/admin/groups",
        group,
        group and group + "/candidates?q=smith",
        "/admin/apps",
        "/admin/audit",
        "/admin/audit?action=user.patched",
    ]
    print("| page | status | median ms | slowest ms |")
    print("| --- | ---: | ---: | ---: |")
    for path in filter(None, pages):
        response, median, slowest = timed(path)
        shown = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "{id}", path)
        shown = re.sub(r"cursor=[^&]+", "cursor=…", shown)
        print(f"| `{shown}` | {response.status_code} | {median:.1f} | {slowest:.1f} |")


if __name__ == "__main__":
    main(*sys.argv[1:4])
