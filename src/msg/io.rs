//! MPI-IO message forms (MPI-4.1 chapter 14).
//!
//! Only the memory side of a file access is staged: `(buf, count, datatype)`; the file view (etype,
//! filetype, displacement) lives in the file and never touches VE memory.
//!
//! - A write is a send: the covered bytes are loaded before the call ([`file_write`]).
//! - A read is a receive ([`file_read`], [`file_read_later`]): a read that stops at the end of the file
//!   stores only the bytes the status reports (MPI_Get_elements_x on a file status counts what was
//!   read, in both Open MPI's OMPIO and ROMIO); for a derived memory type the covered bytes are loaded
//!   first, so the elements that were not read keep their contents.
//! - Nonblocking accesses (MPI_File_iread, ...) stage like the blocking ones and complete through the
//!   request table ([`crate::requests`]), like point-to-point requests.
//! - Split collectives (MPI_File_read_all_begin ... MPI_File_read_all_end) keep their staging in a
//!   small table keyed by the file handle, from the begin call to the end call: the standard allows one
//!   split collective per file handle at a time. Writes load at begin; reads store at end, from the
//!   status the end call returns.
//!
//! ROMIO (MPICH) maps its internal MPI_File_* calls to PMPI_File_* and calls other MPI functions
//! (collectives, Waitall, Pack) on host memory while the shim's call is in progress; those run inside
//! [`crate::stage::Inside`] and are forwarded untouched, so nothing is staged twice.

use crate::abi::{Class, File, StatusBuf};
use crate::errors::{Error, Result};
use crate::real::abi;
use crate::stage::{Inside, Plan};
use parking_lot::Mutex;
use std::ffi::{c_int, c_void};

/// A write's buffer: loaded before the call.
pub use super::pt2pt::send as file_write;
/// A blocking read's buffer and status: stores what the status says was read.
pub use super::pt2pt::recv as file_read;
/// A nonblocking or split read's buffer, stored at completion.
pub use super::pt2pt::recv_later as file_read_later;

/// A split collective in progress with a VE buffer.
struct Split {
    /// The file handle, as passed (Open MPI and MPICH both use pointers for MPI_File).
    fh: File,
    /// The application's buffer, which the end call names again.
    app: usize,
    /// The staged buffer given to the real begin call.
    staged: usize,
    plan: Plan,
}

static SPLITS: Mutex<Vec<Split>> = Mutex::new(Vec::new());

/// The begin call of a split collective: `f` stages (filling the plan), loads and calls the real
/// function, returning its code and the staged buffer; the staging is kept for the end call.
/// Runs inside the exported function's C boundary, which reports errors through the file's handler.
///
/// # Safety
/// `fh` and `app` are the application's arguments to `func`.
pub unsafe fn split_begin(fh: File, func: &'static str, app: *const c_void, f: impl FnOnce(&mut Plan) -> Result<(c_int, *const c_void)>) -> Result<c_int> {
    let _inside = Inside::enter();
    {
        let mut plan = Plan::new(func);
        let (rc, staged) = f(&mut plan)?;
        if rc == 0 {
            let mut t = SPLITS.lock();
            // A stale entry can only be left by an erroneous program (an end call with another buffer).
            t.retain(|s| s.fh != fh);
            t.push(Split { fh, app: app as usize, staged: staged as usize, plan });
        }
        Ok(rc)
    }
}

/// The end call of a split collective with VE buffer `app`: `f` calls the real function with the
/// staged buffer and a status; then the read data is copied back. Runs inside the exported function's C
/// boundary, which reports errors through the file's handler.
///
/// # Safety
/// `fh`, `app` and `status` are the application's arguments to the end call.
pub unsafe fn split_end(fh: File, app: *const c_void, status: *mut c_void, f: impl FnOnce(*const c_void, *mut c_void) -> c_int) -> Result<c_int> {
    let _inside = Inside::enter();
    {
        let mut s = {
            let mut t = SPLITS.lock();
            let Some(i) = t.iter().position(|s| s.fh == fh) else {
                return Err(Error::new(
                    Class::Arg,
                    "no split collective with a VE buffer is in progress on this file: call the matching _begin function first",
                ));
            };
            if t[i].app != app as usize {
                return Err(Error::new(
                    Class::Buffer,
                    format!(
                        "the buffer {app:p} is not the one given to {} ({:#x}): pass the same buffer to both parts of a split collective",
                        t[i].plan.func, t[i].app
                    ),
                ));
            }
            t.swap_remove(i)
        };
        let mut own = StatusBuf::new();
        let st = if s.plan.stores() && abi().is_status_ignore(status) { own.as_mut_ptr() } else { status };
        let rc = f(s.staged as *const c_void, st);
        if rc == 0 {
            // SAFETY: the VE buffer is the application's, allocated until the end call returns; st is a
            // status the real end call filled.
            unsafe { s.plan.store(Some(st)) }?;
        }
        Ok(rc)
    }
}
