//! VE libraries and calls into them: `veo_load_library`, `veo_get_sym`, `veo_args_*`,
//! `veo_call_async`, and `veo_get_proc_handle_from_hmem`.
//!
//! A "VE library" of the simulated VE is a host shared library built from the same C source as the
//! real VE's (for libmpive's kernel: `vekernel/`, compiled with `-DMPIVE_VEKERNEL_SIMVE`). Such a
//! library reaches VE memory only through two accessors that simve hands it at load time by calling
//! its `simve_bind(copy, fetch)`; a library without `simve_bind` was not built for the simulated VE
//! (a real VE library, say) and is refused, as the real libveo refuses a host library.
//!
//! A call runs in order with the context's asynchronous copies: `veo_call_async` waits until the
//! commands submitted before it on the context have ended, then runs the function on the calling
//! thread and keeps its result for `veo_call_wait_result`. AVEO's `veo_call_async` returns at once and
//! the VE runs the function meanwhile; for a caller that waits right away (libmpive does) the time is
//! the same, and no thread hand-off is added (the real VE has none; on a loaded host, waking a worker
//! thread can take a scheduler time slice). While the function runs, the accessors act on the memory
//! of the VE process the library was loaded into. Its modeled cost is one fixed cost of the host-to-VE
//! direction (a command sent to the VE; SIMVE_LATENCY); the kernel's own copies within VE memory take
//! no link time.
//!
//! Symbol "addresses" are tokens that name an entry of simve's symbol table, so a call to an address
//! that `veo_get_sym` did not return fails instead of jumping anywhere.

use crate::link::Dir;
use crate::mem;
use crate::proc::{self, ProcHandle, VeProc};
use parking_lot::Mutex;
use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const VEO_REQUEST_ID_INVALID: u64 = !0;
const VEO_COMMAND_OK: c_int = 0;
const VEO_COMMAND_ERROR: c_int = 2;
/// Request ids of calls carry this bit (a context's own ids count from 1 and never reach it).
const CALL_TAG: u64 = 1 << 62;
static NEXT_CALL: AtomicU64 = AtomicU64::new(1);
/// Results of calls not collected yet, by (context, request id).
static CALLS: once_cell::sync::Lazy<Mutex<HashMap<(usize, u64), u64>>> = once_cell::sync::Lazy::new(|| Mutex::new(HashMap::new()));
/// Most arguments a call may take.
const MAX_ARGS: usize = 8;
/// Symbol tokens start here; each symbol gets its own 16 bytes.
const SYM_BASE: u64 = 0x0000_7000_0000_0000;

type Entry = unsafe extern "C" fn() -> u64;

struct Lib {
    proc_id: u8,
    dl: usize,
}

struct Sym {
    lib: usize,
    f: Entry,
}

struct Table {
    libs: Vec<Option<Lib>>,
    syms: Vec<Sym>,
}

static TABLE: Mutex<Table> = Mutex::new(Table { libs: Vec::new(), syms: Vec::new() });

thread_local! {
    /// The memory the running kernel's accessors reach: a [`mem::KernelView`] on the stack of [`run`],
    /// set for the duration of the call (null otherwise).
    static CURRENT: Cell<*const c_void> = const { Cell::new(std::ptr::null()) };
}

/// `veo_args`: the argument values by position.
pub struct Args {
    v: Vec<u64>,
}

/// Runs `f` on the view of the running kernel's memory; -1 when no kernel runs on this thread.
fn with_view(f: impl FnOnce(&mem::KernelView<'_>) -> c_int) -> c_int {
    let v = CURRENT.with(|c| c.get());
    if v.is_null() {
        return -1;
    }
    // SAFETY: `run` sets CURRENT to a view that outlives the kernel's call and clears it before the
    // view is dropped; the accessors are only called by that kernel, on this thread.
    f(unsafe { &*(v as *const mem::KernelView<'_>) })
}

/// The accessor `MK_COPY` of the kernel's header: VE to VE within the calling process.
extern "C" fn kernel_copy(dst: u64, src: u64, n: u64) -> c_int {
    with_view(|v| v.copy_within(dst, src, n as usize))
}

/// The accessor `MK_FETCH`: VE memory into the kernel's local (host) array.
extern "C" fn kernel_fetch(dst: *mut c_void, src: u64, n: u64) -> c_int {
    if dst.is_null() {
        return -1;
    }
    // SAFETY: dst is the kernel's local array of n bytes.
    with_view(|v| unsafe { v.fetch(dst.cast(), src, n as usize) })
}

type BindFn = unsafe extern "C" fn(extern "C" fn(u64, u64, u64) -> c_int, extern "C" fn(*mut c_void, u64, u64) -> c_int);

pub unsafe fn proc_from_hmem(addr: *const c_void) -> *mut ProcHandle {
    let a = addr as u64;
    if !mem::is_ve_addr(a) {
        return std::ptr::null_mut();
    }
    proc::handle_of(((a & mem::HMEM_PID_MASK) >> mem::HMEM_PID_SHIFT) as u8)
}

pub unsafe fn load_library(h: *mut ProcHandle, name: *const c_char) -> u64 {
    // SAFETY: forwarded contract of veo_load_library.
    let Some(p) = (unsafe { proc::from_handle(h) }) else { return 0 };
    if name.is_null() {
        return 0;
    }
    // SAFETY: name is a NUL-terminated path; loading runs the library's initializers.
    let dl = unsafe { libc::dlopen(name, libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if dl.is_null() {
        return 0;
    }
    // SAFETY: dl is a live handle; the symbol, if present, has the kernel header's signature.
    let bind = unsafe { libc::dlsym(dl, c"simve_bind".as_ptr()) };
    if bind.is_null() {
        // SAFETY: dl came from dlopen above.
        unsafe { libc::dlclose(dl) };
        return 0;
    }
    // SAFETY: as above: `void simve_bind(mk_copy_fn, mk_fetch_fn)`.
    unsafe { std::mem::transmute::<*mut c_void, BindFn>(bind)(kernel_copy, kernel_fetch) };
    let mut t = TABLE.lock();
    t.libs.push(Some(Lib { proc_id: p.id, dl: dl as usize }));
    t.libs.len() as u64
}

pub unsafe fn unload_library(h: *mut ProcHandle, handle: u64) -> c_int {
    // SAFETY: forwarded contract.
    let Some(p) = (unsafe { proc::from_handle(h) }) else { return -1 };
    let mut t = TABLE.lock();
    let i = handle.wrapping_sub(1) as usize;
    match t.libs.get(i) {
        Some(Some(l)) if l.proc_id == p.id => {
            // Symbols of the library stay in the table but stop resolving (calls to them fail).
            let dl = l.dl;
            t.libs[i] = None;
            // SAFETY: dl came from dlopen in load_library.
            unsafe { libc::dlclose(dl as *mut c_void) };
            0
        }
        _ => -1,
    }
}

pub unsafe fn get_sym(h: *mut ProcHandle, handle: u64, name: *const c_char) -> u64 {
    // SAFETY: forwarded contract.
    let Some(p) = (unsafe { proc::from_handle(h) }) else { return 0 };
    if name.is_null() {
        return 0;
    }
    let mut t = TABLE.lock();
    // handle 0: search every library loaded into the process, as the real libveo does.
    let libs: Vec<usize> = match handle {
        0 => (0..t.libs.len()).collect(),
        n => vec![n as usize - 1],
    };
    for i in libs {
        let Some(Some(l)) = t.libs.get(i) else { continue };
        if l.proc_id != p.id {
            continue;
        }
        // SAFETY: l.dl is a live dlopen handle; name is NUL-terminated.
        let f = unsafe { libc::dlsym(l.dl as *mut c_void, name) };
        if f.is_null() {
            continue;
        }
        // SAFETY: a function symbol of the library; it is called with the arguments the caller set.
        let f = unsafe { std::mem::transmute::<*mut c_void, Entry>(f) };
        if let Some(k) = t.syms.iter().position(|s| s.lib == i && s.f as usize == f as usize) {
            return SYM_BASE + 16 * k as u64;
        }
        t.syms.push(Sym { lib: i, f });
        return SYM_BASE + 16 * (t.syms.len() as u64 - 1);
    }
    0
}

pub fn args_alloc() -> *mut Args {
    Box::into_raw(Box::new(Args { v: Vec::new() }))
}

pub unsafe fn args_set_u64(a: *mut Args, n: c_int, v: u64) -> c_int {
    // SAFETY: a is NULL or from args_alloc.
    let Some(a) = (unsafe { a.as_mut() }) else { return -1 };
    if n < 0 || n as usize >= MAX_ARGS {
        return -1;
    }
    let n = n as usize;
    if a.v.len() <= n {
        a.v.resize(n + 1, 0);
    }
    a.v[n] = v;
    0
}

pub unsafe fn args_clear(a: *mut Args) {
    // SAFETY: a is NULL or from args_alloc.
    if let Some(a) = unsafe { a.as_mut() } {
        a.v.clear();
    }
}

pub unsafe fn args_free(a: *mut Args) {
    if !a.is_null() {
        // SAFETY: a came from args_alloc.
        drop(unsafe { Box::from_raw(a) });
    }
}

struct Job {
    proc: Arc<VeProc>,
    f: Entry,
    args: [u64; MAX_ARGS],
    n: usize,
}

/// Runs a call (the argument is a leaked `Box<Job>`).
unsafe extern "C" fn run(job: *mut c_void) -> u64 {
    // SAFETY: job is the box call_async leaked for this call, taken back once.
    let job = unsafe { Box::from_raw(job as *mut Job) };
    job.proc.link.reserve(Dir::HostToVe, 0).finish();
    // The process's memory stays mapped while the kernel runs (a free waits for the call's end).
    let regions = job.proc.regions.read();
    let view = mem::KernelView::new(&regions);
    CURRENT.with(|c| c.set(&view as *const mem::KernelView<'_> as *const c_void));
    let a = job.args;
    // SAFETY: f is a function of a library loaded for this process; it is called with as many u64
    // arguments as the caller set (the C kernel's functions take only integer arguments).
    let r = unsafe {
        match job.n {
            0 => (job.f)(),
            1 => std::mem::transmute::<Entry, unsafe extern "C" fn(u64) -> u64>(job.f)(a[0]),
            2 => std::mem::transmute::<Entry, unsafe extern "C" fn(u64, u64) -> u64>(job.f)(a[0], a[1]),
            3 => std::mem::transmute::<Entry, unsafe extern "C" fn(u64, u64, u64) -> u64>(job.f)(a[0], a[1], a[2]),
            4 => std::mem::transmute::<Entry, unsafe extern "C" fn(u64, u64, u64, u64) -> u64>(job.f)(a[0], a[1], a[2], a[3]),
            5 => std::mem::transmute::<Entry, unsafe extern "C" fn(u64, u64, u64, u64, u64) -> u64>(job.f)(a[0], a[1], a[2], a[3], a[4]),
            6 => std::mem::transmute::<Entry, unsafe extern "C" fn(u64, u64, u64, u64, u64, u64) -> u64>(job.f)(a[0], a[1], a[2], a[3], a[4], a[5]),
            7 => std::mem::transmute::<Entry, unsafe extern "C" fn(u64, u64, u64, u64, u64, u64, u64) -> u64>(job.f)(a[0], a[1], a[2], a[3], a[4], a[5], a[6]),
            _ => std::mem::transmute::<Entry, unsafe extern "C" fn(u64, u64, u64, u64, u64, u64, u64, u64) -> u64>(job.f)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]),
        }
    };
    // The view (on this stack, borrowing the guard) is not reachable once CURRENT is cleared.
    CURRENT.with(|c| c.set(std::ptr::null()));
    drop(regions);
    r
}

pub unsafe fn call_async(ctx: *mut crate::thread_ctx::Context, addr: u64, a: *mut Args) -> u64 {
    // SAFETY: a is NULL or from args_alloc.
    let Some(a) = (unsafe { a.as_ref() }) else { return VEO_REQUEST_ID_INVALID };
    if ctx.is_null() || addr < SYM_BASE || !(addr - SYM_BASE).is_multiple_of(16) {
        return VEO_REQUEST_ID_INVALID;
    }
    let (f, proc_id) = {
        let t = TABLE.lock();
        let Some(s) = t.syms.get(((addr - SYM_BASE) / 16) as usize) else { return VEO_REQUEST_ID_INVALID };
        let Some(Some(l)) = t.libs.get(s.lib) else { return VEO_REQUEST_ID_INVALID };
        (s.f, l.proc_id)
    };
    let Some(p) = proc::by_id(proc_id) else { return VEO_REQUEST_ID_INVALID };
    let mut args = [0u64; MAX_ARGS];
    args[..a.v.len()].copy_from_slice(&a.v);
    let job = Box::into_raw(Box::new(Job { proc: p, f, args, n: a.v.len() }));
    // In order with the context's earlier commands: they end first. Then the call runs here.
    // SAFETY: ctx is the caller's live context.
    unsafe { crate::thread_ctx::sync(ctx) };
    // SAFETY: run takes the job back.
    let r = unsafe { run(job.cast()) };
    let id = CALL_TAG | NEXT_CALL.fetch_add(1, Ordering::Relaxed);
    CALLS.lock().insert((ctx as usize, id), r);
    id
}

/// Whether `req` names a call of this module (its results are collected here, not by the context).
pub fn owns(req: u64) -> bool {
    req != VEO_REQUEST_ID_INVALID && req & CALL_TAG != 0
}

/// `veo_call_wait_result` / `veo_call_peek_result` of a call: its result, once.
pub unsafe fn take(ctx: *mut crate::thread_ctx::Context, req: u64, ret: *mut u64) -> c_int {
    match CALLS.lock().remove(&(ctx as usize, req)) {
        Some(v) => {
            if !ret.is_null() {
                // SAFETY: ret is the caller's uint64_t.
                unsafe { ret.write(v) };
            }
            VEO_COMMAND_OK
        }
        None => VEO_COMMAND_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host library not built for the simulated VE is refused; an address that veo_get_sym did
    /// not return cannot be called.
    #[test]
    fn foreign_libraries_and_unknown_addresses_are_refused() {
        let h = proc::create(0);
        assert!(!h.is_null());
        // SAFETY: the process and context are created here; the names are C strings; the calls that
        // must be refused never run anything.
        unsafe {
            assert_eq!(load_library(h, c"libc.so.6".as_ptr()), 0, "libc has no simve_bind");
            assert_eq!(load_library(h, c"/nonexistent/lib.so".as_ptr()), 0);
            assert_eq!(get_sym(h, 0, c"mpive_pack".as_ptr()), 0);
            let c = crate::thread_ctx::open(h);
            assert!(!c.is_null());
            let a = args_alloc();
            assert_eq!(args_set_u64(a, 0, 1), 0);
            assert_eq!(args_set_u64(a, MAX_ARGS as c_int, 1), -1);
            assert_eq!(call_async(c, 0x1234, a), VEO_REQUEST_ID_INVALID);
            assert_eq!(call_async(c, SYM_BASE + 16 * 100_000, a), VEO_REQUEST_ID_INVALID);
            args_free(a);
            assert_eq!(crate::thread_ctx::close(c), 0);
            let mut ve: *mut c_void = std::ptr::null_mut();
            assert_eq!(mem::alloc_hmem(h, &mut ve, 64), 0);
            assert_eq!(proc_from_hmem(ve), h, "the handle that created the process");
            assert!(proc_from_hmem(0x1000 as *const c_void).is_null());
            assert_eq!(mem::free_hmem(ve), 0);
            proc::destroy(h);
        }
    }
}
