//! Fortran completion calls: Wait, Test and their any/all/some forms, MPI_Request_get_status,
//! MPI_Request_free, MPI_Start, MPI_Startall, and MPI_Finalize.
//!
//! A Fortran program's completion call must reach the shim's C completion calls
//! ([`crate::api::completion`]), or VE receives are never copied back and persistent sends never
//! loaded again. With Open MPI none does on its own (`mpi_wait_` and the f08 `mpi_wait_f08_`, through
//! `ompi_wait_f`, call `PMPI_Wait`); with MPICH the `mpif.h`/`use mpi` ones do (`mpi_wait_` calls the
//! C `MPI_Wait`) but the `use mpi_f08` ones (`mpi_wait_f08_`) call `PMPI_Wait`.
//!
//! Open MPI's f08 MPI_Test, Testall, Testany, Testsome and Request_get_status call `pmpi_test_` and
//! so on directly, and MPICH 4.0's f08 completion calls do not make the indices of Waitany/Waitsome
//! 1-based (the shim keeps that behaviour: it only adds the copy back).
//!
//! So each of these entry points forwards to the MPI's own Fortran function while no request with VE
//! buffers is pending ([`crate::requests::any`], one load) or where the MPI's binding already reaches
//! the C function, and otherwise converts the arguments exactly as the MPI's binding would and calls the
//! shim's C function. Open MPI's f08 arguments are those of its f77 layer, so there `mpi_x_f08_`
//! takes the f77 path.

use super::{request, request_c2f, sentinels, set, status_c2f};
use crate::abi::{Request, StatusBuf};
use crate::api::completion as c;
use crate::real::{abi, Scope};
use std::ffi::{c_int, c_void};

type P = *mut c_void;
type Ierr = *mut c_int;

/// Whether an `mpif.h`/`use mpi` completion call must be converted here (Open MPI with VE requests).
#[inline]
fn slow_f77() -> bool {
    crate::requests::any() && !crate::stage::reentered() && !super::f77_reaches_c()
}


/// Writes a LOGICAL.
unsafe fn logical(f: P, v: c_int) {
    // SAFETY: the application's LOGICAL (gfortran: 4 bytes, .TRUE. is 1).
    unsafe { (f as *mut c_int).write_unaligned((v != 0) as c_int) };
}

/// C requests for `n` Fortran ones.
unsafe fn requests_f2c(f: P, n: c_int) -> Vec<u64> {
    let abi = abi();
    let mut v = vec![0u64; n.max(0) as usize];
    for (i, slot) in v.iter_mut().enumerate() {
        // SAFETY: the application passes n requests; slot holds one handle.
        unsafe { abi.set_handle_at(slot as *mut u64 as P, 0, request((f as *const c_int).add(i) as *const c_void)) };
    }
    v
}

/// Stores C request `i` back into the Fortran array.
unsafe fn request_back(f: P, creqs: &[u64], i: usize) {
    // SAFETY: i < n, and both arrays have n elements.
    unsafe {
        let h = Request::from_raw(abi().handle_at(creqs.as_ptr() as *const c_void, i));
        (f as *mut c_int).add(i).write_unaligned(request_c2f(h));
    }
}

/// C statuses for a Fortran status array (or MPI_STATUSES_IGNORE).
fn statuses_for(f: P, n: c_int, own: &mut Vec<u8>) -> P {
    let abi = abi();
    if f as usize == sentinels().statuses_ignore {
        return abi.statuses_ignore as P;
    }
    own.resize(n.max(1) as usize * abi.status.size, 0);
    own.as_mut_ptr() as P
}

/// Copies C status `i` to Fortran status `k`.
unsafe fn status_back(csts: P, i: usize, f: P, k: usize) {
    let abi = abi();
    let fsize = abi.fortran.status_size * std::mem::size_of::<c_int>();
    // SAFETY: csts has room for i + 1 C statuses and f for k + 1 Fortran ones.
    unsafe { status_c2f(abi.status_at(csts, i), (f as usize + k * fsize) as P) };
}

/// A C status for a Fortran status argument: MPI_STATUS_IGNORE or `own`.
fn status_for(f: P, own: &mut StatusBuf) -> (P, bool) {
    let s = sentinels();
    if f as usize == s.status_ignore {
        (abi().status_ignore as P, false)
    } else {
        (own.as_mut_ptr(), true)
    }
}

/// The C status for a `use mpi_f08` status argument of MPICH (laid out as in C).
fn f08_status(f: P) -> P {
    if f as usize == sentinels().f08_status_ignore {
        abi().status_ignore as P
    } else {
        f
    }
}

fn f08_statuses(f: P) -> P {
    if f as usize == sentinels().f08_statuses_ignore {
        abi().statuses_ignore as P
    } else {
        f
    }
}

/// Calls the MPI's own Fortran function `$name` (looked up in `$scope`) with `$a` and ierror, and returns.
macro_rules! forward {
    ($name:literal, $scope:ident, ($($a:ident),*) $ierr:ident) => {{
        match crate::real_fn!($name, $scope, fn($(forward!(@p $a),)* Ierr)) {
            // SAFETY: the MPI's Fortran entry point, with the application's arguments.
            Some(f) => unsafe { f($($a,)* $ierr) },
            // SAFETY: the application's ierror.
            None => unsafe { set($ierr, crate::real::missing($name)) },
        }
        return;
    }};
    (@p $a:ident) => { P };
}

const G: Scope = Scope::Global;
const N: Scope = Scope::Next;

// ---- MPI_Wait / MPI_Test -------------------------------------------------------------------------

crate::fortran_names!(MPI_Wait (a, b) [] { f77_wait } { f08_wait });
unsafe fn f77_wait(freq: P, fst: P, ierror: Ierr) {
    if !slow_f77() {
        forward!("pmpi_wait_", G, (freq, fst) ierror);
    }
    // SAFETY: the application's Fortran arguments, converted as the MPI's own binding would.
    let rc = super::guard("mpi_wait", "MPI_Wait", || Ok(unsafe {
        let mut creq = [0u64];
        abi().set_handle_at(creq.as_mut_ptr() as P, 0, request(freq));
        let mut own = StatusBuf::new();
        let (cst, copy) = status_for(fst, &mut own);
        let rc = c::MPI_Wait(creq.as_mut_ptr() as P, cst);
        if rc == 0 {
            request_back(freq, &creq, 0);
            if copy {
                status_c2f(cst, fst);
            }
        }
        rc
    }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}
unsafe fn f08_wait(freq: P, fst: P, ierror: Ierr) {
    if !crate::requests::any() || crate::stage::reentered() {
        forward!("mpi_wait_f08_", N, (freq, fst) ierror);
    }
    if !abi().fortran.f08_completion_is_pmpi {
        // SAFETY: Open MPI's f08 arguments are laid out as its f77 ones.
        return unsafe { f77_wait(freq, fst, ierror) };
    }
    // SAFETY: MPICH's f08 request and status are laid out as in C.
    let rc = super::guard("mpi_wait", "MPI_Wait", || Ok(unsafe { c::MPI_Wait(freq, f08_status(fst)) }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}

crate::fortran_names!(MPI_Test (a, b, c) [] { f77_test } { f08_test });
unsafe fn f77_test(freq: P, fflag: P, fst: P, ierror: Ierr) {
    if !slow_f77() {
        forward!("pmpi_test_", G, (freq, fflag, fst) ierror);
    }
    // SAFETY: the application's Fortran arguments, converted as the MPI's own binding would.
    let rc = super::guard("mpi_test", "MPI_Test", || Ok(unsafe {
        let mut creq = [0u64];
        abi().set_handle_at(creq.as_mut_ptr() as P, 0, request(freq));
        let mut own = StatusBuf::new();
        let (cst, copy) = status_for(fst, &mut own);
        let mut flag = 0;
        let rc = c::MPI_Test(creq.as_mut_ptr() as P, &mut flag, cst);
        if rc == 0 {
            request_back(freq, &creq, 0);
            logical(fflag, flag);
            if copy && flag != 0 {
                status_c2f(cst, fst);
            }
        }
        rc
    }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}
unsafe fn f08_test(freq: P, fflag: P, fst: P, ierror: Ierr) {
    if !crate::requests::any() || crate::stage::reentered() {
        forward!("mpi_test_f08_", N, (freq, fflag, fst) ierror);
    }
    if !abi().fortran.f08_completion_is_pmpi {
        // SAFETY: Open MPI's f08 arguments are laid out as its f77 ones.
        return unsafe { f77_test(freq, fflag, fst, ierror) };
    }
    // SAFETY: the application's Fortran arguments, converted as the MPI's own binding would.
    let rc = super::guard("mpi_test", "MPI_Test", || Ok(unsafe {
        let mut flag = 0;
        let rc = c::MPI_Test(freq, &mut flag, f08_status(fst));
        logical(fflag, flag);
        rc
    }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}

// ---- MPI_Waitany / MPI_Testany -----------------------------------------------------------------

/// The Fortran index of the completed request (1-based) from the C one, storing that request back.
unsafe fn any_back(freqs: P, creqs: &[u64], cidx: c_int) -> c_int {
    if cidx == abi().undefined || cidx < 0 {
        return cidx;
    }
    // SAFETY: cidx is an index into both arrays.
    unsafe { request_back(freqs, creqs, cidx as usize) };
    cidx + 1
}

crate::fortran_names!(MPI_Waitany (a, b, c, d) [] { f77_waitany } { f08_waitany });
unsafe fn f77_waitany(fcount: P, freqs: P, findex: P, fst: P, ierror: Ierr) {
    if !slow_f77() {
        forward!("pmpi_waitany_", G, (fcount, freqs, findex, fst) ierror);
    }
    // SAFETY: the application's Fortran arguments, converted as the MPI's own binding would.
    let rc = super::guard("mpi_waitany", "MPI_Waitany", || Ok(unsafe {
        let n = super::int(fcount);
        let mut creqs = requests_f2c(freqs, n);
        let mut own = StatusBuf::new();
        let (cst, copy) = status_for(fst, &mut own);
        let mut idx = 0;
        let rc = c::MPI_Waitany(n, creqs.as_mut_ptr() as P, &mut idx, cst);
        if rc == 0 {
            (findex as *mut c_int).write_unaligned(any_back(freqs, &creqs, idx));
            if copy {
                status_c2f(cst, fst);
            }
        }
        rc
    }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}
unsafe fn f08_waitany(fcount: P, freqs: P, findex: P, fst: P, ierror: Ierr) {
    if !crate::requests::any() || crate::stage::reentered() {
        forward!("mpi_waitany_f08_", N, (fcount, freqs, findex, fst) ierror);
    }
    if !abi().fortran.f08_completion_is_pmpi {
        // SAFETY: Open MPI's f08 arguments are laid out as its f77 ones.
        return unsafe { f77_waitany(fcount, freqs, findex, fst, ierror) };
    }
    // SAFETY: MPICH's f08 arguments are laid out as in C; its own binding passes the index unchanged.
    let rc = super::guard("mpi_waitany", "MPI_Waitany", || Ok(unsafe { c::MPI_Waitany(super::int(fcount), freqs, findex as *mut c_int, f08_status(fst)) }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}

crate::fortran_names!(MPI_Testany (a, b, c, d, e) [] { f77_testany } { f08_testany });
unsafe fn f77_testany(fcount: P, freqs: P, findex: P, fflag: P, fst: P, ierror: Ierr) {
    if !slow_f77() {
        forward!("pmpi_testany_", G, (fcount, freqs, findex, fflag, fst) ierror);
    }
    // SAFETY: the application's Fortran arguments, converted as the MPI's own binding would.
    let rc = super::guard("mpi_testany", "MPI_Testany", || Ok(unsafe {
        let n = super::int(fcount);
        let mut creqs = requests_f2c(freqs, n);
        let mut own = StatusBuf::new();
        let (cst, copy) = status_for(fst, &mut own);
        let (mut idx, mut flag) = (0, 0);
        let rc = c::MPI_Testany(n, creqs.as_mut_ptr() as P, &mut idx, &mut flag, cst);
        if rc == 0 {
            (findex as *mut c_int).write_unaligned(any_back(freqs, &creqs, idx));
            logical(fflag, flag);
            if copy && flag != 0 {
                status_c2f(cst, fst);
            }
        }
        rc
    }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}
unsafe fn f08_testany(fcount: P, freqs: P, findex: P, fflag: P, fst: P, ierror: Ierr) {
    if !crate::requests::any() || crate::stage::reentered() {
        forward!("mpi_testany_f08_", N, (fcount, freqs, findex, fflag, fst) ierror);
    }
    if !abi().fortran.f08_completion_is_pmpi {
        // SAFETY: Open MPI's f08 arguments are laid out as its f77 ones.
        return unsafe { f77_testany(fcount, freqs, findex, fflag, fst, ierror) };
    }
    // SAFETY: the application's Fortran arguments, converted as the MPI's own binding would.
    let rc = super::guard("mpi_testany", "MPI_Testany", || Ok(unsafe {
        let mut flag = 0;
        let rc = c::MPI_Testany(super::int(fcount), freqs, findex as *mut c_int, &mut flag, f08_status(fst));
        logical(fflag, flag);
        rc
    }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}

// ---- MPI_Waitall / MPI_Testall -----------------------------------------------------------------

crate::fortran_names!(MPI_Waitall (a, b, c) [] { f77_waitall } { f08_waitall });
unsafe fn f77_waitall(fcount: P, freqs: P, fsts: P, ierror: Ierr) {
    if !slow_f77() {
        forward!("pmpi_waitall_", G, (fcount, freqs, fsts) ierror);
    }
    // SAFETY: the application's Fortran arguments, converted as the MPI's own binding would.
    let rc = super::guard("mpi_waitall", "MPI_Waitall", || Ok(unsafe {
        let n = super::int(fcount);
        let mut creqs = requests_f2c(freqs, n);
        let mut own = Vec::new();
        let csts = statuses_for(fsts, n, &mut own);
        let rc = c::MPI_Waitall(n, creqs.as_mut_ptr() as P, csts);
        if rc == 0 {
            for i in 0..n.max(0) as usize {
                request_back(freqs, &creqs, i);
                if !own.is_empty() {
                    status_back(csts, i, fsts, i);
                }
            }
        }
        rc
    }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}
unsafe fn f08_waitall(fcount: P, freqs: P, fsts: P, ierror: Ierr) {
    if !crate::requests::any() || crate::stage::reentered() {
        forward!("mpi_waitall_f08_", N, (fcount, freqs, fsts) ierror);
    }
    if !abi().fortran.f08_completion_is_pmpi {
        // SAFETY: Open MPI's f08 arguments are laid out as its f77 ones.
        return unsafe { f77_waitall(fcount, freqs, fsts, ierror) };
    }
    // SAFETY: MPICH's f08 arguments are laid out as in C.
    let rc = super::guard("mpi_waitall", "MPI_Waitall", || Ok(unsafe { c::MPI_Waitall(super::int(fcount), freqs, f08_statuses(fsts)) }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}

crate::fortran_names!(MPI_Testall (a, b, c, d) [] { f77_testall } { f08_testall });
unsafe fn f77_testall(fcount: P, freqs: P, fflag: P, fsts: P, ierror: Ierr) {
    if !slow_f77() {
        forward!("pmpi_testall_", G, (fcount, freqs, fflag, fsts) ierror);
    }
    // SAFETY: the application's Fortran arguments, converted as the MPI's own binding would.
    let rc = super::guard("mpi_testall", "MPI_Testall", || Ok(unsafe {
        let n = super::int(fcount);
        let mut creqs = requests_f2c(freqs, n);
        let mut own = Vec::new();
        let csts = statuses_for(fsts, n, &mut own);
        let mut flag = 0;
        let rc = c::MPI_Testall(n, creqs.as_mut_ptr() as P, &mut flag, csts);
        if rc == 0 {
            logical(fflag, flag);
            if flag != 0 {
                for i in 0..n.max(0) as usize {
                    request_back(freqs, &creqs, i);
                    if !own.is_empty() {
                        status_back(csts, i, fsts, i);
                    }
                }
            }
        }
        rc
    }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}
unsafe fn f08_testall(fcount: P, freqs: P, fflag: P, fsts: P, ierror: Ierr) {
    if !crate::requests::any() || crate::stage::reentered() {
        forward!("mpi_testall_f08_", N, (fcount, freqs, fflag, fsts) ierror);
    }
    if !abi().fortran.f08_completion_is_pmpi {
        // SAFETY: Open MPI's f08 arguments are laid out as its f77 ones.
        return unsafe { f77_testall(fcount, freqs, fflag, fsts, ierror) };
    }
    // SAFETY: the application's Fortran arguments, converted as the MPI's own binding would.
    let rc = super::guard("mpi_testall", "MPI_Testall", || Ok(unsafe {
        let mut flag = 0;
        let rc = c::MPI_Testall(super::int(fcount), freqs, &mut flag, f08_statuses(fsts));
        logical(fflag, flag);
        rc
    }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}

// ---- MPI_Waitsome / MPI_Testsome ---------------------------------------------------------------

/// Stores back the completed requests and statuses of a some-call and makes the indices 1-based.
unsafe fn some_back(freqs: P, creqs: &[u64], outcount: c_int, indices: P, csts: P, fsts: P, copy: bool) {
    if outcount == abi().undefined {
        return;
    }
    for k in 0..outcount.max(0) as usize {
        // SAFETY: the call filled outcount indices into the application's array.
        unsafe {
            let ip = (indices as *mut c_int).add(k);
            let i = ip.read_unaligned();
            request_back(freqs, creqs, i as usize);
            ip.write_unaligned(i + 1);
            if copy {
                status_back(csts, k, fsts, k);
            }
        }
    }
}

crate::fortran_names!(MPI_Waitsome (a, b, c, d, e) [] { f77_waitsome } { f08_waitsome });
unsafe fn f77_waitsome(fcount: P, freqs: P, fout: P, findices: P, fsts: P, ierror: Ierr) {
    if !slow_f77() {
        forward!("pmpi_waitsome_", G, (fcount, freqs, fout, findices, fsts) ierror);
    }
    // SAFETY: the application's Fortran arguments, converted as the MPI's own binding would.
    let rc = super::guard("mpi_waitsome", "MPI_Waitsome", || Ok(unsafe {
        let n = super::int(fcount);
        let mut creqs = requests_f2c(freqs, n);
        let mut own = Vec::new();
        let csts = statuses_for(fsts, n, &mut own);
        let mut out = 0;
        let rc = c::MPI_Waitsome(n, creqs.as_mut_ptr() as P, &mut out, findices as *mut c_int, csts);
        if rc == 0 {
            some_back(freqs, &creqs, out, findices, csts, fsts, !own.is_empty());
            (fout as *mut c_int).write_unaligned(out);
        }
        rc
    }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}
unsafe fn f08_waitsome(fcount: P, freqs: P, fout: P, findices: P, fsts: P, ierror: Ierr) {
    if !crate::requests::any() || crate::stage::reentered() {
        forward!("mpi_waitsome_f08_", N, (fcount, freqs, fout, findices, fsts) ierror);
    }
    if !abi().fortran.f08_completion_is_pmpi {
        // SAFETY: Open MPI's f08 arguments are laid out as its f77 ones.
        return unsafe { f77_waitsome(fcount, freqs, fout, findices, fsts, ierror) };
    }
    // SAFETY: MPICH's f08 arguments are laid out as in C; its own binding passes the indices unchanged.
    let rc = super::guard("mpi_waitsome", "MPI_Waitsome", || Ok(unsafe {
        c::MPI_Waitsome(super::int(fcount), freqs, fout as *mut c_int, findices as *mut c_int, f08_statuses(fsts))
    }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}

crate::fortran_names!(MPI_Testsome (a, b, c, d, e) [] { f77_testsome } { f08_testsome });
unsafe fn f77_testsome(fcount: P, freqs: P, fout: P, findices: P, fsts: P, ierror: Ierr) {
    if !slow_f77() {
        forward!("pmpi_testsome_", G, (fcount, freqs, fout, findices, fsts) ierror);
    }
    // SAFETY: the application's Fortran arguments, converted as the MPI's own binding would.
    let rc = super::guard("mpi_testsome", "MPI_Testsome", || Ok(unsafe {
        let n = super::int(fcount);
        let mut creqs = requests_f2c(freqs, n);
        let mut own = Vec::new();
        let csts = statuses_for(fsts, n, &mut own);
        let mut out = 0;
        let rc = c::MPI_Testsome(n, creqs.as_mut_ptr() as P, &mut out, findices as *mut c_int, csts);
        if rc == 0 {
            some_back(freqs, &creqs, out, findices, csts, fsts, !own.is_empty());
            (fout as *mut c_int).write_unaligned(out);
        }
        rc
    }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}
unsafe fn f08_testsome(fcount: P, freqs: P, fout: P, findices: P, fsts: P, ierror: Ierr) {
    if !crate::requests::any() || crate::stage::reentered() {
        forward!("mpi_testsome_f08_", N, (fcount, freqs, fout, findices, fsts) ierror);
    }
    if !abi().fortran.f08_completion_is_pmpi {
        // SAFETY: Open MPI's f08 arguments are laid out as its f77 ones.
        return unsafe { f77_testsome(fcount, freqs, fout, findices, fsts, ierror) };
    }
    // SAFETY: as for f08_waitsome.
    let rc = super::guard("mpi_testsome", "MPI_Testsome", || Ok(unsafe {
        c::MPI_Testsome(super::int(fcount), freqs, fout as *mut c_int, findices as *mut c_int, f08_statuses(fsts))
    }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}

// ---- MPI_Request_get_status, MPI_Request_free, MPI_Start, MPI_Startall -------------------------

crate::fortran_names!(MPI_Request_get_status (a, b, c) [] { f77_request_get_status } { f08_request_get_status });
unsafe fn f77_request_get_status(freq: P, fflag: P, fst: P, ierror: Ierr) {
    if !slow_f77() {
        forward!("pmpi_request_get_status_", G, (freq, fflag, fst) ierror);
    }
    // SAFETY: the application's Fortran arguments, converted as the MPI's own binding would.
    let rc = super::guard("mpi_request_get_status", "MPI_Request_get_status", || Ok(unsafe {
        let mut own = StatusBuf::new();
        let (cst, copy) = status_for(fst, &mut own);
        let mut flag = 0;
        let rc = c::MPI_Request_get_status(request(freq), &mut flag, cst);
        if rc == 0 {
            logical(fflag, flag);
            if copy && flag != 0 {
                status_c2f(cst, fst);
            }
        }
        rc
    }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}
unsafe fn f08_request_get_status(freq: P, fflag: P, fst: P, ierror: Ierr) {
    if !crate::requests::any() || crate::stage::reentered() {
        forward!("mpi_request_get_status_f08_", N, (freq, fflag, fst) ierror);
    }
    if !abi().fortran.f08_completion_is_pmpi {
        // SAFETY: Open MPI's f08 arguments are laid out as its f77 ones.
        return unsafe { f77_request_get_status(freq, fflag, fst, ierror) };
    }
    // SAFETY: the application's Fortran arguments, converted as the MPI's own binding would.
    let rc = super::guard("mpi_request_get_status", "MPI_Request_get_status", || Ok(unsafe {
        let mut flag = 0;
        let rc = c::MPI_Request_get_status(request(freq), &mut flag, f08_status(fst));
        logical(fflag, flag);
        rc
    }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}

crate::fortran_names!(MPI_Request_free (a) [] { f77_request_free } { f08_request_free });
unsafe fn f77_request_free(freq: P, ierror: Ierr) {
    if !slow_f77() {
        forward!("pmpi_request_free_", G, (freq) ierror);
    }
    // SAFETY: the application's Fortran arguments, converted as the MPI's own binding would.
    let rc = super::guard("mpi_request_free", "MPI_Request_free", || Ok(unsafe {
        let mut creq = [0u64];
        abi().set_handle_at(creq.as_mut_ptr() as P, 0, request(freq));
        let rc = c::MPI_Request_free(creq.as_mut_ptr() as P);
        if rc == 0 {
            request_back(freq, &creq, 0);
        }
        rc
    }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}
unsafe fn f08_request_free(freq: P, ierror: Ierr) {
    if !crate::requests::any() || crate::stage::reentered() {
        forward!("mpi_request_free_f08_", N, (freq) ierror);
    }
    if !abi().fortran.f08_completion_is_pmpi {
        // SAFETY: Open MPI's f08 arguments are laid out as its f77 ones.
        return unsafe { f77_request_free(freq, ierror) };
    }
    // SAFETY: MPICH's f08 request is a C request.
    let rc = super::guard("mpi_request_free", "MPI_Request_free", || Ok(unsafe { c::MPI_Request_free(freq) }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}

crate::fortran_names!(MPI_Start (a) [] { f77_start } { f08_start });
unsafe fn f77_start(freq: P, ierror: Ierr) {
    if !slow_f77() {
        forward!("pmpi_start_", G, (freq) ierror);
    }
    // SAFETY: the application's Fortran arguments, converted as the MPI's own binding would.
    let rc = super::guard("mpi_start", "MPI_Start", || Ok(unsafe {
        let mut creq = [0u64];
        abi().set_handle_at(creq.as_mut_ptr() as P, 0, request(freq));
        c::MPI_Start(creq.as_mut_ptr() as P)
    }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}
unsafe fn f08_start(freq: P, ierror: Ierr) {
    if !crate::requests::any() || crate::stage::reentered() {
        forward!("mpi_start_f08_", N, (freq) ierror);
    }
    if !abi().fortran.f08_completion_is_pmpi {
        // SAFETY: Open MPI's f08 arguments are laid out as its f77 ones.
        return unsafe { f77_start(freq, ierror) };
    }
    // SAFETY: MPICH's f08 request is a C request.
    let rc = super::guard("mpi_start", "MPI_Start", || Ok(unsafe { c::MPI_Start(freq) }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}

crate::fortran_names!(MPI_Startall (a, b) [] { f77_startall } { f08_startall });
unsafe fn f77_startall(fcount: P, freqs: P, ierror: Ierr) {
    if !slow_f77() {
        forward!("pmpi_startall_", G, (fcount, freqs) ierror);
    }
    // SAFETY: the application's Fortran arguments, converted as the MPI's own binding would.
    let rc = super::guard("mpi_startall", "MPI_Startall", || Ok(unsafe {
        let n = super::int(fcount);
        let mut creqs = requests_f2c(freqs, n);
        c::MPI_Startall(n, creqs.as_mut_ptr() as P)
    }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}
unsafe fn f08_startall(fcount: P, freqs: P, ierror: Ierr) {
    if !crate::requests::any() || crate::stage::reentered() {
        forward!("mpi_startall_f08_", N, (fcount, freqs) ierror);
    }
    if !abi().fortran.f08_completion_is_pmpi {
        // SAFETY: Open MPI's f08 arguments are laid out as its f77 ones.
        return unsafe { f77_startall(fcount, freqs, ierror) };
    }
    // SAFETY: MPICH's f08 requests are C requests.
    let rc = super::guard("mpi_startall", "MPI_Startall", || Ok(unsafe { c::MPI_Startall(super::int(fcount), freqs) }));
    // SAFETY: the application's ierror.
    unsafe { set(ierror, rc) };
}

// ---- MPI_Finalize --------------------------------------------------------------------------------

/// The shim's MPI_Finalize work (finish requests the application freed while active, return staging
/// buffers), then the MPI's own Fortran MPI_Finalize. Open MPI's `mpi_finalize_` would skip it.
unsafe fn finalize_then(real: (&'static str, Scope), ierror: Ierr) {
    if crate::requests::any() {
        crate::ffi::boundary_or("mpi_finalize", (), crate::requests::finalize);
    }
    let f = if real.1 == Scope::Next {
        crate::real_fn!("mpi_finalize_f08_", Scope::Next, fn(Ierr))
    } else {
        crate::real_fn!("pmpi_finalize_", Scope::Global, fn(Ierr))
    };
    match f {
        // SAFETY: the MPI's Fortran MPI_Finalize.
        Some(f) => unsafe { f(ierror) },
        // SAFETY: the application's ierror.
        None => unsafe { set(ierror, crate::real::missing(real.0)) },
    }
    crate::pool::trim();
}
crate::fortran_names!(MPI_Finalize () [] { f77_finalize } { f08_finalize });
unsafe fn f77_finalize(ierror: Ierr) {
    // SAFETY: the application's ierror.
    unsafe { finalize_then(("pmpi_finalize_", G), ierror) }
}
unsafe fn f08_finalize(ierror: Ierr) {
    // SAFETY: the application's ierror.
    unsafe { finalize_then(("mpi_finalize_f08_", N), ierror) }
}
