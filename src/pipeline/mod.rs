//! Pipelined staging of large VE point-to-point messages (`MPIVE_PIPELINE=1`).
//!
//! Without it, a VE send copies the whole message to the host, then MPI moves it, then the receiver
//! copies it all to VE memory: three steps one after the other. MPI cannot deliver one message in
//! parts, so overlapping them needs the message split into several messages, and a receiver that
//! knows: the protocol below, which every rank runs (all ranks must preload libmpive with the same
//! `MPIVE_PIPELINE` setting).
//!
//! ## Protocol
//! A VE send of a predefined contiguous datatype (MPI_DOUBLE, MPI_BYTE, ...; not the pair types)
//! of at least `MPIVE_PIPELINE_THRESHOLD` bytes, in MPI_Send, MPI_Ssend, MPI_Rsend, MPI_Isend,
//! MPI_Issend or MPI_Irsend, sends instead
//! 1. a [`HEADER_LEN`]-byte header, with the application's envelope (communicator, destination, tag)
//!    and send mode, so that it matches exactly the receive the message would have matched (wildcards,
//!    message order, MPI_Ssend semantics), and nonblocking sends return its request;
//! 2. the data in chunks of `MPIVE_PIPELINE_CHUNK` bytes, as separate messages on a private duplicate of
//!    MPI_COMM_WORLD (made in MPI_Init: duplicating is collective, so it cannot wait for the first
//!    transfer), to the destination's rank there (translated once per communicator and cached in an
//!    attribute), with a tag of their own per transfer.
//!
//! The copy engine ([`crate::dma`]) copies chunk k+1 from VE memory while chunk k is on its way, and
//! the receiver copies chunk k to VE memory while chunk k+1 arrives. The sender does not wait for the
//! chunks to be received: they are handed to the request table as freed requests (orphans), which
//! every completion call progresses and MPI_Finalize finishes, so a blocking send never waits for the
//! receiver more than the application's own message would (no deadlock that the unpipelined program
//! would not have). At most half of `MPIVE_STAGING_LIMIT` bytes of chunks are in flight per process;
//! a send above that waits for earlier chunks to be received.
//!
//! ## Receives
//! In pipelined mode every receive whose buffer can hold [`crate::tune::MIN_THRESHOLD`] bytes or more,
//! with a host or a VE buffer, checks its message at completion: exactly [`HEADER_LEN`] bytes that
//! start with the 128-bit magic and a valid check word are a header. The receiver then receives the
//! chunks (directly into a host buffer; through a ring of 4 chunk buffers and the copy engine into a
//! VE buffer; into one buffer and then through MPI's own unpacking for a non-contiguous datatype) and
//! sets the status's count to the whole message (MPI_Status_set_elements_x). Host receives reach this
//! because the `PMPI_*` functions of the receive calls resolve to the protocol's stand-ins
//! (`interpose`) in pipelined mode (`crate::real::Real`); VE receives through the message forms
//! (`crate::msg`), which register a [`Watch`] with the staging plan, checked when the plan stores
//! ([`crate::stage::Plan::store`]).
//! A nonblocking receive is checked by the completion call that reports it complete (Wait, Test and
//! all their forms, MPI_Request_get_status, freed requests), which then receives the chunks before
//! returning: the sender is already sending them.
//!
//! ## Conditions
//! - all ranks run libmpive with MPIVE_PIPELINE=1 (else a receiver gets the header as data);
//! - MPI_Init or MPI_Init_thread is called through the C interface (C, C++, mpi4py); otherwise (e.g.
//!   Fortran on Open MPI, MPI sessions) nothing is pipelined;
//! - MPI_Probe, MPI_Iprobe, MPI_Mprobe and MPI_Improbe report a pipelined message with the header's
//!   size ([`HEADER_LEN`] bytes), not the message's: programs that size their receive buffers by probing
//!   must not use pipelined mode for VE sends (MPI_Mrecv and MPI_Imrecv with a large enough buffer work);
//! - a receive too small for a pipelined message gets MPI_ERR_TRUNCATE only if it can hold
//!   [`crate::tune::MIN_THRESHOLD`] bytes; a smaller one receives the header as data (the program is
//!   erroneous either way);
//! - MPI_Cancel of a pipelined send cancels at most its header;
//! - the large-count `_c` functions are not pipelined (their receives do not check for headers);
//! - peers outside MPI_COMM_WORLD (MPI_Comm_spawn) get unpipelined messages.
//!
//! ## Modules
//! `wire` the header; `comms` the private communicators and rank maps; `recv` the receive side;
//! `send` the send side; `ticket` how a VE send gets from its message form to the protocol; `coll`
//! the split collectives; `interpose` the stand-ins for `PMPI_*` functions through which the shim's
//! calls reach the protocol; `wait` waiting for the protocol's own requests.

use crate::errors::Result;
use crate::pool::PoolBuf;
use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, Ordering};

/// The library's own function `$real` (never a stand-in: [`crate::real::Scope::Lib`]) typed `$F`,
/// for an interposer to forward to; an interposer whose function the library lacks returns
/// [`crate::real::missing`].
macro_rules! lib_fn {
    ($real:expr, $F:ty) => {
        match $crate::real_fn!($real, crate::real::Scope::Lib, $F) {
            Some(f) => f,
            None => return crate::real::missing($real),
        }
    };
}

mod coll;
mod comms;
mod interpose;
mod recv;
mod send;
mod ticket;
mod wait;
mod wire;

pub use coll::{allreduce_form, bcast_form};
pub use comms::{active, after_init, finalize};
pub use interpose::interpose;
pub use recv::{complete, report_again, watch, Watch};
pub use send::send_form;
pub use wire::HEADER_LEN;

/// Bytes of chunk buffers of pipelined sends not yet received.
static IN_FLIGHT: AtomicU64 = AtomicU64::new(0);

/// What a staging plan keeps for this module ([`crate::stage::Plan`]'s `pipe` field).
pub enum State {
    /// A receive that may bring a header.
    Watch(Watch),
    /// Buffers that must live until the operation completes (a nonblocking send's header, a chunk).
    Hold(PoolBuf, u64),
    /// A send handed to the protocol by its message form, until its interposer claims the ticket.
    Ticket(u64),
}

impl crate::stage::Protocol for State {
    fn watches(&self) -> bool {
        matches!(self, State::Watch(_))
    }
    unsafe fn complete(&mut self, status: Option<*const c_void>) -> Result<bool> {
        // SAFETY: forwarded contract.
        unsafe { complete(self, status) }
    }
    unsafe fn report_again(&mut self, status: *const c_void) {
        // SAFETY: forwarded contract.
        unsafe { report_again(self, status) }
    }
}

impl Drop for State {
    fn drop(&mut self) {
        match self {
            State::Hold(_, n) => {
                IN_FLIGHT.fetch_sub(*n, Ordering::Relaxed);
            }
            State::Ticket(t) => ticket::withdraw(*t),
            State::Watch(_) => {}
        }
    }
}

