"""Utilities of mpi4py-ve: ``from mpi4pyve import util`` and ``util.nmpi_aveo_dma``, the statistics of
the VE copies (count, bytes and time per direction) that libmpive makes. As in mpi4py-ve,
``util.nmpi_aveo_dma`` is an instance of the class of the same name (module
``mpi4pyve.util.nmpi_aveo_dma``)."""
from mpi4pyve.util.nmpi_aveo_dma import nmpi_aveo_dma

nmpi_aveo_dma = nmpi_aveo_dma()

__all__ = ["nmpi_aveo_dma"]
