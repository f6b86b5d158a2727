//! # libmpi-ve
//!
//! A drop-in C-ABI shim (`LD_PRELOAD=libmpive.so`, or linked ahead of libmpi) that lets MPI programs
//! communicate straight from NEC SX-Aurora Vector Engine (VE) memory with a stock Open MPI or MPICH.
//!
//! For each intercepted `MPI_X` the shim checks whether a buffer argument is a VE (VEO HMEM) address;
//! if none is, it calls the real `PMPI_X` at once (one compare and an indirect call). Otherwise it
//! stages the VE buffers through host buffers with libveo, calls `PMPI_X`, and copies results back when
//! the operation completes.
//!
//! Layout: one concern per module, in layers that import only downward (docs/architecture.md has the
//! picture and the rule; `scripts/check_layers.py` checks it), bottom to top:
//! - [`abi`], [`logger`]: everything that differs between the MPI ABIs; the `MPIVE_LOG` logger;
//! - [`real`]: finding the real MPI and its functions, lazily;
//! - [`errors`], [`ffi`]: MPI errors through the right error handler; the C boundary every exported
//!   body runs inside (no panic unwinds into C);
//! - [`ve`], [`vekernel`], [`dma`], [`datatype`], [`tune`], [`stats`], [`pool`]: VE addresses and
//!   libveo, the VE kernel, copy threads, what a (count, datatype) touches, tunables, counters, host
//!   buffers;
//! - [`stage`]: staging plans;
//! - [`requests`]: pending nonblocking and persistent requests;
//! - [`pipeline`], [`rma`]: the pipelined protocol for large VE messages (MPIVE_PIPELINE=1); one-sided
//!   communication;
//! - [`msg`]: how each form of call uses its buffers (like mpi4py's msgbuffer);
//! - [`api`], [`capi`]: the intercepted functions, one file per chapter of the MPI standard, with their
//!   large-count (`_c`) and Fortran entry points; libmpive's own C API (include/mpive.h);
//! - [`fortran`]: what the Fortran entry points need (sentinels, handle conversion, completion calls).

#![deny(unsafe_op_in_unsafe_fn)]
// The table macro recurses once per entry, and the Fortran variant once per parameter.
#![recursion_limit = "512"]

pub mod abi;
pub mod api;
pub mod capi;
pub mod datatype;
pub mod dma;
pub mod errors;
pub mod ffi;
pub mod fortran;
pub mod logger;
pub mod msg;
pub mod pipeline;
pub mod pool;
pub mod real;
pub mod requests;
pub mod rma;
pub mod stage;
pub mod stats;
pub mod tune;
pub mod ve;
pub mod vekernel;
