#!/usr/bin/env python3
"""Regenerates tests/data/mpi41_api.json from the MPI Forum's machine-readable API (the apis.json of
the pympistandard package): for every MPI procedure, its C parameter names and which of them are
buffers. tests/test_surface.py checks libmpive against it.

    pip download --no-deps pympistandard==0.2.0 -d /tmp/pyms && python3 tools/gen_surface.py /tmp/pyms/*.whl
"""
import json
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "mpi41_api.json"


def main(wheel):
    with zipfile.ZipFile(wheel) as z:
        apis = json.loads(z.read("pympistandard/data/apis.json"))
    out = {}
    for v in apis.values():
        name = v["name"]
        if not name.startswith("MPI_") or not v["attributes"].get("c_expressible", True):
            continue
        params = [p for p in v["parameters"] if "c_parameter" not in p.get("suppress", "")]
        out[name] = {
            "params": [p["name"] for p in params],
            "buffers": [p["name"] for p in params if p["kind"] == "BUFFER"],
        }
    OUT.write_text(json.dumps(dict(sorted(out.items())), indent=1) + "\n")
    print(f"{OUT}: {len(out)} procedures, {sum(1 for v in out.values() if v['buffers'])} with buffers")


if __name__ == "__main__":
    main(sys.argv[1])
