#!/usr/bin/env python3
"""Load test of `restless serve` with wrk; driven by `bench/serve` (which builds the release
binary and installs wrk first).

Everything runs on 127.0.0.1, on the same machine as the server, and every wrk run is bounded
(at most 30 s). Phases:

1. sweep: `--insecure-no-auth`, default limits; POST /cds-services/restless-patient-view with
   bench/serve.d/patient-view.json (Patient with RLS, 10 Conditions, 30 Observations, 8
   MedicationRequests) at 1, 4, 8, 16, 32, 64 connections (one wrk thread, `--threads`);
   requests/s, p50/p90/p99, server and wrk CPU. References in the same server: the same
   request written compactly (no indentation, as EHR clients serialise JSON), the same body
   posted to an unknown service (answered 404 once the body is in: HTTP and loopback alone),
   a minimal patient-view (Patient + 2 resources) and GET /healthz (the 404 and /healthz runs,
   bound by wrk itself, with two wrk threads).
2. overload: a new server with `--max-concurrency N`, N the smallest connection count that
   reached 95 % of the best throughput; twice N connections for 20 s; share of 503s, goodput,
   probes' latency, RSS every second before/during/after, and the first normal request after.
3. jwt (unless --no-jwt): a server that trusts one issuer whose JWK Set is served from
   127.0.0.1; every request carries a fresh signed token (RS384 and ES384), so the cost of
   verification (and replay bookkeeping) shows against the unauthenticated runs of phase 1.
4. perf (only with --perf): `perf record` of the server under saturating load; time per stage
   of the request and the top functions.

Results: a summary on standard output and target/bench-serve/results.json.
"""

from __future__ import annotations

import argparse
import base64
import collections
import http.client
import http.server
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release" / "restless"
BODY = ROOT / "bench" / "serve.d" / "patient-view.json"
MINIMAL = ROOT / "bench" / "serve.d" / "patient-view-minimal.json"
LUA = ROOT / "bench" / "serve.d" / "patient-view.lua"
OUT = ROOT / "target" / "bench-serve"
SERVICE = "/cds-services/restless-patient-view"
AS_OF = "2026-11-27"
ISSUER = "https://ehr.bench.invalid"
MAX_RUN_SECS = 30
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def goodput(r: dict) -> float:
    """Answers with status 200 per second (all answers when wrk did not count statuses)."""
    return r.get("ok_rps", r["rps"])


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict | None = None, timeout: float = 10.0) -> tuple[int, float, bytes]:
    """One request on a fresh connection: (status, milliseconds, body)."""
    h = {"Accept": "application/json"}
    if body is not None:
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        return r.status, (time.perf_counter() - t) * 1000, data
    finally:
        conn.close()


class Server:
    """A `restless serve` process started by this script (and only ever stopped by its pid)."""

    def __init__(self, workdir: Path, name: str, extra: list[str], data: Path | None = None):
        self.name = name
        self.port = free_port()
        self.data = data or workdir / name
        self.data.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / f"{name}.log"
        self.args = ["serve", "--addr", f"127.0.0.1:{self.port}", "--data-dir", str(self.data),
                     "--as-of", AS_OF, *extra]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([str(BIN), *self.args], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self._log)
        self.pid = self.proc.pid
        deadline = time.time() + 15
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"{name}: the server exited ({self.proc.returncode}); see "
                                 f"{self.log_path}:\n{self.log_path.read_text()[-2000:]}")
            try:
                if request(self.port, "GET", "/healthz", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                self.kill()
                raise SystemExit(f"{name}: no answer from /healthz within 15 s")
            time.sleep(0.05)

    def status_kb(self, field: str) -> int | None:
        try:
            for line in open(f"/proc/{self.pid}/status"):
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def rss_kb(self) -> int | None:
        return self.status_kb("VmRSS")

    def threads(self) -> int | None:
        return self.status_kb("Threads")

    def cpu_secs(self) -> float:
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def stop(self) -> int:
        """SIGTERM, then wait; returns the exit code."""
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait()


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def wrk(port: int, path: str, threads: int, conns: int, secs: int, server: Server | None,
        body: Path | None = BODY, tokens: Path | None = None, label: str = "",
        statuses: bool = False) -> dict:
    """One bounded wrk run; returns its numbers with the server's and wrk's CPU use.

    `statuses` (implied by `tokens`): count 503 and 401 apart, in wrk's Lua response hook,
    which costs wrk CPU on the server's cores; without it, answers are counted as 200 or other.
    """
    assert secs <= MAX_RUN_SECS
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{secs}s", "--latency", "--timeout", "10s"]
    env = dict(os.environ)
    if body is not None:
        cmd += ["-s", str(LUA)]
        env["BENCH_BODY"] = str(body)
        env["BENCH_THREADS"] = str(threads)
        if tokens is not None:
            env["BENCH_TOKENS"] = str(tokens)
        if statuses or tokens is not None:
            env["BENCH_STATUSES"] = "1"
    cmd.append(f"http://127.0.0.1:{port}{path}")
    cpu0 = server.cpu_secs() if server else 0.0
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"wrk failed ({p.returncode}):\n{out}")
    r: dict = {"label": label or path, "threads": threads, "connections": conns, "secs": secs,
               "by_status": body is not None and (statuses or tokens is not None)}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    r["rps"] = float(m.group(1)) if m else float("nan")
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        r[f"p{pct}_ms"] = _ms(m.group(1)) if m else float("nan")
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    r["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"STATUS 200=(\d+) 503=(\d+) 401=(\d+) other=(\d+)", out)
    if m:
        r["s200"], r["s503"], r["s401"], r["sother"] = map(int, m.groups())
    m = re.search(r"LATENCY p50_us=(\d+) p90_us=(\d+) p99_us=(\d+) max_us=(\d+) mean_us=(\d+)",
                  out)
    if m:
        p50, p90, p99, mx, mean = (int(x) / 1000 for x in m.groups())
        r.update(p50_ms=p50, p90_ms=p90, p99_ms=p99, max_ms=mx, mean_ms=mean)
    m = re.search(r"TOTAL requests=(\d+) duration_us=(\d+) connect=(\d+) read=(\d+) write=(\d+) "
                  r"status=(\d+) timeout=(\d+)", out)
    if m:
        v = list(map(int, m.groups()))
        r["requests"] = v[0]
        r["socket_errors"] = sum(v[2:4]) + v[4] + v[6]
        r["rps"] = v[0] / (v[1] / 1e6)
    else:
        m = re.search(r"(\d+) requests in", out)
        r["requests"] = int(m.group(1)) if m else 0
        m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        r["socket_errors"] = sum(map(int, m.groups())) if m else 0
    if "s200" in r and r["requests"]:
        r["ok_rps"] = r["rps"] * r["s200"] / r["requests"]
        r["share_503"] = r["s503"] / r["requests"]
    r["wrk_cpu_pct"] = 100 * (ru.ru_utime + ru.ru_stime) / wall
    if server:
        r["server_cpu_pct"] = 100 * (server.cpu_secs() - cpu0) / wall
        r["server_rss_mb"] = (server.rss_kb() or 0) / 1024
    r["raw"] = out
    log(f"  {r['label']:<28} c={conns:<3} {r['rps']:9.0f} req/s  p50 {r['p50_ms']:7.2f} ms  "
        f"p99 {r['p99_ms']:7.2f} ms  server CPU {r.get('server_cpu_pct', 0):4.0f} %  "
        f"wrk CPU {r['wrk_cpu_pct']:3.0f} %"
        + (f"  503: {r['share_503']:.1%}" if r.get("s503") else "")
        + (f"  401: {r['s401']}" if r.get("s401") else ""))
    return r


class RssSampler(threading.Thread):
    """VmRSS of the server every second, with the phase it was taken in."""

    def __init__(self, server: Server):
        super().__init__(daemon=True)
        self.server = server
        self.samples: list[tuple[float, str, float]] = []
        self.phase = "before"
        self._halt = threading.Event()
        self.t0 = time.perf_counter()

    def run(self) -> None:
        while not self._halt.is_set():
            kb = self.server.rss_kb()
            if kb is not None:
                self.samples.append((time.perf_counter() - self.t0, self.phase, kb / 1024))
            self._halt.wait(1.0)

    def stop(self) -> None:
        self._halt.set()
        self.join()


class Prober(threading.Thread):
    """GET /healthz and /readyz every 0.5 s: they stay outside the concurrency limit."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.port = port
        self.results: list[tuple[str, int, float]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            for p in ("/healthz", "/readyz"):
                try:
                    s, ms, _ = request(self.port, "GET", p, timeout=5)
                except OSError:
                    s, ms = 0, float("nan")
                self.results.append((p, s, ms))
            self._halt.wait(0.5)

    def stop(self) -> None:
        self._halt.set()
        self.join()


# ------------------------------------------------------------------------------------------
# JWT: keys, a JWKS endpoint on 127.0.0.1, tokens.

def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _int_b64u(n: int, size: int | None = None) -> str:
    size = size or (n.bit_length() + 7) // 8
    return b64u(n.to_bytes(size, "big"))


class Signer:
    def __init__(self, alg: str):
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        self.alg = alg
        self.kid = f"bench-{alg.lower()}"
        if alg == "RS384":
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pub = self.key.public_key().public_numbers()
            self.jwk = {"kty": "RSA", "kid": self.kid, "alg": alg, "use": "sig",
                        "n": _int_b64u(pub.n), "e": _int_b64u(pub.e)}
        elif alg == "ES384":
            self.key = ec.generate_private_key(ec.SECP384R1())
            pub = self.key.public_key().public_numbers()
            self.jwk = {"kty": "EC", "kid": self.kid, "alg": alg, "use": "sig", "crv": "P-384",
                        "x": _int_b64u(pub.x, 48), "y": _int_b64u(pub.y, 48)}
        else:
            raise ValueError(alg)

    def token(self, aud: str) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, padding
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
        now = int(time.time())
        header = {"alg": self.alg, "typ": "JWT", "kid": self.kid}
        claims = {"iss": ISSUER, "sub": "bench-client", "aud": aud, "iat": now, "exp": now + 600,
                  "jti": str(uuid.uuid4())}
        signing_input = (b64u(json.dumps(header, separators=(",", ":")).encode()) + "."
                         + b64u(json.dumps(claims, separators=(",", ":")).encode())).encode()
        if self.alg == "RS384":
            sig = self.key.sign(signing_input, padding.PKCS1v15(), hashes.SHA384())
        else:
            r, s = decode_dss_signature(self.key.sign(signing_input, ec.ECDSA(hashes.SHA384())))
            sig = r.to_bytes(48, "big") + s.to_bytes(48, "big")
        return signing_input.decode() + "." + b64u(sig)


def jwks_server(keys: list[dict]) -> tuple[http.server.ThreadingHTTPServer, int]:
    doc = json.dumps({"keys": keys}).encode()

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path != "/jwks.json":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(doc)))
            self.end_headers()
            self.wfile.write(doc)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, srv.server_address[1]


# ------------------------------------------------------------------------------------------
# perf: time per stage of a request.

STAGES = [
    ("HookRequest::read", "HookRequest::read (one pass over the body; prefetch kept as text)"),
    ("fhir::fast::collect_resources", "collect_resources: relevant prefetch resources, parsed slim"),
    ("cds::record::read_resources", "read_resources: the FHIR mapper"),
    ("restless_engine::", "engine: assess"),
    ("cds::cards::", "cards"),
    ("sqlite3", "SQLite"),
    ("Serialize for restless_server::cds::wire", "serialise the response"),
    ("tracing_subscriber", "access log (tracing)"),
    ("cds::service::call", "handler, rest"),
    ("hyper::", "hyper: HTTP/1.1"),
    ("tokio::", "tokio: scheduling"),
]
ALLOC = ("malloc", "free", "_int_", "consolidate", "unlink_chunk", "cfree")


def perf_profile(server: Server, port: int, conns: int, threads: int, workdir: Path,
                 body: Path) -> dict:
    data = workdir / f"perf-{body.stem}.data"
    holder: dict = {}

    def load():
        holder["r"] = wrk(port, SERVICE, threads, conns, 14, server, body=body,
                          label=f"{body.stem} (perf)")

    t = threading.Thread(target=load)
    t.start()
    time.sleep(3)
    subprocess.run(["perf", "record", "-q", "-F", "199", "--call-graph", "dwarf,16384",
                    "-p", str(server.pid), "-o", str(data), "--", "sleep", "8"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t.join()
    script = subprocess.run(["perf", "script", "-i", str(data), "-F", "comm,tid,ip,sym"],
                            capture_output=True, text=True, errors="replace").stdout
    stacks: list[list[str]] = []
    cur: list[str] = []
    for line in script.splitlines():
        if not line.strip():
            if cur:
                stacks.append(cur)
            cur = []
        elif line[0] not in " \t":
            cur = []
        else:
            parts = line.split(None, 1)
            cur.append(parts[1] if len(parts) > 1 else "?")
    if cur:
        stacks.append(cur)
    n = max(len(stacks), 1)

    def stage(frames: list[str]) -> str:
        for f in frames:
            for key, name in STAGES:
                if key in f:
                    return name
        return "other"

    by_stage = collections.Counter(stage(s) for s in stacks)
    alloc = collections.Counter(stage(s) for s in stacks if s and any(a in s[0] for a in ALLOC))
    freeing = sum(1 for s in stacks if any("drop_in_place<serde_json::value::Value>" in f
                                             for f in s[:25]))
    leaf = collections.Counter(re.sub(r"\+0x[0-9a-f]+$", "", s[0]) for s in stacks if s)
    data.unlink(missing_ok=True)
    return {
        "body": body.name,
        "samples": len(stacks),
        "stages": [(k, 100 * v / n, 100 * alloc.get(k, 0) / n) for k, v in by_stage.most_common()],
        "allocator_pct": 100 * sum(alloc.values()) / n,
        "freeing_value_pct": 100 * freeing / n,
        "top_self": [(k, 100 * v / n) for k, v in leaf.most_common(15)],
        "run": holder.get("r"),
    }


# ------------------------------------------------------------------------------------------


def tmpfs_dir() -> Path | None:
    """A fresh folder on /dev/shm when it is a writable tmpfs (fsync costs nothing there)."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and fstype(shm) == "tmpfs":
        return Path(tempfile.mkdtemp(prefix="restless-bench-", dir=shm))
    return None


def jwt_phase(a, workdir: Path, servers: list[Server], conns: int) -> dict:
    """The same load with and without token verification, on two servers run alternately
    (the machine's speed drifts; alternating short runs and taking medians cancels most of
    it). Both keep their database on tmpfs when possible so that fsync noise stays out."""
    log("\n[3/4] JWT verification on (a fresh signed token per request) against the same "
        "load without; runs alternate between the two servers")
    signers = [Signer("RS384"), Signer("ES384")]
    jwks, jport = jwks_server([s.jwk for s in signers])
    shm = tmpfs_dir()
    try:
        plain = Server(workdir, "jwt-off", ["--insecure-no-auth"],
                       data=shm / "off" if shm else None)
        servers.append(plain)
        srv = Server(workdir, "jwt-on", ["--jwt-issuer", ISSUER, "--jwks-url",
                                         f"{ISSUER}|http://127.0.0.1:{jport}/jwks.json"],
                     data=shm / "on" if shm else None)
        servers.append(srv)
        aud = f"http://127.0.0.1:{srv.port}{SERVICE}"
        body = BODY.read_bytes()
        tok = signers[0].token(aud)
        s1 = request(srv.port, "POST", SERVICE, body, {"Authorization": f"Bearer {tok}"})[0]
        s2 = request(srv.port, "POST", SERVICE, body, {"Authorization": f"Bearer {tok}"})[0]
        s3 = request(srv.port, "POST", SERVICE, body)[0]
        log(f"  fresh token: {s1}; the same token again: {s2}; no token: {s3}")
        if (s1, s2, s3) != (200, 401, 401):
            raise SystemExit("the JWT set-up does not behave as expected")
        wrk(plain.port, SERVICE, a.threads, conns, 3, plain, label="warm-up (no auth)")

        def tokens(signer: Signer, count: int, tag: str) -> Path:
            path = workdir / f"tokens-{tag}.txt"
            with open(path, "w") as f:
                for _ in range(count):
                    f.write(signer.token(aud) + "\n")
            return path

        runs: dict[str, list[dict]] = collections.defaultdict(list)
        plan = [(1, 1, 5, 3), (a.threads, conns, 8, 2)]  # threads, connections, secs, rounds
        for t, c, secs, rounds in plan:
            for i in range(rounds):
                runs[f"none/{c}"].append(wrk(plain.port, SERVICE, t, c, secs, plain,
                                             label="patient-view, no auth"))
                algs = signers if c == 1 else signers[:1]
                for signer in algs:
                    base = runs[f"none/{c}"][-1]["rps"]
                    path = tokens(signer, int(base * secs * 2) + 1000, f"{signer.alg}-{c}-{i}")
                    runs[f"{signer.alg}/{c}"].append(
                        wrk(srv.port, SERVICE, t, c, secs, srv, tokens=path,
                            label=f"patient-view, {signer.alg}"))
        out = []
        for key, rs in runs.items():
            alg, c = key.split("/")
            out.append({
                "alg": alg, "connections": int(c), "threads": rs[0]["threads"],
                "rounds": len(rs),
                "rps": statistics.median(r["rps"] for r in rs),
                "mean_ms": statistics.median(r.get("mean_ms", float("nan")) for r in rs),
                "p50_ms": statistics.median(r["p50_ms"] for r in rs),
                "p99_ms": statistics.median(r["p99_ms"] for r in rs),
                "cpu_ms_per_req": statistics.median(cpu_ms(r) for r in rs),
                "refused": sum(r.get("s401", 0) + r.get("sother", 0) for r in rs),
            })
        codes = [s.stop() for s in (plain, srv)]
        return {"data_on_tmpfs": shm is not None, "results": out, "exit_codes": codes}
    finally:
        jwks.shutdown()
        if shm:
            shutil.rmtree(shm, ignore_errors=True)


def cpu_ms(r: dict) -> float:
    """Server CPU time per answered request, in milliseconds."""
    return 10 * r.get("server_cpu_pct", float("nan")) / r["rps"] if r["rps"] else float("nan")


def machine() -> dict:
    model = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    return {"cpus": os.cpu_count(), "cpu_model": model, "mem_mb": mem,
            "kernel": platform.release(), "wrk": wrk_v.strip()}


def fstype(path: Path) -> str:
    r = subprocess.run(["findmnt", "-n", "-o", "FSTYPE", "-T", str(path)], capture_output=True,
                       text=True)
    return (r.stdout.split() or ["unknown"])[0]


def fmt_row(cols: list, widths: list[int]) -> str:
    return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cols, widths)) + " |"


def table(head: list[str], rows: list[list]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    lines = [fmt_row(head, widths), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [fmt_row(r, widths) for r in rows]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=15, help="seconds per sweep run (<= 30)")
    ap.add_argument("--overload-duration", type=int, default=20, help="seconds (<= 30)")
    ap.add_argument("--connections", default="4,8,16,32,64",
                    help="connection counts of the sweep (a 1-connection run is always added)")
    # One wrk thread drives these runs with CPU to spare (wrk takes about a third of a core);
    # a second one only competes with the server's workers for the same two cores (more
    # context switches, and wrk's own scheduling delays measured as latency: p99 at 8
    # connections 1.7 ms with one thread against 4 ms with two). The wrk-bound references
    # (HTTP alone, /healthz) use at least two.
    ap.add_argument("--threads", type=int, default=1,
                    help="wrk threads of the patient-view runs")
    ap.add_argument("--no-jwt", action="store_true", help="skip the JWT phase")
    ap.add_argument("--perf", action="store_true", help="profile the server with perf")
    ap.add_argument("--keep", action="store_true", help="keep the data folders and logs")
    a = ap.parse_args()
    if not (0 < a.duration <= MAX_RUN_SECS and 0 < a.overload_duration <= MAX_RUN_SECS):
        raise SystemExit(f"runs are limited to {MAX_RUN_SECS} s")
    if not BIN.exists():
        raise SystemExit(f"{BIN} is missing: run bench/serve (it builds it)")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: run bench/serve (it installs it)")
    conns = sorted({int(c) for c in a.connections.split(",") if c.strip()})
    OUT.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=OUT))
    fs = fstype(workdir)
    results: dict = {"machine": machine(), "body_bytes": BODY.stat().st_size,
                     "data_dir_fs": fs, "as_of": AS_OF}
    log(f"machine: {results['machine']['cpus']} CPUs ({results['machine']['cpu_model']}), "
        f"{results['machine']['mem_mb']} MiB; {results['machine']['wrk']}; wrk and the server "
        f"share the machine; data folder on {fs} ({workdir})")
    servers: list[Server] = []
    try:
        # 1. Sweep.
        log("\n[1/4] sweep: --insecure-no-auth, default limits")
        srv = Server(workdir, "sweep", ["--insecure-no-auth"])
        servers.append(srv)
        status, ms, body = request(srv.port, "POST", SERVICE, BODY.read_bytes())
        cards = json.loads(body).get("cards", []) if status == 200 else []
        if status != 200 or not cards:
            raise SystemExit(f"patient-view answered {status} with {len(cards)} cards: {body[:500]}")
        results["cards"] = [c["source"].get("topic", {}).get("code") for c in cards]
        results["response_bytes"] = len(body)
        log(f"  one request: {status}, {len(cards)} cards ({', '.join(results['cards'])}), "
            f"{len(body)} bytes, {ms:.1f} ms; RSS {srv.rss_kb() / 1024:.0f} MB")
        results["rss_idle_mb"] = srv.rss_kb() / 1024
        wrk(srv.port, SERVICE, a.threads, 8, 3, srv, label="warm-up")
        sweep = [wrk(srv.port, SERVICE, 1, 1, a.duration, srv, label="patient-view")]
        for c in conns:
            sweep.append(wrk(srv.port, SERVICE, a.threads, max(c, a.threads), a.duration, srv,
                             label="patient-view"))
        results["sweep"] = sweep
        # Throughput counts answers with cards (200), not the 503s of a shedding server.
        best = max(goodput(r) for r in sweep)
        sustainable = next(r for r in sweep if goodput(r) >= 0.95 * best)
        n = sustainable["connections"]
        results["sustainable_connections"] = n
        compact = workdir / "patient-view-compact.json"
        compact.write_text(json.dumps(json.loads(BODY.read_bytes()), separators=(",", ":"),
                                      ensure_ascii=False), encoding="utf-8")
        results["compact_bytes"] = compact.stat().st_size
        refs = [
            wrk(srv.port, SERVICE, a.threads, max(n, a.threads), a.duration, srv, body=compact,
                label="patient-view, compact body"),
            wrk(srv.port, "/cds-services/no-such-service", max(2, a.threads), max(n, 2),
                min(a.duration, 10), srv, body=BODY, label="same body, 404 (HTTP only)"),
            wrk(srv.port, SERVICE, a.threads, max(n, a.threads), a.duration, srv, body=MINIMAL,
                label="patient-view, minimal"),
            wrk(srv.port, "/healthz", max(2, a.threads), 32, min(a.duration, 10), srv, body=None,
                label="GET /healthz"),
        ]
        results["sweep_exit_code"] = srv.stop()
        log(f"  stopped with SIGTERM: exit code {results['sweep_exit_code']}")
        # The same load with the database on tmpfs, where fsync costs nothing: what the
        # durable commit of every response's cards costs.
        tmp = tmpfs_dir()
        if tmp:
            try:
                srv = Server(workdir, "sweep-tmpfs", ["--insecure-no-auth"], data=tmp)
                servers.append(srv)
                wrk(srv.port, SERVICE, a.threads, 8, 3, srv, label="warm-up")
                refs.append(wrk(srv.port, SERVICE, a.threads, max(n, a.threads), a.duration, srv,
                                label="patient-view, db on tmpfs"))
                srv.stop()
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        results["references"] = refs

        # 2. Overload.
        limit = max(n, 2)
        load = 2 * limit
        log(f"\n[2/4] overload: --max-concurrency {limit} (best throughput reached at {n} "
            f"connection(s)), {load} connections for {a.overload_duration} s")
        srv = Server(workdir, "overload", ["--insecure-no-auth", "--max-concurrency", str(limit)])
        servers.append(srv)
        wrk(srv.port, SERVICE, a.threads, max(limit, a.threads), 5, srv, label="warm-up")
        sampler = RssSampler(srv)
        sampler.start()
        time.sleep(4)
        prober = Prober(srv.port)
        sampler.phase = "during"
        prober.start()
        over = wrk(srv.port, SERVICE, a.threads, max(load, a.threads), a.overload_duration, srv,
                   label="patient-view, 2x load", statuses=True)
        prober.stop()
        sampler.phase = "after"
        first = request(srv.port, "POST", SERVICE, BODY.read_bytes())
        then = [request(srv.port, "POST", SERVICE, BODY.read_bytes()) for _ in range(20)]
        time.sleep(5)
        sampler.stop()
        probes = [p for p in prober.results if p[1]]
        results["overload"] = {
            "max_concurrency": limit, "connections": load, "run": over,
            "rss": sampler.samples,
            "threads_after": srv.threads(),
            "vm_hwm_mb": (srv.status_kb("VmHWM") or 0) / 1024,
            "first_after": {"status": first[0], "ms": first[1]},
            "after_statuses": sorted({s for s, _, _ in then}),
            "after_median_ms": statistics.median(ms for _, ms, _ in then),
            "probes": len(prober.results),
            "probes_ok": sum(1 for p in probes if p[1] == 200),
            "probe_max_ms": max((p[2] for p in probes), default=float("nan")),
            "probe_median_ms": statistics.median(p[2] for p in probes) if probes else None,
        }
        o = results["overload"]
        log(f"  503: {over.get('share_503', 0):.1%} of {over['requests']} answers; 200s "
            f"{over.get('ok_rps', 0):.0f}/s; probes {o['probes_ok']}/{o['probes']} 200 "
            f"(max {o['probe_max_ms']:.1f} ms); first request after: {first[0]} in "
            f"{first[1]:.1f} ms, then median {o['after_median_ms']:.1f} ms")
        log("  RSS (MB) per second, b/d/a = before/during/after: "
            + " ".join(f"{ph[0]}{mb:.0f}" for _, ph, mb in sampler.samples))
        if a.perf:
            log("\n[perf] profiling the saturated server")
            results["perf"] = [
                perf_profile(srv, srv.port, max(n, a.threads), a.threads, workdir, b)
                for b in (BODY, MINIMAL)
            ]
        results["overload_exit_code"] = srv.stop()

        # 3. JWT.
        if not a.no_jwt:
            results["jwt"] = jwt_phase(a, workdir, servers, max(n, a.threads))
    finally:
        for s in servers:
            if s.proc.poll() is None:
                s.stop()

    # 4. Summary.
    for r in [*results.get("sweep", []), *results.get("references", []),
              results.get("overload", {}).get("run") or {},
              *(p.get("run") or {} for p in results.get("perf", []))]:
        r.pop("raw", None)
    (OUT / "results.json").write_text(json.dumps(results, indent=1))
    print(summary(results))
    if not a.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        log(f"data folders and logs kept in {workdir}")


def refused(x: dict) -> str:
    """The share of answers shed with 503; without the Lua status hook, of all non-2xx."""
    if x.get("by_status"):
        return f"{x.get('share_503', 0):.0%}"
    return f"{x['non2xx'] / x['requests']:.0%} non-2xx" if x["non2xx"] and x["requests"] else "0%"


def summary(r: dict) -> str:
    m = r["machine"]
    out = [f"\n## restless serve under load ({m['cpus']} CPUs, {m['cpu_model']}; wrk on the "
           f"same machine; data folder on {r['data_dir_fs']})",
           f"\nPOST {SERVICE}, body {r['body_bytes']} bytes, answer {r['response_bytes']} bytes "
           f"with {len(r['cards'])} cards; --insecure-no-auth, --as-of {r['as_of']}\n"]
    rows = []
    for x in r["sweep"] + r["references"]:
        rows.append([x["label"], f"{x['threads']}/{x['connections']}", f"{x['rps']:,.0f}",
                     f"{goodput(x):,.0f}", refused(x),
                     f"{x['p50_ms']:.2f}", f"{x['p90_ms']:.2f}", f"{x['p99_ms']:.2f}",
                     f"{x.get('server_cpu_pct', 0):.0f} %", f"{cpu_ms(x):.3f}",
                     f"{x['wrk_cpu_pct']:.0f} %", x["non2xx"] + x.get("socket_errors", 0)])
    out.append(table(["run", "threads/conns", "req/s", "200/s", "503", "p50 ms", "p90 ms", "p99 ms",
                      "server CPU", "CPU ms/req", "wrk CPU", "errors"], rows))
    best = max(r["sweep"], key=goodput)
    met = any(goodput(x) >= 10000 and x["p99_ms"] <= 10 and not x.get("s503")
              and not x.get("sother") for x in r["sweep"])
    out.append(f"\nbest: {goodput(best):,.0f} answers with cards (200) per second at "
               f"{best['connections']} connections "
               f"(p99 {best['p99_ms']:.1f} ms); target >= 10,000 req/s with p99 <= 10 ms: "
               f"{'met' if met else 'NOT met'}")
    for x in r["references"]:
        if x["label"] == "patient-view, compact body":
            ok = (goodput(x) >= 10000 and x["p99_ms"] <= 10 and not x.get("s503")
                  and not x.get("sother"))
            out.append(f"the same request compact ({r['compact_bytes']} bytes): "
                       f"{goodput(x):,.0f}/s, p99 {x['p99_ms']:.1f} ms: "
                       f"{'met' if ok else 'NOT met'}")
        if x["label"].startswith("same body, 404"):
            out.append(f"HTTP alone for this body (404 once read): {x['rps']:,.0f}/s at "
                       f"{cpu_ms(x):.3f} ms of server CPU per request; wrk "
                       f"{x['wrk_cpu_pct']:.0f} % CPU")
    o = r["overload"]
    x = o["run"]
    before = [s[2] for s in o["rss"] if s[1] == "before"]
    during = [s[2] for s in o["rss"] if s[1] == "during"]
    after = [s[2] for s in o["rss"] if s[1] == "after"]
    rng = lambda v: f"{min(v):.0f}-{max(v):.0f}" if v else "-"  # noqa: E731
    out.append(f"\noverload: --max-concurrency {o['max_concurrency']}, {o['connections']} "
               f"connections, {x['secs']} s")
    out.append(table(
        ["answers", "503 share", "200/s", "p50 ms", "p99 ms", "RSS before MB",
         "RSS during MB", "RSS after MB", "probes 200", "first request after"],
        [[f"{x['requests']:,}", f"{x.get('share_503', 0):.1%}", f"{x.get('ok_rps', 0):,.0f}",
          f"{x['p50_ms']:.2f}", f"{x['p99_ms']:.2f}", rng(before), rng(during), rng(after),
          f"{o['probes_ok']}/{o['probes']} (max {o['probe_max_ms']:.1f} ms)",
          f"{o['first_after']['status']} in {o['first_after']['ms']:.1f} ms"]]))
    out.append("RSS series (s:MB): " + " ".join(f"{t:.0f}{ph[0]}:{mb:.0f}"
                                                for t, ph, mb in o["rss"])
               + "   (b = before, d = during, a = after)")
    if r.get("jwt"):
        j = r["jwt"]
        res = {(x["alg"], x["connections"]): x for x in j["results"]}
        rows = []
        for x in j["results"]:
            b = res.get(("none", x["connections"]))
            diff = "" if x["alg"] == "none" or not b else \
                f"{x['cpu_ms_per_req'] - b['cpu_ms_per_req']:+.3f}"
            rows.append([x["alg"], f"{x['threads']}/{x['connections']}", x["rounds"],
                         f"{x['rps']:,.0f}", f"{x['mean_ms']:.2f}", f"{x['p50_ms']:.2f}",
                         f"{x['p99_ms']:.2f}", f"{x['cpu_ms_per_req']:.3f}", diff,
                         x["refused"]])
        out.append(f"\nJWT verification: a fresh signed token per request, against the same "
                   f"load without auth (medians of alternating runs; database on "
                   f"{'tmpfs' if j['data_on_tmpfs'] else 'disk'}):")
        out.append(table(["auth", "threads/conns", "runs", "req/s", "mean ms", "p50 ms",
                          "p99 ms", "CPU ms/req", "extra CPU ms/req", "refused"], rows))
    for p in r.get("perf", []):
        run = p.get("run") or {}
        out.append(f"\nperf, {p['body']} ({p['samples']} samples at {run.get('rps', 0):,.0f} "
                   f"req/s; allocator {p['allocator_pct']:.0f} % of all samples, freeing "
                   f"serde_json::Value trees {p['freeing_value_pct']:.0f} %)")
        out.append(table(["stage (innermost frame)", "share", "of which allocator"],
                         [[k, f"{v:.1f} %", f"{al:.1f} %"] for k, v, al in p["stages"]]))
        out.append(table(["top functions (self)", "share"],
                         [[k[:90], f"{v:.1f} %"] for k, v in p["top_self"][:10]]))
    codes = {k: r.get(k) for k in ("sweep_exit_code", "overload_exit_code") if k in r}
    if r.get("jwt"):
        codes["jwt_exit_codes"] = r["jwt"]["exit_codes"]
    out.append(f"\nexit codes after SIGTERM: {codes}")
    return "\n".join(out)


if __name__ == "__main__":
    main()
