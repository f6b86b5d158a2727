//! Message arguments: how each form of MPI call uses its buffers.
//!
//! Every buffer argument form of the standard (point-to-point, rooted collectives, v and w variants,
//! MPI_IN_PLACE, intercommunicators with MPI_ROOT and MPI_PROC_NULL) is parsed here, once, into
//! [`Plan`] items; the intercepted functions in [`crate::api`] only name their form. Each form returns
//! the arguments to pass to the real MPI, with host staging buffers in place of VE ones.
//!
//! Counts and displacements are generic ([`CountT`]) so the same form serves the `int` functions and
//! the MPI-4 large-count (`_c`) ones.

use crate::abi::{Class, Comm, Datatype};
use crate::datatype;
use crate::errors::{Error, Result};
use crate::real::{abi, pmpi};
use crate::stage::Seg;
use std::ffi::{c_int, c_void};

pub type CBuf = *const c_void;
pub type Buf = *mut c_void;

pub use crate::abi::CountT;

/// Element `i` of an array of counts or displacements.
///
/// # Safety
/// `p` has at least `i + 1` elements.
pub unsafe fn at<C: CountT>(p: *const C, i: usize) -> i64 {
    // SAFETY: by the caller's contract.
    unsafe { p.add(i).read_unaligned().get() }
}

/// What a collective needs to know about its communicator.
#[derive(Clone, Copy, Debug)]
pub struct CommInfo {
    pub inter: bool,
    pub rank: c_int,
    pub size: c_int,
    /// The remote group's size (intercommunicators), else `size`.
    pub remote: c_int,
}

/// Queries `comm`.
///
/// # Safety
/// `comm` is a communicator handle the application passed.
pub unsafe fn comm_info(comm: Comm) -> Result<CommInfo> {
    let (mut inter, mut rank, mut size) = (0, 0, 0);
    let mut remote;
    // SAFETY: out-pointers to locals.
    unsafe {
        let rc = pmpi::PMPI_Comm_test_inter(comm, &mut inter);
        if rc != 0 {
            return Err(Error::new(Class::Arg, format!("invalid communicator {comm:#x} (MPI_Comm_test_inter returned {rc})")));
        }
        pmpi::PMPI_Comm_rank(comm, &mut rank);
        pmpi::PMPI_Comm_size(comm, &mut size);
        remote = size;
        if inter != 0 {
            pmpi::PMPI_Comm_remote_size(comm, &mut remote);
        }
    }
    Ok(CommInfo { inter: inter != 0, rank, size, remote })
}

/// The blocks of a v variant, one per process (or neighbor), in order: block `i` is `counts[i]`
/// elements of `dt` at `displs[i] * extent(dt)` bytes, or None when `counts[i]` is 0.
///
/// # Safety
/// `counts` and `displs` have `n` elements (and `types` too, for w variants); the datatypes are
/// valid handles of the running MPI.
pub unsafe fn blocks_v<C: CountT, D: CountT>(counts: *const C, displs: *const D, n: c_int, dt: Datatype) -> Result<Vec<Option<Seg>>> {
    if n > 0 && (counts.is_null() || displs.is_null()) {
        return Err(Error::new(Class::Arg, "NULL counts or displacements array"));
    }
    let mut out = Vec::with_capacity(n.max(0) as usize);
    let mut extent = None;
    for i in 0..n.max(0) as usize {
        // SAFETY: the arrays have one entry per process of the group (or neighbor), by the standard.
        let (c, d) = unsafe { (at(counts, i), at(displs, i)) };
        if c == 0 {
            out.push(None);
            continue;
        }
        let ext = match extent {
            Some(e) => e,
            // SAFETY: dt is the application's datatype.
            None => *extent.insert(unsafe { datatype::info(dt) }?.extent),
        };
        out.push(Some(Seg { disp: d * ext, count: c, dt }));
    }
    Ok(out)
}

/// The blocks of a w variant, in order: `counts[i]` elements of `types[i]` at `displs[i]` bytes.
///
/// # Safety
/// `counts` and `displs` have `n` elements (and `types` too, for w variants); the datatypes are
/// valid handles of the running MPI.
pub unsafe fn blocks_w<C: CountT, D: CountT>(counts: *const C, displs: *const D, types: *const c_void, n: c_int) -> Result<Vec<Option<Seg>>> {
    if n > 0 && (counts.is_null() || displs.is_null() || types.is_null()) {
        return Err(Error::new(Class::Arg, "NULL counts, displacements or datatypes array"));
    }
    let abi = abi();
    Ok((0..n.max(0) as usize)
        .map(|i| {
            // SAFETY: the arrays have one entry per process of the group (or neighbor), by the standard.
            let (c, d, t) = unsafe { (at(counts, i), at(displs, i), abi.handle_at(types, i)) };
            (c != 0).then_some(Seg { disp: d, count: c, dt: Datatype::from_raw(t) })
        })
        .collect())
}

/// The non-empty segments of a v variant.
///
/// # Safety
/// `counts` and `displs` have `n` elements (and `types` too, for w variants); the datatypes are
/// valid handles of the running MPI.
pub unsafe fn segs_v<C: CountT, D: CountT>(counts: *const C, displs: *const D, n: c_int, dt: Datatype) -> Result<Vec<Seg>> {
    // SAFETY: forwarded contract.
    Ok(unsafe { blocks_v(counts, displs, n, dt) }?.into_iter().flatten().collect())
}

/// The non-empty segments of a w variant.
///
/// # Safety
/// `counts` and `displs` have `n` elements (and `types` too, for w variants); the datatypes are
/// valid handles of the running MPI.
pub unsafe fn segs_w<C: CountT, D: CountT>(counts: *const C, displs: *const D, types: *const c_void, n: c_int) -> Result<Vec<Seg>> {
    // SAFETY: forwarded contract.
    Ok(unsafe { blocks_w(counts, displs, types, n) }?.into_iter().flatten().collect())
}

/// `count` elements of `dt`, `blocks` times back to back (Gather's and Alltoall's receive buffers).
///
/// # Safety
/// `counts` and `displs` have `n` elements (and `types` too, for w variants); the datatypes are
/// valid handles of the running MPI.
pub unsafe fn blocks(count: i64, dt: Datatype, blocks: c_int) -> Result<[Seg; 1]> {
    Ok([Seg::new(count * blocks.max(0) as i64, dt)])
}

pub fn in_place(p: CBuf) -> bool {
    abi().is_in_place(p)
}

mod coll;
pub mod large;
mod io;
mod pack;
mod pt2pt;
mod rma;
mod topo;

pub use coll::*;
// Explicit, so it shadows the `shape` module each chapter's glob brings in: large::shape gathers them.
pub use large::{shape, Narrow, Shape};
pub use io::*;
pub use pack::*;
pub use pt2pt::*;
pub use rma::*;
pub use topo::*;
