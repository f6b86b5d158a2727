"""The interception surface: every MPI-4.1 procedure that takes a buffer (tests/data/mpi41_api.json,
from the MPI Forum's apis.json via tools/gen_surface.py) is either exported by libmpive (staged or
refused) or deliberately forwarded for a stated reason. And every MPI function libmpive defines has
the standard's parameters, in order."""
import json
import re
import subprocess

import pytest

from harness import ROOT, SHIM

API = json.loads((ROOT / "tests" / "data" / "mpi41_api.json").read_text())

# Buffer-taking procedures libmpive does not intercept, and why.
FORWARDED = {
    "MPI_Get_address": "computes an address; VE addresses come back as they are, no data is accessed",
    "MPI_Free_mem": "frees memory from MPI_Alloc_mem, which is host memory",
    "MPI_T_cvar_read": "tool-interface control variable, not message data",
    "MPI_T_cvar_write": "tool-interface control variable, not message data",
    "MPI_T_pvar_read": "tool-interface performance variable, not message data",
    "MPI_T_pvar_readreset": "tool-interface performance variable, not message data",
    "MPI_T_pvar_write": "tool-interface performance variable, not message data",
}


def exported():
    out = subprocess.run(["nm", "-D", "--defined-only", str(SHIM)], check=True, capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if " T MPI_" in line}


def test_every_buffer_procedure_is_staged_refused_or_forwarded_on_purpose():
    have = exported()
    missing = sorted(n for n, v in API.items() if v["buffers"] and n not in have and n not in FORWARDED)
    assert not missing, f"{len(missing)} buffer-taking MPI procedures are neither intercepted nor listed in FORWARDED: {missing}"
    stale = sorted(n for n in FORWARDED if n in have)
    assert not stale, f"listed as forwarded but intercepted: {stale}"


def defined_functions():
    """(name, [parameter names]) of every MPI_* function written in src/api/."""
    found = {}
    for f in sorted((ROOT / "src" / "api").rglob("*.rs")):
        text = f.read_text()
        for m in re.finditer(r"\bfn\s+(MPI_\w+)\s*\(([^)]*)\)", text):
            params = [p.split(":")[0].strip() for p in m.group(2).split(",") if ":" in p]
            found.setdefault(m.group(1), (f.name, params))
    return found


def test_table_entries_have_the_standard_parameters():
    found = defined_functions()
    assert len(found) > 50
    wrong = []
    for name, (file, params) in found.items():
        std = API.get(name[:-2] if name.endswith("_c") and name[:-2] in API else name)
        if std is None:
            wrong.append(f"{file}: {name} is not an MPI-4.1 procedure")
        elif params != std["params"]:
            wrong.append(f"{file}: {name}({', '.join(params)}) but the standard has ({', '.join(std['params'])})")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("name", sorted(n for n, v in API.items() if v["buffers"]))
def test_buffer_procedure_classified(name):
    """One line per procedure, so the report shows the surface at a glance."""
    assert name in exported() or name in FORWARDED
