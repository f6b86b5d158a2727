"""Issue 8: the benchmark (bench/run.py) in its smoke mode, so that it cannot rot: it builds, runs every
run of both MPIs, and writes its table, CSV files and chart. No timing is asserted."""
import csv
import subprocess
import sys

from harness import ROOT, have


def test_benchmark_smoke(tmp_path):
    mpis = ",".join(m for m, run in (("openmpi", "mpirun.openmpi"), ("mpich", "mpirun.mpich")) if have(run))
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--no-build", "--mpi", mpis,
                        "--out", str(tmp_path)], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
    table = (tmp_path / "table.txt").read_text()
    for mpi in mpis.split(","):
        assert f"=== {mpi}" in table
    for section in ("Host buffers, shim vs no shim", "VE buffers vs host buffers", "pipelining on vs off",
                    "Heap allocations", "Goals"):
        assert section in table, table
    rows = list(csv.DictReader(open(tmp_path / "bench.csv")))
    runs = {(r["mpi"], r["run"]) for r in rows}
    for mpi in mpis.split(","):
        for run in ("plain", "shim", "pipe", "pipe10G"):
            assert (mpi, run) in runs, f"no measurements of {mpi} {run}"
    variants = {r["variant"] for r in rows}
    assert {"host-pmpi", "host-shim", "ve", "ve-pipe"} <= variants
    summary = list(csv.DictReader(open(tmp_path / "summary.csv")))
    assert summary and all(float(r["median_usec"]) > 0 for r in summary if r["bytes"] != "0")
    svg = (tmp_path / "chart.svg").read_text()
    assert svg.startswith("<svg") and "polyline" in svg
