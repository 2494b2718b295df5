#!/usr/bin/env python3
"""Inclusion-proof latency of two `sagat serve` processes, in alternating rounds.

    python3 scripts/bench/proof_latency.py [--pairs 7] [--requests 2000] BINARY_A=DIR_A BINARY_B=DIR_B

Starts both servers (each `BINARY serve --data DIR` on a free port; give each its own copy of
the log), waits for `/healthz`, reads the size from `/log/checkpoint`, then for each pair
sends `--requests` requests `GET /api/v1/log/inclusion?index=I` (I uniformly random below the
log's size, the same sequence for both) over one keep-alive connection to A, then to B, and records the p50 and
p99 of each round. Prints every round and the median of the per-pair ratios B / A.
"""

import argparse
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(arg):
    binary, data = arg.split("=", 1)
    port = free_port()
    env = dict(os.environ, SAGAT_RATE_LIMIT="0")
    p = subprocess.Popen(
        [binary, "serve", "--data", data, "--addr", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 600
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                c.close()
                return p, port
        except OSError:
            pass
        if p.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"{arg}: no /healthz")
        time.sleep(0.05)


def log_size(port):
    c = http.client.HTTPConnection("127.0.0.1", port)
    c.request("GET", "/log/checkpoint")
    text = c.getresponse().read().decode()
    return int(text.split("\n")[1])


def round_latencies(port, indexes, size):
    c = http.client.HTTPConnection("127.0.0.1", port)
    out = []
    for i in indexes:
        t = time.perf_counter()
        c.request("GET", f"/api/v1/log/inclusion?index={i}&size={size}")
        r = c.getresponse()
        body = r.read()
        out.append(time.perf_counter() - t)
        if r.status != 200:
            sys.exit(f"status {r.status}: {body[:200]!r}")
        json.loads(body)
    c.close()
    out.sort()
    return out[len(out) // 2] * 1000, out[len(out) * 99 // 100] * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=7)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("a")
    ap.add_argument("b")
    args = ap.parse_args()
    servers = [start(args.a), start(args.b)]
    try:
        size = log_size(servers[0][1])
        if log_size(servers[1][1]) != size:
            sys.exit("the two logs differ in size")
        rng = random.Random(1)
        ratios = []
        for r in range(args.pairs):
            indexes = [rng.randrange(size) for _ in range(args.requests)]
            a = round_latencies(servers[0][1], indexes, size)
            b = round_latencies(servers[1][1], indexes, size)
            ratios.append((b[0] / a[0], b[1] / a[1]))
            print(
                f"pair {r + 1}: A p50 {a[0]:.3f} ms p99 {a[1]:.3f} ms;"
                f" B p50 {b[0]:.3f} ms p99 {b[1]:.3f} ms"
            )
        print(
            f"median B / A: p50 {statistics.median(x[0] for x in ratios):.2f},"
            f" p99 {statistics.median(x[1] for x in ratios):.2f}"
        )
    finally:
        for p, _ in servers:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=120)


if __name__ == "__main__":
    main()
