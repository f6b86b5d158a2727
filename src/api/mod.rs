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
//! `mpi_x_`, `mpi_x__`, `MPI_X` and `ompi_x_f`. The `int` and `_c` entry points of a kind are written
//! by one rule, given the count flavour ([`entry!`]). Forms with arrays need a shape function
//! ([`crate::msg::shape`]). docs/architecture.md describes the edit.
//!
//! Each chapter's table is also data: `intercept!` leaves in the chapter a macro `table!` that hands
//! the chapter's entries to the macro named as its argument, and `fortran_wrap!` one named `wrapped!`.
//! The Fortran layer above ([`crate::fortran`]) expands its entry points from them, so the table stays
//! the one description of each function and nothing here names the Fortran layer.

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
    (Comm) => { $crate::abi::Comm };
    (Datatype) => { $crate::abi::Datatype };
    (Op) => { $crate::abi::Op };
    (Info) => { $crate::abi::Info };
    (Win) => { $crate::abi::Win };
    (File) => { $crate::abi::File };
    (DatatypeArr) => { *const std::ffi::c_void };
    (Status) => { *mut std::ffi::c_void };
    (RequestOut) => { *mut std::ffi::c_void };
    (Request) => { $crate::abi::Request };
    (Group) => { $crate::abi::Group };
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
        let wide = $crate::real_fn!(concat!("P", stringify!($name), "_c"), $crate::real::Scope::Mpi, fn($($crate::ty_c!($t)),*) -> std::ffi::c_int);
        let int = if wide.is_some() { None } else { $crate::pmpi_fn!($name($($t),*)) };
        if wide.is_none() && int.is_none() {
            None
        } else {
            #[allow(unused_variables)]
            Some(move |dry: bool, $($p: $crate::ty_c!($t)),*| -> $crate::errors::Result<std::ffi::c_int> {
                match (wide, int) {
                    (Some(_), _) if dry => Ok(0),
                    // SAFETY: the application's arguments (or staged buffers) for the real function.
                    (Some(f), _) => Ok(unsafe { f($($p),*) }),
                    (None, Some(f)) => {
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
                    }
                    (None, None) => Ok($crate::real::UNAVAILABLE),
                }
            })
        }
    }};
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

/// `PMPI_X` typed with the C signature of the table kinds given ([`ty!`]), through
/// [`crate::real_fn!`]: `pmpi_fn!(MPI_X(Kind, ...))` is `Option<unsafe extern "C" fn(...) -> c_int>`.
#[macro_export]
#[doc(hidden)]
macro_rules! pmpi_fn {
    ($name:ident ( $($t:ident),* )) => {
        $crate::real_fn!(concat!("P", stringify!($name)), $crate::real::Scope::Mpi, fn($($crate::ty!($t)),*) -> std::ffi::c_int)
    };
}

/// One exported function of a table entry, in a count flavour: `int` writes `MPI_X` (kinds as in
/// [`ty!`], the real function `PMPI_X`), `large` writes `MPI_X_c` (kinds as in [`ty_c!`], the real
/// function from [`large_call!`]). Both run `$body` inside [`crate::ffi::boundary`] with `$call`
/// bound to `|dry, args...| -> Result<c_int>`, the real function (`dry` only checks that the
/// arguments convert), and `$func` to the function's name; with host buffers only, or a call
/// re-entered from inside the MPI library, the real function is called at once instead (in the
/// `large` flavour inside the boundary, since converting the counts can fail).
///
/// The `int` flavour's host path stays outside: it loads the cached `PMPI_X`, checks the `ve` buffers
/// and jumps to the real function (no stack frame, no thread-local access, no call). Everything else
/// (first resolution of `PMPI_X`, a missing function, re-entered calls, VE buffers) goes to an
/// out-of-line `#[cold]` function, which forwards host buffers and re-entered calls before the
/// boundary too (a resolution and a call, as the host path). Entries without buffers (`ve()`)
/// resolve nothing.
#[macro_export]
#[doc(hidden)]
macro_rules! entry {
    (int [$($attr:tt)*] $name:ident ( $($p:ident : $t:ident),* ) ve($($v:ident),+) obj($($obj:tt)+) form $form:tt
        |$call:ident, $func:ident| $body:block) => {
        $($attr)*
        /// # Safety
        /// Called from C or Fortran with the arguments the MPI standard gives this function: valid
        /// handles, and buffers, arrays and out-arguments of the sizes its counts and datatypes imply.
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
            fn slow($($p: $crate::ty!($t)),*) -> std::ffi::c_int {
                const FUNC: &str = stringify!($name);
                // Resolving and forwarding host buffers cannot panic: like the host path, outside.
                let Some(f) = REAL.get() else { return $crate::real::missing(FUNC) };
                // SAFETY: PMPI_X has the signature of MPI_X.
                let real = unsafe { std::mem::transmute::<*mut std::ffi::c_void, Real>(f) };
                if $(!$crate::ve::is_ve($v as *const std::ffi::c_void))&&+ || $crate::stage::reentered() {
                    // SAFETY: forwarding the application's arguments unchanged.
                    return unsafe { real($($p),*) };
                }
                $crate::ffi::boundary($crate::err_obj!($($obj)+), FUNC, || {
                    #[allow(unused_variables, clippy::too_many_arguments)]
                    let $call = move |dry: bool, $($p: $crate::ty!($t)),*| -> $crate::errors::Result<std::ffi::c_int> {
                        // SAFETY: the application's arguments, or staged buffers in place of VE ones.
                        Ok(if dry { 0 } else { unsafe { real($($p),*) } })
                    };
                    #[allow(unused_variables)]
                    let $func = FUNC;
                    $body
                })
            }
            slow($($p),*)
        }
    };
    (large [$($attr:tt)*] $name:ident ( $($p:ident : $t:ident),* ) ve($($v:ident),+) obj($($obj:tt)+) form($form:ident($($a:ident),*))
        |$call:ident, $func:ident| $body:block) => {
        $crate::api::paste::paste! {
            $($attr)*
            /// # Safety
            /// Called from C or Fortran with the arguments the MPI standard gives this function: valid
            /// handles, and buffers, arrays and out-arguments of the sizes its counts and datatypes imply.
            #[no_mangle]
            #[allow(non_snake_case)]
            pub unsafe extern "C" fn [<$name _c>]($($p: $crate::ty_c!($t)),*) -> std::ffi::c_int {
                const FUNC: &str = concat!(stringify!($name), "_c");
                $crate::ffi::boundary($crate::err_obj!($($obj)+), FUNC, || {
                    let Some($call) = $crate::large_call!($name, ($($p: $t),*), $form($($a),*)) else { return Ok($crate::real::missing(FUNC)) };
                    #[allow(unused_variables)]
                    let $func = FUNC;
                    if $(!$crate::ve::is_ve($v as *const std::ffi::c_void))&&+ || $crate::stage::reentered() {
                        return $call(false, $($p),*);
                    }
                    $body
                })
            }
        }
    };
    (int [$($attr:tt)*] $name:ident ( $($p:ident : $t:ident),* ) ve() obj($($obj:tt)+) form $form:tt |$func:ident| $body:block) => {
        $($attr)*
        /// # Safety
        /// Called from C or Fortran with the arguments the MPI standard gives this function: valid
        /// handles, and buffers, arrays and out-arguments of the sizes its counts and datatypes imply.
        #[no_mangle]
        #[allow(non_snake_case, unused_variables)]
        pub unsafe extern "C" fn $name($($p: $crate::ty!($t)),*) -> std::ffi::c_int {
            let $func: &'static str = stringify!($name);
            $crate::ffi::boundary($crate::err_obj!($($obj)+), $func, || $body)
        }
    };
    (large [$($attr:tt)*] $name:ident ( $($p:ident : $t:ident),* ) ve() obj($($obj:tt)+) form $form:tt |$func:ident| $body:block) => {
        $crate::api::paste::paste! {
            $($attr)*
            #[no_mangle]
            #[allow(non_snake_case, unused_variables)]
            pub unsafe extern "C" fn [<$name _c>]($($p: $crate::ty_c!($t)),*) -> std::ffi::c_int {
                let $func: &'static str = concat!(stringify!($name), "_c");
                $crate::ffi::boundary($crate::err_obj!($($obj)+), $func, || $body)
            }
        }
    };
}

/// Reads a chapter's table in the one grammar of its entries (see the module documentation) and hands
/// each entry, normalized, to `$crate::$m!(@entry [attributes] [variants] { fn ... ; })`: the C layer
/// ([`intercept!`]) and the Fortran layer (`fortran_entries!`) walk the same tables with it.
#[macro_export]
#[doc(hidden)]
macro_rules! for_each_entry {
    ($m:ident;) => {};
    ($m:ident;
        $(#[$attr:meta])*
        $([$($var:ident),+ $(,)?])?
        fn $name:ident ( $($p:ident : $t:ident),* $(,)? )
            $kind:ident ( $($k:tt)* )
            $(ve ( $($v:ident),+ ))?
            $(=> ( $($r:ident),+ ) = $form:ident ( $($a:ident),* $(,)? ))?
            $(status ( $st:ident ))?
            $(because $why:expr)?
            ;
        $($rest:tt)*
    ) => {
        $crate::$m!(@entry [$(#[$attr])*] [$($($var)+)?] {
            fn $name($($p: $t),*) $kind($($k)*) $(ve($($v),+))? $(=> ($($r),+) = $form($($a),*))? $(status($st))? $(because $why)?;
        });
        $crate::for_each_entry!($m; $($rest)*);
    };
}

/// The table macro: see the module documentation. Writes the C entry points of its entries, and
/// leaves the entries in the chapter as the macro `table!` for the Fortran layer.
#[macro_export]
macro_rules! intercept {
    // ---- The C entry points, entry by entry ([`for_each_entry!`] hands them over) ---------------------
    (@entry $attrs:tt [$($var:ident)*] $entry:tt) => {
        $crate::intercept!(@kind int $attrs $entry);
        $( $crate::intercept!(@variant $var $entry); )*
    };
    // `large`: MPI_X_c, from the same rule as MPI_X; `fortran`: written by the Fortran layer.
    (@variant large $entry:tt) => { $crate::intercept!(@kind large [] $entry); };
    (@variant fortran $entry:tt) => {};

    // ---- The kinds, each in either count flavour -------------------------------------------------------
    // Staged, completed before returning.
    (@kind $flav:ident [$($attr:tt)*] { fn $name:ident ( $($p:ident : $t:ident),* )
        blocking($($obj:tt)+) ve($($v:ident),+) => ($($r:ident),+) = $form:ident($($a:ident),*); }) => {
        $crate::entry! {
            $flav [$($attr)*] $name($($p: $t),*) ve($($v),+) obj($($obj)+) form($form($($a),*)) |call, func| {
                call(true, $($p),*)?;
                Ok($crate::requests::blocking($crate::err_obj!($($obj)+), func, |plan| {
                    // SAFETY: the arguments are the application's, as the message form expects.
                    let ($($r,)+) = unsafe { $crate::msg::$form(plan, $($a),*) }?;
                    // SAFETY: the VE buffers belong to the application and are allocated during its call.
                    unsafe { plan.load() }?;
                    call(false, $($p),*)
                }))
            }
        }
    };
    // Staged, completed by a later completion call on the request (nonblocking), or loaded again at
    // every MPI_Start (persistent). Both are staged and loaded now, then tracked under the request the
    // real call returns (persistent ones are loaded at init too: MPICH 4.0's persistent Gather and
    // Allgather read the send buffer when the request is created, so host and VE buffers behave alike).
    (@kind $flav:ident [$($attr:tt)*] { fn $name:ident ( $($p:ident : $t:ident),* )
        nonblocking($objk:ident $($obj:ident)? ; $req:ident) ve($($v:ident),+) => ($($r:ident),+) = $form:ident($($a:ident),*); }) => {
        $crate::intercept!(@post $flav [$($attr)*] $name ($($p: $t),*) Once ($objk $($obj)?; $req) ($($v),+) ($($r),+) $form ($($a),*));
    };
    (@kind $flav:ident [$($attr:tt)*] { fn $name:ident ( $($p:ident : $t:ident),* )
        persistent($objk:ident $($obj:ident)? ; $req:ident) ve($($v:ident),+) => ($($r:ident),+) = $form:ident($($a:ident),*); }) => {
        $crate::intercept!(@post $flav [$($attr)*] $name ($($p: $t),*) Persistent ($objk $($obj)?; $req) ($($v),+) ($($r),+) $form ($($a),*));
    };
    (@post $flav:ident [$($attr:tt)*] $name:ident ($($p:ident : $t:ident),*) $kind:ident ($objk:ident $($obj:ident)?; $req:ident)
        ($($v:ident),+) ($($r:ident),+) $form:ident ($($a:ident),*)) => {
        $crate::entry! {
            $flav [$($attr)*] $name($($p: $t),*) ve($($v),+) obj($objk $($obj)?) form($form($($a),*)) |call, func| {
                call(true, $($p),*)?;
                let body = |plan: &mut $crate::stage::Plan| -> $crate::errors::Result<std::ffi::c_int> {
                    // SAFETY: the arguments are the application's, as the message form expects.
                    let ($($r,)+) = unsafe { $crate::msg::$form(plan, $($a),*) }?;
                    // SAFETY: the VE buffers belong to the application and are allocated during its call.
                    unsafe { plan.load() }?;
                    call(false, $($p),*)
                };
                // SAFETY: $req is the application's request out-argument.
                Ok(unsafe { $crate::requests::post($crate::err_obj!($objk $($obj)?), func, $req, $crate::api::kind_of!($kind), body) })
            }
        }
    };
    // One-sided: staged now, origin buffers loaded; the staging is kept per window and target until
    // the synchronization that completes the operation stores the results ([`crate::rma`]).
    (@kind $flav:ident [$($attr:tt)*] { fn $name:ident ( $($p:ident : $t:ident),* )
        rma(Win $win:ident ; $target:ident) ve($($v:ident),+) => ($($r:ident),+) = $form:ident($($a:ident),*); }) => {
        $crate::entry! {
            $flav [$($attr)*] $name($($p: $t),*) ve($($v),+) obj(Win $win) form($form($($a),*)) |call, func| {
                call(true, $($p),*)?;
                Ok($crate::rma::issue($win, $target, func, |plan| {
                    // SAFETY: the arguments are the application's, as the message form expects.
                    let ($($r,)+) = unsafe { $crate::msg::$form(plan, $($a),*) }?;
                    // SAFETY: the VE buffers belong to the application and are allocated during its call.
                    unsafe { plan.load() }?;
                    call(false, $($p),*)
                }))
            }
        }
    };
    // Split collective, begin part (MPI-IO): staged and loaded now; the staging waits for the end part
    // in a table keyed by the file handle ([`crate::msg::split_begin`]).
    (@kind $flav:ident [$($attr:tt)*] { fn $name:ident ( $($p:ident : $t:ident),* )
        split_begin(File $fh:ident) ve($v:ident) => ($r:ident) = $form:ident($($a:ident),*); }) => {
        $crate::entry! {
            $flav [$($attr)*] $name($($p: $t),*) ve($v) obj(File $fh) form($form($($a),*)) |call, func| {
                call(true, $($p),*)?;
                let app = $v as *const std::ffi::c_void;
                let body = |plan: &mut $crate::stage::Plan| -> $crate::errors::Result<(std::ffi::c_int, *const std::ffi::c_void)> {
                    // SAFETY: the arguments are the application's, as the message form expects.
                    let ($r,) = unsafe { $crate::msg::$form(plan, $($a),*) }?;
                    // SAFETY: the VE buffer belongs to the application and is allocated during its call.
                    unsafe { plan.load() }?;
                    Ok((call(false, $($p),*)?, $r as *const std::ffi::c_void))
                };
                // SAFETY: $fh and $v are the application's arguments.
                unsafe { $crate::msg::split_begin($fh, func, app, body) }
            }
        }
    };
    // Split collective, end part: completes with the staging its begin part kept, then copies back.
    // (It has no count, hence no `_c`.)
    (@kind $flav:ident [$($attr:tt)*] { fn $name:ident ( $($p:ident : $t:ident),* )
        split_end(File $fh:ident) ve($v:ident) status($st:ident); }) => {
        $crate::entry! {
            $flav [$($attr)*] $name($($p: $t),*) ve($v) obj(File $fh) form(none()) |call, _func| {
                let mut failed = None;
                let end = |staged: *const std::ffi::c_void, status: *mut std::ffi::c_void| -> std::ffi::c_int {
                    let $v = staged as _;
                    let $st = status as _;
                    call(false, $($p),*).unwrap_or_else(|e| {
                        failed = Some(e);
                        $crate::real::UNAVAILABLE
                    })
                };
                // SAFETY: $fh, $v and $st are the application's arguments.
                let rc = unsafe { $crate::msg::split_end($fh, $v as *const std::ffi::c_void, $st as *mut std::ffi::c_void, end) }?;
                failed.map_or(Ok(rc), Err)
            }
        }
    };
    // Unsupported with VE buffers, forwarded with host buffers.
    (@kind $flav:ident [$($attr:tt)*] { fn $name:ident ( $($p:ident : $t:ident),* )
        refuse_ve($($obj:tt)+) ve($($v:ident),+) because $why:expr; }) => {
        $crate::entry! {
            $flav [$($attr)*] $name($($p: $t),*) ve($($v),+) obj($($obj)+) form(refused()) |call, func| {
                Err($crate::api::unsupported(true, $why))
            }
        }
        $crate::intercept!(@why $flav $name $why);
    };
    // Always unsupported.
    (@kind $flav:ident [$($attr:tt)*] { fn $name:ident ( $($p:ident : $t:ident),* )
        refuse($($obj:tt)+) because $why:expr; }) => {
        $crate::entry! {
            $flav [$($attr)*] $name($($p: $t),*) ve() obj($($obj)+) form(refused()) |func| {
                Err($crate::api::unsupported(false, $why))
            }
        }
        $crate::intercept!(@why $flav $name $why);
    };
    // The reason of a refusal, visible to the layers above (the Fortran entry points refuse alike).
    (@why int $name:ident $why:expr) => {
        $crate::api::paste::paste! {
            #[doc(hidden)]
            #[allow(non_upper_case_globals)]
            pub(crate) const [<$name _REFUSED>]: &str = $why;
        }
    };
    (@why large $name:ident $why:expr) => {};

    ($($entries:tt)*) => {
        $crate::for_each_entry!(intercept; $($entries)*);
        // The chapter's table as data, for the Fortran layer.
        $crate::entries_macro!(($) table $($entries)*);
    };
}

/// Fortran entry points for hand-written C functions of the shim (not table entries), such as the
/// synchronization calls that complete staged one-sided operations:
///
/// ```ignore
/// fortran_wrap! {
///     fn MPI_Win_fence(assert: Int, win: Win) when crate::rma::any();
/// }
/// ```
///
/// leaves the list in the chapter as the macro `wrapped!`, from which the Fortran layer writes
/// `mpi_win_fence`, `mpi_win_fence_`, `mpi_win_fence__`, `MPI_WIN_FENCE`, `ompi_win_fence_f` and
/// `mpi_win_fence_f08_` (see [`crate::fortran`]): while the condition is false they call the MPI's
/// own Fortran function, otherwise the shim's C `MPI_X` with the arguments converted.
#[macro_export]
macro_rules! fortran_wrap {
    ($($entries:tt)*) => {
        $crate::entries_macro!(($) wrapped $($entries)*);
    };
}

/// Leaves `entries` in the calling chapter as the macro `$name`: `$name!(m)` hands them to the macro
/// `m`. A chapter's `table!` ([`intercept!`]) and `wrapped!` ([`fortran_wrap!`]) are made with it, for
/// the Fortran layer. The first argument is `($)`, the dollar sign the inner macro's rule needs.
#[macro_export]
#[doc(hidden)]
macro_rules! entries_macro {
    (($d:tt) $name:ident $($entries:tt)*) => {
        #[doc(hidden)]
        #[allow(unused_macros)]
        macro_rules! $name {
            ($d($d m:tt)*) => { $d($d m)*! { $($entries)* } };
        }
        #[doc(hidden)]
        #[allow(unused_imports)]
        pub(crate) use $name;
    };
}

/// The error of an unsupported operation; `ve` says that it was refused because a buffer is in VE
/// memory.
pub fn unsupported(ve: bool, why: &str) -> crate::errors::Error {
    let what = if ve { "not supported with VE buffers by libmpi-ve" } else { "not supported by libmpi-ve" };
    crate::errors::Error::new(crate::abi::Class::Unsupported, format!("{what}: {why}"))
}

#[doc(hidden)]
pub use paste;

/// The request kind of a nonblocking or persistent entry.
#[doc(hidden)]
#[macro_export]
macro_rules! __mpive_kind_of {
    (Once) => { $crate::requests::Kind::Once };
    (Persistent) => { $crate::requests::Kind::Persistent { active: false } };
}
#[doc(hidden)]
pub use __mpive_kind_of as kind_of;
