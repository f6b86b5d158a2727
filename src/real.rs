//! Resolving the real MPI library, lazily, at first use.
//!
//! mpi4py's wheels dlopen libmpi long after the shim is loaded, so nothing is looked up at load time.
//! The first call that needs the real MPI finds it, in this order:
//!
//! 1. the library named by `MPIVE_MPI_LIB`, opened with `RTLD_NOW | RTLD_GLOBAL`;
//! 2. `PMPI_Init` in the global scope (the program linked libmpi, or something opened it `RTLD_GLOBAL`);
//! 3. any already loaded object that defines `PMPI_Init` (an MPI opened `RTLD_LOCAL`).
//!
//! libmpive defines `MPI_*` names only, never `PMPI_*`, so a `PMPI_*` lookup always lands in the real
//! library. Each function pointer is cached in its own [`Real`] slot: after the first call, resolving
//! is one relaxed load and a predictable branch.

use crate::abi::{Abi, Family};
use libloading::os::unix::Library;
use once_cell::sync::OnceCell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

/// The real MPI library: where to look up symbols, and its ABI.
pub struct RealMpi {
    lib: Library,
    pub origin: String,
    pub abi: Abi,
}

// SAFETY: the library handle is only used for dlsym, which is thread-safe.
unsafe impl Sync for RealMpi {}
// SAFETY: as above; the handle is not tied to the thread that opened it.
unsafe impl Send for RealMpi {}

static REAL: OnceCell<Result<RealMpi, String>> = OnceCell::new();

impl RealMpi {
    /// Address of a symbol of the real library.
    pub fn sym(&self, name: &str) -> Option<*mut c_void> {
        let c = CString::new(name).ok()?;
        // SAFETY: looking up a symbol's address does not call it.
        unsafe { self.lib.get::<*mut c_void>(c.as_bytes_with_nul()).ok().map(|s| *s).filter(|p| !p.is_null()) }
    }
}

/// The real MPI, found on first use.
pub fn mpi() -> Result<&'static RealMpi, &'static str> {
    REAL.get_or_init(find).as_ref().map_err(|e| e.as_str())
}

/// The ABI of the real MPI. Only called on paths that already resolved a real function.
#[inline]
pub fn abi() -> &'static Abi {
    match mpi() {
        Ok(m) => &m.abi,
        Err(e) => fatal(e),
    }
}

/// The shim cannot do anything useful without the real MPI: say so and stop the process.
#[cold]
pub fn fatal(msg: &str) -> ! {
    eprintln!("libmpive: {msg}");
    // SAFETY: terminating the process; nothing unwinds.
    unsafe { libc::_exit(1) }
}

const PROBE: &[u8] = b"PMPI_Init\0";

fn find() -> Result<RealMpi, String> {
    crate::logger::init();
    let (lib, origin) = open_library()?;
    let sym = |name: &str| -> Option<usize> {
        let c = CString::new(name).ok()?;
        // SAFETY: address lookup only.
        unsafe { lib.get::<*mut c_void>(c.as_bytes_with_nul()).ok().map(|s| *s as usize).filter(|&p| p != 0) }
    };
    let version = library_version(&lib);
    let family = identify(&origin, &version, abi_version(&lib), &|name| sym(name).is_some())?;
    let abi = Abi::new(family, version, &sym).map_err(|e| format!("{origin}: {e}"))?;
    log::info!("real MPI: {} ({:?} ABI) from {origin}", abi.library, abi.family);
    Ok(RealMpi { lib, origin, abi })
}

/// The ABI of a library, from the answer of `MPI_Abi_get_version` where it has one (MPI-5: the major
/// version is positive in a library of the standard ABI, -1 in one of its implementation's own ABI),
/// then from its symbols and version string.
fn identify(origin: &str, version: &str, abi_version: Option<(c_int, c_int)>, has: &dyn Fn(&str) -> bool) -> Result<Family, String> {
    match abi_version {
        Some((1, _)) => return Ok(Family::Std),
        Some((major, minor)) if major > 1 => {
            return Err(format!(
                "the MPI library ({origin}: {version}) uses version {major}.{minor} of the MPI standard ABI; this libmpive \
                 knows version 1 only. Use a libmpive that supports it, or the library's own ABI (e.g. libmpi.so.12 \
                 instead of libmpi_abi.so)"
            ))
        }
        Some((major, minor)) if major >= 0 => {
            return Err(format!(
                "the MPI library ({origin}: {version}) answers MPI_Abi_get_version with {major}.{minor}, which is neither \
                 the standard ABI (1.x) nor an implementation's own ABI (-1); libmpive cannot tell how to call it"
            ))
        }
        _ => {}
    }
    if has("ompi_mpi_comm_world") {
        Ok(Family::OpenMpi)
    } else if ["MPICH", "Intel(R) MPI", "MVAPICH"].iter().any(|v| version.contains(v)) {
        Ok(Family::Mpich)
    } else {
        Err(format!(
            "the MPI library ({origin}: {version}) is not one libmpive knows: it is neither Open MPI nor of the MPICH \
             family (MPICH, Intel MPI, MVAPICH), and does not say it uses the MPI-5 standard ABI (MPI_Abi_get_version). \
             Set MPIVE_MPI_LIB to an Open MPI, MPICH or Intel MPI library, or to a library of the standard ABI \
             (libmpi_abi.so.1)"
        ))
    }
}

/// What the library's `PMPI_Abi_get_version` answers (MPI-5; it may be called before MPI_Init), or None
/// where it has none.
fn abi_version(lib: &Library) -> Option<(c_int, c_int)> {
    type F = unsafe extern "C" fn(*mut c_int, *mut c_int) -> c_int;
    // SAFETY: the symbol is the MPI-5 function of this signature, callable at any time.
    unsafe {
        let f = lib.get::<F>(b"PMPI_Abi_get_version\0").ok()?;
        let (mut major, mut minor) = (0, 0);
        (f(&mut major, &mut minor) == 0).then_some((major, minor))
    }
}

fn has_probe(lib: &Library) -> bool {
    // SAFETY: address lookup only.
    unsafe { lib.get::<*mut c_void>(PROBE).is_ok() }
}

fn open_library() -> Result<(Library, String), String> {
    if let Some(path) = std::env::var_os("MPIVE_MPI_LIB").filter(|p| !p.is_empty()) {
        // SAFETY: loading the user's MPI library runs its initializers, as linking it would.
        let lib = unsafe { Library::open(Some(&path), libc::RTLD_NOW | libc::RTLD_GLOBAL) }
            .map_err(|e| format!("MPIVE_MPI_LIB={}: cannot open it: {e}", path.to_string_lossy()))?;
        if !has_probe(&lib) {
            return Err(format!("MPIVE_MPI_LIB={} does not define PMPI_Init: is it an MPI library?", path.to_string_lossy()));
        }
        return Ok((lib, format!("MPIVE_MPI_LIB={}", path.to_string_lossy())));
    }
    let global = Library::this();
    if has_probe(&global) {
        return Ok((global, "the global symbol scope".into()));
    }
    for name in loaded_objects() {
        // SAFETY: RTLD_NOLOAD only returns a handle to an object that is already loaded.
        if let Ok(lib) = unsafe { Library::open(Some(&name), libc::RTLD_NOLOAD | libc::RTLD_LAZY) } {
            if has_probe(&lib) {
                return Ok((lib, name));
            }
        }
    }
    Err("no MPI library is loaded in this process (no PMPI_Init found). Link the program with MPI, \
         or set MPIVE_MPI_LIB to the MPI library to use (e.g. libmpi.so.40 or libmpich.so.12)"
        .into())
}

/// Paths of the shared objects loaded in this process.
fn loaded_objects() -> Vec<String> {
    unsafe extern "C" fn cb(info: *mut libc::dl_phdr_info, _size: usize, data: *mut c_void) -> c_int {
        // SAFETY: the loader passes a valid info; data is the Vec below.
        unsafe {
            let names = &mut *(data as *mut Vec<String>);
            let name = (*info).dlpi_name;
            if !name.is_null() && *name != 0 {
                names.push(CStr::from_ptr(name).to_string_lossy().into_owned());
            }
        }
        0
    }
    let mut names: Vec<String> = Vec::new();
    // SAFETY: the callback only reads the entries it is given.
    unsafe { libc::dl_iterate_phdr(Some(cb), &mut names as *mut Vec<String> as *mut c_void) };
    names
}

fn library_version(lib: &Library) -> String {
    type F = unsafe extern "C" fn(*mut c_char, *mut c_int) -> c_int;
    // SAFETY: PMPI_Get_library_version may be called before MPI_Init; the buffer has the maximum size
    // of both libraries (Open MPI 256, MPICH 8192).
    unsafe {
        let Ok(f) = lib.get::<F>(b"PMPI_Get_library_version\0") else { return String::from("unknown MPI") };
        let mut buf = vec![0u8; 8192];
        let mut len: c_int = 0;
        if f(buf.as_mut_ptr().cast(), &mut len) != 0 {
            return String::from("unknown MPI");
        }
        let s = CStr::from_ptr(buf.as_ptr().cast()).to_string_lossy().into_owned();
        s.lines().next().unwrap_or("").trim().to_string()
    }
}

/// Where a [`Real`] looks its symbol up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The real MPI library (`PMPI_*`, which libmpive never defines).
    Mpi,
    /// The process's global scope, then the real MPI library: the Fortran bindings (`pmpi_send_`) live
    /// in a library of their own (libmpi_mpifh, libmpichfort) that the program linked.
    Global,
    /// The next definition after libmpive of a name libmpive itself exports (`mpi_wait_f08_`).
    Next,
    /// The real MPI library's own function, never an upper layer's stand-in ([`set_interposer`]): what
    /// the stand-ins themselves forward to, and the calls they make on their own behalf.
    Lib,
}

/// Marks a symbol known to be absent, so that a missing function costs one load, not a dlsym.
/// A lazily resolved function of the real MPI.
///
/// `ptr` stays NULL until the function is found, so the generated fast paths can test it alone
/// ([`Real::cached`]); a function the library lacks is remembered in `absent`, which only slow paths
/// read.
pub struct Real {
    name: &'static str,
    scope: Scope,
    ptr: AtomicPtr<c_void>,
    absent: AtomicBool,
}

impl Real {
    /// `name` is the `PMPI_` name.
    pub const fn new(name: &'static str) -> Real {
        Real { name, scope: Scope::Mpi, ptr: AtomicPtr::new(ptr::null_mut()), absent: AtomicBool::new(false) }
    }

    /// A symbol looked up in `scope`.
    pub const fn in_scope(name: &'static str, scope: Scope) -> Real {
        Real { name, scope, ptr: AtomicPtr::new(ptr::null_mut()), absent: AtomicBool::new(false) }
    }

    /// The function's address, or None when the real library does not have it.
    #[inline(always)]
    pub fn get(&self) -> Option<*mut c_void> {
        let p = self.ptr.load(Ordering::Relaxed);
        if !p.is_null() {
            return Some(p);
        }
        if self.absent.load(Ordering::Relaxed) {
            return None;
        }
        self.resolve()
    }

    /// The function's address if it was resolved already, else NULL (not resolved yet, or absent):
    /// the generated fast paths, which leave everything else to their slow path.
    #[inline(always)]
    pub fn cached(&self) -> *mut c_void {
        self.ptr.load(Ordering::Relaxed)
    }

    #[cold]
    #[inline(never)]
    fn resolve(&self) -> Option<*mut c_void> {
        let m = match mpi() {
            Ok(m) => m,
            Err(e) => fatal(e),
        };
        let p = match self.scope {
            // An upper layer may stand in for some real functions ([`set_interposer`]).
            Scope::Mpi => interposer(self.name).or_else(|| m.sym(self.name)),
            Scope::Global => dl(libc::RTLD_DEFAULT, self.name).or_else(|| m.sym(self.name)),
            Scope::Next => dl(libc::RTLD_NEXT, self.name),
            Scope::Lib => m.sym(self.name),
        };
        match p {
            Some(p) => self.ptr.store(p, Ordering::Relaxed),
            None => self.absent.store(true, Ordering::Relaxed),
        }
        p
    }

    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// A function an upper layer installs at load time to stand in for some `PMPI_*` functions: given
/// a name, its own function of that signature, or None.
pub type Interposer = fn(&str) -> Option<*mut c_void>;

static INTERPOSER: AtomicPtr<()> = AtomicPtr::new(ptr::null_mut());

/// Installs the interposer (once, from a library constructor, before any function is resolved: the
/// pipelined protocol's, [`crate::pipeline`]).
pub fn set_interposer(f: Interposer) {
    INTERPOSER.store(f as *mut (), Ordering::Release);
}

fn interposer(name: &str) -> Option<*mut c_void> {
    let p = INTERPOSER.load(Ordering::Acquire);
    if p.is_null() {
        return None;
    }
    // SAFETY: INTERPOSER only ever holds an `Interposer` stored by set_interposer.
    let f = unsafe { std::mem::transmute::<*mut (), Interposer>(p) };
    f(name)
}

/// dlsym in a pseudo-handle's scope.
fn dl(handle: *mut c_void, name: &str) -> Option<*mut c_void> {
    let c = CString::new(name).ok()?;
    // SAFETY: looking up a symbol's address does not call it; RTLD_NEXT is relative to libmpive.
    let p = unsafe { libc::dlsym(handle, c.as_ptr()) };
    (!p.is_null()).then_some(p)
}

/// The address of a data symbol of the process (a Fortran sentinel), or 0.
pub fn global_data(name: &str) -> usize {
    dl(libc::RTLD_DEFAULT, name).map_or(0, |p| p as usize)
}

/// The error code for a function that the real MPI does not have.
///
/// libmpive exports the MPI-4 functions that carry buffers (MPI_Isendrecv, MPI_Bcast_init, ...) so
/// it can stage them where the real MPI has them; on an MPI-3.1 library (Open MPI 4.1) they have no
/// `PMPI_` twin. The only callers that reach them there probe for the symbol at run time, as
/// mpi4py's binary wheels do (weak symbols); this code is the one mpi4py's own fallback returns for
/// a missing function, so mpi4py raises NotImplementedError exactly as it does without libmpive.
pub const UNAVAILABLE: c_int = 0xAAAA_AAAAu32 as c_int;

/// What an intercepted function returns when the real library lacks its `PMPI_` twin.
#[cold]
pub fn missing(name: &str) -> c_int {
    let m = match mpi() {
        Ok(m) => m,
        Err(e) => fatal(e),
    };
    log::info!("{name}: the MPI library ({}) does not provide it", m.abi.library);
    UNAVAILABLE
}

/// The one way to resolve a function of the real MPI ([`crate::real::Real`], looked up once and
/// cached), typed, as `Option<unsafe extern "C" fn>`:
/// - `real_fn!("symbol", scope, fn(T, ...) -> R)`: any symbol in a [`crate::real::Scope`] (the
///   MPI's Fortran functions, `PMPI_X_c`, the library's own functions for the pipelined protocol);
/// - `real_fn!("symbol", scope, F)`: the same, typed by a function pointer type `F`.
///
/// The table layer names `PMPI_X` by the kinds of its entries with `crate::pmpi_fn!`.
#[macro_export]
#[doc(hidden)]
macro_rules! real_fn {
    ($sym:expr, $scope:expr, fn($($a:ty),*) $(-> $ret:ty)?) => {
        $crate::real_fn!($sym, $scope, unsafe extern "C" fn($($a),*) $(-> $ret)?)
    };
    ($sym:expr, $scope:expr, $F:ty) => {{
        static REAL: $crate::real::Real = $crate::real::Real::in_scope($sym, $scope);
        match REAL.get() {
            // SAFETY: the symbol is the MPI's definition of the function, which has this signature.
            Some(f) => Some(unsafe { std::mem::transmute::<*mut std::ffi::c_void, $F>(f) }),
            None => None,
        }
    }};
}

/// Declares wrappers for `PMPI_*` functions that the shim calls itself (datatype queries, error
/// handlers...). Each resolves lazily like an intercepted function, in [`Scope::Mpi`] or in the scope
/// given first (`scope Lib;`).
macro_rules! pmpi {
    ($( fn $name:ident ( $($p:ident : $t:ty),* $(,)? ) -> c_int; )*) => {
        pmpi! { scope Mpi; $( fn $name($($p: $t),*) -> c_int; )* }
    };
    (scope $scope:ident; $( fn $name:ident ( $($p:ident : $t:ty),* $(,)? ) -> c_int; )*) => {
        $(
            #[allow(non_snake_case, clippy::too_many_arguments)]
            #[inline]
            /// # Safety
            /// The arguments are valid for the MPI function of this name.
            pub unsafe fn $name($($p: $t),*) -> std::ffi::c_int {
                match $crate::real_fn!(stringify!($name), $crate::real::Scope::$scope, fn($($t),*) -> std::ffi::c_int) {
                    // SAFETY: the real library's function of this signature, with the caller's arguments.
                    Some(f) => unsafe { f($($p),*) },
                    None => $crate::real::missing(stringify!($name)),
                }
            }
        )*
    };
}

/// Declares wrappers for the real library's handle conversions (`PMPI_Comm_f2c`, ...), which return a
/// value rather than an error code. Every MPI with Fortran bindings has them as functions (MPICH
/// defines them as macros too, but the shim only converts handles on Open MPI).
macro_rules! pmpi_conv {
    ($( fn $name:ident ( $($p:ident : $t:ty),* $(,)? ) -> $ret:ty; )*) => {
        $(
            #[allow(non_snake_case)]
            #[inline]
            /// # Safety
            /// The arguments are valid for the MPI function of this name.
            pub unsafe fn $name($($p: $t),*) -> $ret {
                match $crate::real_fn!(stringify!($name), $crate::real::Scope::Mpi, fn($($t),*) -> $ret) {
                    // SAFETY: the real library's function of this signature, with the caller's arguments.
                    Some(f) => unsafe { f($($p),*) },
                    None => $crate::real::fatal(concat!("the MPI library has no ", stringify!($name))),
                }
            }
        )*
    };
}

/// The real library's functions that libmpive calls on its own behalf.
#[allow(non_snake_case)]
pub mod pmpi {
    use crate::abi::{Aint, Comm, Count, Datatype, File, Group, Info, Message, Op, Request, Win};
    use std::ffi::{c_char, c_int, c_void};

    pmpi! {
        fn PMPI_Initialized(flag: *mut c_int) -> c_int;
        fn PMPI_Finalized(flag: *mut c_int) -> c_int;
        fn PMPI_Comm_rank(comm: Comm, rank: *mut c_int) -> c_int;
        fn PMPI_Comm_size(comm: Comm, size: *mut c_int) -> c_int;
        fn PMPI_Comm_remote_size(comm: Comm, size: *mut c_int) -> c_int;
        fn PMPI_Comm_test_inter(comm: Comm, flag: *mut c_int) -> c_int;
        fn PMPI_Comm_get_errhandler(comm: Comm, eh: *mut c_void) -> c_int;
        fn PMPI_Comm_call_errhandler(comm: Comm, code: c_int) -> c_int;
        fn PMPI_File_get_errhandler(file: File, eh: *mut c_void) -> c_int;
        fn PMPI_File_call_errhandler(file: File, code: c_int) -> c_int;
        fn PMPI_Win_get_errhandler(win: Win, eh: *mut c_void) -> c_int;
        fn PMPI_Win_call_errhandler(win: Win, code: c_int) -> c_int;
        fn PMPI_Errhandler_free(eh: *mut c_void) -> c_int;
        fn PMPI_Add_error_code(class: c_int, code: *mut c_int) -> c_int;
        fn PMPI_Add_error_string(code: c_int, s: *const c_char) -> c_int;
        fn PMPI_Type_size_x(dt: Datatype, size: *mut Count) -> c_int;
        fn PMPI_Type_get_extent_x(dt: Datatype, lb: *mut Count, extent: *mut Count) -> c_int;
        fn PMPI_Type_get_true_extent_x(dt: Datatype, lb: *mut Count, extent: *mut Count) -> c_int;
        fn PMPI_Type_get_envelope(dt: Datatype, ni: *mut c_int, na: *mut c_int, nd: *mut c_int, combiner: *mut c_int) -> c_int;
        fn PMPI_Unpack(inbuf: *const c_void, insize: c_int, pos: *mut c_int, outbuf: *mut c_void, outcount: c_int, dt: Datatype, comm: Comm) -> c_int;
        fn PMPI_Get_elements_x(status: *const c_void, dt: Datatype, count: *mut Count) -> c_int;
        fn PMPI_Test_cancelled(status: *const c_void, flag: *mut c_int) -> c_int;
        fn PMPI_Topo_test(comm: Comm, kind: *mut c_int) -> c_int;
        fn PMPI_Cartdim_get(comm: Comm, ndims: *mut c_int) -> c_int;
        fn PMPI_Graph_neighbors_count(comm: Comm, rank: c_int, n: *mut c_int) -> c_int;
        fn PMPI_Dist_graph_neighbors_count(comm: Comm, indeg: *mut c_int, outdeg: *mut c_int, weighted: *mut c_int) -> c_int;
        fn PMPI_Get_address(p: *const c_void, addr: *mut Aint) -> c_int;
        fn PMPI_Type_get_contents(dt: Datatype, ni: c_int, na: c_int, nd: c_int, ints: *mut c_int, addrs: *mut Aint, types: *mut c_void) -> c_int;
        fn PMPI_Type_free(dt: *mut c_void) -> c_int;
        fn PMPI_Type_dup(dt: Datatype, newtype: *mut c_void) -> c_int;
        fn PMPI_Type_commit(dt: *mut c_void) -> c_int;
        fn PMPI_Type_create_keyval(copy: *const c_void, delete: *const c_void, keyval: *mut c_int, extra: *mut c_void) -> c_int;
        fn PMPI_Type_set_attr(dt: Datatype, keyval: c_int, val: *mut c_void) -> c_int;
        fn PMPI_Wait(req: *mut c_void, status: *mut c_void) -> c_int;
        fn PMPI_Test(req: *mut c_void, flag: *mut c_int, status: *mut c_void) -> c_int;
        fn PMPI_Request_free(req: *mut c_void) -> c_int;
        fn PMPI_Status_c2f(c: *const c_void, f: *mut c_int) -> c_int;
        fn PMPI_Win_get_group(win: Win, group: *mut c_void) -> c_int;
        fn PMPI_Group_size(group: Group, size: *mut c_int) -> c_int;
        fn PMPI_Group_translate_ranks(g1: Group, n: c_int, r1: *const c_int, g2: Group, r2: *mut c_int) -> c_int;
        fn PMPI_Group_free(group: *mut c_void) -> c_int;
        // Neighbor collectives (which receive blocks come from MPI_PROC_NULL) and packing.
        fn PMPI_Cart_shift(comm: Comm, direction: c_int, disp: c_int, source: *mut c_int, dest: *mut c_int) -> c_int;
        fn PMPI_Dist_graph_neighbors(comm: Comm, maxin: c_int, sources: *mut c_int, sourceweights: *mut c_int, maxout: c_int,
                                     destinations: *mut c_int, destweights: *mut c_int) -> c_int;
        fn PMPI_Pack_size(incount: c_int, dt: Datatype, comm: Comm, size: *mut c_int) -> c_int;
        // The pipelined protocol's private communicators, rank maps, statuses and split collectives.
        fn PMPI_Comm_dup(comm: Comm, newcomm: *mut c_void) -> c_int;
        fn PMPI_Comm_free(comm: *mut c_void) -> c_int;
        fn PMPI_Comm_group(comm: Comm, group: *mut c_void) -> c_int;
        fn PMPI_Comm_remote_group(comm: Comm, group: *mut c_void) -> c_int;
        fn PMPI_Comm_create_keyval(copy: *const c_void, delete: *const c_void, keyval: *mut c_int, extra: *mut c_void) -> c_int;
        fn PMPI_Comm_free_keyval(keyval: *mut c_int) -> c_int;
        fn PMPI_Comm_set_attr(comm: Comm, keyval: c_int, val: *mut c_void) -> c_int;
        fn PMPI_Comm_get_attr(comm: Comm, keyval: c_int, val: *mut c_void, flag: *mut c_int) -> c_int;
        fn PMPI_Status_set_elements_x(status: *mut c_void, dt: Datatype, count: Count) -> c_int;
        fn PMPI_Iallreduce(sbuf: *const c_void, rbuf: *mut c_void, count: c_int, dt: Datatype, op: Op, comm: Comm, req: *mut c_void) -> c_int;
        fn PMPI_Ibcast(buf: *mut c_void, count: c_int, dt: Datatype, root: c_int, comm: Comm, req: *mut c_void) -> c_int;
    }

    /// Functions an upper layer stands in for ([`super::set_interposer`]), reached past the stand-in:
    /// the library's own, for the stand-ins' calls on their own behalf.
    pub mod direct {
        use crate::abi::{Comm, Datatype};
        use std::ffi::{c_int, c_void};

        pmpi! {
            scope Lib;
            fn PMPI_Isend(buf: *const c_void, count: c_int, dt: Datatype, dest: c_int, tag: c_int, comm: Comm, req: *mut c_void) -> c_int;
            fn PMPI_Irecv(buf: *mut c_void, count: c_int, dt: Datatype, src: c_int, tag: c_int, comm: Comm, req: *mut c_void) -> c_int;
            fn PMPI_Sendrecv(sbuf: *const c_void, scount: c_int, stype: Datatype, dest: c_int, stag: c_int, rbuf: *mut c_void,
                             rcount: c_int, rtype: Datatype, src: c_int, rtag: c_int, comm: Comm, status: *mut c_void) -> c_int;
        }
    }

    // Fortran handles (MPI_Fint) to C handles and back.
    pmpi_conv! {
        fn PMPI_Comm_f2c(f: c_int) -> Comm;
        fn PMPI_Type_f2c(f: c_int) -> Datatype;
        fn PMPI_Op_f2c(f: c_int) -> Op;
        fn PMPI_Info_f2c(f: c_int) -> Info;
        fn PMPI_Win_f2c(f: c_int) -> Win;
        fn PMPI_File_f2c(f: c_int) -> File;
        fn PMPI_Request_f2c(f: c_int) -> Request;
        fn PMPI_Message_f2c(f: c_int) -> Message;
        fn PMPI_Group_f2c(f: c_int) -> Group;
        fn PMPI_Request_c2f(c: Request) -> c_int;
        fn PMPI_Message_c2f(c: Message) -> c_int;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_abi_version_decides_then_the_family() {
        let none = |_: &str| false;
        let ompi = |s: &str| s == "ompi_mpi_comm_world";
        let id = |v: &str, abi: Option<(c_int, c_int)>, has: &dyn Fn(&str) -> bool| identify("lib", v, abi, has);
        // the standard ABI, whoever made it (MPICH 5's and Intel MPI's libmpi_abi.so.1 answer 1.0)
        assert_eq!(id("MPICH Version: 5.0.2", Some((1, 0)), &none), Ok(Family::Std));
        assert_eq!(id("Intel(R) MPI Library 2021.19.0", Some((1, 0)), &none), Ok(Family::Std));
        assert_eq!(id("Open MPI v6", Some((1, 1)), &ompi), Ok(Family::Std));
        // the family's own ABI (-1.-1: MPICH 5's and Intel MPI's libmpi.so.12)
        assert_eq!(id("MPICH Version: 5.0.2", Some((-1, -1)), &none), Ok(Family::Mpich));
        assert_eq!(id("Intel(R) MPI Library 2021.19.0 for Linux* OS", Some((-1, -1)), &none), Ok(Family::Mpich));
        // no MPI_Abi_get_version (MPICH 4.0, Open MPI 4.1 and 5.0)
        assert_eq!(id("MPICH Version: 4.0.2", None, &none), Ok(Family::Mpich));
        assert_eq!(id("Open MPI v5.0.11", None, &ompi), Ok(Family::OpenMpi));
        // refused, naming the library
        for (v, abi) in [("Mystery MPI 1.0", None), ("MPICH Version: 9", Some((2, 0))), ("MPICH", Some((0, 0)))] {
            let e = id(v, abi, &none).unwrap_err();
            assert!(e.contains(v) && e.contains("lib"), "{e}");
        }
    }
}
