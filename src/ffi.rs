//! The C boundary: no panic unwinds into C.
//!
//! Every exported body (`MPI_*` slow paths, Fortran entry points, `mpive_*`, the pipelined protocol's
//! interposers, callbacks handed to C) runs inside [`boundary`], in the manner of rustls-ffi's
//! `ffi_panic_boundary!`: a panic becomes `MPI_ERR_INTERN` through the object's error handler, with
//! the panic message in the error string ([`crate::errors::finish`]). Only the host fast path (a
//! load, a compare and a tail jump, which cannot panic) stays outside.

use crate::errors::{self, Obj, Result};
use std::ffi::{c_int, c_void};
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

/// The attribute copy callback of libmpive's private keyvals (`H` the object's handle type): a
/// duplicated communicator or datatype does not inherit the attribute (`*flag = 0`). Handed to MPI, so
/// it runs inside [`boundary_or`].
///
/// # Safety
/// Called by MPI as a keyval's copy callback: `flag` is null or points to a writable `int`.
pub unsafe extern "C" fn attr_not_inherited<H>(_old: H, _key: c_int, _extra: *mut c_void, _in: *mut c_void, _out: *mut c_void, flag: *mut c_int) -> c_int {
    boundary_or("the copy callback of a libmpive attribute", 0, || {
        if !flag.is_null() {
            // SAFETY: the caller's contract: flag points to a writable int.
            unsafe { *flag = 0 };
        }
        0
    })
}

/// The environment variable naming the exported function in which [`fault_point`] panics.
#[cfg(feature = "fault-injection")]
pub const FAULT_VAR: &str = "MPIVE_TEST_PANIC";

/// Test hook, compiled only with the `fault-injection` feature: panics the first time `func` is the
/// function named by `MPIVE_TEST_PANIC` (read once), so that the tests can force a panic in each kind
/// of entry and then check that the process goes on (later calls of the same function, such as the
/// host receives that the pipelined protocol's interposer of MPI_Recv also sees, run normally).
/// Without the feature it is empty and the library holds neither the hook nor the variable's name.
#[cfg(feature = "fault-injection")]
#[inline(never)]
pub fn fault_point(func: &'static str) {
    static TARGET: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let target = TARGET.get_or_init(|| std::env::var(FAULT_VAR).ok().filter(|v| !v.is_empty()));
    static FIRED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if target.as_deref() == Some(func) && !FIRED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        panic!("fault injected into {func} by {FAULT_VAR}");
    }
}

/// Test hook (see the `fault-injection` feature): does nothing in this build.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn fault_point(func: &'static str) {
    let _ = func;
}
