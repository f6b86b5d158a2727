//! The intercepted MPI functions, one module per chapter of the MPI-4.1 standard.
//!
//! Each function is described once, by an entry of the [`intercept!`] table in its chapter's module:
//! its C signature in the standard's vocabulary of argument kinds (see [`ty!`]), the object whose error
//! handler reports problems, the buffer arguments that can be VE addresses, and the message form
//! ([`crate::msg`]) that stages them. The macro writes the exported `MPI_X` symbol ([`entry!`]): forward
//! to the cached `PMPI_X` at once if no buffer is a VE address (a load, a compare per buffer and a
//! tail jump), else (out of line) resolve, stage, call, and copy back.
//!
//! Kinds of entries:
//! - `blocking(Obj o)`: staged, copied back before returning;
//! - `nonblocking(Obj o, request)`: staged, tracked in [`crate::requests`] under the request the real
//!   call returns, copied back by the completion call that observes it complete;
//! - `persistent(Obj o, request)`: staged and loaded once, loaded again at every MPI_Start, copied back at every
//!   completion, released by MPI_Request_free;
//! - `split_begin(File f)`, `split_end(File f) ... status(s)`: the two parts of an MPI-IO split
//!   collective; the staging made at begin is kept per file handle and copied back at end;
//! - `refuse_ve(Obj o, "why")`: forwarded for host buffers, MPI_ERR_UNSUPPORTED_OPERATION for VE ones;
//! - `refuse(Obj o, "why")`: always MPI_ERR_UNSUPPORTED_OPERATION.
//! - `rma(Win w; target)`: one-sided operation: staged now, kept in [`crate::rma`] until the
//!   synchronization that completes the operation, which stores the results.
//!
//! Variants: an entry preceded by `[large, fortran]` (either or both) also gets its large-count entry
//! point `MPI_X_c` (kinds in the [`ty_c!`] flavour; `PMPI_X_c`, or `PMPI_X` with the counts converted
//! by [`crate::msg::Narrow`] where the MPI has no `_c` functions) and its Fortran entry points `mpi_x`,
//! `mpi_x_`, `mpi_x__`, `MPI_X` and `ompi_x_f` (see [`crate::fortran`]). Forms with arrays need a shape
//! function ([`crate::msg::shape`]). docs/architecture.md describes the edit.

pub mod collective;
pub mod completion;
pub mod datatypes;
pub mod environment;
pub mod io;
pub mod process;
pub mod pt2pt;
pub mod rma;
pub mod topology;

/// The C type of each argument kind of the table (the `int` count flavour).
#[macro_export]
#[doc(hidden)]
macro_rules! ty {
    (CBuf) => { *const std::ffi::c_void };
    (Buf) => { *mut std::ffi::c_void };
    (Int) => { std::ffi::c_int };
    (Count) => { std::ffi::c_int };
    (CountArr) => { *const std::ffi::c_int };
    (DispArr) => { *const std::ffi::c_int };
    (Aint) => { $crate::abi::Aint };
    (AintArr) => { *const $crate::abi::Aint };
    (Offset) => { $crate::abi::Offset };
    (Comm) => { $crate::abi::Handle };
    (Datatype) => { $crate::abi::Handle };
    (Op) => { $crate::abi::Handle };
    (Info) => { $crate::abi::Handle };
    (Win) => { $crate::abi::Handle };
    (File) => { $crate::abi::Handle };
    (DatatypeArr) => { *const std::ffi::c_void };
    (Status) => { *mut std::ffi::c_void };
    (RequestOut) => { *mut std::ffi::c_void };
    (Request) => { $crate::abi::Handle };
    (Handle) => { $crate::abi::Handle };
    (MpiCount) => { $crate::abi::Count };
    (HandleOut) => { *mut std::ffi::c_void };
    (MessageInOut) => { *mut std::ffi::c_void };
    (IntOut) => { *mut std::ffi::c_int };
    (CountOut) => { *mut std::ffi::c_int };
    (AintOut) => { *mut $crate::abi::Aint };
    (CStr) => { *const std::ffi::c_char };
    (CStrOut) => { *mut std::ffi::c_char };
}

/// The C type of each argument kind in the large-count flavour (`MPI_X_c`): counts are `MPI_Count`,
/// arrays of counts `MPI_Count[]`, arrays of displacements `MPI_Aint[]`; every other kind as in [`ty!`].
#[macro_export]
#[doc(hidden)]
macro_rules! ty_c {
    (Count) => { $crate::abi::Count };
    (CountArr) => { *const $crate::abi::Count };
    (DispArr) => { *const $crate::abi::Aint };
    (CountOut) => { *mut $crate::abi::Count };
    ($t:ident) => { $crate::ty!($t) };
}

/// An argument of a `_c` call converted for the `int` function ([`crate::msg::Narrow`]).
#[macro_export]
#[doc(hidden)]
macro_rules! narrow {
    (Count, $p:ident, $n:ident, $shape:ident) => { $n.count($p, stringify!($p))? };
    (CountArr, $p:ident, $n:ident, $shape:ident) => {
        // SAFETY: $p is an argument of the call whose shape $shape computes.
        unsafe { $n.array($p, stringify!($p), &$shape) }?
    };
    (DispArr, $p:ident, $n:ident, $shape:ident) => {
        // SAFETY: as above.
        unsafe { $n.array($p, stringify!($p), &$shape) }?
    };
    (CountOut, $p:ident, $n:ident, $shape:ident) => {
        // SAFETY: $p is the application's in-out count (MPI_Pack's position).
        unsafe { $n.inout($p, stringify!($p)) }?
    };
    ($t:ident, $p:ident, $n:ident, $shape:ident) => { $p };
}

/// The shape ([`crate::msg::Shape`]) of a call: `msg::shape::<form>(args)` when its parameter kinds
/// include an array, else none.
#[macro_export]
#[doc(hidden)]
macro_rules! shape_of {
    ([] $form:ident ($($a:ident),*)) => { Ok($crate::msg::Shape::none()) };
    ([CountArr $($k:ident)*] $form:ident ($($a:ident),*)) => { $crate::shape_of!(@call $form($($a),*)) };
    ([DispArr $($k:ident)*] $form:ident ($($a:ident),*)) => { $crate::shape_of!(@call $form($($a),*)) };
    ([DatatypeArr $($k:ident)*] $form:ident ($($a:ident),*)) => { $crate::shape_of!(@call $form($($a),*)) };
    ([$t:ident $($k:ident)*] $form:ident ($($a:ident),*)) => { $crate::shape_of!([$($k)*] $form($($a),*)) };
    (@call $form:ident ($($a:ident),*)) => {
        // SAFETY: the arguments are the application's, as the form's shape function expects.
        unsafe { $crate::msg::shape::$form($($a),*) }
    };
}

/// The real function behind a `_c` entry point, as a closure over the `_c` arguments returning
/// `Result<c_int>`: `PMPI_X_c` if the MPI has it, else `PMPI_X` with every count and displacement
/// the call reads converted to `int` ([`crate::msg::Narrow`]); None if the MPI has neither. With
/// `dry`, only checks that the conversion succeeds (before staging anything).
#[macro_export]
#[doc(hidden)]
macro_rules! large_call {
    ($name:ident, ($($p:ident : $t:ident),*), $form:ident ($($a:ident),*)) => {{
        type Wide = unsafe extern "C" fn($($crate::ty_c!($t)),*) -> std::ffi::c_int;
        type Int = unsafe extern "C" fn($($crate::ty!($t)),*) -> std::ffi::c_int;
        static WIDE: $crate::real::Real = $crate::real::Real::new(concat!("P", stringify!($name), "_c"));
        static INT: $crate::real::Real = $crate::real::Real::new(concat!("P", stringify!($name)));
        // SAFETY: PMPI_X_c has the large-count signature, PMPI_X the int one.
        let wide = WIDE.get().map(|f| unsafe { std::mem::transmute::<*mut std::ffi::c_void, Wide>(f) });
        let int = if wide.is_some() { None } else { INT.get().map(|f| unsafe { std::mem::transmute::<*mut std::ffi::c_void, Int>(f) }) };
        if wide.is_none() && int.is_none() {
            None
        } else {
            #[allow(unused_variables)]
            Some(move |dry: bool, $($p: $crate::ty_c!($t)),*| -> $crate::errors::Result<std::ffi::c_int> {
                match (wide, int) {
                    (Some(_), _) if dry => Ok(0),
                    // SAFETY: the application's arguments (or staged buffers) for the real function.
                    (Some(f), _) => Ok(unsafe { f($($p),*) }),
                    (None, Some(f)) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> $crate::errors::Result<std::ffi::c_int> {
                        #[allow(unused_mut)]
                        let mut n = $crate::msg::Narrow::new();
                        #[allow(unused_variables)]
                        let shape = || -> $crate::errors::Result<$crate::msg::Shape> { $crate::shape_of!([$($t)*] $form($($a),*)) };
                        let args = ($($crate::narrow!($t, $p, n, shape),)*);
                        if dry {
                            return Ok(0);
                        }
                        let ($($p,)*) = args;
                        #[allow(unused_unsafe)]
                        // SAFETY: as above, with the counts converted to int.
                        let rc = unsafe { f($($p),*) };
                        // SAFETY: the in-out counts converted above are still the application's.
                        unsafe { n.write_back() };
                        Ok(rc)
                    }))
                    .unwrap_or_else(|p| Err($crate::errors::from_panic(p))),
                    (None, None) => Ok($crate::real::UNAVAILABLE),
                }
            })
        }
    }};
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

/// The error-reporting object of an entry.
#[macro_export]
#[doc(hidden)]
macro_rules! err_obj {
    (Comm $o:ident) => { $crate::errors::Obj::Comm($o) };
    (File $o:ident) => { $crate::errors::Obj::File($o) };
    (Win $o:ident) => { $crate::errors::Obj::Win($o) };
    (World) => { $crate::errors::Obj::World };
}

/// The C types of arrays and out-arguments used by the hand-written wrappers.
pub type RequestPtr = *mut std::ffi::c_void;
pub type StatusPtr = *mut std::ffi::c_void;

/// Resolves the real function of an exported `MPI_X`, typed like it.
#[macro_export]
#[doc(hidden)]
macro_rules! real_fn {
    ($name:ident ( $($t:ident),* )) => {{
        static REAL: $crate::real::Real = $crate::real::Real::new(concat!("P", stringify!($name)));
        match REAL.get() {
            // SAFETY: PMPI_X has the signature of MPI_X.
            Some(f) => Some(unsafe { std::mem::transmute::<*mut std::ffi::c_void, unsafe extern "C" fn($($crate::ty!($t)),*) -> std::ffi::c_int>(f) }),
            None => None,
        }
    }};
}

/// One exported function of the table (issue 8: the host path is a load, a compare and a tail jump).
///
/// The host path loads the cached `PMPI_X`, checks the `ve` buffers and jumps to the real function:
/// no stack frame, no thread-local access, no call. Everything else (first resolution of `PMPI_X`, a
/// missing function, re-entered calls from inside the MPI library, VE buffers) goes to an out-of-line
/// `#[cold]` function, which runs `$body` with `$real` bound to the real function.
#[macro_export]
#[doc(hidden)]
macro_rules! entry {
    (
        $(#[$attr:meta])*
        fn $name:ident ( $($p:ident : $t:ident),* ) ve($($v:ident),+) |$real:ident| $body:block
    ) => {
        $(#[$attr])*
        #[no_mangle]
        #[allow(non_snake_case)]
        pub unsafe extern "C" fn $name($($p: $crate::ty!($t)),*) -> std::ffi::c_int {
            type Real = unsafe extern "C" fn($($crate::ty!($t)),*) -> std::ffi::c_int;
            static REAL: $crate::real::Real = $crate::real::Real::new(concat!("P", stringify!($name)));
            let f = REAL.cached();
            if !f.is_null() $(&& !$crate::ve::is_ve($v as *const std::ffi::c_void))+ {
                // SAFETY: PMPI_X has the signature of MPI_X; forwarding the application's arguments unchanged.
                return unsafe { std::mem::transmute::<*mut std::ffi::c_void, Real>(f)($($p),*) };
            }
            #[cold]
            #[inline(never)]
            #[allow(clippy::too_many_arguments)]
            unsafe extern "C" fn slow($($p: $crate::ty!($t)),*) -> std::ffi::c_int {
                let Some(f) = REAL.get() else { return $crate::real::missing(stringify!($name)) };
                // SAFETY: PMPI_X has the signature of MPI_X.
                let $real = unsafe { std::mem::transmute::<*mut std::ffi::c_void, Real>(f) };
                if $(!$crate::ve::is_ve($v as *const std::ffi::c_void))&&+ || $crate::stage::reentered() {
                    // SAFETY: forwarding the application's arguments unchanged.
                    return unsafe { $real($($p),*) };
                }
                $body
            }
            // SAFETY: the application's arguments, passed on.
            unsafe { slow($($p),*) }
        }
    };
}

/// The table macro: see the module documentation.
#[macro_export]
macro_rules! intercept {
    () => {};

    // ---- Variants: an entry preceded by `[large, fortran]` ------------------------------------------
    // The entry is written as usual and preceded by the list of variants to generate besides the C
    // function: `large` (MPI_X_c) and/or `fortran` (mpi_x, mpi_x_, mpi_x__, MPI_X, ompi_x_f).
    (
        $(#[$attr:meta])*
        [$($var:ident),+ $(,)?]
        fn $name:ident ( $($p:ident : $t:ident),* $(,)? )
            $kind:ident ( $($k:tt)* )
            $(ve ( $($v:ident),+ ))?
            $(=> ( $($r:ident),+ ) = $form:ident ( $($a:ident),* $(,)? ))?
            $(status ( $st:ident ))?
            $(because $why:expr)?
            ;
        $($rest:tt)*
    ) => {
        $crate::intercept!(@variants [$($var)+] {
            fn $name($($p: $t),*) $kind($($k)*) $(ve($($v),+))? $(=> ($($r),+) = $form($($a),*))? $(status($st))? $(because $why)?;
        });
        $crate::intercept!(
            $(#[$attr])*
            fn $name($($p: $t),*) $kind($($k)*) $(ve($($v),+))? $(=> ($($r),+) = $form($($a),*))? $(status($st))? $(because $why)?;
            $($rest)*
        );
    };
    (@variants [$var:ident $($more:ident)*] $entry:tt) => {
        $crate::intercept!(@ $var $entry);
        $crate::intercept!(@variants [$($more)*] $entry);
    };
    (@variants [] $entry:tt) => {};

    // `large`: MPI_X_c, staged by the same message form with MPI_Count counts.
    (@large { fn $name:ident ( $($p:ident : $t:ident),* )
        blocking($($obj:tt)+) ve($($v:ident),+) => ($($r:ident),+) = $form:ident($($a:ident),*); }) => {
        $crate::api::paste::paste! {
            #[no_mangle]
            #[allow(non_snake_case)]
            pub unsafe extern "C" fn [<$name _c>]($($p: $crate::ty_c!($t)),*) -> std::ffi::c_int {
                const FUNC: &str = concat!(stringify!($name), "_c");
                let Some(call) = $crate::large_call!($name, ($($p: $t),*), $form($($a),*)) else { return $crate::real::missing(FUNC) };
                if $(!$crate::ve::is_ve($v as *const std::ffi::c_void))&&+ || $crate::stage::reentered() {
                    return $crate::api::settle($crate::err_obj!($($obj)+), FUNC, call(false, $($p),*));
                }
                if let Err(e) = call(true, $($p),*) {
                    return $crate::api::settle($crate::err_obj!($($obj)+), FUNC, Err(e));
                }
                $crate::requests::blocking($crate::err_obj!($($obj)+), FUNC, |plan| {
                    // SAFETY: the arguments are the application's, as the message form expects.
                    let ($($r,)+) = unsafe { $crate::msg::$form(plan, $($a),*) }?;
                    // SAFETY: the VE buffers belong to the application and are allocated during its call.
                    unsafe { plan.load() }?;
                    call(false, $($p),*)
                })
            }
        }
    };
    (@large { fn $name:ident ( $($p:ident : $t:ident),* )
        nonblocking($objk:ident $($obj:ident)? ; $req:ident) ve($($v:ident),+) => ($($r:ident),+) = $form:ident($($a:ident),*); }) => {
        $crate::intercept!(@large_post $name ($($p: $t),*) Once ($objk $($obj)?; $req) ($($v),+) ($($r),+) $form ($($a),*));
    };
    (@large { fn $name:ident ( $($p:ident : $t:ident),* )
        persistent($objk:ident $($obj:ident)? ; $req:ident) ve($($v:ident),+) => ($($r:ident),+) = $form:ident($($a:ident),*); }) => {
        $crate::intercept!(@large_post $name ($($p: $t),*) Persistent ($objk $($obj)?; $req) ($($v),+) ($($r),+) $form ($($a),*));
    };
    // Nonblocking and persistent alike: staged and loaded now (persistent ones at init too, as the int
    // entries are: MPICH 4.0's persistent Gather reads the send buffer when the request is created).
    (@large_post $name:ident ($($p:ident : $t:ident),*) $kind:ident ($objk:ident $($obj:ident)?; $req:ident)
        ($($v:ident),+) ($($r:ident),+) $form:ident ($($a:ident),*)) => {
        $crate::api::paste::paste! {
            #[no_mangle]
            #[allow(non_snake_case)]
            pub unsafe extern "C" fn [<$name _c>]($($p: $crate::ty_c!($t)),*) -> std::ffi::c_int {
                const FUNC: &str = concat!(stringify!($name), "_c");
                let Some(call) = $crate::large_call!($name, ($($p: $t),*), $form($($a),*)) else { return $crate::real::missing(FUNC) };
                if $(!$crate::ve::is_ve($v as *const std::ffi::c_void))&&+ || $crate::stage::reentered() {
                    return $crate::api::settle($crate::err_obj!($objk $($obj)?), FUNC, call(false, $($p),*));
                }
                if let Err(e) = call(true, $($p),*) {
                    return $crate::api::settle($crate::err_obj!($objk $($obj)?), FUNC, Err(e));
                }
                let body = |plan: &mut $crate::stage::Plan| -> $crate::errors::Result<std::ffi::c_int> {
                    // SAFETY: the arguments are the application's, as the message form expects.
                    let ($($r,)+) = unsafe { $crate::msg::$form(plan, $($a),*) }?;
                    // SAFETY: the VE buffers belong to the application and are allocated during its call.
                    unsafe { plan.load() }?;
                    call(false, $($p),*)
                };
                // SAFETY: $req is the application's request out-argument.
                unsafe { $crate::requests::post($crate::err_obj!($objk $($obj)?), FUNC, $req, $crate::api::kind_of!($kind), body) }
            }
        }
    };
    // The `rma(Win w; target)` kind of one-sided operations (src/rma.rs, from the RMA branch).
    (@large { fn $name:ident ( $($p:ident : $t:ident),* )
        rma(Win $win:ident ; $target:ident) ve($($v:ident),+) => ($($r:ident),+) = $form:ident($($a:ident),*); }) => {
        $crate::api::paste::paste! {
            #[no_mangle]
            #[allow(non_snake_case)]
            pub unsafe extern "C" fn [<$name _c>]($($p: $crate::ty_c!($t)),*) -> std::ffi::c_int {
                const FUNC: &str = concat!(stringify!($name), "_c");
                let Some(call) = $crate::large_call!($name, ($($p: $t),*), $form($($a),*)) else { return $crate::real::missing(FUNC) };
                if $(!$crate::ve::is_ve($v as *const std::ffi::c_void))&&+ || $crate::stage::reentered() {
                    return $crate::api::settle($crate::errors::Obj::Win($win), FUNC, call(false, $($p),*));
                }
                if let Err(e) = call(true, $($p),*) {
                    return $crate::api::settle($crate::errors::Obj::Win($win), FUNC, Err(e));
                }
                $crate::rma::issue($win, $target, FUNC, |plan| {
                    // SAFETY: the arguments are the application's, as the message form expects.
                    let ($($r,)+) = unsafe { $crate::msg::$form(plan, $($a),*) }?;
                    // SAFETY: the VE buffers belong to the application and are allocated during its call.
                    unsafe { plan.load() }?;
                    call(false, $($p),*)
                })
            }
        }
    };
    // The begin part of an MPI-IO split collective (the end part has no count, hence no `_c`).
    (@large { fn $name:ident ( $($p:ident : $t:ident),* )
        split_begin(File $fh:ident) ve($v:ident) => ($r:ident) = $form:ident($($a:ident),*); }) => {
        $crate::api::paste::paste! {
            #[no_mangle]
            #[allow(non_snake_case)]
            pub unsafe extern "C" fn [<$name _c>]($($p: $crate::ty_c!($t)),*) -> std::ffi::c_int {
                const FUNC: &str = concat!(stringify!($name), "_c");
                let Some(call) = $crate::large_call!($name, ($($p: $t),*), $form($($a),*)) else { return $crate::real::missing(FUNC) };
                if !$crate::ve::is_ve($v as *const std::ffi::c_void) || $crate::stage::reentered() {
                    return $crate::api::settle($crate::errors::Obj::File($fh), FUNC, call(false, $($p),*));
                }
                if let Err(e) = call(true, $($p),*) {
                    return $crate::api::settle($crate::errors::Obj::File($fh), FUNC, Err(e));
                }
                let app = $v as *const std::ffi::c_void;
                let body = |plan: &mut $crate::stage::Plan| -> $crate::errors::Result<(std::ffi::c_int, *const std::ffi::c_void)> {
                    // SAFETY: the arguments are the application's, as the message form expects.
                    let ($r,) = unsafe { $crate::msg::$form(plan, $($a),*) }?;
                    // SAFETY: the VE buffer belongs to the application and is allocated during its call.
                    unsafe { plan.load() }?;
                    Ok((call(false, $($p),*)?, $r as *const std::ffi::c_void))
                };
                // SAFETY: $fh and $v are the application's arguments.
                unsafe { $crate::msg::split_begin($fh, FUNC, app, body) }
            }
        }
    };
    (@large { fn $name:ident ( $($p:ident : $t:ident),* ) refuse_ve($($obj:tt)+) ve($($v:ident),+) because $why:expr; }) => {
        $crate::api::paste::paste! {
            #[no_mangle]
            #[allow(non_snake_case)]
            pub unsafe extern "C" fn [<$name _c>]($($p: $crate::ty_c!($t)),*) -> std::ffi::c_int {
                const FUNC: &str = concat!(stringify!($name), "_c");
                if $(!$crate::ve::is_ve($v as *const std::ffi::c_void))&&+ || $crate::stage::reentered() {
                    let Some(call) = $crate::large_call!($name, ($($p: $t),*), refused()) else { return $crate::real::missing(FUNC) };
                    return $crate::api::settle($crate::err_obj!($($obj)+), FUNC, call(false, $($p),*));
                }
                $crate::api::unsupported($crate::err_obj!($($obj)+), FUNC, true, $why)
            }
        }
    };
    (@large { fn $name:ident ( $($p:ident : $t:ident),* ) refuse($($obj:tt)+) because $why:expr; }) => {
        $crate::api::paste::paste! {
            #[no_mangle]
            #[allow(non_snake_case, unused_variables)]
            pub unsafe extern "C" fn [<$name _c>]($($p: $crate::ty_c!($t)),*) -> std::ffi::c_int {
                $crate::api::unsupported($crate::err_obj!($($obj)+), concat!(stringify!($name), "_c"), false, $why)
            }
        }
    };

    // `fortran`: the Fortran entry points. First collect the hidden CHARACTER lengths gfortran passes
    // after ierror (one per string argument), then write the entry points for the entry's kind.
    (@fortran { fn $name:ident ( $($p:ident : $t:ident),* ) $($rule:tt)* }) => {
        $crate::intercept!(@fsig [$($p: $t),*] [] [len1 len2 len3 len4] { fn $name($($p: $t),*) $($rule)* });
    };
    (@fsig [$p:ident : CStr $(, $($more:tt)*)?] [$($h:ident)*] [$l:ident $($ls:ident)*] $entry:tt) => {
        $crate::intercept!(@fsig [$($($more)*)?] [$($h)* $l] [$($ls)*] $entry);
    };
    (@fsig [$p:ident : CStrOut $(, $($more:tt)*)?] [$($h:ident)*] [$l:ident $($ls:ident)*] $entry:tt) => {
        $crate::intercept!(@fsig [$($($more)*)?] [$($h)* $l] [$($ls)*] $entry);
    };
    (@fsig [$p:ident : $t:ident $(, $($more:tt)*)?] [$($h:ident)*] [$($ls:ident)*] $entry:tt) => {
        $crate::intercept!(@fsig [$($($more)*)?] [$($h)*] [$($ls)*] $entry);
    };
    (@fsig [] [$($h:ident)*] [$($ls:ident)*] { fn $name:ident ( $($p:ident : $t:ident),* )
        refuse_ve($($obj:tt)+) ve($($v:ident),+) because $why:expr; }) => {
        $crate::intercept!(@fentry $name ($($p),*) [$($h)*]
            ($(!$crate::ve::is_ve($v as *const std::ffi::c_void))&&+ || $crate::fortran::f77_reaches_c() || $crate::stage::reentered())
        {
            $crate::fortran::guard(stringify!($name), || {
                let obj = $crate::f_obj!($($obj)+);
                $crate::api::unsupported(obj, stringify!($name), true, $why)
            })
        });
    };
    (@fsig [] [$($h:ident)*] [$($ls:ident)*] { fn $name:ident ( $($p:ident : $t:ident),* )
        refuse($($obj:tt)+) because $why:expr; }) => {
        // Also as mpi_x_f08_: MPICH's f08 bindings of calls without buffers call PMPI_X directly.
        $crate::intercept!(@fentry $name ($($p),*) [$($h)*] (false) {
            $crate::fortran::guard(stringify!($name), || {
                let obj = $crate::f_obj!($($obj)+);
                $crate::api::unsupported(obj, stringify!($name), false, $why)
            })
        } f08);
    };
    // Every staged kind (blocking, nonblocking, persistent, and kinds added later such as
    // `rma(Win w; target)` or the split collectives): the object before `;` reports errors, the C entry
    // point does the staging.
    (@fsig [] [$($h:ident)*] [$($ls:ident)*] { fn $name:ident ( $($p:ident : $t:ident),* )
        $kind:ident ( $objk:ident $($obj:ident)? $(; $extra:ident)? ) ve($($v:ident),+)
        $(=> ($($r:ident),+) = $form:ident($($a:ident),*))? $(status($st:ident))?; }) => {
        $crate::intercept!(@fstaged $name ($($p: $t),*) [$($h)*] ($objk $($obj)?) ($($v),+) [$($form ($($a),*))?]);
    };
    // Staged: host buffers (and MPICH, whose Fortran bindings call the shim's C functions) go to the
    // real Fortran function; VE buffers on Open MPI are converted to C and given to the C entry point.
    (@fstaged $name:ident ($($p:ident : $t:ident),*) [$($h:ident)*] ($($obj:tt)+) ($($v:ident),+) []) => {
        // No message form: the call has no arrays to measure.
        $crate::intercept!(@fstaged $name ($($p: $t),*) [$($h)*] ($($obj)+) ($($v),+) [none()]);
    };
    (@fstaged $name:ident ($($p:ident : $t:ident),*) [$($h:ident)*] ($($obj:tt)+) ($($v:ident),+) [$form:ident ($($a:ident),*)]) => {
        $crate::intercept!(@fentry $name ($($p),*) [$($h)*]
            ($(!$crate::ve::is_ve($v as *const std::ffi::c_void))&&+ || $crate::fortran::f77_reaches_c() || $crate::stage::reentered())
        {
            $crate::fortran::guard(stringify!($name), || {
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
                $crate::api::settle(obj, stringify!($name), convert_and_call())
            })
        });
    };
    // The Fortran entry points of `$name`: when `$fwd` holds, the MPI's own Fortran function
    // (`pmpi_x_`) with the application's arguments; otherwise `$body`, which yields the error code.
    (@fentry $name:ident ($($p:ident),*) [$($h:ident)*] ($fwd:expr) $body:block $($f08:ident)?) => {
        $crate::api::paste::paste! {
            #[doc(hidden)]
            #[allow(non_snake_case, unused_variables, clippy::too_many_arguments)]
            #[inline(never)]
            pub unsafe fn [<mpive_f_ $name:lower>]($($p: *mut std::ffi::c_void,)* ierror: *mut std::ffi::c_int $(, $h: usize)*) {
                static REAL: $crate::real::Real = $crate::real::Real::in_scope(stringify!([<p $name:lower _>]), $crate::real::Scope::Global);
                if $fwd {
                    let Some(f) = REAL.get() else {
                        // SAFETY: the application's ierror.
                        return unsafe { $crate::fortran::set(ierror, $crate::real::missing(stringify!([<p $name:lower _>]))) };
                    };
                    // SAFETY: pmpi_x_ is the MPI's own Fortran entry point, with the same arguments.
                    return unsafe {
                        std::mem::transmute::<*mut std::ffi::c_void, unsafe extern "C" fn($($crate::fptr!($p),)* *mut std::ffi::c_int $(, $crate::fusize!($h))*)>(f)(
                            $($p,)* ierror $(, $h)*
                        )
                    };
                }
                let rc: std::ffi::c_int = $body;
                // SAFETY: the application's ierror.
                unsafe { $crate::fortran::set(ierror, rc) }
            }
            $crate::intercept!(@fexport [<mpive_f_ $name:lower>] ($($p),*) [$($h)*]
                [<$name:lower>] [<$name:lower _>] [<$name:lower __>] [<$name:upper>] [<o $name:lower _f>] $([<$name:lower _ $f08 _>])?);
        }
    };
    (@fexport $inner:ident $args:tt $hidden:tt $export:ident $($more:ident)*) => {
        $crate::intercept!(@fexport1 $inner $args $hidden $export);
        $crate::intercept!(@fexport $inner $args $hidden $($more)*);
    };
    (@fexport $inner:ident $args:tt $hidden:tt) => {};
    (@fexport1 $inner:ident ($($p:ident),*) [$($h:ident)*] $export:ident) => {
        #[no_mangle]
        #[allow(non_snake_case, clippy::too_many_arguments)]
        pub unsafe extern "C" fn $export($($p: *mut std::ffi::c_void,)* ierror: *mut std::ffi::c_int $(, $h: usize)*) {
            // SAFETY: the application's Fortran arguments, passed on.
            unsafe { $inner($($p,)* ierror $(, $h)*) }
        }
    };

    // Staged, completed before returning.
    (
        $(#[$attr:meta])*
        fn $name:ident ( $($p:ident : $t:ident),* $(,)? )
            blocking($($obj:tt)+) ve($($v:ident),+) => ($($r:ident),+) = $form:ident($($a:ident),* $(,)?);
        $($rest:tt)*
    ) => {
        $crate::entry! {
            $(#[$attr])*
            fn $name($($p: $t),*) ve($($v),+) |real| {
                $crate::requests::blocking($crate::err_obj!($($obj)+), stringify!($name), |plan| {
                    // SAFETY: the arguments are the application's, as the message form expects.
                    let ($($r,)+) = unsafe { $crate::msg::$form(plan, $($a),*) }?;
                    // SAFETY: the VE buffers belong to the application and are allocated during its call.
                    unsafe { plan.load() }?;
                    // SAFETY: staged buffers replace VE ones; all else is forwarded unchanged.
                    Ok(unsafe { real($($p),*) })
                })
            }
        }
        $crate::intercept!($($rest)*);
    };

    // Staged, completed by a later completion call on the request.
    (
        $(#[$attr:meta])*
        fn $name:ident ( $($p:ident : $t:ident),* $(,)? )
            nonblocking($objk:ident $($obj:ident)? ; $req:ident) ve($($v:ident),+) => ($($r:ident),+) = $form:ident($($a:ident),* $(,)?);
        $($rest:tt)*
    ) => {
        $crate::intercept!(@post [$(#[$attr])*] $name ($($p: $t),*) Once ($objk $($obj)?; $req) ($($v),+) ($($r),+) $form ($($a),*));
        $crate::intercept!($($rest)*);
    };

    // Persistent: staged now, loaded at every MPI_Start.
    (
        $(#[$attr:meta])*
        fn $name:ident ( $($p:ident : $t:ident),* $(,)? )
            persistent($objk:ident $($obj:ident)? ; $req:ident) ve($($v:ident),+) => ($($r:ident),+) = $form:ident($($a:ident),* $(,)?);
        $($rest:tt)*
    ) => {
        $crate::intercept!(@post [$(#[$attr])*] $name ($($p: $t),*) Persistent ($objk $($obj)?; $req) ($($v),+) ($($r),+) $form ($($a),*));
        $crate::intercept!($($rest)*);
    };

    // Nonblocking and persistent alike: staged and loaded now, then tracked under the request the real
    // call returns (persistent ones are loaded at init too: MPICH 4.0's persistent Gather and Allgather
    // read the send buffer when the request is created, so host and VE buffers behave alike).
    (@post [$(#[$attr:meta])*] $name:ident ($($p:ident : $t:ident),*) $kind:ident ($objk:ident $($obj:ident)?; $req:ident)
        ($($v:ident),+) ($($r:ident),+) $form:ident ($($a:ident),*)) => {
        $crate::entry! {
            $(#[$attr])*
            fn $name($($p: $t),*) ve($($v),+) |real| {
                let body = |plan: &mut $crate::stage::Plan| -> $crate::errors::Result<std::ffi::c_int> {
                    // SAFETY: the arguments are the application's, as the message form expects.
                    let ($($r,)+) = unsafe { $crate::msg::$form(plan, $($a),*) }?;
                    // SAFETY: the VE buffers belong to the application and are allocated during its call.
                    unsafe { plan.load() }?;
                    // SAFETY: staged buffers replace VE ones; all else is forwarded unchanged.
                    Ok(unsafe { real($($p),*) })
                };
                // SAFETY: $req is the application's request out-argument.
                unsafe { $crate::requests::post($crate::err_obj!($objk $($obj)?), stringify!($name), $req, $crate::api::kind_of!($kind), body) }
            }
        }
    };

    // Split collective, begin part (MPI-IO): staged and loaded now; the staging waits for the end part
    // in a table keyed by the file handle ([`crate::msg::split_begin`]).
    (
        $(#[$attr:meta])*
        fn $name:ident ( $($p:ident : $t:ident),* $(,)? )
            split_begin(File $fh:ident) ve($v:ident) => ($r:ident) = $form:ident($($a:ident),* $(,)?);
        $($rest:tt)*
    ) => {
        $(#[$attr])*
        #[no_mangle]
        #[allow(non_snake_case)]
        pub unsafe extern "C" fn $name($($p: $crate::ty!($t)),*) -> std::ffi::c_int {
            let Some(real) = $crate::real_fn!($name($($t),*)) else { return $crate::real::missing(stringify!($name)) };
            if !$crate::ve::is_ve($v as *const std::ffi::c_void) || $crate::stage::reentered() {
                // SAFETY: forwarding the application's arguments unchanged.
                return unsafe { real($($p),*) };
            }
            let app = $v as *const std::ffi::c_void;
            let body = |plan: &mut $crate::stage::Plan| -> $crate::errors::Result<(std::ffi::c_int, *const std::ffi::c_void)> {
                // SAFETY: the arguments are the application's, as the message form expects.
                let ($r,) = unsafe { $crate::msg::$form(plan, $($a),*) }?;
                // SAFETY: the VE buffer belongs to the application and is allocated during its call.
                unsafe { plan.load() }?;
                // SAFETY: the staged buffer replaces the VE one; all else is forwarded unchanged.
                Ok((unsafe { real($($p),*) }, $r as *const std::ffi::c_void))
            };
            // SAFETY: $fh and $v are the application's arguments.
            unsafe { $crate::msg::split_begin($fh, stringify!($name), app, body) }
        }
        $crate::intercept!($($rest)*);
    };

    // Split collective, end part: completes with the staging its begin part kept, then copies back.
    (
        $(#[$attr:meta])*
        fn $name:ident ( $($p:ident : $t:ident),* $(,)? )
            split_end(File $fh:ident) ve($v:ident) status($st:ident);
        $($rest:tt)*
    ) => {
        $(#[$attr])*
        #[no_mangle]
        #[allow(non_snake_case)]
        pub unsafe extern "C" fn $name($($p: $crate::ty!($t)),*) -> std::ffi::c_int {
            let Some(real) = $crate::real_fn!($name($($t),*)) else { return $crate::real::missing(stringify!($name)) };
            if !$crate::ve::is_ve($v as *const std::ffi::c_void) || $crate::stage::reentered() {
                // SAFETY: forwarding the application's arguments unchanged.
                return unsafe { real($($p),*) };
            }
            let call = |staged: *const std::ffi::c_void, status: *mut std::ffi::c_void| -> std::ffi::c_int {
                let $v = staged as _;
                let $st = status as _;
                // SAFETY: the staged buffer and a status replace the application's; all else is unchanged.
                unsafe { real($($p),*) }
            };
            // SAFETY: $fh, $v and $st are the application's arguments.
            unsafe { $crate::msg::split_end($fh, stringify!($name), $v as *const std::ffi::c_void, $st as *mut std::ffi::c_void, call) }
        }
        $crate::intercept!($($rest)*);
    };

    // Unsupported with VE buffers, forwarded with host buffers.
    (
        $(#[$attr:meta])*
        fn $name:ident ( $($p:ident : $t:ident),* $(,)? )
            refuse_ve($($obj:tt)+) ve($($v:ident),+) because $why:expr;
        $($rest:tt)*
    ) => {
        $crate::entry! {
            $(#[$attr])*
            fn $name($($p: $t),*) ve($($v),+) |real| {
                $crate::api::unsupported($crate::err_obj!($($obj)+), stringify!($name), true, $why)
            }
        }
        $crate::intercept!($($rest)*);
    };

    // Always unsupported.
    (
        $(#[$attr:meta])*
        fn $name:ident ( $($p:ident : $t:ident),* $(,)? )
            refuse($($obj:tt)+) because $why:expr;
        $($rest:tt)*
    ) => {
        $(#[$attr])*
        #[no_mangle]
        #[allow(non_snake_case, unused_variables)]
        pub unsafe extern "C" fn $name($($p: $crate::ty!($t)),*) -> std::ffi::c_int {
            $crate::api::unsupported($crate::err_obj!($($obj)+), stringify!($name), false, $why)
        }
        $crate::intercept!($($rest)*);
    };

    // One-sided: staged now, origin buffers loaded; the staging is kept per window and target until
    // the synchronization that completes the operation stores the results (src/rma.rs).
    (
        $(#[$attr:meta])*
        fn $name:ident ( $($p:ident : $t:ident),* $(,)? )
            rma(Win $win:ident ; $target:ident) ve($($v:ident),+) => ($($r:ident),+) = $form:ident($($a:ident),* $(,)?);
        $($rest:tt)*
    ) => {
        $crate::entry! {
            $(#[$attr])*
            fn $name($($p: $t),*) ve($($v),+) |real| {
                $crate::rma::issue($win, $target, stringify!($name), |plan| {
                    // SAFETY: the arguments are the application's, as the message form expects.
                    let ($($r,)+) = unsafe { $crate::msg::$form(plan, $($a),*) }?;
                    // SAFETY: the VE buffers belong to the application and are allocated during its call.
                    unsafe { plan.load() }?;
                    // SAFETY: staged buffers replace VE ones; all else is forwarded unchanged.
                    Ok(unsafe { real($($p),*) })
                })
            }
        }
        $crate::intercept!($($rest)*);
    };
}

/// Fortran entry points for a hand-written C function of the shim (not a table entry), such as the
/// synchronization calls that complete staged one-sided operations:
///
/// ```ignore
/// fortran_wrap! {
///     fn MPI_Win_fence(assert: Int, win: Win) when crate::rma::any();
/// }
/// ```
///
/// writes `mpi_win_fence`, `mpi_win_fence_`, `mpi_win_fence__`, `MPI_WIN_FENCE`, `ompi_win_fence_f`
/// and `mpi_win_fence_f08_`. While the condition is false (nothing staged), or where the MPI's binding
/// reaches the C function by itself (MPICH's `mpif.h`/`use mpi` ones), each calls the MPI's own
/// Fortran function; otherwise it converts the arguments like a table entry's Fortran variant (the
/// kinds of [`f2c!`], no strings or arrays of handles) and calls the shim's C `MPI_X`, which must be
/// in scope. The f08 name is needed because MPICH's `use mpi_f08` calls without buffers, and Open
/// MPI's with LOGICAL arguments, call `PMPI_X` or `pmpi_x_` directly.
#[macro_export]
macro_rules! fortran_wrap {
    () => {};
    ($(#[$attr:meta])* fn $name:ident ( $($p:ident : $t:ident),* $(,)? ) when $when:expr; $($rest:tt)*) => {
        $crate::api::paste::paste! {
            #[doc(hidden)]
            #[allow(non_snake_case, unused_variables, clippy::too_many_arguments)]
            #[inline(never)]
            pub unsafe fn [<mpive_fw_ $name:lower>](f08: bool, $($p: *mut std::ffi::c_void,)* ierror: *mut std::ffi::c_int) {
                static F77: $crate::real::Real = $crate::real::Real::in_scope(stringify!([<p $name:lower _>]), $crate::real::Scope::Global);
                static F08: $crate::real::Real = $crate::real::Real::in_scope(stringify!([<$name:lower _f08_>]), $crate::real::Scope::Next);
                if !($when) || $crate::stage::reentered() || (!f08 && $crate::fortran::f77_reaches_c()) {
                    let real = if f08 { &F08 } else { &F77 };
                    let Some(f) = real.get() else {
                        // SAFETY: the application's ierror.
                        return unsafe { $crate::fortran::set(ierror, $crate::real::missing(real.name())) };
                    };
                    // SAFETY: the MPI's own Fortran entry point, with the same arguments.
                    return unsafe {
                        std::mem::transmute::<*mut std::ffi::c_void, unsafe extern "C" fn($($crate::fptr!($p),)* *mut std::ffi::c_int)>(f)($($p,)* ierror)
                    };
                }
                let rc = $crate::fortran::guard(stringify!($name), || {
                    let mut cx = $crate::fortran::Cx::new();
                    $(
                        #[allow(unused_unsafe)]
                        let $p = $crate::f2c!($t, $p, cx);
                    )*
                    // SAFETY: the shim's C entry point, with the converted arguments.
                    let rc = unsafe { $name($($p),*) };
                    // SAFETY: the Fortran out-arguments recorded in cx are the application's.
                    unsafe { cx.finish(rc) };
                    rc
                });
                // SAFETY: the application's ierror.
                unsafe { $crate::fortran::set(ierror, rc) }
            }
            $crate::fortran_wrap!(@export [<mpive_fw_ $name:lower>] false ($($p),*) [<$name:lower>]);
            $crate::fortran_wrap!(@export [<mpive_fw_ $name:lower>] false ($($p),*) [<$name:lower _>]);
            $crate::fortran_wrap!(@export [<mpive_fw_ $name:lower>] false ($($p),*) [<$name:lower __>]);
            $crate::fortran_wrap!(@export [<mpive_fw_ $name:lower>] false ($($p),*) [<$name:upper>]);
            $crate::fortran_wrap!(@export [<mpive_fw_ $name:lower>] false ($($p),*) [<o $name:lower _f>]);
            $crate::fortran_wrap!(@export [<mpive_fw_ $name:lower>] true ($($p),*) [<$name:lower _f08_>]);
        }
        $crate::fortran_wrap!($($rest)*);
    };
    (@export $inner:ident $f08:literal ($($p:ident),*) $export:ident) => {
        #[no_mangle]
        #[allow(non_snake_case, clippy::too_many_arguments)]
        pub unsafe extern "C" fn $export($($p: *mut std::ffi::c_void,)* ierror: *mut std::ffi::c_int) {
            // SAFETY: the application's Fortran arguments, passed on.
            unsafe { $inner($f08, $($p,)* ierror) }
        }
    };
}

/// Reports an unsupported operation through `obj`'s error handler.
/// `ve` says that the call was refused because a buffer is in VE memory.
pub fn unsupported(obj: crate::errors::Obj, func: &'static str, ve: bool, why: &str) -> std::ffi::c_int {
    let what = if ve { "not supported with VE buffers by libmpi-ve" } else { "not supported by libmpi-ve" };
    let e = crate::errors::Error::new(crate::abi::Class::Unsupported, format!("{what}: {why}"));
    let r = std::panic::catch_unwind(|| Err(e));
    crate::errors::finish(obj, func, r)
}

#[doc(hidden)]
pub use paste;

/// The request kind of a `_c` nonblocking or persistent entry.
#[doc(hidden)]
#[macro_export]
macro_rules! __mpive_kind_of {
    (Once) => { $crate::requests::Kind::Once };
    (Persistent) => { $crate::requests::Kind::Persistent { active: false } };
}
#[doc(hidden)]
pub use __mpive_kind_of as kind_of;

/// The return code of a call whose outcome is `r`: errors of the shim go through `obj`'s handler.
pub fn settle(obj: crate::errors::Obj, func: &'static str, r: crate::errors::Result<std::ffi::c_int>) -> std::ffi::c_int {
    match r {
        Ok(rc) => rc,
        // SAFETY: obj holds a handle the application passed to func.
        Err(e) => unsafe { crate::errors::raise(obj, func, &e) },
    }
}
