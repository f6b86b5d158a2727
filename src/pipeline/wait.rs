//! Waiting for the protocol's own requests without holding the CPU.
//!
//! The copy threads need the CPU while a chunk is on its way, and an MPI's own blocking wait may spin
//! without yielding; so the protocol tests its requests in turn, yields, and progresses the requests
//! the application freed while they were active (the chunks of earlier sends among them).

use super::comms::hp;
use crate::real::pmpi::PMPI_Test;
use crate::abi::{Class, StatusBuf};
use crate::errors::{Error, Result};
use crate::requests;
use std::ffi::c_int;

/// Waits, driving MPI and letting the copy thread run, until `done()`.
pub(super) fn spin(mut done: impl FnMut() -> bool) {
    let mut i = 0u32;
    while !done() {
        i = i.wrapping_add(1);
        if i.is_multiple_of(64) {
            requests::progress_orphans(false);
        }
        std::thread::yield_now();
    }
}

/// Waits for one request of the real MPI, testing it so the copy threads and other work can run.
pub(super) unsafe fn wait_one(r: &mut u64) -> Result<()> {
    let mut flag: c_int = 0;
    let mut rc = 0;
    spin(|| {
        let mut st = StatusBuf::new();
        // SAFETY: a live request of the real MPI.
        rc = unsafe { PMPI_Test(hp(r), &mut flag, st.as_mut_ptr()) };
        rc != 0 || flag != 0
    });
    if rc != 0 {
        return Err(Error::new(Class::Intern, format!("a chunk of a pipelined message failed (error {rc})")));
    }
    Ok(())
}
