//! Errors: every failure of the shim becomes an MPI error code, raised through the error handler of
//! the object the call was made on (communicator, file or window), with an error string that names the
//! call and says how to fix the problem.
//!
//! Each distinct message gets its own error code (MPI_Add_error_code in the right class, then
//! MPI_Add_error_string). MPICH 4.0 leaves the dynamic-code bit off the codes it adds to predefined
//! classes, so its MPI_Error_string prints an unrelated internal message for them; the bit is set here
//! ([`crate::abi::Abi::fix_added_code`]), and the shim answers MPI_Error_class and MPI_Error_string for
//! its own codes itself ([`crate::api::environment`]), so both work the same on every MPI. When the
//! handler is fatal the message is also printed to stderr first, since MPICH prints only the class text.

use crate::abi::{Class, Comm, File, Handle, Win};
use crate::real::{self, pmpi};
use once_cell::sync::Lazy;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::ffi::{c_int, c_void, CString};
use std::sync::atomic::{AtomicBool, Ordering};

/// A failure detected by the shim.
#[derive(Debug, Clone)]
pub struct Error {
    pub class: Class,
    pub msg: String,
}

impl Error {
    pub fn new(class: Class, msg: impl Into<String>) -> Error {
        Error { class, msg: msg.into() }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// The MPI object whose error handler reports an error.
#[derive(Clone, Copy, Debug)]
pub enum Obj {
    Comm(Comm),
    File(File),
    Win(Win),
    /// No object: MPI_COMM_WORLD's handler (e.g. completion calls on request arrays).
    World,
}

/// Most distinct messages that get their own error code; later ones share their class's code.
const MAX_CODES: usize = 512;

/// The codes the shim created: message -> code, and code -> (class number, message).
#[derive(Default)]
struct Codes {
    by_text: HashMap<(Class, String), c_int>,
    by_code: HashMap<c_int, (c_int, String)>,
}

static CODES: Lazy<Mutex<Codes>> = Lazy::new(|| Mutex::new(Codes::default()));
/// Set once the first code exists, so error-string calls skip the table until then.
static ANY_CODE: AtomicBool = AtomicBool::new(false);

/// The class and message of an error code the shim created.
pub fn lookup(code: c_int) -> Option<(c_int, String)> {
    if !ANY_CODE.load(Ordering::Acquire) {
        return None;
    }
    CODES.lock().by_code.get(&code).cloned()
}

/// `text`, cut to fit MPI_MAX_ERROR_STRING (with its NUL) of the running MPI.
fn fit(text: &str, max: usize) -> String {
    if text.len() < max {
        return text.to_string();
    }
    let mut end = max - 4;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// An error code of class `class` whose MPI_Error_string is `text`.
fn code_for(class: Class, text: &str) -> c_int {
    let abi = real::abi();
    let text = &fit(text, abi.max_error_string);
    let class_no = abi.class(class);
    let mut codes = CODES.lock();
    if let Some(&c) = codes.by_text.get(&(class, text.to_string())) {
        return c;
    }
    if codes.by_text.len() >= MAX_CODES {
        return class_no;
    }
    let mut code: c_int = 0;
    let Ok(ctext) = CString::new(text.replace('\0', " ")) else { return class_no };
    // SAFETY: plain MPI calls with valid out-pointers; they fail harmlessly before MPI_Init.
    let ok = unsafe {
        pmpi::PMPI_Add_error_code(class_no, &mut code) == 0 && {
            code = abi.fix_added_code(code);
            pmpi::PMPI_Add_error_string(code, ctext.as_ptr()) == 0
        }
    };
    let code = if ok { code } else { class_no };
    codes.by_text.insert((class, text.to_string()), code);
    if ok {
        codes.by_code.insert(code, (class_no, text.to_string()));
        ANY_CODE.store(true, Ordering::Release);
    }
    code
}

/// Whether the error handler attached to `obj` aborts the program.
unsafe fn handler_is_fatal(obj: Obj) -> Option<bool> {
    let abi = real::abi();
    let mut eh: u64 = 0;
    let p = &mut eh as *mut u64 as *mut c_void;
    // SAFETY: eh is large enough for a handle of either ABI.
    let rc = unsafe {
        match obj {
            Obj::Comm(c) => pmpi::PMPI_Comm_get_errhandler(c, p),
            Obj::File(f) => pmpi::PMPI_File_get_errhandler(f, p),
            Obj::Win(w) => pmpi::PMPI_Win_get_errhandler(w, p),
            Obj::World => pmpi::PMPI_Comm_get_errhandler(abi.h.comm_world, p),
        }
    };
    if rc != 0 {
        return None;
    }
    let h = abi.norm(eh as Handle);
    let fatal = h == abi.norm(abi.h.errors_are_fatal) || abi.h.errors_abort.is_some_and(|a| abi.norm(a) == h);
    // SAFETY: releases the reference MPI_*_get_errhandler returned.
    unsafe { pmpi::PMPI_Errhandler_free(p) };
    Some(fatal)
}

/// Raises `e`, detected in `func`, through `obj`'s error handler and returns the error code that the
/// intercepted function returns to its caller.
///
/// Raising cannot unwind into C: should it panic itself (making the error code, asking for the
/// handler), the message goes to stderr and the class's code of the running MPI is returned.
///
/// # Safety
/// `obj` holds a handle given by the application to `func`.
pub unsafe fn raise(obj: Obj, func: &str, e: &Error) -> c_int {
    let text = format!("{func}: {}", e.msg);
    // SAFETY: forwarded contract.
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe { raise_text(obj, e.class, &text) }));
    r.unwrap_or_else(|p| {
        report_without_object(&format!("{text} (and raising it failed: {})", from_panic(p).msg));
        std::panic::catch_unwind(|| real::abi().class(e.class)).unwrap_or(-1)
    })
}

/// The body of [`raise`]: `text` is the complete error string.
///
/// # Safety
/// As [`raise`].
unsafe fn raise_text(obj: Obj, class: Class, text: &str) -> c_int {
    log::error!("{text}");
    let code = code_for(class, text);
    // SAFETY: forwarded contract.
    let fatal = unsafe { handler_is_fatal(obj) };
    if fatal != Some(false) {
        // The default handler aborts; MPICH would only print the class text.
        report_without_object(text);
    }
    let world = real::abi().h.comm_world;
    // SAFETY: calling the handler of the application's object with a valid code.
    unsafe {
        match obj {
            Obj::Comm(c) => pmpi::PMPI_Comm_call_errhandler(c, code),
            Obj::File(f) => pmpi::PMPI_File_call_errhandler(f, code),
            Obj::Win(w) => pmpi::PMPI_Win_call_errhandler(w, code),
            Obj::World => pmpi::PMPI_Comm_call_errhandler(world, code),
        };
    }
    code
}

/// Reports a problem that has no MPI object to go through (e.g. the real library lacks a function).
pub fn report_without_object(msg: &str) {
    use std::io::Write;
    // One write, so that the lines of several ranks do not interleave.
    let _ = std::io::stderr().lock().write_all(format!("libmpive: {msg}\n").as_bytes());
}

/// The message for a panic caught at the C boundary.
pub fn from_panic(p: Box<dyn std::any::Any + Send>) -> Error {
    let what = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    Error::new(Class::Intern, format!("internal error in libmpive ({what}); please report it with MPIVE_LOG=debug output"))
}

/// The one finisher of every slow path and exported body: turns its outcome (a return code, a shim
/// error, or a panic caught by [`crate::ffi::boundary`]) into the code the MPI function returns,
/// raising errors through `obj`'s error handler.
pub fn finish(obj: Obj, func: &'static str, r: std::thread::Result<Result<c_int>>) -> c_int {
    let e = match r {
        Ok(Ok(rc)) => return rc,
        Ok(Err(e)) => e,
        Err(p) => from_panic(p),
    };
    // SAFETY: obj holds a handle the application passed to func.
    unsafe { raise(obj, func, &e) }
}
