#!/usr/bin/env python3
"""Times the biggest requests a client can send, and /healthz and another tenant's
reads while they run.

    cargo build --release
    python3 benches/big_requests.py [--bin target/release/roster] [--users 100000]

Starts `roster serve` on a fresh SQLite file (body limit raised to 8 MiB so that one
PATCH can name 100,000 members, the other bodies stay within 4 MiB; the operation cap
raised to 100,000 to show how long lists scale), seeds a
tenant, and prints one line per request: its time, and the slowest /healthz and
other-tenant read answered while it ran.
"""

import argparse
import json
import os
import subprocess
import tempfile
import threading
import time
import urllib.request

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def call(base, method, path, token=None, body=None, raw=False):
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/scim+json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            text = response.read()
            if raw:
                return response.status, text
            return response.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class Watcher:
    """Polls /healthz and one read of another tenant while a request runs."""

    def __init__(self, base, other_token, other_path):
        self.base, self.other_token, self.other_path = base, other_token, other_path
        self.stop = threading.Event()
        self.health, self.reads = [], []

    def run(self):
        while not self.stop.is_set():
            started = time.perf_counter()
            call(self.base, "GET", "/healthz")
            self.health.append(time.perf_counter() - started)
            started = time.perf_counter()
            call(self.base, "GET", self.other_path, self.other_token)
            self.reads.append(time.perf_counter() - started)
            time.sleep(0.005)

    def __enter__(self):
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def timed(base, watcher_args, label, method, path, token, body, expect=(200, 201, 204)):
    # Encoded before, and decoded after, the watch: the client's JSON work would
    # hold Python's lock and delay the watcher's own requests.
    data = json.dumps(body).encode()
    with Watcher(*watcher_args) as watcher:
        time.sleep(0.05)
        started = time.perf_counter()
        status, answer = call(base, method, path, token, data, raw=True)
        elapsed = time.perf_counter() - started
    if isinstance(answer, (bytes, str)):
        answer = json.loads(answer) if answer else None
    assert status in expect, (label, status, answer)
    health = max(watcher.health) * 1000 if watcher.health else float("nan")
    reads = max(watcher.reads) * 1000 if watcher.reads else float("nan")
    print(
        f"{label:58} {status} {elapsed * 1000:8.0f} ms   /healthz max {health:6.1f} ms"
        f" ({len(watcher.health)} polls)   other tenant's read max {reads:6.1f} ms",
        flush=True,
    )
    return answer


def tenant(binary, env, name):
    out = subprocess.run(
        [binary, "tenant", "create", name], env=env, check=True, capture_output=True
    ).stdout
    return json.loads(out)["scim_token"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default="target/release/roster")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=18093)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="roster-big-")
    env = dict(
        os.environ,
        ROSTER_DATABASE_URL=f"sqlite://{workdir}/roster.db",
        ROSTER_MAX_BODY_BYTES=str(8 * 1024 * 1024),
        # Raised so that the scaling of long operation lists can be seen too.
        ROSTER_MAX_PATCH_OPERATIONS="100000",
        ROSTER_LOG="warn",
    )
    token = tenant(args.bin, env, "big")
    other = tenant(args.bin, env, "other")
    subprocess.run(
        [args.bin, "seed", "--tenant", "big", "--users", str(args.users)],
        env=env,
        check=True,
        capture_output=True,
    )
    base = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [args.bin, "serve", "--listen", f"127.0.0.1:{args.port}"], env=env
    )
    try:
        for _ in range(100):
            try:
                if call(base, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        status, someone = call(
            base, "POST", "/scim/v2/Users", other,
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "someone"},
        )
        watcher_args = (base, other, f"/scim/v2/Users/{someone['id']}")
        ids, cursor = [], ""
        while True:
            _, page = call(base, "GET", f"/scim/v2/Users?attributes=id&count=1000&cursor={cursor}", token)
            ids += [u["id"] for u in page["Resources"]]
            cursor = page.get("nextCursor")
            if not cursor:
                break
        _, apps = call(base, "GET", "/v1/apps", token)
        app = next(a for a in apps["apps"] if a["name"].startswith("Seeded app"))
        _, issued = call(base, "POST", "/v1/tokens", token, {"app_id": app["id"]})
        app_token = issued["scim_token"]
        _, group = call(
            base, "POST", "/scim/v2/Groups", token,
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "All"},
        )
        group_path = f"/scim/v2/Groups/{group['id']}?excludedAttributes=members"
        members = [{"value": i} for i in ids]

        def patch(operations):
            return {"schemas": [PATCH_OP], "Operations": operations}

        add_all = patch([{"op": "add", "path": "members", "value": members}])
        remove_all = patch([{"op": "remove", "path": "members"}])
        n = len(ids)
        timed(base, watcher_args, f"add {n} members (management)", "PATCH", group_path, token, add_all)
        timed(base, watcher_args, f"add the same {n} again (no change)", "PATCH", group_path, token, add_all)
        timed(base, watcher_args, f"remove all {n} (management)", "PATCH", group_path, token, remove_all)
        timed(base, watcher_args, f"add {n} members, members in the response", "PATCH",
              f"/scim/v2/Groups/{group['id']}", token, add_all)
        timed(base, watcher_args, f"remove all (app token, sees ~half of {n})", "PATCH", group_path, app_token, remove_all)
        timed(base, watcher_args, f"remove all the rest (management)", "PATCH", group_path, token, remove_all)
        timed(base, watcher_args, f"replace members by {n} (PUT-like PATCH)", "PATCH", group_path, token,
              patch([{"op": "replace", "path": "members", "value": members}]))
        timed(base, watcher_args, f"remove {n} named in value (Entra ID)", "PATCH", group_path, token,
              patch([{"op": "remove", "path": "members", "value": members}]))
        timed(base, watcher_args, "1000 one-member add operations", "PATCH", group_path, token,
              patch([{"op": "add", "path": "members", "value": [m]} for m in members[:1000]]))

        # Users: the largest operation lists a 4 MiB body admits.
        def new_user(name):
            _, user = call(base, "POST", "/scim/v2/Users", token,
                           {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name})
            return f"/scim/v2/Users/{user['id']}"

        def largest(make, high):
            # The largest k up to `high` whose body make(k) stays within 4 MiB.
            low = 1
            while low < high:
                mid = (low + high + 1) // 2
                if len(json.dumps(make(mid))) <= 4 * 1024 * 1024:
                    low = mid
                else:
                    high = mid - 1
            return make(low), low

        one_op = lambda k: patch([{"op": "add", "path": "emails",
                                   "value": [{"value": f"e{i}@x.org"} for i in range(k)]}])
        body, count = largest(one_op, 400_000)
        big_user = new_user("one-op")
        # Past the 10,000 values an attribute may hold: refused, after parsing and applying.
        timed(base, watcher_args, f"1 add op of {count} emails (4 MiB)", "PATCH", big_user, token,
              body, expect=(400,))
        many_ops = lambda k: patch([{"op": "add", "path": "emails",
                                     "value": [{"value": f"e{o}.{i}@x.org"} for i in range(k)]}
                                    for o in range(1000)])
        body, per_op = largest(many_ops, 400)
        timed(base, watcher_args, f"1000 add ops of {per_op} emails each (4 MiB)", "PATCH",
              new_user("many-ops"), token, body, expect=(400,))
        path = new_user("most-values")
        timed(base, watcher_args, "1 add op of 10000 emails (the most an attribute holds)", "PATCH",
              path, token, one_op(10_000))
        # Each filtered remove tests every value: the PATCH's value budget refuses the list.
        filtered = patch([{"op": "remove", "path": f'emails[value eq "e{o}@x.org"]'} for o in range(1000)])
        timed(base, watcher_args, "1000 filtered removes over 10000 emails", "PATCH", path, token,
              filtered, expect=(200, 400))
        path = new_user("small-ops")
        timed(base, watcher_args, "1000 one-email add ops", "PATCH", path, token,
              patch([{"op": "add", "path": "emails", "value": [{"value": f"{i}@x"}]} for i in range(1000)]))
        for ops in (5_000, 10_000):
            path = new_user(f"ops-{ops}")
            timed(base, watcher_args, f"{ops} one-email add ops (above the default cap)", "PATCH", path,
                  token, patch([{"op": "add", "path": "emails", "value": [{"value": f"{i}@x"}]}
                                for i in range(ops)]))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
