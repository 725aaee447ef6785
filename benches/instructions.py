#!/usr/bin/env python3
"""Instructions the server executes per request, counted by valgrind's callgrind.

Unlike requests per second, the count is the same from run to run whatever else the
machine is doing, so two builds compare exactly on a noisy machine (it leaves out
the kernel's work and waiting on memory). Each scenario starts `roster serve` under
callgrind twice on the store the load benchmark seeded, sends 100 and then 400
requests over one keep-alive connection, and divides the difference by 300.

    python3 benches/instructions.py [--bin PATH] [--database-url URL] [SCENARIO…]

Scenarios: healthz, get, username, email, extid (all by default).
"""

import argparse
import http.client
import json
import os
import re
import socket
import subprocess
import tempfile
import time
import urllib.parse

TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(os.path.dirname(__file__), "..", "target"))


def roster(binary, *args):
    return subprocess.run([binary, *args], check=True, capture_output=True, text=True).stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def filter_path(text):
    return "/scim/v2/Users?filter=" + urllib.parse.quote(text)


# Each scenario's request path for a sampled user.
PATHS = {
    "healthz": lambda user: "/healthz",
    "get": lambda user: "/scim/v2/Users/" + user["id"],
    "username": lambda user: filter_path('userName eq "%s"' % user["userName"]),
    "email": lambda user: filter_path('emails.value eq "%s"' % user["emails"][0]["value"]),
    "extid": lambda user: filter_path('externalId eq "%s"' % user["externalId"]),
}


def server_instructions(binary, database_url, token, users, kind, requests):
    port = free_port()
    with tempfile.NamedTemporaryFile(suffix=".callgrind") as out:
        server = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out.name}",
             binary, "serve", "--listen", f"127.0.0.1:{port}", "--database-url", database_url],
            env={**os.environ, "ROSTER_LOG": "warn"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("the server did not start under valgrind")
                time.sleep(0.5)
        connection = http.client.HTTPConnection("127.0.0.1", port)
        headers = {"Authorization": "Bearer " + token}
        for i in range(requests):
            connection.request("GET", PATHS[kind](users[i % len(users)]), headers=headers)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise SystemExit(f"{kind}: {response.status} {body[:200]!r}")
        connection.close()
        server.send_signal(2)
        server.wait()
        totals = re.search(rb"^totals: (\d+)", open(out.name, "rb").read(), re.M)
        return int(totals.group(1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.path.join(TARGET, "release", "roster"))
    parser.add_argument("--database-url", default=f"sqlite://{TARGET}/bench/roster-1000000.db")
    parser.add_argument("scenarios", nargs="*", default=list(PATHS))
    args = parser.parse_args()
    unknown = [kind for kind in args.scenarios if kind not in PATHS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}: choose from {', '.join(PATHS)}")
    token = json.loads(roster(args.bin, "token", "create", "--tenant", "bench",
                              "--database-url", args.database_url))["scim_token"]
    # Sample users from three places in the tenant, read by a plain server.
    port = free_port()
    plain = subprocess.Popen([args.bin, "serve", "--listen", f"127.0.0.1:{port}",
                              "--database-url", args.database_url],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2)
        connection = http.client.HTTPConnection("127.0.0.1", port)
        users = []
        for start in (1000, 300000, 700000):
            connection.request("GET", f"/scim/v2/Users?startIndex={start}&count=100",
                               headers={"Authorization": "Bearer " + token})
            users += json.loads(connection.getresponse().read())["Resources"]
    finally:
        plain.terminate()
        plain.wait()
    for kind in args.scenarios:
        few = server_instructions(args.bin, args.database_url, token, users, kind, 100)
        many = server_instructions(args.bin, args.database_url, token, users, kind, 400)
        print(f"{kind:10} {(many - few) / 300:10,.0f} instructions per request")


if __name__ == "__main__":
    main()
