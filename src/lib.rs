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
//! Layout (one concern per module):
//! - [`abi`]: everything that differs between Open MPI and MPICH;
//! - [`real`]: finding the real MPI and its `PMPI_*` functions, lazily;
//! - [`ve`]: VE addresses and libveo;
//! - [`datatype`], [`stage`], [`pool`]: what a (count, datatype) touches, staging plans, host buffers;
//! - [`msg`]: how each form of call uses its buffers (like mpi4py's msgbuffer);
//! - [`errors`]: MPI errors with messages, through the right error handler;
//! - [`api`]: the intercepted functions, one file per chapter of the MPI standard, with their large-count
//!   (`_c`) and Fortran entry points;
//! - [`fortran`]: what the Fortran entry points need (sentinels, handle conversion, completion calls);
//! - [`capi`]: libmpive's own C API (include/mpive.h);
//! - [`tune`], [`pipeline`], [`dma`]: tunables, the pipelined protocol for large VE messages
//!   (MPIVE_PIPELINE=1), and its copy threads.
//!
//! No panic unwinds into C: slow paths run under `catch_unwind`, and the fast paths cannot panic.

#![allow(clippy::missing_safety_doc)]
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
