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
//! - `refuse_ve(Obj o, "why")`: forwarded for host buffers, MPI_ERR_UNSUPPORTED_OPERATION for VE ones;
//! - `refuse(Obj o, "why")`: always MPI_ERR_UNSUPPORTED_OPERATION.
//! - `rma(Win w; target)`: one-sided operation: staged now, kept in [`crate::rma`] until the
//!   synchronization that completes the operation, which stores the results.

pub mod collective;
pub mod completion;
pub mod datatypes;
pub mod environment;
pub mod process;
pub mod pt2pt;
pub mod rma;

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
    (IntOut) => { *mut std::ffi::c_int };
    (AintOut) => { *mut $crate::abi::Aint };
    (CStr) => { *const std::ffi::c_char };
    (CStrOut) => { *mut std::ffi::c_char };
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
                $crate::stage::blocking($crate::err_obj!($($obj)+), stringify!($name), |plan| {
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
        $crate::entry! {
            $(#[$attr])*
            fn $name($($p: $t),*) ve($($v),+) |real| {
                const KIND: $crate::requests::Kind = $crate::requests::Kind::Once;
                let body = |plan: &mut $crate::stage::Plan| -> $crate::errors::Result<std::ffi::c_int> {
                    // SAFETY: the arguments are the application's, as the message form expects.
                    let ($($r,)+) = unsafe { $crate::msg::$form(plan, $($a),*) }?;
                    // SAFETY: the VE buffers belong to the application and are allocated during its call.
                    unsafe { plan.load() }?;
                    // SAFETY: staged buffers replace VE ones; all else is forwarded unchanged.
                    Ok(unsafe { real($($p),*) })
                };
                // SAFETY: $req is the application's request out-argument.
                unsafe { $crate::requests::post($crate::err_obj!($objk $($obj)?), stringify!($name), $req, KIND, body) }
            }
        }
        $crate::intercept!($($rest)*);
    };

    // Persistent: staged now, loaded at every MPI_Start.
    (
        $(#[$attr:meta])*
        fn $name:ident ( $($p:ident : $t:ident),* $(,)? )
            persistent($objk:ident $($obj:ident)? ; $req:ident) ve($($v:ident),+) => ($($r:ident),+) = $form:ident($($a:ident),* $(,)?);
        $($rest:tt)*
    ) => {
        $crate::entry! {
            $(#[$attr])*
            fn $name($($p: $t),*) ve($($v),+) |real| {
                const KIND: $crate::requests::Kind = $crate::requests::Kind::Persistent { active: false };
                let body = |plan: &mut $crate::stage::Plan| -> $crate::errors::Result<std::ffi::c_int> {
                    // SAFETY: the arguments are the application's, as the message form expects.
                    let ($($r,)+) = unsafe { $crate::msg::$form(plan, $($a),*) }?;
                    // Loaded at init too: MPICH 4.0's persistent Gather and Allgather read the send
                    // buffer when the request is created, so host and VE buffers behave alike.
                    // SAFETY: the VE buffers belong to the application and are allocated during its call.
                    unsafe { plan.load() }?;
                    // SAFETY: staged buffers replace VE ones; all else is forwarded unchanged.
                    Ok(unsafe { real($($p),*) })
                };
                // SAFETY: $req is the application's request out-argument.
                unsafe { $crate::requests::post($crate::err_obj!($objk $($obj)?), stringify!($name), $req, KIND, body) }
            }
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

/// Reports an unsupported operation through `obj`'s error handler.
/// `ve` says that the call was refused because a buffer is in VE memory.
pub fn unsupported(obj: crate::errors::Obj, func: &'static str, ve: bool, why: &str) -> std::ffi::c_int {
    let what = if ve { "not supported with VE buffers by libmpi-ve" } else { "not supported by libmpi-ve" };
    let e = crate::errors::Error::new(crate::abi::Class::Unsupported, format!("{what}: {why}"));
    let r = std::panic::catch_unwind(|| Err(e));
    crate::stage::finish(obj, func, r)
}
