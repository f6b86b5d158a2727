//! The C boundary: no panic unwinds into C.
//!
//! Every exported body (`MPI_*` slow paths, Fortran entry points, `mpive_*`, the pipelined protocol's
//! interposers, callbacks handed to C) runs inside [`boundary`], in the manner of rustls-ffi's
//! `ffi_panic_boundary!`: a panic becomes `MPI_ERR_INTERN` through the object's error handler, with
//! the panic message in the error string ([`crate::errors::finish`]). Only the host fast path (a
//! load, a compare and a tail jump, which cannot panic) stays outside.

use crate::errors::{self, Obj, Result};
use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f`, the body of the exported function `func`, and returns its MPI return code; a shim
/// error or a panic is raised through `obj`'s error handler.
#[inline]
pub fn boundary(obj: Obj, func: &'static str, f: impl FnOnce() -> Result<c_int>) -> c_int {
    let r = catch_unwind(AssertUnwindSafe(|| {
        fault_point(func);
        f()
    }));
    errors::finish(obj, func, r)
}

/// Runs `f` for a caller that has no MPI object and no error code to return (a callback handed to C):
/// a panic is reported on stderr and `fallback` returned.
#[inline]
pub fn boundary_or<T>(func: &'static str, fallback: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(|| {
        fault_point(func);
        f()
    })) {
        Ok(v) => v,
        Err(p) => {
            errors::report_without_object(&format!("{func}: {}", errors::from_panic(p).msg));
            fallback
        }
    }
}

/// Test hook: panics when the tests ask for a panic in `func` (see the tests of the C boundary).
/// Does nothing in a build without that hook.
#[inline(always)]
pub fn fault_point(func: &'static str) {
    let _ = func;
}
