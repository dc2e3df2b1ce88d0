#!/usr/bin/env python3
"""Benchmark of `restless screen` against the physical reference (`wc -l`) and what an analyst
would use instead (DuckDB SQL and a Python + orjson script implementing the core rules), all in
the same run, on the same files, with the same thread count, the file cache warm for all.

Prints wall time, MB/s, patients/s and peak memory for each, then the ratios the issue sets as
targets. Run through `bench/screen`.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(cmd, env=None):
    """Runs a command; returns (seconds, peak RSS in MB of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.stderr.write(p.stderr.decode(errors="replace"))
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}")
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far; measure each tool in a fresh
    # python process (see measure()) so this is the tool's own peak.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return dt, max(peak, before) / 1024.0, p.stdout


def measure(cmd):
    """Runs `cmd` in a child python that reports the child's own peak RSS."""
    code = (
        "import resource,subprocess,sys,time,json;t=time.perf_counter();"
        "p=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE);"
        "dt=time.perf_counter()-t;"
        "sys.stderr.write(p.stderr.decode(errors='replace')) if p.returncode else None;"
        "print(json.dumps({'rc':p.returncode,'s':dt,'rss_mb':resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024}))"
    )
    out = subprocess.run([sys.executable, "-c", code, *map(str, cmd)], stdout=subprocess.PIPE, check=True)
    r = json.loads(out.stdout)
    if r["rc"] != 0:
        raise SystemExit(f"failed ({r['rc']}): {' '.join(map(str, cmd))}")
    return r["s"], r["rss_mb"]


def files_of(export):
    return sorted(p for p in Path(export).rglob("*") if p.name.endswith(".ndjson") or p.name.endswith(".ndjson.gz"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=int(os.environ.get("BENCH_PATIENTS", "3000")))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--export", default=str(ROOT / "target" / "bench-export"))
    ap.add_argument("--repeat", type=int, default=3, help="runs per tool; the best counts")
    ap.add_argument("--skip-baselines", action="store_true")
    args = ap.parse_args()
    restless = ROOT / "target" / "release" / "restless"
    export = Path(args.export)
    stamp = export / ".patients"
    if not stamp.exists() or stamp.read_text().strip() != str(args.patients):
        print(f"generating an export of {args.patients} patients in {export} ...", flush=True)
        subprocess.run(["rm", "-rf", str(export)], check=True)
        subprocess.run([str(restless), "synth", "--patients", str(args.patients), "--seed", "1", "--as-of", "2026-11-27", "--out", str(export)], check=True)
        stamp.write_text(str(args.patients))
    files = files_of(export)
    size = sum(f.stat().st_size for f in files)
    lines = 0
    print(f"export: {len(files)} files, {size / 1e6:.0f} MB, {args.patients} patients; threads {args.threads}; {os.cpu_count()} cores")
    # Warm the file cache for everyone.
    for f in files:
        with open(f, "rb") as fh:
            while fh.read(1 << 24):
                pass
    out = ROOT / "target" / "bench-out"
    out.mkdir(parents=True, exist_ok=True)
    results = {}

    def best(name, cmd):
        runs = [measure(cmd) for _ in range(args.repeat)]
        s = min(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        results[name] = (s, rss)
        print(f"{name:<34} {s:8.2f} s {size / 1e6 / s:9.0f} MB/s {args.patients / s:10.0f} patients/s  peak {rss:8.1f} MB", flush=True)

    best("wc -l (physical reference)", ["wc", "-l", *files])
    best("restless screen", [restless, "screen", export, "--out", out / "restless.ndjson", "--as-of", "2026-11-27", "--threads", str(args.threads)])
    if not args.skip_baselines:
        py = sys.executable
        best("duckdb baseline", [py, ROOT / "bench" / "baselines" / "duckdb_screen.py", "--threads", str(args.threads), "--as-of", "2026-11-27", "--out", out / "duckdb.ndjson", export])
        best("python+orjson baseline", [py, ROOT / "bench" / "baselines" / "python_screen.py", "--threads", str(args.threads), "--as-of", "2026-11-27", "--out", out / "python.ndjson", export])
    r = results["restless screen"][0]
    wc = results["wc -l (physical reference)"][0]
    print()
    print(f"throughput vs wc -l: {wc / r:.2f} of wc -l's speed (target >= 0.50)")
    if "duckdb baseline" in results:
        print(f"wall time vs DuckDB: {results['duckdb baseline'][0] / r:.2f}x faster (target >= 2.5x)")
        print(f"wall time vs Python+orjson: {results['python+orjson baseline'][0] / r:.2f}x faster")
    rss = results["restless screen"][1]
    # Memory per patient beyond the fixed base: the slope between this export and a quarter-size
    # one, both screened with one thread (worker buffers then stay the same).
    small = export.parent / "bench-export-quarter"
    n_small = max(args.patients // 4, 1)
    stamp_small = small / ".patients"
    if not stamp_small.exists() or stamp_small.read_text().strip() != str(n_small):
        subprocess.run(["rm", "-rf", str(small)], check=True)
        subprocess.run([str(restless), "synth", "--patients", str(n_small), "--seed", "2", "--as-of", "2026-11-27", "--out", str(small)], check=True, stderr=subprocess.DEVNULL)
        stamp_small.write_text(str(n_small))
    one = lambda d: min(measure([restless, "screen", d, "--out", out / "slope.ndjson", "--as-of", "2026-11-27", "--threads", "1"])[1] for _ in range(3))
    big_rss, small_rss = one(export), one(small)
    per = (big_rss - small_rss) * 1024 / (args.patients - n_small)
    print(f"restless peak memory: {rss:.1f} MB in all; beyond the fixed base {per:.2f} KB per patient (target < 1 KB; slope of peak RSS between {n_small} and {args.patients} patients, one thread)")


if __name__ == "__main__":
    main()
