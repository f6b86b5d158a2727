//! Fortran entry points: `mpif.h`, `use mpi` and `use mpi_f08` programs.
//!
//! Which symbols a Fortran program's MPI calls reach, and what they do (see [`crate::abi::FortranAbi`]
//! and docs/architecture.md for how this was read off the libraries):
//!
//! | | Open MPI 4.1 | MPICH 4.0 |
//! |---|---|---|
//! | `mpif.h`, `use mpi` | `mpi_send_` (alias of `ompi_send_f`) calls `PMPI_Send` | `mpi_send_` calls the C `MPI_Send` |
//! | `use mpi_f08`, buffers | `mpi_send_f08_` calls `ompi_send_f` | `mpi_send_f08ts_` calls the C `MPI_Send` |
//! | `use mpi_f08`, completion | `mpi_wait_f08_` calls `ompi_wait_f` | `mpi_wait_f08_` calls `PMPI_Wait` |
//!
//! So libmpive exports, for every function of the table marked `fortran`, the names `mpi_x`, `mpi_x_`,
//! `mpi_x__`, `MPI_X` and `ompi_x_f` (written by [`crate::fortran_entries!`] from each chapter's table, see
//! [`crate::intercept!`]; the names by [`crate::fortran_names!`]), and for the completion calls also
//! `mpi_x_f08_` ([`completion`]). Each checks its buffers first: with host buffers (and on
//! MPICH, whose bindings come back to the shim's C functions) it calls the MPI's own Fortran function
//! (`pmpi_x_`, found in the global scope). With VE buffers on Open MPI it converts the arguments to C
//! here (handles with `MPI_*_f2c`, the sentinels MPI_IN_PLACE, MPI_BOTTOM and MPI_STATUS(ES)_IGNORE,
//! statuses with `MPI_Status_c2f`, requests with `MPI_Request_c2f`) and calls the shim's C entry
//! point, so the staging is the C path's.
//!
//! Intel MPI 2021 in the MPICH ABI (libmpifort.so.12) behaves as MPICH: its `mpi_send_` (alias
//! `pmpi_send_`) calls the C `MPI_Send`. On the MPI-5 standard ABI, Intel MPI's libmpifort_abi.so.1
//! has a `pmpi_send_` of its own that calls `PMPI_Send`, and the C library exports no `PMPI_*_f2c/c2f`
//! to convert handles with: there host buffers go to the MPI's own Fortran function, and a call with
//! VE buffers (or a completion call while VE requests are pending) is refused by [`guard`] with
//! MPI_ERR_UNSUPPORTED_OPERATION. (MPICH 5.0.2 ships no Fortran library for the standard ABI.)

pub mod completion;

use crate::abi::{Class, Comm, Datatype, Family, File, Group, Handle, Info, Message, Op, Request, StatusBuf, Win};
use crate::errors::{Error, Obj, Result};
use crate::msg::Shape;
use crate::real::{abi, pmpi};
use once_cell::sync::OnceCell;
use std::ffi::{c_int, c_void};

/// Whether the MPI's `mpif.h`/`use mpi` bindings call the C `MPI_*` functions (MPICH), so the
/// shim's Fortran entry points only forward.
#[inline]
pub fn f77_reaches_c() -> bool {
    abi().fortran.f77_reaches_c
}

/// Writes the error code to `ierror` (optional in `use mpi_f08`).
///
/// # Safety
/// `ierror` is null or points to the application's writable INTEGER.
#[inline]
pub unsafe fn set(ierror: *mut c_int, rc: c_int) {
    if !ierror.is_null() {
        // SAFETY: the application's INTEGER ierror.
        unsafe { ierror.write(rc) };
    }
}

/// Runs the body of the Fortran entry point `ffunc` (its lowercase name, e.g. `mpi_send`) inside the
/// C boundary ([`crate::ffi::boundary`], MPI_COMM_WORLD's handler), refused where the shim cannot
/// convert handles ([`unconvertible`]).
pub fn guard(ffunc: &'static str, cfunc: &'static str, f: impl FnOnce() -> Result<c_int>) -> c_int {
    crate::ffi::boundary(Obj::World, ffunc, || match unconvertible(cfunc) {
        Some(rc) => Ok(rc),
        None => f(),
    })
}

/// Where the shim cannot convert the MPI's Fortran handles (the standard ABI), refuses the call, as
/// an error of the C function `cfunc`, and returns its code.
pub fn unconvertible(cfunc: &'static str) -> Option<c_int> {
    if abi().fortran.converts_handles {
        return None;
    }
    let e = Error::new(
        Class::Unsupported,
        format!(
            "Fortran calls with VE buffers (or while VE requests are pending) are not supported on the MPI-5 standard ABI \
             ({}): its library has no MPI_*_f2c/c2f to convert Fortran handles with. Call from C, or use the \
             library's own ABI (e.g. Intel MPI's libmpifort.so.12 with libmpi.so.12)",
            abi().library
        ),
    );
    Some(crate::errors::finish(Obj::World, cfunc, Ok(Err(e))))
}

/// Addresses of the Fortran sentinels of the running MPI (0 where the symbol is absent).
#[derive(Debug)]
pub struct Sentinels {
    pub in_place: usize,
    pub bottom: usize,
    pub status_ignore: usize,
    pub statuses_ignore: usize,
    pub f08_status_ignore: usize,
    pub f08_statuses_ignore: usize,
}

static SENTINELS: OnceCell<Sentinels> = OnceCell::new();

/// The sentinels, looked up at first use (the Fortran library is loaded by then: the program called it).
pub fn sentinels() -> &'static Sentinels {
    SENTINELS.get_or_init(|| {
        let f = &abi().fortran;
        let g = crate::real::global_data;
        let s = Sentinels {
            in_place: g(f.in_place),
            bottom: g(f.bottom),
            status_ignore: g(f.status_ignore),
            statuses_ignore: g(f.statuses_ignore),
            f08_status_ignore: g(f.f08_status_ignore),
            f08_statuses_ignore: g(f.f08_statuses_ignore),
        };
        log::debug!("Fortran sentinels: {s:?}");
        s
    })
}

fn is(p: *const c_void, sentinel: usize) -> bool {
    sentinel != 0 && p as usize == sentinel
}

/// A Fortran buffer argument as C sees it: MPI_IN_PLACE and MPI_BOTTOM become the C constants.
pub fn buf(p: *mut c_void) -> *mut c_void {
    let s = sentinels();
    if is(p, s.in_place) {
        abi().in_place as *mut c_void
    } else if is(p, s.bottom) {
        std::ptr::null_mut()
    } else {
        p
    }
}

/// Reads an INTEGER argument.
///
/// # Safety
/// `p` is the address of a Fortran INTEGER.
#[inline]
pub unsafe fn int(p: *const c_void) -> c_int {
    // SAFETY: by the caller's contract; Fortran arguments need not be aligned for C.
    unsafe { (p as *const c_int).read_unaligned() }
}

/// Reads an INTEGER(KIND=MPI_ADDRESS_KIND/MPI_OFFSET_KIND/MPI_COUNT_KIND) argument.
///
/// # Safety
/// `p` is the address of such an integer.
#[inline]
pub unsafe fn int8(p: *const c_void) -> i64 {
    // SAFETY: by the caller's contract.
    unsafe { (p as *const i64).read_unaligned() }
}

/// Converts a Fortran handle of each kind (MPICH's are the C handles).
macro_rules! f2c_fns {
    ($($fname:ident => $pmpi:ident -> $ty:ident),* $(,)?) => {
        $(
            /// # Safety
            /// `p` is the address of a Fortran handle (INTEGER) of this kind.
            pub unsafe fn $fname(p: *const c_void) -> $ty {
                // SAFETY: by the caller's contract.
                let f = unsafe { int(p) };
                match abi().family {
                    Family::Mpich => $ty::from_raw(f as u32 as Handle),
                    // SAFETY: converting a handle value has no other effect.
                    Family::OpenMpi => unsafe { pmpi::$pmpi(f) },
                    Family::Std => no_conversion(),
                }
            }
        )*
    };
}
f2c_fns! {
    comm => PMPI_Comm_f2c -> Comm,
    datatype => PMPI_Type_f2c -> Datatype,
    op => PMPI_Op_f2c -> Op,
    info => PMPI_Info_f2c -> Info,
    win => PMPI_Win_f2c -> Win,
    file => PMPI_File_f2c -> File,
    request => PMPI_Request_f2c -> Request,
    message => PMPI_Message_f2c -> Message,
    group => PMPI_Group_f2c -> Group,
}

/// A C request handle as a Fortran INTEGER.
///
/// # Safety
/// `h` is a request handle of the real MPI (or MPI_REQUEST_NULL), after MPI_Init.
pub unsafe fn request_c2f(h: Request) -> c_int {
    match abi().family {
        Family::Mpich => h.raw() as u32 as c_int,
        // SAFETY: converting a handle value.
        Family::OpenMpi => unsafe { pmpi::PMPI_Request_c2f(h) },
        Family::Std => no_conversion(),
    }
}

/// Unreachable: [`guard`] refuses every converting call on the standard ABI before it converts.
#[cold]
fn no_conversion() -> ! {
    crate::real::fatal("internal error: a Fortran handle conversion was attempted on the MPI-5 standard ABI, which has none")
}

/// Copies a C status to a Fortran one.
///
/// # Safety
/// `c` points to a readable C `MPI_Status`, `f` to MPI_STATUS_SIZE writable INTEGERs.
pub unsafe fn status_c2f(c: *const c_void, f: *mut c_void) {
    // SAFETY: c is a C status, f has room for MPI_STATUS_SIZE INTEGERs.
    unsafe { pmpi::PMPI_Status_c2f(c, f as *mut c_int) };
}

/// The Fortran out-arguments of one converted call: C storage handed to the C entry point, and
/// copied back to the Fortran arguments by [`Cx::finish`]. The C pointers point into this struct,
/// which stays in place (a local of the converting function) until the call is finished.
#[derive(Default)]
pub struct Cx {
    statuses: [(StatusBuf, usize); 2],
    nstatus: usize,
    requests: [(u64, usize); 2],
    nrequest: usize,
    message: (u64, usize),
    types: smallvec::SmallVec<[Vec<u64>; 2]>,
}

impl Cx {
    pub fn new() -> Cx {
        Cx::default()
    }

    /// A status argument: MPI_STATUS_IGNORE, or C storage copied back to `f`.
    pub fn status(&mut self, f: *mut c_void) -> *mut c_void {
        if is(f, sentinels().status_ignore) || is(f, sentinels().f08_status_ignore) {
            return abi().status_ignore as *mut c_void;
        }
        let i = self.nstatus;
        self.nstatus += 1;
        self.statuses[i].1 = f as usize;
        self.statuses[i].0.as_mut_ptr()
    }

    /// A request out-argument.
    pub fn request_out(&mut self, f: *mut c_void) -> *mut c_void {
        let i = self.nrequest;
        self.nrequest += 1;
        self.requests[i] = (abi().h.request_null.raw() as u64, f as usize);
        &mut self.requests[i].0 as *mut u64 as *mut c_void
    }

    /// A message handle argument (MPI_Mrecv sets it to MPI_MESSAGE_NULL).
    ///
    /// # Safety
    /// `f` is the address of a Fortran message handle.
    pub unsafe fn message(&mut self, f: *mut c_void) -> *mut c_void {
        // SAFETY: by the caller's contract.
        self.message = (unsafe { message(f) }.raw() as u64, f as usize);
        &mut self.message.0 as *mut u64 as *mut c_void
    }

    /// An array of datatypes, as long as `shape` says the call reads it.
    ///
    /// # Safety
    /// `f` is an array argument of the call whose shape `shape` computes.
    pub unsafe fn types(&mut self, f: *mut c_void, shape: &dyn Fn() -> Result<Shape>) -> Result<*const c_void> {
        let Some(n) = shape()?.len_of(f) else { return Ok(f) };
        let abi = abi();
        let mut v = vec![0u64; n];
        for (i, slot) in v.iter_mut().enumerate() {
            // SAFETY: the call reads n handles of f.
            let h = unsafe { datatype((f as *const c_int).add(i) as *const c_void) };
            // SAFETY: slot has room for one handle of this ABI.
            unsafe { abi.set_handle_at(slot as *mut u64 as *mut c_void, 0, h) };
        }
        let p = v.as_ptr() as *const c_void;
        self.types.push(v);
        Ok(p)
    }

    /// Copies the C out-arguments back to the Fortran ones after a call that returned `rc`.
    ///
    /// # Safety
    /// The Fortran addresses recorded are the application's arguments of this call.
    pub unsafe fn finish(&mut self, rc: c_int) {
        let abi = abi();
        let ok = rc == 0;
        if ok || rc == abi.class(Class::InStatus) {
            for (st, f) in &self.statuses[..self.nstatus] {
                // SAFETY: a C status the call filled, and the application's Fortran status.
                unsafe { status_c2f(st.0.as_ptr() as *const c_void, *f as *mut c_void) };
            }
        }
        if ok {
            for &(h, f) in &self.requests[..self.nrequest] {
                // SAFETY: f is the application's INTEGER request; h the request the call returned.
                unsafe { (f as *mut c_int).write_unaligned(request_c2f(Request::from_raw(abi.handle_at(&h as *const u64 as *const c_void, 0)))) };
            }
        }
        if self.message.1 != 0 {
            let h = Message::from_raw(self.message.0 as Handle);
            let f = match abi.family {
                Family::Mpich => h.raw() as u32 as c_int,
                // SAFETY: converting a handle value.
                Family::OpenMpi => unsafe { pmpi::PMPI_Message_c2f(h) },
                Family::Std => no_conversion(),
            };
            // SAFETY: the application's INTEGER message handle.
            unsafe { (self.message.1 as *mut c_int).write_unaligned(f) };
        }
    }
}

/// An error for an argument kind the Fortran conversion does not know.
pub fn unknown_kind(kind: &str) -> Error {
    Error::new(Class::Intern, format!("libmpive cannot convert a Fortran argument of kind {kind}"))
}

/// Converts a Fortran argument of a table kind to its C value (first pass; arrays of handles, whose
/// length depends on the other arguments, in [`f2c_late!`]).
#[macro_export]
#[doc(hidden)]
macro_rules! f2c {
    (CBuf, $p:ident, $cx:ident) => { $crate::fortran::buf($p) as *const std::ffi::c_void };
    (Buf, $p:ident, $cx:ident) => { $crate::fortran::buf($p) };
    (Int, $p:ident, $cx:ident) => {
        // SAFETY: $p is the address of the application's Fortran argument of this kind.
        unsafe { $crate::fortran::int($p) }
    };
    (Count, $p:ident, $cx:ident) => {
        // SAFETY: $p is the address of the application's Fortran argument of this kind.
        unsafe { $crate::fortran::int($p) }
    };
    (CountArr, $p:ident, $cx:ident) => { $p as *const std::ffi::c_int };
    (DispArr, $p:ident, $cx:ident) => { $p as *const std::ffi::c_int };
    (Aint, $p:ident, $cx:ident) => {
        // SAFETY: $p is the address of the application's Fortran argument of this kind.
        unsafe { $crate::fortran::int8($p) }
    };
    (Offset, $p:ident, $cx:ident) => {
        // SAFETY: $p is the address of the application's Fortran argument of this kind.
        unsafe { $crate::fortran::int8($p) }
    };
    (MpiCount, $p:ident, $cx:ident) => {
        // SAFETY: $p is the address of the application's Fortran argument of this kind.
        unsafe { $crate::fortran::int8($p) }
    };
    (AintArr, $p:ident, $cx:ident) => { $p as *const $crate::abi::Aint };
    (AintOut, $p:ident, $cx:ident) => { $p as *mut $crate::abi::Aint };
    (IntOut, $p:ident, $cx:ident) => { $p as *mut std::ffi::c_int };
    (CountOut, $p:ident, $cx:ident) => { $p as *mut std::ffi::c_int };
    (Comm, $p:ident, $cx:ident) => {
        // SAFETY: $p is the address of the application's Fortran argument of this kind.
        unsafe { $crate::fortran::comm($p) }
    };
    (Datatype, $p:ident, $cx:ident) => {
        // SAFETY: $p is the address of the application's Fortran argument of this kind.
        unsafe { $crate::fortran::datatype($p) }
    };
    (Op, $p:ident, $cx:ident) => {
        // SAFETY: $p is the address of the application's Fortran argument of this kind.
        unsafe { $crate::fortran::op($p) }
    };
    (Info, $p:ident, $cx:ident) => {
        // SAFETY: $p is the address of the application's Fortran argument of this kind.
        unsafe { $crate::fortran::info($p) }
    };
    (Win, $p:ident, $cx:ident) => {
        // SAFETY: $p is the address of the application's Fortran argument of this kind.
        unsafe { $crate::fortran::win($p) }
    };
    (File, $p:ident, $cx:ident) => {
        // SAFETY: $p is the address of the application's Fortran argument of this kind.
        unsafe { $crate::fortran::file($p) }
    };
    (Group, $p:ident, $cx:ident) => {
        // SAFETY: $p is the address of the application's Fortran argument of this kind.
        unsafe { $crate::fortran::group($p) }
    };
    (Request, $p:ident, $cx:ident) => {
        // SAFETY: $p is the address of the application's Fortran argument of this kind.
        unsafe { $crate::fortran::request($p) }
    };
    (Status, $p:ident, $cx:ident) => { $cx.status($p) };
    (RequestOut, $p:ident, $cx:ident) => { $cx.request_out($p) };
    (MessageInOut, $p:ident, $cx:ident) => {
        // SAFETY: $p is the address of the application's Fortran message handle.
        unsafe { $cx.message($p) }
    };
    (DatatypeArr, $p:ident, $cx:ident) => { $p };
    ($t:ident, $p:ident, $cx:ident) => { compile_error!(concat!("no Fortran conversion for the argument kind ", stringify!($t))) };
}

/// Second pass of [`f2c!`]: arrays of datatypes, as long as the call's shape says.
#[macro_export]
#[doc(hidden)]
macro_rules! f2c_late {
    (DatatypeArr, $p:ident, $cx:ident, $shape:ident) => {
        // SAFETY: $p is an array argument of the call whose shape $shape computes.
        unsafe { $cx.types($p, &$shape) }?
    };
    ($t:ident, $p:ident, $cx:ident, $shape:ident) => { $p };
}

/// The error-reporting object of an entry, from Fortran handles.
#[macro_export]
#[doc(hidden)]
macro_rules! f_obj {
    // SAFETY: $o is the address of the application's Fortran handle argument.
    (Comm $o:ident) => { $crate::errors::Obj::Comm(unsafe { $crate::fortran::comm($o) }) };
    // SAFETY: as above.
    (File $o:ident) => { $crate::errors::Obj::File(unsafe { $crate::fortran::file($o) }) };
    // SAFETY: as above.
    (Win $o:ident) => { $crate::errors::Obj::Win(unsafe { $crate::fortran::win($o) }) };
    (World) => { $crate::errors::Obj::World };
}

/// `use mpi_f08` MPI_Error_string: MPICH's calls `PMPI_Error_string` directly, which does not know the
/// shim's error codes (see [`crate::api::environment`]); the shim answers for its own codes and
/// forwards all others. (MPI_Error_class: [`crate::fortran_wrap!`] in the environment chapter.)
/// The string argument is CHARACTER(LEN=MPI_MAX_ERROR_STRING), blank-padded.
/// # Safety
/// Called from C or Fortran with the arguments the MPI standard gives this function: valid
/// handles, and buffers, arrays and out-arguments of the sizes its counts and datatypes imply.
#[no_mangle]
pub unsafe extern "C" fn mpi_error_string_f08_(errorcode: *const c_int, string: *mut u8, resultlen: *mut c_int, ierror: *mut c_int) {
    // SAFETY: the application's INTEGER error code.
    let code = unsafe { int(errorcode as *const c_void) };
    if let Some((_, text)) = crate::errors::lookup(code) {
        let rc = crate::ffi::boundary(Obj::World, "mpi_error_string", || {
            let max = abi().max_error_string;
            let n = text.len().min(max - 1);
            // SAFETY: the application's arguments; string has MPI_MAX_ERROR_STRING characters.
            unsafe {
                std::ptr::copy_nonoverlapping(text.as_ptr(), string, n);
                std::ptr::write_bytes(string.add(n), b' ', max - n);
                resultlen.write_unaligned(n as c_int);
            }
            Ok(0)
        });
        // SAFETY: the application's ierror.
        return unsafe { set(ierror, rc) };
    }
    const SYM: &str = "mpi_error_string_f08_";
    match crate::real_fn!(SYM, crate::real::Scope::Next, fn(*const c_int, *mut u8, *mut c_int, *mut c_int)) {
        // SAFETY: the MPI's own entry point with the application's arguments.
        Some(f) => unsafe { f(errorcode, string, resultlen, ierror) },
        // SAFETY: the application's ierror.
        None => unsafe { set(ierror, crate::real::missing(SYM)) },
    }
}

/// A Fortran argument's C type: every Fortran argument is passed by reference.
#[macro_export]
#[doc(hidden)]
macro_rules! fptr {
    ($x:ident) => { *mut std::ffi::c_void };
}

/// The type of a hidden CHARACTER length argument (gfortran: size_t).
#[macro_export]
#[doc(hidden)]
macro_rules! fusize {
    ($x:ident) => { usize };
}

/// The names under which a Fortran MPI function `MPI_X` is exported: `mpi_x`, `mpi_x_`, `mpi_x__`,
/// `MPI_X` and `ompi_x_f` call the tokens of the first block with the arguments, the `ierror` and the
/// hidden CHARACTER lengths; `mpi_x_f08_`, when a second block is given, calls those of the second.
#[macro_export]
#[doc(hidden)]
macro_rules! fortran_names {
    ($x:ident $ps:tt $hs:tt { $($f77:tt)* } $({ $($f08:tt)* })?) => {
        $crate::api::paste::paste! {
            $crate::fortran_names!(@one [<$x:lower>] $ps $hs { $($f77)* });
            $crate::fortran_names!(@one [<$x:lower _>] $ps $hs { $($f77)* });
            $crate::fortran_names!(@one [<$x:lower __>] $ps $hs { $($f77)* });
            $crate::fortran_names!(@one [<$x:upper>] $ps $hs { $($f77)* });
            $crate::fortran_names!(@one [<o $x:lower _f>] $ps $hs { $($f77)* });
            $( $crate::fortran_names!(@one [<$x:lower _f08_>] $ps $hs { $($f08)* }); )?
        }
    };
    (@one $export:ident ($($p:ident),*) [$($h:ident)*] { $($call:tt)* }) => {
        /// # Safety
        /// Called from C or Fortran with the arguments the MPI standard gives this function: valid
        /// handles, and buffers, arrays and out-arguments of the sizes its counts and datatypes imply.
        #[no_mangle]
        #[allow(non_snake_case, clippy::too_many_arguments)]
        pub unsafe extern "C" fn $export($($p: *mut std::ffi::c_void,)* ierror: *mut std::ffi::c_int $(, $h: usize)*) {
            // SAFETY: the application's Fortran arguments, passed on.
            unsafe { $($call)*($($p,)* ierror $(, $h)*) }
        }
    };
}

/// The Fortran entry points of a chapter's table entries marked `fortran` (given by the chapter's
/// `table!`, see [`crate::intercept!`]). First the hidden CHARACTER lengths gfortran passes after
/// ierror (one per string argument) are collected, then the entry points are written for the
/// entry's kind. Staged kinds: host buffers (and MPICH, whose Fortran bindings call the shim's C
/// functions) go to the real Fortran function; VE buffers on Open MPI are converted to C and given
/// to the shim's C entry point, which must be in scope.
#[macro_export]
#[doc(hidden)]
macro_rules! fortran_entries {
    // From crate::for_each_entry!: the entries marked `fortran` get Fortran entry points.
    (@entry $attrs:tt [$($var:ident)*] $entry:tt) => { $crate::fortran_entries!(@variants [$($var)*] $entry); };
    (@variants [fortran $($more:ident)*] $entry:tt) => { $crate::fortran_entries!(@fortran $entry); };
    (@variants [$other:ident $($more:ident)*] $entry:tt) => { $crate::fortran_entries!(@variants [$($more)*] $entry); };
    (@variants [] $entry:tt) => {};

    (@fortran { fn $name:ident ( $($p:ident : $t:ident),* ) $($rule:tt)* }) => {
        $crate::fortran_entries!(@fsig [$($p: $t),*] [] [len1 len2 len3 len4] { fn $name($($p: $t),*) $($rule)* });
    };
    (@fsig [$p:ident : CStr $(, $($more:tt)*)?] [$($h:ident)*] [$l:ident $($ls:ident)*] $entry:tt) => {
        $crate::fortran_entries!(@fsig [$($($more)*)?] [$($h)* $l] [$($ls)*] $entry);
    };
    (@fsig [$p:ident : CStrOut $(, $($more:tt)*)?] [$($h:ident)*] [$l:ident $($ls:ident)*] $entry:tt) => {
        $crate::fortran_entries!(@fsig [$($($more)*)?] [$($h)* $l] [$($ls)*] $entry);
    };
    (@fsig [$p:ident : $t:ident $(, $($more:tt)*)?] [$($h:ident)*] [$($ls:ident)*] $entry:tt) => {
        $crate::fortran_entries!(@fsig [$($($more)*)?] [$($h)*] [$($ls)*] $entry);
    };
    (@fsig [] [$($h:ident)*] [$($ls:ident)*] { fn $name:ident ( $($p:ident : $t:ident),* )
        refuse_ve($($obj:tt)+) ve($($v:ident),+) because $why:expr; }) => {
        $crate::fortran_entries!(@fentry $name ($($p),*) [$($h)*]
            ($(!$crate::ve::is_ve($v as *const std::ffi::c_void))&&+ || $crate::fortran::f77_reaches_c() || $crate::stage::reentered())
            |ffunc, forward| {
                Some($crate::fortran::guard(ffunc, stringify!($name), || {
                    let obj = $crate::f_obj!($($obj)+);
                    let e = $crate::api::unsupported(true, $crate::api::paste::paste!([<$name _REFUSED>]));
                    Ok($crate::errors::finish(obj, stringify!($name), Ok(Err(e))))
                }))
            });
    };
    (@fsig [] [$($h:ident)*] [$($ls:ident)*] { fn $name:ident ( $($p:ident : $t:ident),* )
        refuse($($obj:tt)+) because $why:expr; }) => {
        // Also as mpi_x_f08_: MPICH's f08 bindings of calls without buffers call PMPI_X directly.
        $crate::fortran_entries!(@fentry $name ($($p),*) [$($h)*] (false) |ffunc, forward| {
            Some($crate::fortran::guard(ffunc, stringify!($name), || {
                let obj = $crate::f_obj!($($obj)+);
                let e = $crate::api::unsupported(false, $crate::api::paste::paste!([<$name _REFUSED>]));
                Ok($crate::errors::finish(obj, stringify!($name), Ok(Err(e))))
            }))
        } f08);
    };
    // Every staged kind (blocking, nonblocking, persistent, rma, the split collectives): the object
    // before `;` reports errors, the C entry point does the staging.
    (@fsig [] [$($h:ident)*] [$($ls:ident)*] { fn $name:ident ( $($p:ident : $t:ident),* )
        $kind:ident ( $objk:ident $($obj:ident)? $(; $extra:ident)? ) ve($($v:ident),+)
        $(=> ($($r:ident),+) = $form:ident($($a:ident),*))? $(status($st:ident))?; }) => {
        $crate::fortran_entries!(@fstaged $name ($($p: $t),*) [$($h)*] ($objk $($obj)?) ($($v),+) [$($form ($($a),*))?]);
    };
    (@fstaged $name:ident ($($p:ident : $t:ident),*) [$($h:ident)*] ($($obj:tt)+) ($($v:ident),+) []) => {
        // No message form: the call has no arrays to measure.
        $crate::fortran_entries!(@fstaged $name ($($p: $t),*) [$($h)*] ($($obj)+) ($($v),+) [none()]);
    };
    (@fstaged $name:ident ($($p:ident : $t:ident),*) [$($h:ident)*] ($($obj:tt)+) ($($v:ident),+) [$form:ident ($($a:ident),*)]) => {
        // VE buffers where the MPI's binding reaches the shim's C function (MPICH): forwarded inside
        // the boundary, whose ierror the forwarded call writes.
        $crate::fortran_entries!(@fentry $name ($($p),*) [$($h)*]
            ($(!$crate::ve::is_ve($v as *const std::ffi::c_void))&&+ || $crate::stage::reentered())
            |ffunc, forward| {
                let mut forwarded = false;
                let rc = $crate::ffi::boundary($crate::errors::Obj::World, ffunc, || {
                    if $crate::fortran::f77_reaches_c() {
                        forward();
                        forwarded = true;
                        return Ok(0);
                    }
                    if let Some(rc) = $crate::fortran::unconvertible(stringify!($name)) {
                        return Ok(rc);
                    }
                    let mut cx = $crate::fortran::Cx::new();
                    $(
                        #[allow(unused_unsafe)]
                        let $p = $crate::f2c!($t, $p, cx);
                    )*
                    let obj = $crate::err_obj!($($obj)+);
                    let mut convert_and_call = || -> $crate::errors::Result<std::ffi::c_int> {
                        #[allow(unused_variables)]
                        let shape = || -> $crate::errors::Result<$crate::msg::Shape> { $crate::shape_of!([$($t)*] $form($($a),*)) };
                        $( let $p = $crate::f2c_late!($t, $p, cx, shape); )*
                        // SAFETY: the C entry point of this function, with the converted arguments.
                        let rc = unsafe { $name($($p),*) };
                        // SAFETY: the Fortran out-arguments recorded in cx are the application's.
                        unsafe { cx.finish(rc) };
                        Ok(rc)
                    };
                    let r = convert_and_call();
                    Ok($crate::errors::finish(obj, stringify!($name), Ok(r)))
                });
                (!forwarded).then_some(rc)
            });
    };
    // The Fortran entry points of `$name`: when `$fwd` holds, the MPI's own Fortran function
    // (`pmpi_x_`) with the application's arguments; otherwise `$body`, which yields the error code.
    (@fentry $name:ident ($($p:ident),*) [$($h:ident)*] ($fwd:expr) |$ffunc:ident, $forward:ident| $body:block $($f08:ident)?) => {
        $crate::api::paste::paste! {
            #[allow(non_snake_case, unused_variables, clippy::too_many_arguments)]
            #[inline(never)]
            unsafe fn [<mpive_f_ $name:lower>]($($p: *mut std::ffi::c_void,)* ierror: *mut std::ffi::c_int $(, $h: usize)*) {
                const SYM: &str = stringify!([<p $name:lower _>]);
                #[allow(unused_variables)]
                let $forward = || {
                    let Some(f) = $crate::real_fn!(SYM, $crate::real::Scope::Global,
                        fn($($crate::fptr!($p),)* *mut std::ffi::c_int $(, $crate::fusize!($h))*)) else {
                        // SAFETY: the application's ierror.
                        return unsafe { $crate::fortran::set(ierror, $crate::real::missing(SYM)) };
                    };
                    // SAFETY: pmpi_x_ is the MPI's own Fortran entry point, with the same arguments.
                    unsafe { f($($p,)* ierror $(, $h)*) }
                };
                if $fwd {
                    return $forward();
                }
                let $ffunc: &'static str = stringify!([<$name:lower>]);
                let rc: Option<std::ffi::c_int> = $body;
                if let Some(rc) = rc {
                    // SAFETY: the application's ierror.
                    unsafe { $crate::fortran::set(ierror, rc) }
                }
            }
            $crate::fortran_entries!(@names $name ($($p),*) [$($h)*] [<mpive_f_ $name:lower>] $($f08)?);
        }
    };
    (@names $name:ident $ps:tt $hs:tt $inner:ident f08) => { $crate::fortran_names!($name $ps $hs { $inner } { $inner }); };
    (@names $name:ident $ps:tt $hs:tt $inner:ident) => { $crate::fortran_names!($name $ps $hs { $inner }); };

    // A chapter's table (`table!(crate::fortran_entries)`).
    ($($entries:tt)*) => {
        $crate::for_each_entry!(fortran_entries; $($entries)*);
    };
}

/// The Fortran entry points of a chapter's hand-written C functions (given by the chapter's
/// `wrapped!`, see [`crate::fortran_wrap!`]): while the condition is false (nothing staged), or where
/// the MPI's binding reaches the C function by itself (MPICH's `mpif.h`/`use mpi` ones), each calls
/// the MPI's own Fortran function; otherwise it converts the arguments like a table entry (the kinds
/// of [`f2c!`], no strings or arrays of handles) and calls the shim's C `MPI_X`, which must be in
/// scope. The f08 name `mpi_x_f08_` is needed because MPICH's `use mpi_f08` calls without buffers,
/// and Open MPI's with LOGICAL arguments, call `PMPI_X` or `pmpi_x_` directly.
#[macro_export]
#[doc(hidden)]
macro_rules! fortran_wrapped {
    () => {};
    ($(#[$attr:meta])* fn $name:ident ( $($p:ident : $t:ident),* $(,)? ) when $when:expr; $($rest:tt)*) => {
        $crate::api::paste::paste! {
            #[allow(non_snake_case, unused_variables, clippy::too_many_arguments)]
            #[inline(never)]
            unsafe fn [<mpive_fw_ $name:lower>]<const F08: bool>($($p: *mut std::ffi::c_void,)* ierror: *mut std::ffi::c_int) {
                if !($when) || $crate::stage::reentered() || (!F08 && $crate::fortran::f77_reaches_c()) {
                    const F77_REAL: &str = stringify!([<p $name:lower _>]);
                    const F08_REAL: &str = stringify!([<$name:lower _f08_>]);
                    let (real, sym) = if F08 {
                        ($crate::real_fn!(F08_REAL, $crate::real::Scope::Next, fn($($crate::fptr!($p),)* *mut std::ffi::c_int)), F08_REAL)
                    } else {
                        ($crate::real_fn!(F77_REAL, $crate::real::Scope::Global, fn($($crate::fptr!($p),)* *mut std::ffi::c_int)), F77_REAL)
                    };
                    let Some(f) = real else {
                        // SAFETY: the application's ierror.
                        return unsafe { $crate::fortran::set(ierror, $crate::real::missing(sym)) };
                    };
                    // SAFETY: the MPI's own Fortran entry point, with the same arguments.
                    return unsafe { f($($p,)* ierror) };
                }
                let rc = $crate::fortran::guard(stringify!([<$name:lower>]), stringify!($name), || {
                    let mut cx = $crate::fortran::Cx::new();
                    $(
                        #[allow(unused_unsafe)]
                        let $p = $crate::f2c!($t, $p, cx);
                    )*
                    // SAFETY: the shim's C entry point, with the converted arguments.
                    let rc = unsafe { $name($($p),*) };
                    // SAFETY: the Fortran out-arguments recorded in cx are the application's.
                    unsafe { cx.finish(rc) };
                    Ok(rc)
                });
                // SAFETY: the application's ierror.
                unsafe { $crate::fortran::set(ierror, rc) }
            }
            $crate::fortran_names!($name ($($p),*) [] { [<mpive_fw_ $name:lower>]::<false> } { [<mpive_fw_ $name:lower>]::<true> });
        }
        $crate::fortran_wrapped!($($rest)*);
    };
}

/// The Fortran entry points of every chapter, expanded from the chapters' tables (each module sees
/// its chapter's C entry points, which the converted calls reach).
mod chapters {
    pub mod collective {
        use crate::api::collective::*;
        crate::api::collective::table!(crate::fortran_entries);
    }
    pub mod datatypes {
        use crate::api::datatypes::*;
        crate::api::datatypes::table!(crate::fortran_entries);
    }
    pub mod environment {
        use crate::api::environment::*;
        crate::api::environment::wrapped!(crate::fortran_wrapped);
    }
    pub mod io {
        use crate::api::io::*;
        crate::api::io::table!(crate::fortran_entries);
    }
    pub mod process {
        use crate::api::process::*;
        crate::api::process::table!(crate::fortran_entries);
    }
    pub mod pt2pt {
        use crate::api::pt2pt::*;
        crate::api::pt2pt::table!(crate::fortran_entries);
    }
    pub mod rma {
        use crate::api::rma::*;
        use crate::rma;
        crate::api::rma::table!(crate::fortran_entries);
        crate::api::rma::wrapped!(crate::fortran_wrapped);
    }
    pub mod topology {
        use crate::api::topology::*;
        crate::api::topology::table!(crate::fortran_entries);
    }
}
