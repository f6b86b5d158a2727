"""mpi4py-ve's statistics of VE DMA transfers, from libmpive's counters of libveo copies.

Each of ``count``, ``size`` and ``time`` is a list of three numbers, one per direction, in the order
of mpi4py-ve: ``[VE->VE, VE->VH, VH->VE]``.

* ``VE->VH``: libveo copy calls (``veo_hmemcpy`` from a VE address) that libmpive made from VE memory
  into host memory -- staging a VE send buffer, the part of a VE receive buffer a collective reads,
  the VE-to-host copies of ``veo.hmemcpy``, of ``simve`` arrays' ``get()`` and of pickling a VE array.
  ``size``: their bytes.
* ``VH->VE``: the same from host memory into VE memory (results copied back to a VE receive buffer,
  ``veo.hmemcpy`` to a VE address, creating a ``simve`` array from host data).
* ``VE->VE``: transfers between two VE addresses through ``veo.hmemcpy`` (libmpive's
  ``mpive_hmemcpy``), which libmpive makes as one copy out of and one copy into the VE through a host
  buffer. They are counted here only: the VE->VH and VH->VE counts and sizes leave them out.
  libmpive's MPI calls never copy VE to VE.

``time`` is in seconds (floats): wall time spent inside those libveo copy calls. VE->VE is the whole
transfer; the VE->VH and VH->VE times *include* the two halves of the VE->VE transfers, because
libmpive times each libveo call but does not tell which halves belong to a VE->VE transfer.

Counts are per process and cumulative since libmpive was loaded, over all threads. ``clear()``
restarts them from zero for every reader in the process (it records the current totals as the new
zero, as mpi4py-ve's clear zeroes NEC MPI's counters).
"""
from mpi4pyve import _shim

# (count, size, time_ns) of (ve_ve, ve_vh, vh_ve) at the last clear(), for the whole process
_baseline = None


def _raw():
    s, names = _shim.stats()
    if "ve_to_ve" not in names:
        raise NotImplementedError(
            f"mpi4pyve.util.nmpi_aveo_dma: {_shim.origin()} does not count VE copies per direction "
            f"(it lacks mpive_stats_sized, added in libmpive 0.3): use a newer libmpive.so")
    vv = (s.ve_to_ve, s.bytes_ve_to_ve, s.time_ns_ve_to_ve)
    fv = (s.copies_from_ve - s.ve_to_ve, s.bytes_from_ve - s.bytes_ve_to_ve, s.time_ns_from_ve)
    tv = (s.copies_to_ve - s.ve_to_ve, s.bytes_to_ve - s.bytes_ve_to_ve, s.time_ns_to_ve)
    return vv, fv, tv


def _since_clear(field):
    now = _raw()
    base = _baseline or ((0, 0, 0),) * 3
    return [now[d][field] - base[d][field] for d in range(3)]


class nmpi_aveo_dma:  # noqa: N801  (mpi4py-ve's name)
    """Count, size and time of the VE DMA transfers of this process, per direction
    ``[VE->VE, VE->VH, VH->VE]`` (see the module docstring for exactly what they count)."""

    @property
    def count(self):
        """Number of transfers per direction (ints)."""
        return _since_clear(0)

    @property
    def size(self):
        """Bytes transferred per direction (ints)."""
        return _since_clear(1)

    @property
    def time(self):
        """Seconds spent in the transfers per direction (floats)."""
        return [ns / 1e9 for ns in _since_clear(2)]

    def clear(self):
        """Restarts all three statistics from zero (for the whole process)."""
        global _baseline
        _baseline = _raw()

    def show_stats(self):
        """Prints the statistics as mpi4py-ve does: a header line, a rule, and one line each for
        dma_count, dma_size and dma_time."""
        count, size, time = self.count, self.size, self.time
        rows = [["dma_count", *map(str, count)], ["dma_size", *map(str, size)],
                ["dma_time", *map(str, time)]]
        # each column is at least 10 characters wide; its values are followed by padding that
        # makes (width + 4) for the names and (width + 6) for the numbers, as mpi4py-ve prints them
        w = [max(10, *(len(r[i]) for r in rows)) for i in range(4)]
        print("Info %s VE->VE %s VE->VH %s VH->VE %s" % tuple(" " * x for x in w))
        print("-" * (w[0] + 4) + "  " + "  ".join("-" * (x + 6) for x in w[1:]))
        for r in rows:
            pad = [" " * (w[0] - len(r[0]) + 4)] + [" " * (w[i] - len(r[i]) + 6) for i in (1, 2, 3)]
            print("%s %s %s %s %s %s %s %s" % (r[0], pad[0], r[1], pad[1], r[2], pad[2], r[3], pad[3]))
