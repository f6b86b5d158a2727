import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import Mpi, require  # noqa: E402


@pytest.fixture(autouse=True)
def _mpi_installed(request):
    """A test parametrized with an MPI of the matrix that is not installed here is skipped, with the
    reason and how to install it; in CI (CI=true) it fails instead."""
    callspec = getattr(request.node, "callspec", None)
    mpi = callspec.params.get("mpi") if callspec else None
    if isinstance(mpi, Mpi):
        require(mpi)
