//! The real library's functions, resolved past the protocol's own interposers.

use crate::abi::Handle;
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicPtr, Ordering};

/// A `PMPI_*` function of the real library, resolved without the interposition of this module (the
/// shim's own calls, and the interposers' forwarding).
pub(crate) struct Direct {
    name: &'static str,
    ptr: AtomicPtr<c_void>,
}

impl Direct {
    pub(crate) const fn new(name: &'static str) -> Direct {
        Direct { name, ptr: AtomicPtr::new(std::ptr::null_mut()) }
    }

    #[inline]
    pub(crate) fn get(&self) -> *mut c_void {
        let p = self.ptr.load(Ordering::Relaxed);
        if !p.is_null() {
            return p;
        }
        self.resolve()
    }

    #[cold]
    fn resolve(&self) -> *mut c_void {
        let m = match crate::real::mpi() {
            Ok(m) => m,
            Err(e) => crate::real::fatal(e),
        };
        match m.sym(self.name) {
            Some(p) => {
                self.ptr.store(p, Ordering::Relaxed);
                p
            }
            None => crate::real::fatal(&format!("the MPI library has no {}", self.name)),
        }
    }
}

/// `fn NAME(args) -> c_int` calling the real `NAME` directly.
macro_rules! direct {
    ($( fn $name:ident ( $($p:ident : $t:ty),* $(,)? ); )*) => {
        $(
            #[allow(non_snake_case, clippy::too_many_arguments)]
            pub(crate) unsafe fn $name($($p: $t),*) -> c_int {
                static D: Direct = Direct::new(stringify!($name));
                // SAFETY: the symbol is the real library's function of this signature; the caller
                // passes valid arguments.
                unsafe { std::mem::transmute::<*mut c_void, unsafe extern "C" fn($($t),*) -> c_int>(D.get())($($p),*) }
            }
        )*
    };
}

direct! {
    fn PMPI_Isend(buf: *const c_void, count: c_int, dt: Handle, dest: c_int, tag: c_int, comm: Handle, req: *mut c_void);
    fn PMPI_Irecv(buf: *mut c_void, count: c_int, dt: Handle, src: c_int, tag: c_int, comm: Handle, req: *mut c_void);
    fn PMPI_Sendrecv(sbuf: *const c_void, scount: c_int, stype: Handle, dest: c_int, stag: c_int, rbuf: *mut c_void,
                     rcount: c_int, rtype: Handle, src: c_int, rtag: c_int, comm: Handle, status: *mut c_void);
    fn PMPI_Test(req: *mut c_void, flag: *mut c_int, status: *mut c_void);
    fn PMPI_Iallreduce(sbuf: *const c_void, rbuf: *mut c_void, count: c_int, dt: Handle, op: Handle, comm: Handle, req: *mut c_void);
    fn PMPI_Ibcast(buf: *mut c_void, count: c_int, dt: Handle, root: c_int, comm: Handle, req: *mut c_void);
    fn PMPI_Comm_dup(comm: Handle, newcomm: *mut c_void);
    fn PMPI_Comm_free(comm: *mut c_void);
    fn PMPI_Comm_rank(comm: Handle, rank: *mut c_int);
    fn PMPI_Comm_group(comm: Handle, group: *mut c_void);
    fn PMPI_Comm_remote_group(comm: Handle, group: *mut c_void);
    fn PMPI_Comm_test_inter(comm: Handle, flag: *mut c_int);
    fn PMPI_Group_size(group: Handle, size: *mut c_int);
    fn PMPI_Group_translate_ranks(g1: Handle, n: c_int, r1: *const c_int, g2: Handle, r2: *mut c_int);
    fn PMPI_Group_free(group: *mut c_void);
    fn PMPI_Comm_create_keyval(copy: *const c_void, delete: *const c_void, keyval: *mut c_int, extra: *mut c_void);
    fn PMPI_Comm_free_keyval(keyval: *mut c_int);
    fn PMPI_Comm_set_attr(comm: Handle, keyval: c_int, val: *mut c_void);
    fn PMPI_Comm_get_attr(comm: Handle, keyval: c_int, val: *mut c_void, flag: *mut c_int);
    fn PMPI_Status_set_elements_x(status: *mut c_void, dt: Handle, count: i64);
    fn PMPI_Get_elements_x(status: *const c_void, dt: Handle, count: *mut i64);
}
