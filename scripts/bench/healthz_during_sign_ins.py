#!/usr/bin/env python3
"""`/healthz` latency while clients sign in, against the same server idle, at N stored records.

    cargo build --release --bin sagat
    python3 scripts/bench/healthz_during_sign_ins.py [--records 300000] [--clients 4] [--pairs 5]

Makes a data directory with `sagat init`, then writes its `tokens.json` from the format in
docs/ledger.md ("Files outside the log"): one operator token and N volunteers' access codes,
each record with its `check` (SHA-256 of the record's JSON, keys sorted, without `check`).
Starts `target/release/sagat serve` on it (no rate limits), then alternates, pair by pair: 400
`GET /healthz` with nothing else running, and 400 while CLIENTS threads sign in over
`POST /api/v1/session` with the volunteers' codes as fast as they can. Prints p50/p99 of each
phase, the sign-ins/s, and the median ratio busy/idle of p99.
"""

import argparse
import hashlib
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def code(n):
    x = ((n + 1) * 0x9E3779B97F4A7C15F39CC0605CEDC835) % (1 << 128)
    s = ""
    for _ in range(16):
        s += ALPHABET[x & 31]
        x >>= 5
    return "-".join(s[i : i + 4] for i in range(0, 16, 4))


def record_line(secret, kind, role):
    rec = {
        "sha256": hashlib.sha256(secret.encode()).hexdigest(),
        "kind": kind,
        "role": role,
        "created": int(time.time()),
    }
    body = json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    rec["check"] = hashlib.sha256(body.encode()).hexdigest()
    return json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def write_tokens(data, records, operator):
    with open(os.path.join(data, "tokens.json"), "w") as f:
        f.write('{"version":1,"checksums":"sha256","records":[\n')
        f.write(record_line(operator, "token", "operator"))
        for n in range(records):
            f.write(",\n" + record_line(code(n), "access_code", {"volunteer": f"v{n}"}))
        f.write("\n]}\n")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthz_latencies(port, count):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    out = []
    for _ in range(count):
        t = time.perf_counter()
        conn.request("GET", "/healthz")
        r = conn.getresponse()
        r.read()
        assert r.status == 200, r.status
        out.append((time.perf_counter() - t) * 1000)
        time.sleep(0.002)
    conn.close()
    return out


def signer(port, records, stop, counter, seed):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    i = seed
    while not stop.is_set():
        body = json.dumps({"code": code((i * 7919) % records)})
        conn.request("POST", "/api/v1/session", body, {"content-type": "application/json"})
        r = conn.getresponse()
        r.read()
        assert r.status == 200, (r.status, body)
        counter[seed] += 1
        i += 4


def p(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=300000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--sagat", default="target/release/sagat")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    data = os.path.join(tmp, "data")
    subprocess.run([a.sagat, "init", "--data", data], check=True, capture_output=True)
    operator = "sgt-op-bench-operator-token"
    write_tokens(data, a.records, operator)
    port = free_port()
    env = dict(os.environ, SAGAT_RATE_LIMIT="0", SAGAT_SIGN_IN_RATE_LIMIT="0")
    server = subprocess.Popen(
        [a.sagat, "serve", "--data", data, "--addr", f"127.0.0.1:{port}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    started = time.time()
    for line in server.stdout:
        if line.startswith("listening on"):
            break
    print(f"{a.records} records: server listening after {time.time() - started:.2f} s")
    threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
    ratios = []
    try:
        for pair in range(a.pairs):
            idle = healthz_latencies(port, 400)
            stop = threading.Event()
            counter = [0] * a.clients
            threads = [
                threading.Thread(target=signer, args=(port, a.records, stop, counter, k))
                for k in range(a.clients)
            ]
            for t in threads:
                t.start()
            time.sleep(0.3)
            t0, c0 = time.time(), sum(counter)
            busy = healthz_latencies(port, 400)
            rate = (sum(counter) - c0) / (time.time() - t0)
            stop.set()
            for t in threads:
                t.join()
            ratios.append(p(busy, 0.99) / p(idle, 0.99))
            print(
                f"pair {pair}: idle p50 {p(idle, .5):.2f} ms p99 {p(idle, .99):.2f} ms | "
                f"while {a.clients} clients sign in ({rate:.0f}/s): "
                f"p50 {p(busy, .5):.2f} ms p99 {p(busy, .99):.2f} ms"
            )
        print(f"median ratio of p99, busy/idle: {statistics.median(ratios):.2f}")
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    sys.exit(main())
