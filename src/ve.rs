//! VE memory: recognizing VE addresses and copying to and from them through libveo.
//!
//! An address is a VE address when bit 63 is set (VEO HMEM tag; bits 62..59 name the VE process, bits
//! 58..0 the VE virtual address). The sentinels with bit 63 set are small negative numbers: MPICH's
//! `MPI_IN_PLACE` is `(void*)-1` and its MPI-4.1 `MPI_BUFFER_AUTOMATIC` (which mpi4py's wheels pass on
//! MPICH) is `(void*)-2`. A VE address in the top page of the address space would need a VE virtual
//! address near 2^59, far beyond any VE's, so "below -4096" is the whole test: one signed compare, no
//! ABI knowledge, on the host path.
//!
//! libveo is loaded at the first VE address, never before: `MPIVE_VEO_LIB` if set, else a libveo
//! already loaded by the program, else /opt/nec/ve/veos/lib64/libveo.so.1, else `libveo.so.1` from
//! the loader's search path.

use crate::abi::Class;
use crate::errors::{Error, Result};
use crate::stats::{count_copy, Dir};
use libloading::os::unix::Library;
use once_cell::sync::OnceCell;
use std::ffi::{c_char, c_int, c_void, CStr};

/// Whether `p` is a VE (HMEM) address.
#[inline(always)]
pub fn is_ve(p: *const c_void) -> bool {
    (p as isize) < -4096
}

/// Default install location of the real libveo.
pub const VEOS_LIBVEO: &str = "/opt/nec/ve/veos/lib64/libveo.so.1";

type HmemcpyFn = unsafe extern "C" fn(*mut c_void, *const c_void, usize) -> c_int;
type AllocHmemFn = unsafe extern "C" fn(*mut c_void, *mut *mut c_void, usize) -> c_int;
type FreeHmemFn = unsafe extern "C" fn(*mut c_void) -> c_int;
type ProcCreateFn = unsafe extern "C" fn(c_int) -> *mut c_void;
type ProcDestroyFn = unsafe extern "C" fn(*mut c_void) -> c_int;
type VersionFn = unsafe extern "C" fn() -> *const c_char;
type ProcFromHmemFn = unsafe extern "C" fn(*const c_void) -> *mut c_void;
type LoadLibraryFn = unsafe extern "C" fn(*mut c_void, *const c_char) -> u64;
type GetSymFn = unsafe extern "C" fn(*mut c_void, u64, *const c_char) -> u64;
type AllocMemFn = unsafe extern "C" fn(*mut c_void, *mut u64, usize) -> c_int;
type FreeMemFn = unsafe extern "C" fn(*mut c_void, u64) -> c_int;
type ContextOpenFn = unsafe extern "C" fn(*mut c_void) -> *mut c_void;
type ArgsAllocFn = unsafe extern "C" fn() -> *mut c_void;
type ArgsSetU64Fn = unsafe extern "C" fn(*mut c_void, c_int, u64) -> c_int;
type ArgsFreeFn = unsafe extern "C" fn(*mut c_void);
type CallAsyncFn = unsafe extern "C" fn(*mut c_void, u64, *mut c_void) -> u64;
type WaitResultFn = unsafe extern "C" fn(*mut c_void, u64, *mut u64) -> c_int;
type AsyncReadFn = unsafe extern "C" fn(*mut c_void, *mut c_void, u64, usize) -> u64;
type AsyncWriteFn = unsafe extern "C" fn(*mut c_void, u64, *const c_void, usize) -> u64;

/// libveo's calls for asynchronous copies on a context (AVEO; absent from older libveo).
#[derive(Clone, Copy)]
pub struct AsyncApi {
    pub proc_from_hmem: ProcFromHmemFn,
    pub context_open: ContextOpenFn,
    pub async_read: AsyncReadFn,
    pub async_write: AsyncWriteFn,
    pub wait_result: WaitResultFn,
}

/// libveo's calls for running a VE library's functions (AVEO; absent from older libveo).
#[derive(Clone, Copy)]
pub struct CallApi {
    pub load_library: LoadLibraryFn,
    pub get_sym: GetSymFn,
    pub alloc_mem: AllocMemFn,
    pub free_mem: FreeMemFn,
    pub args_alloc: ArgsAllocFn,
    pub args_set_u64: ArgsSetU64Fn,
    pub args_free: ArgsFreeFn,
    pub call_async: CallAsyncFn,
}

/// The loaded libveo.
pub struct Veo {
    _lib: Library,
    pub origin: String,
    hmemcpy: HmemcpyFn,
    pub alloc_hmem: AllocHmemFn,
    pub free_hmem: FreeHmemFn,
    pub proc_create: ProcCreateFn,
    pub proc_destroy: ProcDestroyFn,
    version: Option<VersionFn>,
    /// Asynchronous copies, when this libveo has them: Err says which symbol is missing.
    pub asyncs: std::result::Result<AsyncApi, String>,
    /// VE library calls, when this libveo has them: Err says which symbol is missing.
    pub calls: std::result::Result<CallApi, String>,
}

// SAFETY: libveo's functions are thread-safe; the handle is only used for dlsym at load.
unsafe impl Sync for Veo {}
// SAFETY: as above: the function pointers may be called from any thread.
unsafe impl Send for Veo {}

static VEO: OnceCell<std::result::Result<Veo, String>> = OnceCell::new();

/// libveo, loaded on first use.
pub fn veo() -> Result<&'static Veo> {
    VEO.get_or_init(load).as_ref().map_err(|e| Error::new(Class::Other, e.clone()))
}

fn candidates() -> Vec<(String, c_int)> {
    let mut c = Vec::new();
    if let Some(p) = std::env::var("MPIVE_VEO_LIB").ok().filter(|p| !p.is_empty()) {
        c.push((p, libc::RTLD_NOW | libc::RTLD_GLOBAL));
        return c; // the user said which one: do not fall back to another
    }
    c.push(("libveo.so.1".into(), libc::RTLD_NOW | libc::RTLD_NOLOAD));
    c.push((VEOS_LIBVEO.into(), libc::RTLD_NOW | libc::RTLD_GLOBAL));
    c.push(("libveo.so.1".into(), libc::RTLD_NOW | libc::RTLD_GLOBAL));
    c
}

fn load() -> std::result::Result<Veo, String> {
    crate::logger::init();
    let mut tried = Vec::new();
    for (name, flags) in candidates() {
        // SAFETY: loading libveo runs its initializers, as linking it would.
        match unsafe { Library::open(Some(&name), flags) } {
            Ok(lib) => match bind(lib, &name) {
                Ok(v) => {
                    log::info!("libveo: {} from {}", v.version_string(), v.origin);
                    return Ok(v);
                }
                Err(e) => tried.push(e),
            },
            Err(e) if flags & libc::RTLD_NOLOAD != 0 => drop(e),
            Err(e) => tried.push(format!("{name}: {e}")),
        }
    }
    let tried = tried.join("; ");
    log::error!("libveo could not be loaded: {tried}");
    let names = match std::env::var("MPIVE_VEO_LIB") {
        Ok(p) if !p.is_empty() => format!("MPIVE_VEO_LIB={p}"),
        _ => format!("{VEOS_LIBVEO}, libveo.so.1"),
    };
    Err(format!(
        "cannot load libveo ({names}), so VE buffers cannot be staged: install VEOS, or set MPIVE_VEO_LIB to a \
         libveo such as the simulated VE's target/release/libveo.so"
    ))
}

fn bind(lib: Library, name: &str) -> std::result::Result<Veo, String> {
    // SAFETY: the symbols have libveo's documented signatures (ve_offload.h, API version 11).
    unsafe {
        macro_rules! sym {
            ($n:literal) => {
                *lib.get(concat!($n, "\0").as_bytes()).map_err(|e| format!("{name}: {e} (is it libveo?)"))?
            };
        }
        let hmemcpy: HmemcpyFn = sym!("veo_hmemcpy");
        let alloc_hmem: AllocHmemFn = sym!("veo_alloc_hmem");
        let free_hmem: FreeHmemFn = sym!("veo_free_hmem");
        let proc_create: ProcCreateFn = sym!("veo_proc_create");
        let proc_destroy: ProcDestroyFn = sym!("veo_proc_destroy");
        let version = lib.get::<VersionFn>(b"veo_version_string\0").ok().map(|s| *s);
        // Optional: AVEO's asynchronous copies and VE library calls (older libveo lacks some).
        macro_rules! opt {
            ($n:literal) => {
                *lib.get(concat!($n, "\0").as_bytes()).map_err(|_| format!("{name} has no {}", $n))?
            };
        }
        let asyncs = (|| -> std::result::Result<AsyncApi, String> {
            Ok(AsyncApi {
                proc_from_hmem: opt!("veo_get_proc_handle_from_hmem"),
                context_open: opt!("veo_context_open"),
                async_read: opt!("veo_async_read_mem"),
                async_write: opt!("veo_async_write_mem"),
                wait_result: opt!("veo_call_wait_result"),
            })
        })();
        let calls = (|| -> std::result::Result<CallApi, String> {
            Ok(CallApi {
                load_library: opt!("veo_load_library"),
                get_sym: opt!("veo_get_sym"),
                alloc_mem: opt!("veo_alloc_mem"),
                free_mem: opt!("veo_free_mem"),
                args_alloc: opt!("veo_args_alloc"),
                args_set_u64: opt!("veo_args_set_u64"),
                args_free: opt!("veo_args_free"),
                call_async: opt!("veo_call_async"),
            })
        })();
        Ok(Veo { _lib: lib, origin: name.to_string(), hmemcpy, alloc_hmem, free_hmem, proc_create, proc_destroy, version, asyncs, calls })
    }
}

impl Veo {
    pub fn version_string(&self) -> String {
        match self.version {
            // SAFETY: returns a static NUL-terminated string.
            Some(f) => unsafe { CStr::from_ptr(f()).to_string_lossy().into_owned() },
            None => "libveo (no version string)".into(),
        }
    }
}

fn copy_error(dir: &str, n: usize, addr: usize, rc: c_int) -> Error {
    Error::new(
        Class::Buffer,
        format!(
            "copy of {n} bytes {dir} VE address {addr:#x} failed (veo_hmemcpy: {rc}): not VE memory of this process. \
             Pass buffers from veo_alloc_hmem that hold (count, datatype) until the call completes"
        ),
    )
}

/// Copies `n` bytes between VE address `ve` and host memory `host`, in direction `dir`, and counts
/// the copy. libveo's `veo_hmemcpy` tells the direction from the address tags; `dir` names it for
/// the counters and the error message.
///
/// # Safety
/// `host` is valid for `n` bytes: writable when `dir` is [`Dir::FromVe`], readable otherwise.
pub unsafe fn copy(dir: Dir, ve: usize, host: *mut u8, n: usize) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let v = veo()?;
    let t = std::time::Instant::now();
    let (dst, src) = match dir {
        Dir::FromVe => (host.cast::<c_void>(), ve as *const c_void),
        Dir::ToVe => (ve as *mut c_void, host.cast_const().cast::<c_void>()),
    };
    // SAFETY: the host side is valid for n bytes (the caller's contract); libveo checks the VE side.
    let rc = unsafe { (v.hmemcpy)(dst, src, n) };
    if rc != 0 {
        return Err(copy_error(if dir == Dir::FromVe { "from" } else { "to" }, n, ve, rc));
    }
    count_copy(dir, n, t.elapsed().as_nanos() as u64);
    Ok(())
}

/// Copies `n` bytes from VE address `src` to host memory `dst`.
///
/// # Safety
/// `dst` is valid for `n` writable bytes.
pub unsafe fn read(dst: *mut u8, src: usize, n: usize) -> Result<()> {
    // SAFETY: forwarded contract.
    unsafe { copy(Dir::FromVe, src, dst, n) }
}

/// Copies `n` bytes from host memory `src` to VE address `dst`.
///
/// # Safety
/// `src` is valid for `n` readable bytes.
pub unsafe fn write(dst: usize, src: *const u8, n: usize) -> Result<()> {
    // SAFETY: forwarded contract (a copy to the VE only reads the host side).
    unsafe { copy(Dir::ToVe, dst, src.cast_mut(), n) }
}

#[cfg(test)]
mod tests {
    use super::is_ve;
    use std::ffi::c_void;

    #[test]
    fn ve_addresses() {
        assert!(is_ve((1u64 << 63 | 0x6000_0000_0000) as *const c_void));
        assert!(is_ve((1u64 << 63 | 3 << 59 | 0x10) as *const c_void));
        assert!(!is_ve(usize::MAX as *const c_void), "MPICH's MPI_IN_PLACE is not a VE address");
        assert!(!is_ve((usize::MAX - 1) as *const c_void), "MPICH's MPI_BUFFER_AUTOMATIC is not a VE address");
        assert!(is_ve((1u64 << 63 | 15 << 59 | 0x7fff_ffff_f000) as *const c_void), "the highest VE heap addresses are");
        assert!(!is_ve(std::ptr::without_provenance(1)), "Open MPI's MPI_IN_PLACE");
        assert!(!is_ve(std::ptr::null()), "MPI_BOTTOM");
        assert!(!is_ve(0x7fff_ffff_f000 as *const c_void));
    }
}
