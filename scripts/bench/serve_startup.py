#!/usr/bin/env python3
"""`sagat serve` start-up time and memory at several log sizes, in alternating runs.

    cargo build --release --bin sagat --example startup_bench
    target/release/examples/startup_bench build --events 100000 --data /tmp/sb/d100k
    target/release/examples/startup_bench build --events 10000000 --data /tmp/sb/d10m
    python3 scripts/bench/serve_startup.py [--pairs 5] /tmp/sb/d100k /tmp/sb/d10m

For each round, starts `target/release/sagat serve --data DIR` on a free port for every DIR in
turn (the first DIR is the baseline), and measures the time from the process start to the first
`200` from `GET /healthz`, and the process's resident memory then (VmRSS) and its peak so far
(VmHWM), from /proc. Stops it with SIGTERM (nothing is appended, so no snapshot is written) and
waits for it to exit. Prints every run, then per DIR the median of each figure and the median of
the per-round ratios DIR / baseline. A DIR written `BINARY=DIR` is served by that `sagat` binary
instead (to compare two builds on copies of one log in the same rounds).
"""

import argparse
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAGAT = os.path.join(ROOT, "target", "release", "sagat")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        c.request("GET", "/healthz")
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False


def kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def run_once(arg, timeout):
    binary, data = arg.split("=", 1) if "=" in arg else (SAGAT, arg)
    port = free_port()
    env = dict(os.environ, SAGAT_RATE_LIMIT="0")
    start = time.monotonic()
    p = subprocess.Popen(
        [binary, "serve", "--data", data, "--addr", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        while not healthy(port):
            if p.poll() is not None:
                sys.exit(f"sagat serve --data {data} exited with {p.returncode} before /healthz")
            if time.monotonic() - start > timeout:
                sys.exit(f"sagat serve --data {data}: no /healthz after {timeout} s")
            time.sleep(0.005)
        seconds = time.monotonic() - start
        rss, peak = kib(p.pid, "VmRSS"), kib(p.pid, "VmHWM")
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=120)
    return seconds, rss / 1024, peak / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("dirs", nargs="+")
    args = ap.parse_args()
    if not os.path.exists(SAGAT):
        sys.exit(f"{SAGAT} is missing: run cargo build --release --bin sagat")
    runs = {d: [] for d in args.dirs}
    for d in args.dirs:  # warm-up: page cache and a first start
        run_once(d, args.timeout)
    for r in range(args.pairs):
        for d in args.dirs:
            s, rss, peak = run_once(d, args.timeout)
            runs[d].append((s, rss, peak))
            print(f"round {r + 1} {d}: start-up {s:.3f} s, RSS {rss:.1f} MiB, peak {peak:.1f} MiB")
    base = runs[args.dirs[0]]
    for d in args.dirs:
        med = [statistics.median(x[i] for x in runs[d]) for i in range(3)]
        ratios = [
            statistics.median(x[i] / b[i] for x, b in zip(runs[d], base)) for i in range(3)
        ]
        print(
            f"{d}: median start-up {med[0]:.3f} s, RSS {med[1]:.1f} MiB, peak {med[2]:.1f} MiB;"
            f" median ratio to {args.dirs[0]}: start-up {ratios[0]:.2f}, RSS {ratios[1]:.2f},"
            f" peak {ratios[2]:.2f}"
        )


if __name__ == "__main__":
    main()
