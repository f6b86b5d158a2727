#!/usr/bin/env python3
"""Intel MPI Benchmarks' PingPong (IMB-MPI1, shipped with Intel MPI) with and without libmpive preloaded,
side by side from one run: host buffers only, so it measures libmpive's host fast path on Intel MPI.

    python3 bench/imb_pingpong.py                   # 9 rounds, 0 B to 64 KiB, 1 to 3 minutes on 2 cores
    python3 bench/imb_pingpong.py --rounds 1 --msglog 0:4   # seconds: checks that it runs

Each round runs IMB-MPI1 PingPong twice on 2 ranks of Intel MPI (build/mpis/impi, as installed by
scripts/setup.sh), once plain and once with LD_PRELOAD=libmpive.so, alternating which goes first, so that
load on the machine hits both alike. IMB prints the mean time of its repetitions for each message size;
the table gives, per size, the median over rounds of each variant and the median of the per-round ratios
(with / without), and the best (lowest) time of each variant over the rounds and their ratio: on a loaded
machine a rank that loses its core for a while inflates IMB's mean of that run, and the best round is the
one least disturbed. Writes build/bench/imb_pingpong.csv (every measurement) and prints the table.
"""
import argparse
import csv
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMPI = ROOT / "build" / "mpis" / "impi"
SHIM = ROOT / "target" / "release" / "libmpive.so"
SIMVE = ROOT / "target" / "release" / "libveo.so"


def run_imb(preload, msglog, iters):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.update({"I_MPI_ROOT": str(IMPI), "I_MPI_FABRICS": "shm", "I_MPI_PIN": "0",
                "LD_LIBRARY_PATH": str(IMPI / "lib") + os.pathsep + env.get("LD_LIBRARY_PATH", "")})
    if preload:
        env.update({"LD_PRELOAD": str(SHIM), "MPIVE_VEO_LIB": str(SIMVE)})
    # Intel MPI's own launcher (its mpirun script would run the first mpiexec.hydra on PATH)
    cmd = [str(IMPI / "bin" / "mpiexec.hydra"), "-n", "2", str(IMPI / "bin" / "IMB-MPI1"), "PingPong",
           "-msglog", msglog, "-iter", str(iters), "-time", "600"]  # no IMB time-out on a loaded machine
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        sys.exit(f"IMB-MPI1 failed ({'with' if preload else 'without'} libmpive): {' '.join(cmd)}\n"
                 f"{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    rows = re.findall(r"^\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s*$", p.stdout, re.M)
    if not rows:
        sys.exit("no PingPong table in IMB-MPI1's output\n" + p.stdout[-3000:])
    return {int(b): float(t) for b, _, t, _ in rows}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--msglog", default="0:16", help="IMB's -msglog: sizes 2^a to 2^b bytes (and 0)")
    ap.add_argument("--iter", type=int, default=1000, help="IMB's -iter (fewer for large sizes, IMB's policy)")
    ap.add_argument("--out", default=str(ROOT / "build" / "bench"))
    a = ap.parse_args()
    for f in (IMPI / "bin" / "IMB-MPI1", SHIM, SIMVE):
        if not f.exists():
            sys.exit(f"{f} is missing: run scripts/setup.sh (Intel MPI) and cargo build --release")
    meas = []  # (round, variant, bytes, usec)
    for k in range(a.rounds):
        order = [False, True] if k % 2 == 0 else [True, False]
        for pre in order:
            for b, t in run_imb(pre, a.msglog, a.iter).items():
                meas.append((k, "preload" if pre else "plain", b, t))
        print(f"round {k + 1}/{a.rounds} done", file=sys.stderr)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "imb_pingpong.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["round", "variant", "bytes", "usec"])
        w.writerows(meas)
    by = {}
    for k, v, b, t in meas:
        by.setdefault(b, {}).setdefault(v, {})[k] = t
    print(f"IMB-MPI1 PingPong, Intel MPI, 2 ranks, {a.rounds} rounds: median t[usec] per size; ratio = median of "
          "per-round ratios with / without libmpive")
    print(f"{'':>9} {'median of rounds':>29} {'best of rounds':>29}")
    print(f"{'bytes':>9} {'without':>10} {'with':>10} {'ratio':>7} {'without':>10} {'with':>10} {'ratio':>7}")
    worst = worst_best = 0.0
    for b in sorted(by):
        plain, pre = by[b].get("plain", {}), by[b].get("preload", {})
        ratios = [pre[k] / plain[k] for k in plain if k in pre and plain[k] > 0]
        if not ratios or min(plain.values()) <= 0:
            print(f"{b:>9} (no pair of measurements)")
            continue
        r = statistics.median(ratios)
        bp, bq = min(plain.values()), min(pre.values())
        worst, worst_best = max(worst, r), max(worst_best, bq / bp)
        print(f"{b:>9} {statistics.median(plain.values()):>10.2f} {statistics.median(pre.values()):>10.2f} {r:>7.3f}"
              f" {bp:>10.2f} {bq:>10.2f} {bq / bp:>7.3f}")
    print(f"worst ratio over the sizes: {worst:.3f} (medians), {worst_best:.3f} (best rounds)")


if __name__ == "__main__":
    main()
