//! The fewest libveo round trips for non-contiguous VE data: a VE-side pack/unpack kernel, and
//! asynchronous per-run copies where it cannot be loaded.
//!
//! Each libveo copy has a fixed cost (about 12 µs on a VE Type 10B), so copying a datatype's blocks
//! one by one costs that per block. Instead, for each VE process that owns staged buffers, the shim
//! loads its kernel library (`vekernel/mpive_vekernel.c`, `libmpive_vekernel.so`) into that process
//! (`veo_get_proc_handle_from_hmem`, `veo_load_library`) and keeps, per process:
//! - a context (`veo_context_open`) and the kernel's two functions (`mpive_pack`, `mpive_unpack`);
//! - a scratch buffer in VE memory (grown to the largest packed size seen);
//! - the run lists (offset, length pairs) already written to VE memory, by content.
//!
//! A store (host to VE) then packs the runs on the host, writes the packed bytes to the scratch
//! buffer with one copy and calls `mpive_unpack` once; a load calls `mpive_pack` once and reads the
//! scratch buffer with one copy. A run list costs one more copy the first time it is used. Only the
//! runs' bytes are written, so the holes keep what VE code puts there meanwhile.
//!
//! Where the kernel cannot be loaded (`MPIVE_VE_KERNEL=0`, a libveo without `veo_load_library` or
//! `veo_call_async`, or the library missing), the runs are copied with `veo_async_read_mem` /
//! `veo_async_write_mem` on the process's context, all issued and then all waited, so that their
//! fixed costs overlap; with a libveo that has no asynchronous copies either, the caller copies run
//! by run ([`copy_runs`] returns false). The reason is logged once.
//!
//! `MPIVE_VE_KERNEL`: unset or `1`, `libmpive_vekernel.so` beside libmpive.so; `0`, no kernel; any
//! other value, the path of the kernel library to load (for the real VE, the one built with NEC's
//! compiler, see docs/architecture.md).

use crate::abi::Class;
use crate::errors::{Error, Result};
use crate::pool::PoolBuf;
use crate::stats::{count_copy, count_kernel_call, Dir};
use crate::ve::{self, AsyncApi, CallApi};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::ffi::{c_void, CString};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// Bits 58..0 of an HMEM address: the VE virtual address.
const VEMVA_MASK: usize = (1 << 59) - 1;
/// Run lists kept in VE memory per process; beyond that they are all freed and the cache restarts.
const MAX_RUN_LISTS: usize = 64;
/// Up to this many runs, overlapped asynchronous copies cost no more round trips than the kernel.
const FEW_RUNS: usize = 2;
const VEO_REQUEST_ID_INVALID: u64 = !0;
const VEO_COMMAND_OK: i32 = 0;

/// How a VE process's non-contiguous data is copied.
enum Mode {
    /// Synchronous copies, one per run (done by the caller).
    Sync,
    /// Asynchronous copies on a context, one per run, overlapping.
    Async(Ctx),
    /// The VE kernel.
    Kernel(Ctx, Box<Kernel>),
}

struct Ctx {
    api: AsyncApi,
    /// The process handle the context belongs to (a process destroyed and created again under the
    /// same identifier has another: everything is set up again).
    proc: *mut c_void,
    ctx: *mut c_void,
}

/// A run list (offset, length pairs) and its HMEM address in VE memory.
type RunList = (Vec<(usize, usize)>, usize);

struct Kernel {
    calls: CallApi,
    pack: u64,
    unpack: u64,
    args: *mut c_void,
    /// HMEM address and size of the scratch buffer (0 when none yet).
    scratch: usize,
    scratch_len: usize,
    /// Run lists in VE memory (HMEM addresses), by [`sample_hash`] of their content; lists with the
    /// same hash are told apart by comparing them whole.
    runs: HashMap<u64, Vec<RunList>>,
    /// Lists in `runs`.
    nlists: usize,
}

// SAFETY: the libveo handles are used only under the process's mutex.
unsafe impl Send for Mode {}

static PROCS: [Mutex<Option<Mode>>; 16] = [const { Mutex::new(None) }; 16];
static LOGGED: AtomicBool = AtomicBool::new(false);

fn log_once(why: &str) {
    if !LOGGED.swap(true, Relaxed) {
        log::warn!("{why}");
    }
}

/// The kernel library to load, or None when disabled.
fn kernel_path() -> Option<String> {
    match std::env::var("MPIVE_VE_KERNEL") {
        Ok(v) if v == "0" => None,
        Ok(v) if !v.is_empty() && v != "1" => Some(v),
        _ => {
            // Beside libmpive.so.
            // SAFETY: Dl_info is plain data (pointers), valid when zeroed.
            let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
            // SAFETY: dladdr reads the address of a function of this library and fills `info`.
            let ok = unsafe { libc::dladdr(kernel_path as *const c_void, &mut info) } != 0;
            let dir = if ok && !info.dli_fname.is_null() {
                // SAFETY: dli_fname is a NUL-terminated path owned by the loader.
                let f = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) }.to_string_lossy().into_owned();
                std::path::Path::new(&f).parent().map(|p| p.display().to_string()).unwrap_or_else(|| ".".into())
            } else {
                ".".into()
            };
            Some(format!("{dir}/libmpive_vekernel.so"))
        }
    }
}

/// Sets up the process owning HMEM address `addr`.
fn setup(addr: usize) -> Option<Mode> {
    let Ok(v) = ve::veo() else { return Some(Mode::Sync) };
    let api = match &v.asyncs {
        Ok(a) => *a,
        Err(e) => {
            log_once(&format!("VE datatypes are copied block by block, one synchronous copy each: {e}"));
            return Some(Mode::Sync);
        }
    };
    // SAFETY: libveo's documented signatures; addr is an HMEM address of this program.
    let proc = unsafe { (api.proc_from_hmem)(addr as *const c_void) };
    if proc.is_null() {
        // No such VE process (yet): nothing to remember; the copies will report the bad address.
        return None;
    }
    // SAFETY: as above.
    let ctx = unsafe { (api.context_open)(proc) };
    if ctx.is_null() {
        log_once("VE datatypes are copied block by block, one synchronous copy each: no libveo context could be opened for the VE process");
        return Some(Mode::Sync);
    }
    let ctx = Ctx { api, proc, ctx };
    let fallback = |why: String| {
        log_once(&format!("VE datatypes are copied block by block with overlapping asynchronous copies: {why}"));
    };
    let Some(path) = kernel_path() else {
        fallback("MPIVE_VE_KERNEL=0".into());
        return Some(Mode::Async(ctx));
    };
    let calls = match &v.calls {
        Ok(c) => *c,
        Err(e) => {
            fallback(e.clone());
            return Some(Mode::Async(ctx));
        }
    };
    let Ok(cpath) = CString::new(path.clone()) else { return Some(Mode::Async(ctx)) };
    // SAFETY: libveo's documented signatures; proc is live.
    let lib = unsafe { (calls.load_library)(proc, cpath.as_ptr()) };
    if lib == 0 {
        fallback(format!("veo_load_library could not load the VE kernel {path} (build it for the VE, see docs/architecture.md, or set MPIVE_VE_KERNEL to its path)"));
        return Some(Mode::Async(ctx));
    }
    // SAFETY: as above.
    let (pack, unpack) = unsafe { ((calls.get_sym)(proc, lib, c"mpive_pack".as_ptr()), (calls.get_sym)(proc, lib, c"mpive_unpack".as_ptr())) };
    // SAFETY: as above.
    let args = unsafe { (calls.args_alloc)() };
    if pack == 0 || unpack == 0 || args.is_null() {
        fallback(format!("{path} has no mpive_pack or mpive_unpack"));
        return Some(Mode::Async(ctx));
    }
    log::info!("VE kernel {path} loaded: VE datatypes cost one copy and one call per direction");
    Some(Mode::Kernel(ctx, Box::new(Kernel { calls, pack, unpack, args, scratch: 0, scratch_len: 0, runs: HashMap::new(), nlists: 0 })))
}

/// Runs `f` on the mode of the process that owns `addr`, setting it up the first time.
fn with_mode<R>(addr: usize, f: impl FnOnce(&mut Mode) -> R) -> R {
    let mut m = PROCS[(addr >> 59) & 0xF].lock();
    let stale = match m.as_ref() {
        None => true,
        Some(Mode::Sync) => false,
        // SAFETY: libveo's documented signature (a lookup in libveo's process table).
        Some(Mode::Async(c) | Mode::Kernel(c, _)) => (unsafe { (c.api.proc_from_hmem)(addr as *const c_void) }) != c.proc,
    };
    if stale {
        // The old process's context, scratch and run lists went with it; nothing to free.
        *m = setup(addr);
    }
    match m.as_mut() {
        Some(mode) => f(mode),
        None => f(&mut Mode::Sync),
    }
}

/// What copying `nruns` runs of the process owning `addr` costs, in copies of the whole span (for
/// deciding whether to copy the span whole instead).
pub fn runs_cost(addr: usize, nruns: usize) -> usize {
    with_mode(addr, |m| match m {
        Mode::Kernel(..) if nruns > FEW_RUNS => 1,
        Mode::Kernel(..) | Mode::Async(_) => 1.max(nruns.min(2)),
        Mode::Sync => nruns,
    })
}

/// Copies the runs of the VE span at `ve` and of the host buffer `host`, at the same offsets, in
/// direction `dir`: with the VE kernel (more than [`FEW_RUNS`] runs) or with overlapping
/// asynchronous copies. False: this libveo has neither, and the caller copies the runs one by one.
///
/// # Safety
/// `host` is valid for the span (writable when `dir` is [`Dir::FromVe`]); the runs lie inside it.
pub unsafe fn copy_runs(dir: Dir, ve: usize, host: *mut u8, runs: &[(usize, usize)]) -> Result<bool> {
    with_mode(ve, |m| match m {
        Mode::Sync => Ok(false),
        Mode::Kernel(c, k) if runs.len() > FEW_RUNS => match dir {
            // SAFETY: forwarded contract.
            Dir::FromVe => unsafe { k.gather(c, ve, host, runs) }.map(|()| true),
            // SAFETY: forwarded contract.
            Dir::ToVe => unsafe { k.scatter(c, ve, host, runs) }.map(|()| true),
        },
        Mode::Kernel(c, _) | Mode::Async(c) => {
            // SAFETY: forwarded contract.
            unsafe { c.copies(dir, ve, host, runs) }.map(|()| true)
        }
    })
}

fn async_error(dir: Dir, n: usize, addr: usize, what: &str) -> Error {
    let d = if dir == Dir::FromVe { "from" } else { "to" };
    Error::new(
        Class::Buffer,
        format!(
            "asynchronous copy of {n} bytes {d} VE address {addr:#x} failed ({what}): not VE memory of this process. \
             Pass buffers from veo_alloc_hmem that hold (count, datatype) until the call completes"
        ),
    )
}

impl Ctx {
    /// One asynchronous copy per run, all issued, then all waited.
    unsafe fn copies(&self, dir: Dir, ve: usize, host: *mut u8, runs: &[(usize, usize)]) -> Result<()> {
        let t = std::time::Instant::now();
        let base = ve & VEMVA_MASK;
        let mut reqs: Vec<(u64, usize, usize)> = Vec::with_capacity(runs.len());
        let mut err = None;
        for &(o, n) in runs.iter().filter(|r| r.1 > 0) {
            // SAFETY: host + o has n bytes (contract); libveo checks the VE side.
            let id = unsafe {
                match dir {
                    Dir::FromVe => (self.api.async_read)(self.ctx, host.add(o).cast(), (base + o) as u64, n),
                    Dir::ToVe => (self.api.async_write)(self.ctx, (base + o) as u64, host.add(o).cast(), n),
                }
            };
            if id == VEO_REQUEST_ID_INVALID {
                err = Some(async_error(dir, n, ve + o, "libveo refused the request"));
                break;
            }
            reqs.push((id, o, n));
        }
        // Every request issued is waited for, even after an error: none may still write into the
        // host buffer once this returns.
        let mut first = true;
        for (id, o, n) in reqs {
            let mut ret = 0u64;
            // SAFETY: id was returned by this context.
            let rc = unsafe { (self.api.wait_result)(self.ctx, id, &mut ret) };
            if rc != VEO_COMMAND_OK || ret != 0 {
                err.get_or_insert_with(|| async_error(dir, n, ve + o, &format!("veo_call_wait_result: {rc}, result {}", ret as i64)));
                continue;
            }
            count_copy(dir, n, if first { t.elapsed().as_nanos() as u64 } else { 0 });
            first = false;
        }
        err.map_or(Ok(()), Err)
    }
}

impl Kernel {
    /// The scratch buffer, at least `n` bytes.
    fn scratch(&mut self, ve: usize, n: usize) -> Result<usize> {
        if self.scratch_len < n {
            let v = ve::veo()?;
            if self.scratch != 0 {
                // SAFETY: allocated below by veo_alloc_hmem; no call uses it now (process mutex).
                unsafe { (v.free_hmem)(self.scratch as *mut c_void) };
                self.scratch = 0;
                self.scratch_len = 0;
            }
            let len = n.next_power_of_two().max(64 * 1024);
            let mut p: *mut c_void = std::ptr::null_mut();
            // SAFETY: libveo's documented signature; the process is the one owning `ve`.
            let rc = unsafe { (v.alloc_hmem)(proc_of(ve)?, &mut p, len) };
            if rc != 0 || p.is_null() {
                return Err(Error::new(Class::NoMem, format!("cannot allocate {len} bytes of VE scratch memory for the VE kernel (veo_alloc_hmem: {rc}); set MPIVE_VE_KERNEL=0 to copy block by block")));
            }
            self.scratch = p as usize;
            self.scratch_len = len;
        }
        Ok(self.scratch)
    }

    /// The run list in VE memory, written there the first time.
    fn run_list(&mut self, ve: usize, runs: &[(usize, usize)]) -> Result<usize> {
        let h = sample_hash(runs);
        if let Some(&(_, a)) = self.runs.get(&h).and_then(|b| b.iter().find(|(k, _)| k.as_slice() == runs)) {
            return Ok(a);
        }
        let v = ve::veo()?;
        if self.nlists >= MAX_RUN_LISTS {
            for (_, a) in self.runs.drain().flat_map(|(_, b)| b) {
                // SAFETY: allocated below; no call uses it now (process mutex).
                unsafe { (v.free_hmem)(a as *mut c_void) };
            }
            self.nlists = 0;
        }
        let words: Vec<u64> = runs.iter().flat_map(|&(o, n)| [o as u64, n as u64]).collect();
        let bytes = words.len() * 8;
        let mut p: *mut c_void = std::ptr::null_mut();
        // SAFETY: libveo's documented signature.
        let rc = unsafe { (v.alloc_hmem)(proc_of(ve)?, &mut p, bytes) };
        if rc != 0 || p.is_null() {
            return Err(Error::new(Class::NoMem, format!("cannot allocate {bytes} bytes of VE memory for a run list (veo_alloc_hmem: {rc}); set MPIVE_VE_KERNEL=0 to copy block by block")));
        }
        // SAFETY: words has `bytes` bytes; p is a fresh VE allocation of that size.
        if let Err(e) = unsafe { ve::write(p as usize, words.as_ptr().cast(), bytes) } {
            // SAFETY: allocated above.
            unsafe { (v.free_hmem)(p) };
            return Err(e);
        }
        self.runs.entry(h).or_default().push((runs.to_vec(), p as usize));
        self.nlists += 1;
        Ok(p as usize)
    }

    /// Calls `f` (pack or unpack) on the span at `ve`, `packed` and the run list at `list`.
    unsafe fn call(&self, c: &Ctx, (f, name): (u64, &str), ve: usize, packed: usize, (list, nruns): (usize, usize)) -> Result<()> {
        let t = std::time::Instant::now();
        let args = [ve & VEMVA_MASK, packed & VEMVA_MASK, list & VEMVA_MASK, nruns];
        for (i, a) in args.iter().enumerate() {
            // SAFETY: self.args came from veo_args_alloc.
            unsafe { (self.calls.args_set_u64)(self.args, i as i32, *a as u64) };
        }
        // SAFETY: f came from veo_get_sym of the library loaded into this context's process.
        let id = unsafe { (self.calls.call_async)(c.ctx, f, self.args) };
        if id == VEO_REQUEST_ID_INVALID {
            return Err(Error::new(Class::Other, format!("veo_call_async of the VE kernel's {name} failed; set MPIVE_VE_KERNEL=0 to copy block by block")));
        }
        let mut ret = 0u64;
        // SAFETY: id was returned by this context.
        let rc = unsafe { (c.api.wait_result)(c.ctx, id, &mut ret) };
        count_kernel_call(t.elapsed().as_nanos() as u64);
        if rc != VEO_COMMAND_OK {
            return Err(Error::new(Class::Other, format!("the VE kernel's {name} did not complete (veo_call_wait_result: {rc}); set MPIVE_VE_KERNEL=0 to copy block by block")));
        }
        if ret != 0 {
            return Err(Error::new(
                Class::Buffer,
                format!(
                    "the VE kernel's {name} could not reach {} of the buffer at VE address {ve:#x}: not VE memory of this process. \
                     Pass buffers from veo_alloc_hmem that hold (count, datatype) until the call completes",
                    if ret == 1 { "the run list".to_string() } else { format!("block {} of {nruns}", ret - 2) }
                ),
            ));
        }
        Ok(())
    }

    /// Load: the kernel packs the runs into scratch, one copy brings them to the host.
    unsafe fn gather(&mut self, c: &Ctx, ve: usize, host: *mut u8, runs: &[(usize, usize)]) -> Result<()> {
        let total: usize = runs.iter().map(|r| r.1).sum();
        let list = self.run_list(ve, runs)?;
        let scratch = self.scratch(ve, total)?;
        // SAFETY: forwarded contract.
        unsafe { self.call(c, (self.pack, "mpive_pack"), ve, scratch, (list, runs.len())) }?;
        let packed = PoolBuf::get(total)?;
        // SAFETY: packed has total bytes; scratch at least that many.
        unsafe { ve::read(packed.as_ptr(), scratch, total) }?;
        let mut pos = 0;
        for &(o, n) in runs {
            // SAFETY: the runs lie inside the host buffer (contract); packed has `total` bytes.
            unsafe { std::ptr::copy_nonoverlapping(packed.as_ptr().add(pos), host.add(o), n) };
            pos += n;
        }
        Ok(())
    }

    /// Store: the runs are packed on the host, one copy takes them to scratch, the kernel unpacks.
    unsafe fn scatter(&mut self, c: &Ctx, ve: usize, host: *const u8, runs: &[(usize, usize)]) -> Result<()> {
        let total: usize = runs.iter().map(|r| r.1).sum();
        let list = self.run_list(ve, runs)?;
        let scratch = self.scratch(ve, total)?;
        let packed = PoolBuf::get(total)?;
        let mut pos = 0;
        for &(o, n) in runs {
            // SAFETY: as in gather.
            unsafe { std::ptr::copy_nonoverlapping(host.add(o), packed.as_ptr().add(pos), n) };
            pos += n;
        }
        // SAFETY: packed has total bytes; scratch at least that many.
        unsafe { ve::write(scratch, packed.as_ptr(), total) }?;
        // SAFETY: forwarded contract.
        unsafe { self.call(c, (self.unpack, "mpive_unpack"), ve, scratch, (list, runs.len())) }
    }
}

/// A hash of a run list from its length and at most 17 of its runs, evenly spaced: hashing every run
/// of a 1,000-block list on each call cost about as much as the rest of the host side of a kernel
/// call. Equal lists hash equally; a hit is confirmed by comparing the lists whole.
fn sample_hash(runs: &[(usize, usize)]) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mix = |h: u64, v: usize| (h.rotate_left(5) ^ v as u64).wrapping_mul(K);
    let step = (runs.len() / 16).max(1);
    runs.iter().step_by(step).chain(runs.last()).fold(runs.len() as u64, |h, &(o, n)| mix(mix(h, o), n))
}

/// The libveo process handle owning HMEM address `ve`.
fn proc_of(ve: usize) -> Result<*mut c_void> {
    let v = ve::veo()?;
    let api = v.asyncs.as_ref().map_err(|e| Error::new(Class::Other, e.clone()))?;
    // SAFETY: libveo's documented signature.
    let p = unsafe { (api.proc_from_hmem)(ve as *const c_void) };
    if p.is_null() {
        return Err(Error::new(Class::Buffer, format!("VE address {ve:#x} belongs to no VE process of this program")));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::sample_hash;

    #[test]
    fn equal_run_lists_hash_equally_and_the_ends_and_length_count() {
        let a: Vec<(usize, usize)> = (0..1000).map(|i| (i * 64, 8)).collect();
        assert_eq!(sample_hash(&a), sample_hash(&a.clone()));
        let mut b = a.clone();
        b[999].1 = 16;
        assert_ne!(sample_hash(&a), sample_hash(&b), "the last run is sampled");
        b = a.clone();
        b[0].0 = 1;
        assert_ne!(sample_hash(&a), sample_hash(&b), "the first run is sampled");
        assert_ne!(sample_hash(&a), sample_hash(&a[..999]), "the length is hashed");
        assert_ne!(sample_hash(&[]), sample_hash(&[(0, 8)]));
    }
}
