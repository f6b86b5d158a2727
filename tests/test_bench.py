"""Issues 8 and 12: the benchmark (bench/run.py) in its smoke mode, so that it cannot rot: it builds, runs
every run of both MPIs (the VE Type 10B model's and the Python ping-pong's too), and writes its table, CSV
files and chart. No timing is asserted; the copies per iteration of a contiguous ping-pong are."""
import csv
import subprocess
import sys

from harness import BY_NAME, ROOT, have, require


def test_benchmark_smoke(tmp_path):
    mpis = ",".join(m for m, run in (("openmpi", "mpirun.openmpi"), ("mpich", "mpirun.mpich")) if have(run))
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--no-build", "--mpi", mpis,
                        "--out", str(tmp_path)], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
    table = (tmp_path / "table.txt").read_text()
    for mpi in mpis.split(","):
        assert f"=== {mpi}" in table
    for section in ("Host buffers, shim vs no shim", "VE buffers vs host buffers", "pipelining on vs off",
                    "Heap allocations", "Goals", "on the VE Type 10B model", "One-way latency and bandwidth, C",
                    "One-way latency and bandwidth, Python", "MPI_Allreduce", "MPI_Bcast", "2-D halo exchange",
                    "Pipelining on the model", "Chunk sizes on the model", "published, other hardware, NEC MPI"):
        assert section in table, table
    rows = list(csv.DictReader(open(tmp_path / "bench.csv")))
    runs = {(r["mpi"], r["run"]) for r in rows}
    for mpi in mpis.split(","):
        for run in ("plain", "shim", "pipe", "pipe10G", "model", "model-pipe", "sweep-model", "py"):
            assert (mpi, run) in runs, f"no measurements of {mpi} {run}"
    variants = {r["variant"] for r in rows}
    assert {"host-pmpi", "host-shim", "ve", "ve-pipe", "vh-ve", "ve-def", "host-host"} <= variants
    # copies per iteration are counted (from mpive_stats_sized): a contiguous VH<->VE ping-pong round
    # trip makes one copy from and one to the VE on the VE rank, none on the host rank
    for mpi in mpis.split(","):
        row = [line for line in table.split(f"=== {mpi}: on the VE Type 10B model")[1].splitlines()
               if line.split()[:1] == ["8"]][0]
        assert "0/0 | 1/1" in row, row
    summary = list(csv.DictReader(open(tmp_path / "summary.csv")))
    assert summary and all(float(r["median_usec"]) > 0 for r in summary if r["bytes"] != "0")
    svg = (tmp_path / "chart.svg").read_text()
    assert svg.startswith("<svg") and "polyline" in svg


def test_imb_pingpong_runs_under_the_preload_on_intel_mpi(tmp_path):
    """bench/imb_pingpong.py in a quick setting: Intel MPI's IMB-MPI1 PingPong with and without libmpive."""
    require(BY_NAME["impi"])
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "imb_pingpong.py"), "--rounds", "1", "--msglog", "0:3",
                        "--iter", "100", "--out", str(tmp_path)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
    rows = list(csv.DictReader(open(tmp_path / "imb_pingpong.csv")))
    for variant in ("plain", "preload"):
        sizes = {int(r["bytes"]) for r in rows if r["variant"] == variant}
        assert sizes == {0, 1, 2, 4, 8}, (variant, sizes, p.stdout)
    assert "worst ratio" in p.stdout, p.stdout
