//! # simve: a simulated SX-Aurora Vector Engine
//!
//! A software `libveo` that exports the C symbols of NEC's libveo (AVEO, API version 11) that deal with
//! processes and memory, with the real semantics and the real heterogeneous-memory (HMEM) address
//! convention:
//!
//! * bit 63 set marks a VE address, bits 62..59 hold the process identifier (index into this library's
//!   own list of VE processes), bits 58..0 the VE virtual address;
//! * such an address is non-canonical on x86-64, so dereferencing it on the host faults: any code path
//!   that forgets to stage a VE buffer crashes instead of silently working;
//! * copies are checked against the allocations they touch and fail with a negative return value, like
//!   the real library, when an address belongs to no VE process or a range leaves its allocation.
//!
//! Each host process has its own VE processes and memory, as on the real machine.
//!
//! ## Modeled link
//! `SIMVE_BANDWIDTH` (bytes per second, with an optional `K`, `M` or `G` suffix meaning 10^3, 10^6,
//! 10^9, e.g. `10G`) limits the speed of every copy between host and VE, per direction and per VE
//! process, as a PCIe link would. Unset (the default) means memcpy speed. `SIMVE_LATENCY` (e.g.
//! `12us`) adds a fixed cost to every copy call. `SIMVE_MODEL=type10b` sets both to the published
//! VE Type 10B figures (12.9 µs per read, 11.9 µs per write, 10 GB/s per direction); the other two
//! variables override it. `veo_async_read_mem` and `veo_async_write_mem` run on a worker thread per
//! context, so copies overlap with the caller, and the fixed costs of queued copies overlap one
//! another (see `link.rs` and docs/performance.md).
//!
//! ## VE libraries
//! `veo_load_library`, `veo_get_sym`, `veo_args_*` and `veo_call_async` run "VE libraries" built for
//! the simulated VE from the same C source as the real VE's (see `call.rs`).

#![allow(clippy::missing_safety_doc)]

mod call;
mod link;
mod mem;
mod proc;
mod thread_ctx;

pub use mem::{HMEM_PID_MASK, HMEM_PID_SHIFT, HMEM_VE_BIT};

use std::ffi::{c_char, c_int, c_void};

/// The libveo API version this library implements.
pub const VEO_API_VERSION: c_int = 11;

static VERSION: &[u8] = concat!("simve ", env!("CARGO_PKG_VERSION"), " (libmpi-ve simulated VE, AVEO API 11)\0").as_bytes();

/// Opaque process handle (`struct veo_proc_handle *`).
pub type ProcHandle = proc::ProcHandle;
/// Opaque thread context (`struct veo_thr_ctxt *`).
pub type ThrCtxt = thread_ctx::Context;

#[no_mangle]
pub extern "C" fn veo_api_version() -> c_int {
    VEO_API_VERSION
}

#[no_mangle]
pub extern "C" fn veo_version_string() -> *const c_char {
    VERSION.as_ptr().cast()
}

/// Creates a VE process on node `venode`; NULL when the node number is invalid or all 16 process
/// identifiers are taken.
#[no_mangle]
pub extern "C" fn veo_proc_create(venode: c_int) -> *mut ProcHandle {
    proc::create(venode)
}

#[no_mangle]
pub unsafe extern "C" fn veo_proc_destroy(h: *mut ProcHandle) -> c_int {
    proc::destroy(h)
}

#[no_mangle]
pub unsafe extern "C" fn veo_proc_identifier(h: *mut ProcHandle) -> c_int {
    proc::identifier(h)
}

#[no_mangle]
pub unsafe extern "C" fn veo_alloc_mem(h: *mut ProcHandle, addr: *mut u64, size: usize) -> c_int {
    mem::alloc_mem(h, addr, size)
}

#[no_mangle]
pub unsafe extern "C" fn veo_free_mem(h: *mut ProcHandle, addr: u64) -> c_int {
    mem::free_mem(h, addr)
}

#[no_mangle]
pub unsafe extern "C" fn veo_read_mem(h: *mut ProcHandle, dst: *mut c_void, src: u64, size: usize) -> c_int {
    mem::read_mem(h, dst.cast(), src, size)
}

#[no_mangle]
pub unsafe extern "C" fn veo_write_mem(h: *mut ProcHandle, dst: u64, src: *const c_void, size: usize) -> c_int {
    mem::write_mem(h, dst, src.cast(), size)
}

#[no_mangle]
pub unsafe extern "C" fn veo_alloc_hmem(h: *mut ProcHandle, addr: *mut *mut c_void, size: usize) -> c_int {
    mem::alloc_hmem(h, addr, size)
}

#[no_mangle]
pub unsafe extern "C" fn veo_free_hmem(addr: *mut c_void) -> c_int {
    mem::free_hmem(addr)
}

#[no_mangle]
pub unsafe extern "C" fn veo_hmemcpy(dst: *mut c_void, src: *const c_void, size: usize) -> c_int {
    mem::hmemcpy(dst as u64, src as u64, size)
}

#[no_mangle]
pub extern "C" fn veo_is_ve_addr(addr: *const c_void) -> c_int {
    mem::is_ve_addr(addr as u64) as c_int
}

#[no_mangle]
pub extern "C" fn veo_get_hmem_addr(addr: *mut c_void) -> *mut c_void {
    mem::hmem_addr(addr as u64) as *mut c_void
}

#[no_mangle]
pub unsafe extern "C" fn veo_context_open(h: *mut ProcHandle) -> *mut ThrCtxt {
    thread_ctx::open(h)
}

#[no_mangle]
pub unsafe extern "C" fn veo_context_close(ctx: *mut ThrCtxt) -> c_int {
    thread_ctx::close(ctx)
}

#[no_mangle]
pub unsafe extern "C" fn veo_get_context_state(ctx: *mut ThrCtxt) -> c_int {
    thread_ctx::state(ctx)
}

#[no_mangle]
pub unsafe extern "C" fn veo_context_sync(ctx: *mut ThrCtxt) {
    thread_ctx::sync(ctx)
}

#[no_mangle]
pub unsafe extern "C" fn veo_async_read_mem(ctx: *mut ThrCtxt, dst: *mut c_void, src: u64, size: usize) -> u64 {
    thread_ctx::async_read(ctx, dst.cast(), src, size)
}

#[no_mangle]
pub unsafe extern "C" fn veo_async_write_mem(ctx: *mut ThrCtxt, dst: u64, src: *const c_void, size: usize) -> u64 {
    thread_ctx::async_write(ctx, dst, src.cast(), size)
}

#[no_mangle]
pub unsafe extern "C" fn veo_call_async_vh(
    ctx: *mut ThrCtxt,
    func: Option<unsafe extern "C" fn(*mut c_void) -> u64>,
    arg: *mut c_void,
) -> u64 {
    thread_ctx::call_vh(ctx, func, arg)
}

#[no_mangle]
pub unsafe extern "C" fn veo_call_peek_result(ctx: *mut ThrCtxt, req: u64, ret: *mut u64) -> c_int {
    if call::owns(req) {
        return call::take(ctx, req, ret);
    }
    thread_ctx::peek(ctx, req, ret)
}

#[no_mangle]
pub unsafe extern "C" fn veo_call_wait_result(ctx: *mut ThrCtxt, req: u64, ret: *mut u64) -> c_int {
    if call::owns(req) {
        return call::take(ctx, req, ret);
    }
    thread_ctx::wait(ctx, req, ret)
}

#[no_mangle]
pub unsafe extern "C" fn veo_get_proc_handle_from_hmem(addr: *const c_void) -> *mut ProcHandle {
    call::proc_from_hmem(addr)
}

#[no_mangle]
pub unsafe extern "C" fn veo_load_library(h: *mut ProcHandle, name: *const c_char) -> u64 {
    call::load_library(h, name)
}

#[no_mangle]
pub unsafe extern "C" fn veo_unload_library(h: *mut ProcHandle, handle: u64) -> c_int {
    call::unload_library(h, handle)
}

#[no_mangle]
pub unsafe extern "C" fn veo_get_sym(h: *mut ProcHandle, handle: u64, name: *const c_char) -> u64 {
    call::get_sym(h, handle, name)
}

#[no_mangle]
pub extern "C" fn veo_args_alloc() -> *mut call::Args {
    call::args_alloc()
}

#[no_mangle]
pub unsafe extern "C" fn veo_args_set_u64(a: *mut call::Args, n: c_int, v: u64) -> c_int {
    call::args_set_u64(a, n, v)
}

#[no_mangle]
pub unsafe extern "C" fn veo_args_clear(a: *mut call::Args) {
    call::args_clear(a)
}

#[no_mangle]
pub unsafe extern "C" fn veo_args_free(a: *mut call::Args) {
    call::args_free(a)
}

#[no_mangle]
pub unsafe extern "C" fn veo_call_async(ctx: *mut ThrCtxt, addr: u64, args: *mut call::Args) -> u64 {
    call::call_async(ctx, addr, args)
}
