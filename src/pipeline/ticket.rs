//! From a message form to the interposer: the ticket that names a send the protocol takes.
//!
//! A message form that hands a VE send to the protocol ([`super::send_form`], [`super::bcast_form`])
//! returns a ticket as the buffer to give MPI: an address with bit 63 set, so the interposer's VE test
//! takes it (the shim never gives the real MPI a VE address otherwise), that names the send's staging
//! plan and the application's buffer in a table here. The interposer claims the ticket it was given,
//! and so gets the plan whose state must live as long as the operation (a nonblocking send's header,
//! the staging of a message to a peer outside MPI_COMM_WORLD) and the buffer to copy from. A ticket is
//! claimed once; one that never reaches its interposer is withdrawn when its plan is dropped
//! ([`super::State::Ticket`]).

use crate::stage::Plan;
use parking_lot::Mutex;
use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bit 63: what makes a ticket a VE address to [`crate::ve::is_ve`].
const VE_BIT: u64 = 1 << 63;

/// Tickets issued and not yet claimed: (ticket, plan, application's buffer). As many as threads in a
/// pipelined call at once, so a short list.
static ISSUED: Mutex<Vec<(u64, usize, usize)>> = Mutex::new(Vec::new());
static NEXT: AtomicU64 = AtomicU64::new(1);

/// Issues the ticket of `plan`'s send of the VE buffer `buf`, to pass to MPI in `buf`'s place; `plan`
/// keeps it ([`super::State::Ticket`]) so that it is withdrawn if never claimed.
///
/// `plan` must stay where it is until the real call returned (the interposer uses it).
pub(super) fn issue(plan: &mut Plan, buf: *const c_void) -> *mut c_void {
    let t = VE_BIT | (NEXT.fetch_add(1, Ordering::Relaxed) & (u32::MAX as u64));
    ISSUED.lock().push((t, plan as *mut Plan as usize, buf as usize));
    plan.pipe = Some(Box::new(super::State::Ticket(t)));
    t as *mut c_void
}

/// The plan and the application's buffer of the ticket `p`, or None if `p` is no ticket issued (a VE
/// address that reached the interposer some other way: a bug of the shim, reported as such).
pub(super) fn claim(p: *const c_void) -> Option<(*mut Plan, *const c_void)> {
    let mut v = ISSUED.lock();
    let i = v.iter().position(|e| e.0 == p as u64)?;
    let (_, plan, buf) = v.swap_remove(i);
    Some((plan as *mut Plan, buf as *const c_void))
}

/// Withdraws a ticket that was not claimed (its plan is dropped).
pub(super) fn withdraw(t: u64) {
    let mut v = ISSUED.lock();
    if let Some(i) = v.iter().position(|e| e.0 == t) {
        v.swap_remove(i);
    }
}
