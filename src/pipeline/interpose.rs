//! Symbol interposition: the protocol's stand-ins for some `PMPI_*` functions.
//!
//! In pipelined mode the resolver ([`crate::real::Real`]) hands the shim's own calls of the send and
//! receive functions (and of MPI_Allreduce and MPI_Bcast) to the functions below, installed from an
//! `.init_array` constructor before any function is resolved. A send interposer that gets a VE
//! address (the ticket of a send its message form handed to the protocol: `ticket`) runs the
//! pipelined send; a receive interposer watches a host receive large enough for a
//! pipelined message. Everything else is forwarded unchanged to the library's own function.

use super::comms::active;
use super::coll;
use super::recv::{complete, watch_for, Dest, Watch};
use super::send::{send_ve, HeaderSend};
use super::State;
use crate::abi::{Comm, Count, Datatype};
use crate::errors::{Obj, Result};
use crate::requests::{self, Kind};
use crate::stage::Plan;
use crate::tune;
use crate::ve;
use std::ffi::{c_int, c_void};

/// Installs [`interpose`] in the resolver when the library is loaded, before any MPI call.
#[used]
#[link_section = ".init_array"]
static INSTALL: extern "C" fn() = {
    extern "C" fn install() {
        crate::real::set_interposer(interpose);
    }
    install
};

/// The interposer of a real function, if pipelined mode interposes it (`crate::real::Real`).
pub fn interpose(name: &str) -> Option<*mut c_void> {
    if !tune::pipeline() {
        return None;
    }
    Some(match name {
        "PMPI_Send" => i_send as *mut c_void,
        "PMPI_Ssend" => i_ssend as *mut c_void,
        "PMPI_Rsend" => i_rsend as *mut c_void,
        "PMPI_Isend" => i_isend as *mut c_void,
        "PMPI_Issend" => i_issend as *mut c_void,
        "PMPI_Irsend" => i_irsend as *mut c_void,
        "PMPI_Recv" => i_recv as *mut c_void,
        "PMPI_Mrecv" => i_mrecv as *mut c_void,
        "PMPI_Sendrecv" => i_sendrecv as *mut c_void,
        "PMPI_Sendrecv_replace" => i_sendrecv_replace as *mut c_void,
        "PMPI_Irecv" => i_irecv as *mut c_void,
        "PMPI_Imrecv" => i_imrecv as *mut c_void,
        "PMPI_Recv_init" => i_recv_init as *mut c_void,
        "PMPI_Isendrecv" => i_isendrecv as *mut c_void,
        "PMPI_Isendrecv_replace" => i_isendrecv_replace as *mut c_void,
        // Host receives of the large-count functions must recognise pipelined messages too; they
        // are interposed only where the real MPI has them (a missing one stays missing).
        "PMPI_Recv_c" | "PMPI_Irecv_c" | "PMPI_Recv_init_c" | "PMPI_Mrecv_c" | "PMPI_Imrecv_c" | "PMPI_Sendrecv_c"
        | "PMPI_Isendrecv_c" | "PMPI_Sendrecv_replace_c" | "PMPI_Isendrecv_replace_c"
            if crate::real::mpi().ok()?.sym(name).is_none() =>
        {
            return None
        }
        "PMPI_Recv_c" => i_recv_c as *mut c_void,
        "PMPI_Irecv_c" => i_irecv_c as *mut c_void,
        "PMPI_Recv_init_c" => i_recv_init_c as *mut c_void,
        "PMPI_Mrecv_c" => i_mrecv_c as *mut c_void,
        "PMPI_Imrecv_c" => i_imrecv_c as *mut c_void,
        "PMPI_Sendrecv_c" => i_sendrecv_c as *mut c_void,
        "PMPI_Isendrecv_c" => i_isendrecv_c as *mut c_void,
        "PMPI_Sendrecv_replace_c" => i_sendrecv_replace_c as *mut c_void,
        "PMPI_Isendrecv_replace_c" => i_isendrecv_replace_c as *mut c_void,
        "PMPI_Allreduce" => coll::i_allreduce as *mut c_void,
        "PMPI_Bcast" => coll::i_bcast as *mut c_void,
        _ => return None,
    })
}

type SendFn = unsafe extern "C" fn(*const c_void, c_int, Datatype, c_int, c_int, Comm) -> c_int;
type IsendFn = unsafe extern "C" fn(*const c_void, c_int, Datatype, c_int, c_int, Comm, *mut c_void) -> c_int;

// Every interposer forwards a call the protocol has nothing to do with straight to the library's own
// function (a load, a compare and a call, which cannot panic); the protocol's part runs inside the C
// boundary, under the name of the call the application made and with its communicator.

macro_rules! send_interposer {
    ($i:ident, $real:literal, $func:literal) => {
        unsafe extern "C" fn $i(buf: *const c_void, count: c_int, dt: Datatype, dest: c_int, tag: c_int, comm: Comm) -> c_int {
            let f = lib_fn!($real, SendFn);
            if !ve::is_ve(buf) {
                // SAFETY: forwarding the arguments unchanged.
                return unsafe { f(buf, count, dt, dest, tag, comm) };
            }
            crate::ffi::boundary(Obj::Comm(comm), $func, || {
                // SAFETY: the buffer is a ticket from send_form, within the staged call it was issued in.
                unsafe { send_ve(HeaderSend::Blocking(f), buf, count, dt, dest, tag, comm) }
            })
        }
    };
}

macro_rules! isend_interposer {
    ($i:ident, $real:literal, $func:literal) => {
        unsafe extern "C" fn $i(buf: *const c_void, count: c_int, dt: Datatype, dest: c_int, tag: c_int, comm: Comm, req: *mut c_void) -> c_int {
            let f = lib_fn!($real, IsendFn);
            if !ve::is_ve(buf) {
                // SAFETY: forwarding the arguments unchanged.
                return unsafe { f(buf, count, dt, dest, tag, comm, req) };
            }
            crate::ffi::boundary(Obj::Comm(comm), $func, || {
                // SAFETY: the buffer is a ticket from send_form, within the staged call it was issued in.
                unsafe { send_ve(HeaderSend::Nonblocking(f, req), buf, count, dt, dest, tag, comm) }
            })
        }
    };
}

send_interposer!(i_send, "PMPI_Send", "MPI_Send");
send_interposer!(i_ssend, "PMPI_Ssend", "MPI_Ssend");
send_interposer!(i_rsend, "PMPI_Rsend", "MPI_Rsend");
isend_interposer!(i_isend, "PMPI_Isend", "MPI_Isend");
isend_interposer!(i_issend, "PMPI_Issend", "MPI_Issend");
isend_interposer!(i_irsend, "PMPI_Irsend", "MPI_Irsend");

/// Whether a receive into `buf` may have to be watched: a host receive outside a staged call (the
/// staged calls watch their own receives) while the protocol runs.
#[inline]
fn may_watch(buf: *const c_void) -> bool {
    active() && !ve::is_ve(buf) && !crate::stage::reentered()
}

/// A host receive that may bring a pipelined message.
///
/// # Safety
/// The arguments are the application's.
unsafe fn host_watch(buf: *mut c_void, count: i64, dt: Datatype) -> Option<Watch> {
    // SAFETY: forwarded contract.
    unsafe { watch_for(Dest::Host, buf, count, dt) }
}

/// A blocking host receive: the real call with a status to read, then the protocol.
fn host_blocking(mut w: Watch, status: *mut c_void, call: impl FnOnce(*mut c_void) -> c_int) -> Result<c_int> {
    let st = if crate::real::abi().is_status_ignore(status) { w.own.as_mut_ptr() } else { status };
    let rc = call(st);
    if rc != 0 {
        return Ok(rc);
    }
    let _inside = crate::stage::Inside::enter();
    let mut s = State::Watch(w);
    // SAFETY: st is the status the real receive filled.
    unsafe { complete(&mut s, Some(st)) }?;
    Ok(0)
}

/// A nonblocking host receive: tracked so that its completion call runs the protocol.
fn host_nonblocking(func: &'static str, w: Watch, kind: Kind, obj: Obj, req: *mut c_void, call: impl FnOnce() -> c_int) -> Result<c_int> {
    let rc = call();
    if rc == 0 && !req.is_null() {
        let mut plan = Plan::new(func);
        plan.pipe = Some(Box::new(State::Watch(w)));
        // SAFETY: the real call stored its request in *req.
        unsafe { requests::track(req, plan, kind, obj) };
    }
    Ok(rc)
}

// The receive interposers, one macro per argument shape, instantiated for the `int` functions and
// their MPI-4 large-count twins (mpi4py calls the `_c` ones whenever the MPI has them).

/// Recv and Recv_init-like shapes: (buf, count, type, source, tag, comm, last) with `last` the status
/// (blocking) or the request (nonblocking, `kind`).
macro_rules! recv_like {
    ($i:ident, $real:literal, $func:literal, $C:ty, blocking) => {
        unsafe extern "C" fn $i(buf: *mut c_void, count: $C, dt: Datatype, src: c_int, tag: c_int, comm: Comm, status: *mut c_void) -> c_int {
            type F = unsafe extern "C" fn(*mut c_void, $C, Datatype, c_int, c_int, Comm, *mut c_void) -> c_int;
            let f = lib_fn!($real, F);
            if !may_watch(buf) {
                // SAFETY: forwarding the arguments unchanged.
                return unsafe { f(buf, count, dt, src, tag, comm, status) };
            }
            crate::ffi::boundary(Obj::Comm(comm), $func, || {
                // SAFETY: the application's arguments.
                match unsafe { host_watch(buf, i64::from(count), dt) } {
                    // SAFETY: as above.
                    None => Ok(unsafe { f(buf, count, dt, src, tag, comm, status) }),
                    // SAFETY: as above, with a status to read.
                    Some(w) => host_blocking(w, status, |st| unsafe { f(buf, count, dt, src, tag, comm, st) }),
                }
            })
        }
    };
    ($i:ident, $real:literal, $func:literal, $C:ty, $kind:expr) => {
        unsafe extern "C" fn $i(buf: *mut c_void, count: $C, dt: Datatype, src: c_int, tag: c_int, comm: Comm, req: *mut c_void) -> c_int {
            type F = unsafe extern "C" fn(*mut c_void, $C, Datatype, c_int, c_int, Comm, *mut c_void) -> c_int;
            let f = lib_fn!($real, F);
            if !may_watch(buf) {
                // SAFETY: forwarding the arguments unchanged.
                return unsafe { f(buf, count, dt, src, tag, comm, req) };
            }
            crate::ffi::boundary(Obj::Comm(comm), $func, || {
                // SAFETY: the application's arguments.
                match unsafe { host_watch(buf, i64::from(count), dt) } {
                    // SAFETY: as above.
                    None => Ok(unsafe { f(buf, count, dt, src, tag, comm, req) }),
                    // SAFETY: as above.
                    Some(w) => host_nonblocking($func, w, $kind, Obj::Comm(comm), req, || unsafe { f(buf, count, dt, src, tag, comm, req) }),
                }
            })
        }
    };
}

/// Mrecv and Imrecv: (buf, count, type, message, last).
macro_rules! mrecv_like {
    ($i:ident, $real:literal, $func:literal, $C:ty, $blocking:literal) => {
        unsafe extern "C" fn $i(buf: *mut c_void, count: $C, dt: Datatype, msg: *mut c_void, last: *mut c_void) -> c_int {
            type F = unsafe extern "C" fn(*mut c_void, $C, Datatype, *mut c_void, *mut c_void) -> c_int;
            let f = lib_fn!($real, F);
            if !may_watch(buf) {
                // SAFETY: forwarding the arguments unchanged.
                return unsafe { f(buf, count, dt, msg, last) };
            }
            crate::ffi::boundary(Obj::World, $func, || {
                // SAFETY: the application's arguments (for the nonblocking form the request takes
                // the status's place).
                match unsafe { host_watch(buf, i64::from(count), dt) } {
                    // SAFETY: as above.
                    None => Ok(unsafe { f(buf, count, dt, msg, last) }),
                    // SAFETY: as above.
                    Some(w) if $blocking => host_blocking(w, last, |st| unsafe { f(buf, count, dt, msg, st) }),
                    // SAFETY: as above.
                    Some(w) => host_nonblocking($func, w, Kind::Once, Obj::World, last, || unsafe { f(buf, count, dt, msg, last) }),
                }
            })
        }
    };
}

/// Sendrecv and Isendrecv: the receive half may bring a pipelined message.
macro_rules! sendrecv_like {
    ($i:ident, $real:literal, $func:literal, $C:ty, $blocking:literal) => {
        #[allow(clippy::too_many_arguments)]
        unsafe extern "C" fn $i(
            sbuf: *const c_void,
            scount: $C,
            stype: Datatype,
            dest: c_int,
            stag: c_int,
            rbuf: *mut c_void,
            rcount: $C,
            rtype: Datatype,
            src: c_int,
            rtag: c_int,
            comm: Comm,
            last: *mut c_void,
        ) -> c_int {
            type F = unsafe extern "C" fn(*const c_void, $C, Datatype, c_int, c_int, *mut c_void, $C, Datatype, c_int, c_int, Comm, *mut c_void) -> c_int;
            let f = lib_fn!($real, F);
            if !may_watch(rbuf) {
                // SAFETY: forwarding the arguments unchanged.
                return unsafe { f(sbuf, scount, stype, dest, stag, rbuf, rcount, rtype, src, rtag, comm, last) };
            }
            crate::ffi::boundary(Obj::Comm(comm), $func, || {
                // SAFETY: the application's arguments (for the nonblocking form the request takes
                // the status's place).
                match unsafe { host_watch(rbuf, i64::from(rcount), rtype) } {
                    // SAFETY: as above.
                    None => Ok(unsafe { f(sbuf, scount, stype, dest, stag, rbuf, rcount, rtype, src, rtag, comm, last) }),
                    // SAFETY: as above.
                    Some(w) if $blocking => host_blocking(w, last, |st| unsafe {
                        f(sbuf, scount, stype, dest, stag, rbuf, rcount, rtype, src, rtag, comm, st)
                    }),
                    // SAFETY: as above.
                    Some(w) => host_nonblocking($func, w, Kind::Once, Obj::Comm(comm), last, || unsafe {
                        f(sbuf, scount, stype, dest, stag, rbuf, rcount, rtype, src, rtag, comm, last)
                    }),
                }
            })
        }
    };
}

/// Sendrecv_replace and Isendrecv_replace.
macro_rules! replace_like {
    ($i:ident, $real:literal, $func:literal, $C:ty, $blocking:literal) => {
        #[allow(clippy::too_many_arguments)]
        unsafe extern "C" fn $i(
            buf: *mut c_void,
            count: $C,
            dt: Datatype,
            dest: c_int,
            stag: c_int,
            src: c_int,
            rtag: c_int,
            comm: Comm,
            last: *mut c_void,
        ) -> c_int {
            type F = unsafe extern "C" fn(*mut c_void, $C, Datatype, c_int, c_int, c_int, c_int, Comm, *mut c_void) -> c_int;
            let f = lib_fn!($real, F);
            if !may_watch(buf) {
                // SAFETY: forwarding the arguments unchanged.
                return unsafe { f(buf, count, dt, dest, stag, src, rtag, comm, last) };
            }
            crate::ffi::boundary(Obj::Comm(comm), $func, || {
                // SAFETY: the application's arguments.
                match unsafe { host_watch(buf, i64::from(count), dt) } {
                    // SAFETY: as above.
                    None => Ok(unsafe { f(buf, count, dt, dest, stag, src, rtag, comm, last) }),
                    // SAFETY: as above.
                    Some(w) if $blocking => host_blocking(w, last, |st| unsafe { f(buf, count, dt, dest, stag, src, rtag, comm, st) }),
                    // SAFETY: as above.
                    Some(w) => host_nonblocking($func, w, Kind::Once, Obj::Comm(comm), last, || unsafe {
                        f(buf, count, dt, dest, stag, src, rtag, comm, last)
                    }),
                }
            })
        }
    };
}

recv_like!(i_recv, "PMPI_Recv", "MPI_Recv", c_int, blocking);
recv_like!(i_recv_c, "PMPI_Recv_c", "MPI_Recv_c", Count, blocking);
recv_like!(i_irecv, "PMPI_Irecv", "MPI_Irecv", c_int, Kind::Once);
recv_like!(i_irecv_c, "PMPI_Irecv_c", "MPI_Irecv_c", Count, Kind::Once);
recv_like!(i_recv_init, "PMPI_Recv_init", "MPI_Recv_init", c_int, Kind::Persistent { active: false });
recv_like!(i_recv_init_c, "PMPI_Recv_init_c", "MPI_Recv_init_c", Count, Kind::Persistent { active: false });
mrecv_like!(i_mrecv, "PMPI_Mrecv", "MPI_Mrecv", c_int, true);
mrecv_like!(i_mrecv_c, "PMPI_Mrecv_c", "MPI_Mrecv_c", Count, true);
mrecv_like!(i_imrecv, "PMPI_Imrecv", "MPI_Imrecv", c_int, false);
mrecv_like!(i_imrecv_c, "PMPI_Imrecv_c", "MPI_Imrecv_c", Count, false);
sendrecv_like!(i_sendrecv, "PMPI_Sendrecv", "MPI_Sendrecv", c_int, true);
sendrecv_like!(i_sendrecv_c, "PMPI_Sendrecv_c", "MPI_Sendrecv_c", Count, true);
sendrecv_like!(i_isendrecv, "PMPI_Isendrecv", "MPI_Isendrecv", c_int, false);
sendrecv_like!(i_isendrecv_c, "PMPI_Isendrecv_c", "MPI_Isendrecv_c", Count, false);
replace_like!(i_sendrecv_replace, "PMPI_Sendrecv_replace", "MPI_Sendrecv_replace", c_int, true);
replace_like!(i_sendrecv_replace_c, "PMPI_Sendrecv_replace_c", "MPI_Sendrecv_replace_c", Count, true);
replace_like!(i_isendrecv_replace, "PMPI_Isendrecv_replace", "MPI_Isendrecv_replace", c_int, false);
replace_like!(i_isendrecv_replace_c, "PMPI_Isendrecv_replace_c", "MPI_Isendrecv_replace_c", Count, false);
