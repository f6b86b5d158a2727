#!/usr/bin/env python3
"""The side-by-side benchmark of libmpi-ve.

    python3 bench/run.py                 # full run, both MPIs, about 4 minutes on 2 cores
    python3 bench/run.py --smoke         # seconds: checks that everything runs (the test suite does this)
    python3 bench/run.py --mpi openmpi   # one MPI only
    python3 bench/run.py --runs model,model-pipe,sweep-model,py   # only the runs on the VE Type 10B model

It builds bench/mpive_bench.c with each MPI's compiler wrapper and runs it on 2 ranks, several
times with different settings. Inside one run the variants of an operation (host buffers through
PMPI_* = the code without the preload, host buffers through the shim, VE buffers, VE buffers
pipelined) are interleaved: every repetition measures every variant once per message size, so load
on the machine hits them alike. The table reports medians over repetitions, and ratios as the
median of the per-repetition ratios.

Runs per MPI:
  plain    no preload: MPI_* vs PMPI_* (both the MPI library itself): the noise floor of a ratio
  shim     preload, MPIVE_PIPELINE=0: host-pmpi vs host-shim (overhead), ve vs host-shim (staging)
  pipe     preload, MPIVE_PIPELINE=1, memcpy-speed copies: ve (protocol off) vs ve-pipe
  pipe10G  the same with SIMVE_BANDWIDTH=10G (a modeled PCIe link, 10 GB/s per direction)
  sweep, sweep10G   chunk sizes against each other (every size pipelined): how the defaults were chosen
  model        SIMVE_MODEL=type10b (12.9 us per VE->VH copy, 11.9 us per VH->VE copy, 10 GB/s per direction),
               default settings: one-way latency and bandwidth VH<->VE (vh-ve: host buffers on rank 0, VE
               buffers on rank 1) and VE<->VE (ve-def), 8 B to 128 MiB, against host buffers (host-shim);
               Allreduce, Bcast and a 2-D halo exchange with a vector datatype; libveo copies and VE
               kernel calls per iteration; the model's bound; NEC MPI's published figures beside them
  model-pipe   the same model with MPIVE_PIPELINE=1: pipelined (ve-def, vh-ve) vs unpipelined (ve)
  sweep-model  chunk sizes against each other on the model: how the pipelining defaults were chosen
  py           bench/pingpong.py on the model: mpi4pyve ping-pong, numpy array <-> VE array (vh-ve) and
               numpy <-> numpy (host-host), as in mpi4py-ve's published demo

Outputs (in --out, default build/bench): bench.csv (every measurement), summary.csv (medians and
ratios), table.txt (what is printed), chart.svg (latency and bandwidth against message size).

MPI wait policy: the MPIs' defaults (busy polling, no yield), as OSU-style benchmarks run: exactly 2
ranks on 2 cores, not bound to cores (--bind-to none), so that the shim's copy thread and the
simulated VE's link can run beside a rank. The test suite's yield settings
(OMPI_MCA_mpi_yield_when_idle=1, MPIR_CVAR_POLLS_BEFORE_YIELD=100) are for oversubscribed functional
tests; they add a system call to every idle poll and would blur sub-microsecond differences. Pass
--wait yield to use them here too.
"""
import argparse
import csv
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import harness  # noqa: E402  (the test suite's MPI table, build and run helpers)

SRC = ROOT / "bench" / "mpive_bench.c"

FULL = {
    "reps": 7,
    "scale": 1.0,
    "pp": "0,8,64,512,4K,32K,256K,1M,4M,16M",
    "ar": "8,64,512,4K,32K,256K,1M,4M,16M",
    "multi": "8,512,4K,32K",
    "pipe_pp": "256K,1M,4M,16M",
    "pipe_ar": "256K,1M,4M,16M",
    "sweep": "512K,1M,2M,4M,16M",
    "chunks": "256K,512K,1M,2M,4M",
    "pending": 10000,
    "mpp": "8,64,512,1K,4K,32K,256K,1M,4M,16M,128M",
    "mar": "8,4K,256K,1M,16M",
    "halo": "64,1000",
    "mpipe": "256K,512K,1M,2M,4M,16M,128M",
    "msweep": "256K,512K,1M,2M,4M,16M",
    "mchunks": "128K,256K,512K,1M,2M",
    "py": "8,64,1K,64K,1M,16M,128M",
}
SMOKE = {
    "reps": 2,
    "scale": 0.02,
    "pp": "0,8,4K,1M",
    "ar": "8,4K,1M",
    "multi": "8,4K",
    "pipe_pp": "256K,1M",
    "pipe_ar": "256K,1M",
    "sweep": "1M",
    "chunks": "256K,1M",
    "pending": 200,
    "mpp": "8,64K",
    "mar": "8,64K",
    "halo": "16,100",
    "mpipe": "2M",
    "msweep": "1M",
    "mchunks": "256K,1M",
    "py": "8,1M",
}

# The VE Type 10B preset of the simulated VE (simve/src/link.rs): fixed cost of one copy call in
# microseconds per direction, and bytes per microsecond per direction.
MODEL = {"SIMVE_MODEL": "type10b"}
LAT_FROM_VE, LAT_TO_VE, RATE = 12.9, 11.9, 10e3

# NEC MPI's published VH<->VE ping-pong (mpi4py-ve's ping-pong demo, other hardware): size -> text
PUBLISHED = {16: "29-36 us (16 B..1 KiB)", 64: "29-36 us (16 B..1 KiB)", 512: "29-36 us (16 B..1 KiB)",
             1024: "29-36 us (16 B..1 KiB)", 1 << 20: "188 us, 5.2 GB/s", 128 << 20: "5.9 GB/s"}
PUBLISHED_HOST = "3.6 us host-host (Python demo)"


def runs(p):
    """The runs of one MPI: (name, preload, env, variants, program arguments)."""
    common = ["--reps", str(p["reps"]), "--scale", str(p["scale"])]
    return [
        ("plain", False, {}, "host-pmpi,host-shim",
         [*common, "--tests", "pingpong,allreduce,multi", "--pp-sizes", p["pp"], "--ar-sizes", p["ar"],
          "--multi-sizes", p["multi"]]),
        ("shim", True, {"MPIVE_PIPELINE": "0"}, "host-pmpi,host-shim,ve",
         [*common, "--tests", "pingpong,allreduce,multi,pending,allocs", "--pp-sizes", p["pp"],
          "--ar-sizes", p["ar"], "--multi-sizes", p["multi"], "--pending", str(p["pending"])]),
        ("pipe", True, {"MPIVE_PIPELINE": "1", "MPIVE_PIPELINE_ALLREDUCE": "1"}, "host-pmpi,host-shim,ve,ve-pipe",
         [*common, "--tests", "pingpong,allreduce,bcast,allocs", "--pp-sizes", p["pipe_pp"], "--ar-sizes", p["pipe_ar"]]),
        ("pipe10G", True, {"MPIVE_PIPELINE": "1", "MPIVE_PIPELINE_ALLREDUCE": "1", "SIMVE_BANDWIDTH": "10G"},
         "host-shim,ve,ve-pipe",
         [*common, "--tests", "pingpong,allreduce,bcast", "--pp-sizes", p["pipe_pp"], "--ar-sizes", p["pipe_ar"]]),
        # chunk sizes against each other, pipelining from 64 KiB: how the defaults were chosen
        ("sweep", True, {"MPIVE_PIPELINE": "1"}, "ve," + ",".join(f"ve-pipe@{c}" for c in p["chunks"].split(",")),
         [*common, "--tests", "pingpong", "--pp-sizes", p["sweep"]]),
        ("sweep10G", True, {"MPIVE_PIPELINE": "1", "SIMVE_BANDWIDTH": "10G"},
         "ve," + ",".join(f"ve-pipe@{c}" for c in p["chunks"].split(",")),
         [*common, "--tests", "pingpong", "--pp-sizes", p["sweep"]]),
        # the VE Type 10B model: default settings, then pipelined, then the chunk sweep
        ("model", True, MODEL, "host-shim,vh-ve,ve-def",
         [*common, "--median", "--tests", "pingpong,allreduce,bcast,halo", "--pp-sizes", p["mpp"],
          "--ar-sizes", p["mar"], "--halo-sizes", p["halo"]]),
        ("model-pipe", True, {**MODEL, "MPIVE_PIPELINE": "1"}, "host-shim,ve,vh-ve,ve-def",
         [*common, "--median", "--tests", "pingpong", "--pp-sizes", p["mpipe"]]),
        ("sweep-model", True, {**MODEL, "MPIVE_PIPELINE": "1"},
         "ve," + ",".join(f"ve-pipe@{c}" for c in p["mchunks"].split(",")),
         [*common, "--median", "--tests", "pingpong", "--pp-sizes", p["msweep"]]),
        ("py", True, MODEL, "host-host,vh-ve",
         ["--reps", str(p["reps"]), "--scale", str(p["scale"]), "--sizes", p["py"]]),
    ]


def build(mpi, outdir):
    exe = outdir / "bin" / mpi.name / "mpive_bench"
    exe.parent.mkdir(parents=True, exist_ok=True)
    lib = harness.simve_link_dir()
    if not exe.exists() or exe.stat().st_mtime < SRC.stat().st_mtime or exe.stat().st_mtime < (lib / "libveo.so").stat().st_mtime:
        subprocess.run([mpi.cc, "-O2", "-Wall", "-Wno-stringop-overflow", str(SRC), "-o", str(exe), f"-I{ROOT / 'simve' / 'include'}",
                        f"-L{lib}", "-lveo", f"-Wl,-rpath,{lib}", "-ldl"], check=True)
    return exe


def run_env(preload, extra, wait):
    env = harness.base_env(preload, extra)
    if wait == "poll":
        env.pop("OMPI_MCA_mpi_yield_when_idle", None)
        env.pop("MPIR_CVAR_POLLS_BEFORE_YIELD", None)
        env["OMPI_MCA_mpi_yield_when_idle"] = "0"
    return env


def mpirun(mpi, argv, env, timeout):
    cmd = [mpi.run, "-np", "2"]
    if mpi.name == "openmpi":
        cmd += ["--bind-to", "none"]
        for k in sorted(env):
            if k.startswith(harness.FORWARD) or k.startswith("OMPI_MCA_mpi_yield"):
                cmd += ["-x", k]
    else:
        cmd += ["-bind-to", "none"]
    cmd += [str(a) for a in argv]
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout,
                       cwd=ROOT)
    return p, cmd


def parse(out):
    data, allocs, info, copies = [], [], {}, []
    for line in out.splitlines():
        f = line.strip().split(",")
        if f[0] == "D" and len(f) == 6:
            data.append((f[1], f[2], int(f[3]), int(f[4]), float(f[5])))
        elif f[0] == "C" and len(f) in (11, 13):
            copies.append((f[1], f[2], int(f[3]), int(f[4]), tuple(float(x) for x in f[5:])))
        elif f[0] == "A" and len(f) == 8:
            allocs.append(dict(label=f[1], bytes=int(f[2]), count=int(f[3]), mallocs=int(f[4]),
                               heap_allocs=int(f[5]), pool_allocs=int(f[6]), staged=int(f[7])))
        elif f[0] == "I" and len(f) >= 3:
            info[f[1]] = ",".join(f[2:])
    return data, allocs, info, copies


def size_of(t):
    t = t.strip().upper()
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(t[-1:], 1)
    return int(float(t.rstrip("KMG")) * mult)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def human(n):
    for unit, s in (("M", 1 << 20), ("K", 1 << 10)):
        if n >= s and n % s == 0:
            return f"{n // s}{unit}"
    return str(n)


class Results:
    def __init__(self):
        # (mpi, run, test, variant, size) -> {rep: usec}
        self.t = defaultdict(dict)
        self.allocs = []  # (mpi, run, dict)
        self.info = {}    # (mpi, run) -> info
        # (mpi, run, test, variant, size, rank) -> per iteration: copies from VE, to VE, bytes from, to, ns from, to,
        # VE kernel calls, ns in them
        self.c = {}

    def add(self, mpi, run, data, allocs, info, copies=()):
        for test, variant, size, rep, us in data:
            self.t[(mpi, run, test, variant, size)][rep] = us
        for test, variant, size, rank, vals in copies:
            self.c[(mpi, run, test, variant, size, rank)] = vals
        self.allocs += [(mpi, run, a) for a in allocs]
        self.info[(mpi, run)] = info

    def med(self, mpi, run, test, variant, size):
        return median(list(self.t.get((mpi, run, test, variant, size), {}).values()))

    def ratio(self, mpi, run, test, num, den, size):
        """Median over repetitions of time(num) / time(den), paired by repetition."""
        a = self.t.get((mpi, run, test, num, size), {})
        b = self.t.get((mpi, run, test, den, size), {})
        rs = [a[r] / b[r] for r in a if r in b and b[r] > 0]
        return median(rs)

    def sizes(self, mpi, run, test, variant):
        return sorted({k[4] for k in self.t if k[:4] == (mpi, run, test, variant)})


def fmt(x, nd=3):
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def bw(size, us, test):
    """MB/s of one message (ping-pong: one way; multi: 64 messages each way)."""
    if not us or math.isnan(us) or size == 0:
        return float("nan")
    n = 128 if test == "multi" else 1
    return n * size / us


def report(res, mpis, goals):
    out = []
    p = out.append
    for mpi in mpis:
        lib = next((i["library"] for (m, _), i in res.info.items() if m == mpi and "library" in i), "?")
        p(f"\n=== {mpi}: {lib}")
        p("\nHost buffers, shim vs no shim (time ratio host-shim / host-pmpi, median of paired repetitions; "
          "goal <= 1.02). 'plain' is the same comparison without the preload: the noise floor.")
        p(f"{'test':<10} {'size':>6} {'pmpi us':>10} {'shim us':>10} {'ratio':>7} {'plain':>7}")
        for test in ("pingpong", "allreduce", "multi"):
            for s in res.sizes(mpi, "shim", test, "host-pmpi"):
                r = res.ratio(mpi, "shim", test, "host-shim", "host-pmpi", s)
                c = res.ratio(mpi, "plain", test, "host-shim", "host-pmpi", s)
                goals.append((mpi, f"host {test} {human(s)} ratio", r, r <= 1.02))
                p(f"{test:<10} {human(s):>6} {fmt(res.med(mpi, 'shim', test, 'host-pmpi', s), 2):>10} "
                  f"{fmt(res.med(mpi, 'shim', test, 'host-shim', s), 2):>10} {fmt(r):>7} {fmt(c):>7}")
        for st in ("none", "host", "host+ve"):
            test = f"pending-{st}"
            for s in res.sizes(mpi, "shim", test, "host-pmpi"):
                r = res.ratio(mpi, "shim", test, "host-shim", "host-pmpi", s)
                if st != "host+ve":
                    goals.append((mpi, f"host 8B Isend/Irecv/Waitall with pending={st} ratio", r, r <= 1.02))
                p(f"{test:<10} {human(s):>6} {fmt(res.med(mpi, 'shim', test, 'host-pmpi', s), 2):>10} "
                  f"{fmt(res.med(mpi, 'shim', test, 'host-shim', s), 2):>10} {fmt(r):>7}"
                  + ("   (10,000 host receives pending" + (", and 4 VE receives)" if st == "host+ve" else ")")
                     if st != "none" else ""))

        p("\nVE buffers vs host buffers, both through the shim, MPIVE_PIPELINE=0 (latency: time ratio ve / host; "
          "bandwidth: host time / ve time)")
        p(f"{'test':<10} {'size':>6} {'host us':>10} {'ve us':>10} {'lat ratio':>9} {'bw ratio':>8} {'ve MB/s':>8}")
        for test in ("pingpong", "allreduce", "multi"):
            for s in res.sizes(mpi, "shim", test, "ve"):
                r = res.ratio(mpi, "shim", test, "ve", "host-shim", s)
                if test == "pingpong" and s == 8:
                    goals.append((mpi, "VE/host 8B latency ratio", r, r <= 1.10))
                p(f"{test:<10} {human(s):>6} {fmt(res.med(mpi, 'shim', test, 'host-shim', s), 2):>10} "
                  f"{fmt(res.med(mpi, 'shim', test, 've', s), 2):>10} {fmt(r):>9} {fmt(1 / r if r else None):>8} "
                  f"{fmt(bw(s, res.med(mpi, 'shim', test, 've', s), test), 0):>8}")

        for run, label in (("pipe", "memcpy-speed copies"), ("pipe10G", "SIMVE_BANDWIDTH=10G")):
            if not res.sizes(mpi, run, "pingpong", "ve"):
                continue
            p(f"\nVE ping-pong, pipelining on vs off, MPIVE_PIPELINE=1, {label} (bandwidth ratios = inverse time ratios)")
            p(f"{'size':>6} {'host MB/s':>9} {'ve MB/s':>8} {'pipe MB/s':>9} {'pipe/ve':>7} {'ve/host':>7} {'pipe/host':>9}")
            for s in res.sizes(mpi, run, "pingpong", "ve"):
                sp = 1 / res.ratio(mpi, run, "pingpong", "ve-pipe", "ve", s)
                vh = 1 / res.ratio(mpi, run, "pingpong", "ve", "host-shim", s)
                ph = 1 / res.ratio(mpi, run, "pingpong", "ve-pipe", "host-shim", s)
                if s == 16 << 20:
                    if run == "pipe10G":
                        goals.append((mpi, "10 GB/s link, 16 MiB: pipelined / unpipelined bandwidth", sp, sp >= 1.5))
                    else:
                        goals.append((mpi, "memcpy speed, 16 MiB: VE/host bandwidth (best of pipelined, unpipelined)",
                                      max(vh, ph), max(vh, ph) >= 0.45))
                p(f"{human(s):>6} {fmt(bw(s, res.med(mpi, run, 'pingpong', 'host-shim', s), 'pingpong'), 0):>9} "
                  f"{fmt(bw(s, res.med(mpi, run, 'pingpong', 've', s), 'pingpong'), 0):>8} "
                  f"{fmt(bw(s, res.med(mpi, run, 'pingpong', 've-pipe', s), 'pingpong'), 0):>9} "
                  f"{fmt(sp, 2):>7} {fmt(vh, 2):>7} {fmt(ph, 2):>9}")

        for run, label in (("pipe", "memcpy-speed copies"), ("pipe10G", "SIMVE_BANDWIDTH=10G")):
            for test in ("allreduce", "bcast"):
                if not res.sizes(mpi, run, test, "ve"):
                    continue
                p(f"\nVE {test}, pipelining on vs off, MPIVE_PIPELINE=1, {label} (time ratios; host-shim/pmpi: the cost of "
                  f"splitting host buffers too)")
                p(f"{'size':>6} {'host us':>9} {'ve us':>9} {'pipe us':>9} {'ve/pipe':>7} {'pipe/host':>9} {'shim/pmpi':>9}")
                for s in res.sizes(mpi, run, test, "ve"):
                    sp = 1 / res.ratio(mpi, run, test, "ve-pipe", "ve", s)
                    ph = res.ratio(mpi, run, test, "ve-pipe", "host-shim", s)
                    hs = res.ratio(mpi, run, test, "host-shim", "host-pmpi", s)
                    p(f"{human(s):>6} {fmt(res.med(mpi, run, test, 'host-shim', s), 1):>9} "
                      f"{fmt(res.med(mpi, run, test, 've', s), 1):>9} {fmt(res.med(mpi, run, test, 've-pipe', s), 1):>9} "
                      f"{fmt(sp, 2):>7} {fmt(ph, 2):>9} {fmt(hs, 2):>9}")

        for run, label in (("sweep", "memcpy-speed copies"), ("sweep10G", "SIMVE_BANDWIDTH=10G")):
            chunks = sorted({k[3] for k in res.t if k[:3] == (mpi, run, "pingpong") and k[3].startswith("ve-pipe@")},
                            key=lambda v: size_of(v.split("@")[1]))
            if not chunks:
                continue
            p(f"\nChunk sizes, {label}: VE ping-pong bandwidth pipelined / unpipelined, every size pipelined")
            p(f"{'size':>6} {'ve MB/s':>8} " + " ".join(f"{c.split('@')[1]:>6}" for c in chunks))
            for s in res.sizes(mpi, run, "pingpong", "ve"):
                p(f"{human(s):>6} {fmt(bw(s, res.med(mpi, run, 'pingpong', 've', s), 'pingpong'), 0):>8} "
                  + " ".join(f"{fmt(1 / res.ratio(mpi, run, 'pingpong', c, 've', s), 2):>6}" for c in chunks))

        al = [(run, a) for m, run, a in res.allocs if m == mpi]
        if al:
            p("\nHeap allocations during VE ping-pongs in steady state (most of the two ranks; malloc: the benchmark's "
              "interposed malloc, whole process; libmpive: mpive_stats heap_allocations; pool: new staging buffers)")
            p(f"{'run':<8} {'variant':<8} {'size':>6} {'pingpongs':>9} {'malloc':>7} {'libmpive':>8} {'pool':>5}")
            for run, a in al:
                goals.append((mpi, f"allocations in {a['count']} {a['label']} ping-pongs of {human(a['bytes'])}",
                              a["heap_allocs"], a["heap_allocs"] == 0 and a["pool_allocs"] == 0))
                p(f"{run:<8} {a['label']:<8} {human(a['bytes']):>6} {a['count']:>9} {a['mallocs']:>7} "
                  f"{a['heap_allocs']:>8} {a['pool_allocs']:>5}")
    return out


# ---------------------------------------------------------------- the VE Type 10B model
def calls(c):
    """VE kernel calls per iteration (0 in records of older libmpive)."""
    return c[6] if len(c) > 6 else 0


def link_us(c):
    """Microseconds the model charges for one iteration's copies and VE kernel calls on one rank (fixed
    costs + bytes / rate; simve charges a kernel call one fixed cost of the VH->VE direction)."""
    return c[0] * LAT_FROM_VE + c[1] * LAT_TO_VE + calls(c) * LAT_TO_VE + (c[2] + c[3]) / RATE


def copies_txt(res, mpi, run, test, variant, s):
    """'r/w' per rank: libveo copies per iteration from VE (r) and to VE (w), and '+kK' for K VE kernel
    calls, rank 0 | rank 1."""
    cs = [res.c.get((mpi, run, test, variant, s, r)) for r in (0, 1)]
    if not all(cs):
        return "n/a"
    return " | ".join(f"{c[0]:g}/{c[1]:g}" + (f"+k{calls(c):g}" if calls(c) else "") for c in cs)


def bound(res, mpi, run, test, variant, s, host_variant):
    """The model's physical bound for one iteration of `test`: the copies' fixed costs and bytes / rate
    (ping-pong, per message: both ranks' copies of a round trip / 2; Bcast: root's then the receiver's;
    Allreduce and the halo exchange, whose ranks copy at the same time: the larger rank's) plus the host's
    own time for the same operation and size, measured in the same run."""
    cs = [res.c.get((mpi, run, test, variant, s, r)) for r in (0, 1)]
    host = res.med(mpi, run, test, host_variant, s)
    if not all(cs) or math.isnan(host):
        return float("nan")
    a, b = link_us(cs[0]), link_us(cs[1])
    if test in ("pingpong", "pypp"):
        return (a + b) / 2 + host
    if test == "bcast":
        return a + b + host
    return max(a, b) + host


def report_model(res, mpis, goals):
    out = []
    p = out.append
    for mpi in mpis:
        if not any(k[0] == mpi and k[1] in ("model", "model-pipe", "sweep-model", "py") for k in res.t):
            continue
        p(f"\n=== {mpi}: on the VE Type 10B model (SIMVE_MODEL=type10b: {LAT_FROM_VE} us per VE->VH copy, "
          f"{LAT_TO_VE} us per VH->VE copy, {RATE / 1e3:g} GB/s per direction), default settings")
        p("bound = the model's physical bound: (libveo copies + VE kernel calls) x fixed cost + bytes / rate + the host's "
          "own time for the same operation (host column, same run).\ncopies = libveo copies per iteration 'from VE/to VE' "
          "(+kN: N VE kernel calls), rank 0 | rank 1 (a ping-pong iteration is one round trip: Send + Recv on each rank).\n"
          "published = NEC MPI, mpi4py-ve's ping-pong demo (numpy <-> NLCPy), on other hardware (a real VE Type 10B), "
          "not measured here.")
        for run, test, host_v, label in (("model", "pingpong", "host-shim", "C, MPI_Send/MPI_Recv"),
                                         ("py", "pypp", "host-host", "Python, mpi4pyve comm.Send/comm.Recv")):
            if not res.sizes(mpi, run, test, "vh-ve"):
                continue
            p(f"\nOne-way latency and bandwidth, {label} (median round trip / 2; medians over repetitions)")
            p(f"{'size':>6} {'host us':>9} {'VH<->VE us':>10} {'bound':>8} {'-bound':>7} {'MB/s':>7} {'copies':>15} "
              + (f"{'VE<->VE us':>10} {'bound':>8} {'MB/s':>7} {'copies':>11} " if test == "pingpong" else "")
              + "published, other hardware, NEC MPI")
            for s in res.sizes(mpi, run, test, "vh-ve"):
                h = res.med(mpi, run, test, host_v, s)
                m = res.med(mpi, run, test, "vh-ve", s)
                b = bound(res, mpi, run, test, "vh-ve", s, host_v)
                line = (f"{human(s):>6} {fmt(h, 2):>9} {fmt(m, 2):>10} {fmt(b, 2):>8} {fmt(m - b, 2):>7} "
                        f"{fmt(bw(s, m, 'pingpong'), 0):>7} {copies_txt(res, mpi, run, test, 'vh-ve', s):>15} ")
                if test == "pingpong":
                    mv = res.med(mpi, run, test, "ve-def", s)
                    bv = bound(res, mpi, run, test, "ve-def", s, host_v)
                    line += (f"{fmt(mv, 2):>10} {fmt(bv, 2):>8} {fmt(bw(s, mv, 'pingpong'), 0):>7} "
                             f"{copies_txt(res, mpi, run, test, 've-def', s):>11} ")
                line += PUBLISHED.get(s, PUBLISHED_HOST if s == 8 and test == "pypp" else "")
                p(line)
                if s == 8:
                    goals.append((mpi, f"8 B VH<->VE one-way latency ({'C' if test == 'pingpong' else 'Python'}) "
                                  f"- the model's bound (us; goal: within 1)", m - b, abs(m - b) <= 1.0))
                if s in (16 << 20, 128 << 20) and test == "pingpong":
                    lesser = min(RATE, bw(s, h, "pingpong"))
                    r = bw(s, m, "pingpong") / lesser
                    goals.append((mpi, f"{human(s)} VH<->VE bandwidth, default settings / lesser of link rate and "
                                  f"host bandwidth ({lesser:.0f} MB/s) (goal >= 0.8)", r, r >= 0.8))
                if test == "pingpong":
                    cs = [res.c.get((mpi, run, test, v, s, r)) for v, r in (("vh-ve", 1), ("ve-def", 0), ("ve-def", 1))]
                    if all(cs):
                        ok = all(c[0] == 1 and c[1] == 1 for c in cs)
                        goals.append((mpi, f"ping-pong {human(s)}: one copy per direction per VE buffer", 
                                      " ".join(f"{c[0]:g}/{c[1]:g}" for c in cs), ok))
        for test in ("allreduce", "bcast", "halo"):
            if not res.sizes(mpi, "model", test, "ve-def"):
                continue
            what = {"allreduce": "MPI_Allreduce (MPI_DOUBLE, MPI_SUM), time per call",
                    "bcast": "MPI_Bcast from rank 0 (acknowledged), time per call",
                    "halo": "2-D halo exchange, (n+2)^2 doubles, 2 rows + 2 columns (MPI_Type_vector of n blocks) "
                            "each way: 4 Irecv + 4 Isend + Waitall, time per exchange; size = n"}[test]
            p(f"\n{what}")
            p(f"{'size':>6} {'host us':>10} {'VE us':>10} {'bound':>10} {'VE/bound':>8} {'copies VE':>15} "
              f"{'VH|VE us':>10} {'copies VH|VE':>15}")
            for s in res.sizes(mpi, "model", test, "ve-def"):
                h = res.med(mpi, "model", test, "host-shim", s)
                m = res.med(mpi, "model", test, "ve-def", s)
                b = bound(res, mpi, "model", test, "ve-def", s, "host-shim")
                mm = res.med(mpi, "model", test, "vh-ve", s)
                p(f"{s if test == 'halo' else human(s):>6} {fmt(h, 1):>10} {fmt(m, 1):>10} {fmt(b, 1):>10} "
                  f"{fmt(m / b if b else None, 2):>8} {copies_txt(res, mpi, 'model', test, 've-def', s):>15} "
                  f"{fmt(mm, 1):>10} {copies_txt(res, mpi, 'model', test, 'vh-ve', s):>15}")
                cs = [res.c.get((mpi, "model", test, "ve-def", s, r)) for r in (0, 1)]
                if not all(cs):
                    continue
                if test == "allreduce":
                    ok = all(c[0] == 1 and c[1] == 1 for c in cs)
                    goals.append((mpi, f"Allreduce {human(s)}: one copy per direction per VE buffer",
                                  " | ".join(f"{c[0]:g}/{c[1]:g}" for c in cs), ok))
                elif test == "bcast":
                    ok = cs[0][:2] == (1, 0) and cs[1][:2] == (0, 1)
                    goals.append((mpi, f"Bcast {human(s)}: one copy per VE buffer", 
                                  " | ".join(f"{c[0]:g}/{c[1]:g}" for c in cs), ok))
                elif test == "halo" and s >= 1000:
                    # 2 contiguous rows (1 copy each way) + 2 vector columns per direction and rank
                    per_col = max((c[0] + c[1] - 4 + calls(c)) / 4 for c in cs)
                    goals.append((mpi, f"halo, {s}-block vector: libveo copies and VE kernel calls per column "
                                  f"message per rank (goal <= 4)", per_col, per_col <= 4))
        if res.sizes(mpi, "model-pipe", "pingpong", "ve"):
            p("\nPipelining on the model (MPIVE_PIPELINE=1; threshold and chunk as configured): one-way bandwidth MB/s, "
              "median round trips")
            p(f"{'size':>6} {'host':>7} {'VE<->VE':>8} {'piped':>7} {'pipe/ve':>7} {'VH<->VE piped':>13} "
              f"{'/lesser':>7} {'copies VE<->VE piped':>20}")
            for s in res.sizes(mpi, "model-pipe", "pingpong", "ve"):
                hb = bw(s, res.med(mpi, "model-pipe", "pingpong", "host-shim", s), "pingpong")
                vb = bw(s, res.med(mpi, "model-pipe", "pingpong", "ve", s), "pingpong")
                pb = bw(s, res.med(mpi, "model-pipe", "pingpong", "ve-def", s), "pingpong")
                mb = bw(s, res.med(mpi, "model-pipe", "pingpong", "vh-ve", s), "pingpong")
                lesser = min(RATE, hb)
                p(f"{human(s):>6} {fmt(hb, 0):>7} {fmt(vb, 0):>8} {fmt(pb, 0):>7} {fmt(pb / vb, 2):>7} {fmt(mb, 0):>13} "
                  f"{fmt(mb / lesser, 2):>7} {copies_txt(res, mpi, 'model-pipe', 'pingpong', 've-def', s):>20}")
                if s in (16 << 20, 128 << 20):
                    goals.append((mpi, f"(information) {human(s)} VH<->VE bandwidth with MPIVE_PIPELINE=1 / lesser of "
                                  f"link rate and host bandwidth", mb / lesser, mb / lesser >= 0.8))
        chunks = sorted({k[3] for k in res.t if k[:3] == (mpi, "sweep-model", "pingpong") and k[3].startswith("ve-pipe@")},
                        key=lambda v: size_of(v.split("@")[1]))
        if chunks:
            p("\nChunk sizes on the model: VE<->VE ping-pong bandwidth pipelined / unpipelined (every size pipelined)")
            p(f"{'size':>6} {'ve MB/s':>8} " + " ".join(f"{c.split('@')[1]:>6}" for c in chunks))
            for s in res.sizes(mpi, "sweep-model", "pingpong", "ve"):
                p(f"{human(s):>6} {fmt(bw(s, res.med(mpi, 'sweep-model', 'pingpong', 've', s), 'pingpong'), 0):>8} "
                  + " ".join(f"{fmt(1 / res.ratio(mpi, 'sweep-model', 'pingpong', c, 've', s), 2):>6}" for c in chunks))
    return out


# ---------------------------------------------------------------- SVG chart
COLORS = {"host-pmpi": "#444444", "host-shim": "#1f77b4", "ve": "#d62728", "ve-pipe": "#2ca02c",
          "ve@10G": "#ff7f0e", "ve-pipe@10G": "#9467bd", "VH<->VE type10b": "#8c564b", "VE<->VE type10b": "#e377c2",
          "VH<->VE type10b piped": "#17becf", "VH<->VE type10b Python": "#bcbd22"}


def svg_chart(res, mpis, path):
    W, H, PW, PH = 1100, 380 * len(mpis) + 40, 480, 300
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
             f'<rect width="{W}" height="{H}" fill="white"/>',
             '<text x="20" y="22" font-size="15">libmpi-ve: ping-pong latency and bandwidth against message size '
             '(2 ranks, medians)</text>']
    for row, mpi in enumerate(mpis):
        series = {}

        def add(label, run, variant, test="pingpong"):
            pts = [(s, res.med(mpi, run, test, variant, s)) for s in res.sizes(mpi, run, test, variant)]
            if pts:
                series[label] = pts
        add("host-pmpi", "shim", "host-pmpi")
        add("host-shim", "shim", "host-shim")
        add("ve", "shim", "ve")
        add("ve-pipe", "pipe", "ve-pipe")
        add("ve@10G", "pipe10G", "ve")
        add("ve-pipe@10G", "pipe10G", "ve-pipe")
        add("VH<->VE type10b", "model", "vh-ve")
        add("VE<->VE type10b", "model", "ve-def")
        add("VH<->VE type10b piped", "model-pipe", "vh-ve")
        add("VH<->VE type10b Python", "py", "vh-ve", "pypp")
        y0 = 50 + row * 380
        lib = res.info.get((mpi, "shim"), {}).get("library", mpi)
        lat = {k: [(max(s, 1), us) for s, us in v if not math.isnan(us)] for k, v in series.items()}
        bws = {k: [(s, bw(s, us, "pingpong")) for s, us in v if s >= 64 and not math.isnan(us)] for k, v in series.items()}
        parts += panel(60, y0, PW, PH, f"{mpi}: one-way latency (us)", lat, "message size (bytes; 0 shown at 1)")
        parts += panel(60 + PW + 80, y0, PW, PH, f"{mpi}: bandwidth (MB/s)", bws, "message size (bytes)")
        parts.append(f'<text x="60" y="{y0 + PH + 48}" fill="#666">{lib[:150]}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts))


def panel(x, y, w, h, title, series, xlabel):
    out = [f'<text x="{x}" y="{y - 8}" font-size="13">{title}</text>',
           f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="none" stroke="#999"/>']
    pts = [p for v in series.values() for p in v if p[1] > 0 and not math.isnan(p[1])]
    if not pts:
        return out
    lx = [math.log10(p[0]) for p in pts]
    ly = [math.log10(p[1]) for p in pts]
    x0, x1 = math.floor(min(lx)), math.ceil(max(lx))
    y_0, y_1 = math.floor(min(ly)), math.ceil(max(ly))
    x1 = max(x1, x0 + 1)
    y_1 = max(y_1, y_0 + 1)

    def X(v):
        return x + (math.log10(v) - x0) / (x1 - x0) * w

    def Y(v):
        return y + h - (math.log10(v) - y_0) / (y_1 - y_0) * h
    for e in range(x0, x1 + 1):
        xx = X(10 ** e)
        out.append(f'<line x1="{xx:.1f}" y1="{y}" x2="{xx:.1f}" y2="{y + h}" stroke="#eee"/>')
        out.append(f'<text x="{xx:.1f}" y="{y + h + 14}" text-anchor="middle">1e{e}</text>')
    for e in range(y_0, y_1 + 1):
        yy = Y(10 ** e)
        out.append(f'<line x1="{x}" y1="{yy:.1f}" x2="{x + w}" y2="{yy:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{x - 4}" y="{yy + 4:.1f}" text-anchor="end">1e{e}</text>')
    out.append(f'<text x="{x + w / 2}" y="{y + h + 30}" text-anchor="middle">{xlabel}</text>')
    for i, (label, v) in enumerate(series.items()):
        v = [p for p in v if p[1] > 0 and not math.isnan(p[1])]
        if not v:
            continue
        c = COLORS.get(label, "#000")
        d = " ".join(f"{X(a):.1f},{Y(b):.1f}" for a, b in v)
        dash = ' stroke-dasharray="5,3"' if "10G" in label else ' stroke-dasharray="2,2"' if "type10b" in label else ""
        out.append(f'<polyline points="{d}" fill="none" stroke="{c}" stroke-width="1.8"{dash}/>')
        for a, b in v:
            out.append(f'<circle cx="{X(a):.1f}" cy="{Y(b):.1f}" r="2.2" fill="{c}"/>')
        out.append(f'<line x1="{x + 10}" y1="{y + 14 + 14 * i}" x2="{x + 30}" y2="{y + 14 + 14 * i}" stroke="{c}" '
                   f'stroke-width="2"{dash}/><text x="{x + 34}" y="{y + 18 + 14 * i}">{label}</text>')
    return out


# ---------------------------------------------------------------- main
def machine():
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.0f} GiB"
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), {mem}, {platform.system()} {platform.release()}"


def load():
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="a few seconds: tiny sizes, 2 repetitions (no timing value)")
    ap.add_argument("--mpi", default="openmpi,mpich", help="comma-separated: openmpi, mpich")
    ap.add_argument("--runs", default="plain,shim,pipe,pipe10G,sweep,sweep10G,model,model-pipe,sweep-model,py",
                    help="which runs (see the module documentation)")
    ap.add_argument("--reps", type=int, help="repetitions (default 7; smoke 2)")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "bench", help="output directory")
    ap.add_argument("--wait", choices=("poll", "yield"), default="poll", help="MPI wait policy (see above)")
    ap.add_argument("--no-build", action="store_true", help="do not run cargo build --release first")
    ap.add_argument("--lib-dir", type=Path, help="take libmpive.so, libveo.so (and the VE kernel library) from this "
                    "directory instead of target/release (a frozen copy, while the tree is rebuilt meanwhile)")
    a = ap.parse_args()
    if a.lib_dir:
        d = a.lib_dir.resolve()
        harness.RELEASE, harness.SHIM, harness.SIMVE = d, d / "libmpive.so", d / "libveo.so"
        a.no_build = True
    p = dict(SMOKE if a.smoke else FULL)
    if a.reps:
        p["reps"] = a.reps
    a.out.mkdir(parents=True, exist_ok=True)
    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    mpis = [m for m in harness.MPIS if m.name in a.mpi.split(",") and harness.have(m.run)]
    if not mpis:
        sys.exit("no MPI found (mpirun.openmpi, mpirun.mpich)")
    wanted = a.runs.split(",")
    res = Results()
    t_start = time.time()
    load_before = load()
    raw = []
    timeout = 120 if a.smoke else 600
    # Runs of the two MPIs alternate, so that a change of load shows in both alike.
    plan = [(mpi, r) for r in runs(p) if r[0] in wanted for mpi in mpis]
    for mpi, (name, preload, extra, variants, args) in plan:
        if name == "py":
            env = run_env(preload, {**harness.python_env(mpi, {"PYTHONPATH": str(ROOT / "python")}), **extra}, a.wait)
            argv = [harness.VENV_PYTHON, ROOT / "bench" / "pingpong.py", "--variants", variants, *args]
        else:
            env = run_env(preload, extra, a.wait)
            argv = [build(mpi, a.out), "--variants", variants, *args]
        t0 = time.time()
        print(f"[bench] {mpi.name} {name}: {variants} ...", end="", flush=True)
        try:
            proc, cmd = mpirun(mpi, argv, env, timeout)
        except subprocess.TimeoutExpired:
            sys.exit(f"\n[bench] {mpi.name} {name}: timed out after {timeout} s")
        if proc.returncode != 0:
            sys.exit(f"\n[bench] {mpi.name} {name} failed ({proc.returncode}):\n{' '.join(map(str, cmd))}\n"
                     f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        data, allocs, info, copies = parse(proc.stdout)
        if info.get("done") != "1":
            sys.exit(f"\n[bench] {mpi.name} {name}: incomplete output\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        res.add(mpi.name, name, data, allocs, info, copies)
        raw += [(mpi.name, name, *d) for d in data]
        print(f" {time.time() - t0:.1f} s")
    elapsed = time.time() - t_start
    names = [m.name for m in mpis]
    goals = []
    lines = [f"libmpi-ve benchmark, {time.strftime('%Y-%m-%d %H:%M')}" + ("  (SMOKE: no timing value)" if a.smoke else ""),
             f"machine: {machine()}",
             f"{load_before} before, {load()} after; {elapsed:.0f} s; wait policy: {a.wait}; "
             f"{p['reps']} repetitions"]
    lines += report(res, names, goals)
    lines += report_model(res, names, goals)
    if goals:
        lines.append("\nGoals")
        for mpi, what, val, ok in goals:
            v = fmt(val) if isinstance(val, float) else str(val)
            lines.append(f"  {'met    ' if ok else 'NOT met'}  {mpi:<8} {what}: {v}")
    text = "\n".join(lines) + "\n"
    print(text)
    (a.out / "table.txt").write_text(text)
    with open(a.out / "bench.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["mpi", "run", "test", "variant", "bytes", "rep", "usec"])
        w.writerows(raw)
    with open(a.out / "summary.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["mpi", "run", "test", "variant", "bytes", "median_usec", "MB_per_s", "ratio_to_host_shim",
                    "ratio_to_host_pmpi"])
        for (mpi, run, test, variant, size) in sorted(res.t):
            m = res.med(mpi, run, test, variant, size)
            w.writerow([mpi, run, test, variant, size, f"{m:.4f}", fmt(bw(size, m, test), 1),
                        fmt(res.ratio(mpi, run, test, variant, "host-shim", size), 4),
                        fmt(res.ratio(mpi, run, test, variant, "host-pmpi", size), 4)])
    svg_chart(res, names, a.out / "chart.svg")
    print(f"[bench] wrote {a.out}/table.txt, bench.csv, summary.csv, chart.svg ({elapsed:.0f} s)")


if __name__ == "__main__":
    main()
