//! MPI-4.1 chapter 12: one-sided communication.
//!
//! Operations with VE origin, result or compare buffers are table entries: the `rma` kind keeps their
//! staging until the synchronization that completes them, the R-forms are `nonblocking` and complete
//! with their request. The synchronization calls, MPI_Win_create, MPI_Win_get_attr and MPI_Win_free
//! are written out below; each forwards at once while no window has a VE shadow or staged operations
//! ([`crate::rma::any`]). See [`crate::rma`] for windows in VE memory.
//!
//! MPI_Win_allocate, MPI_Win_allocate_shared and MPI_Win_create_dynamic allocate host memory (or
//! none) and are not intercepted; attaching VE memory to a dynamic window is refused.

use crate::abi::{Aint, Comm, Info, Win};
use crate::errors::Obj;
use crate::ffi;
use crate::intercept;
use crate::rma::{self, Sync};
use std::ffi::{c_int, c_void};

const ATTACH: &str = "dynamic windows are addressed by absolute addresses, which a host copy of VE memory cannot keep; \
                      create the window on the VE buffer with MPI_Win_create, or attach host memory";
const DETACH: &str = "VE memory cannot be attached to a dynamic window (see MPI_Win_attach), so it cannot be detached";

intercept! {
    /// §12.3.1 Put: the origin buffer is loaded at the call and kept until the operation completes.
    [large, fortran]
    fn MPI_Put(origin_addr: CBuf, origin_count: Count, origin_datatype: Datatype, target_rank: Int,
               target_disp: Aint, target_count: Count, target_datatype: Datatype, win: Win)
        rma(Win win; target_rank) ve(origin_addr) => (origin_addr) = rma_origin(origin_addr, origin_count, origin_datatype);

    /// §12.3.2 Get: the data reaches VE memory at the synchronization that completes the operation.
    [large, fortran]
    fn MPI_Get(origin_addr: Buf, origin_count: Count, origin_datatype: Datatype, target_rank: Int,
               target_disp: Aint, target_count: Count, target_datatype: Datatype, win: Win)
        rma(Win win; target_rank) ve(origin_addr) => (origin_addr) = rma_result(origin_addr, origin_count, origin_datatype);

    /// §12.3.4 Accumulate (MPI_SUM, MPI_REPLACE, ...).
    [large, fortran]
    fn MPI_Accumulate(origin_addr: CBuf, origin_count: Count, origin_datatype: Datatype, target_rank: Int,
                      target_disp: Aint, target_count: Count, target_datatype: Datatype, op: Op, win: Win)
        rma(Win win; target_rank) ve(origin_addr) => (origin_addr) = rma_origin(origin_addr, origin_count, origin_datatype);

    /// §12.3.4 Get-accumulate: the origin is not read with MPI_NO_OP.
    [large, fortran]
    fn MPI_Get_accumulate(origin_addr: CBuf, origin_count: Count, origin_datatype: Datatype, result_addr: Buf,
                          result_count: Count, result_datatype: Datatype, target_rank: Int, target_disp: Aint,
                          target_count: Count, target_datatype: Datatype, op: Op, win: Win)
        rma(Win win; target_rank) ve(origin_addr, result_addr)
        => (origin_addr, result_addr) = get_accumulate(origin_addr, origin_count, origin_datatype, result_addr, result_count, result_datatype, op);

    /// §12.3.4 Fetch-and-op.
    [fortran]
    fn MPI_Fetch_and_op(origin_addr: CBuf, result_addr: Buf, datatype: Datatype, target_rank: Int, target_disp: Aint,
                        op: Op, win: Win)
        rma(Win win; target_rank) ve(origin_addr, result_addr)
        => (origin_addr, result_addr) = fetch_and_op(origin_addr, result_addr, datatype, op);

    /// §12.3.4 Compare-and-swap.
    [fortran]
    fn MPI_Compare_and_swap(origin_addr: CBuf, compare_addr: CBuf, result_addr: Buf, datatype: Datatype,
                            target_rank: Int, target_disp: Aint, win: Win)
        rma(Win win; target_rank) ve(origin_addr, compare_addr, result_addr)
        => (origin_addr, compare_addr, result_addr) = compare_and_swap(origin_addr, compare_addr, result_addr, datatype);

    /// §12.3.5 Request-based put: complete (and the staging released) with its request.
    [large, fortran]
    fn MPI_Rput(origin_addr: CBuf, origin_count: Count, origin_datatype: Datatype, target_rank: Int,
                target_disp: Aint, target_count: Count, target_datatype: Datatype, win: Win, request: RequestOut)
        nonblocking(Win win; request) ve(origin_addr) => (origin_addr) = rma_origin(origin_addr, origin_count, origin_datatype);

    /// §12.3.5 Request-based get: the data reaches VE memory when the request completes.
    [large, fortran]
    fn MPI_Rget(origin_addr: Buf, origin_count: Count, origin_datatype: Datatype, target_rank: Int,
                target_disp: Aint, target_count: Count, target_datatype: Datatype, win: Win, request: RequestOut)
        nonblocking(Win win; request) ve(origin_addr) => (origin_addr) = rma_result(origin_addr, origin_count, origin_datatype);

    [large, fortran]
    fn MPI_Raccumulate(origin_addr: CBuf, origin_count: Count, origin_datatype: Datatype, target_rank: Int,
                       target_disp: Aint, target_count: Count, target_datatype: Datatype, op: Op, win: Win,
                       request: RequestOut)
        nonblocking(Win win; request) ve(origin_addr) => (origin_addr) = rma_origin(origin_addr, origin_count, origin_datatype);

    [large, fortran]
    fn MPI_Rget_accumulate(origin_addr: CBuf, origin_count: Count, origin_datatype: Datatype, result_addr: Buf,
                           result_count: Count, result_datatype: Datatype, target_rank: Int, target_disp: Aint,
                           target_count: Count, target_datatype: Datatype, op: Op, win: Win, request: RequestOut)
        nonblocking(Win win; request) ve(origin_addr, result_addr)
        => (origin_addr, result_addr) = get_accumulate(origin_addr, origin_count, origin_datatype, result_addr, result_count, result_datatype, op);

    /// §12.2.4 Dynamic windows: VE memory is refused (the window's error handler reports it).
    [fortran]
    fn MPI_Win_attach(win: Win, base: Buf, size: Aint)
        refuse_ve(Win win) ve(base) because ATTACH;

    [fortran]
    fn MPI_Win_detach(win: Win, base: CBuf)
        refuse_ve(Win win) ve(base) because DETACH;
}

/// The synchronization calls: forwarded at once while no window has a VE shadow or staged
/// operations and no freed request is left to finish, else run through [`rma::sync`] on window `$w`.
macro_rules! sync_calls {
    ($( $(#[$attr:meta])* fn $name:ident ( $($p:ident : $t:ident),* ) on $w:ident => $s:expr; )*) => {$(
        $(#[$attr])*
        ///
        /// # Safety
        /// Called with the arguments the MPI standard specifies for this function.
        #[no_mangle]
        #[allow(non_snake_case)]
        pub unsafe extern "C" fn $name($($p: crate::ty!($t)),*) -> c_int {
            let Some(real) = crate::pmpi_fn!($name($($t),*)) else { return crate::real::missing(stringify!($name)) };
            if !(rma::any() || crate::requests::orphans()) || crate::stage::reentered() {
                // SAFETY: forwarding the application's arguments unchanged.
                return unsafe { real($($p),*) };
            }
            ffi::boundary(Obj::Win($w), stringify!($name), || {
                // SAFETY: the application's arguments; the real function gets them unchanged.
                Ok(unsafe { rma::sync($w, stringify!($name), $s, || real($($p),*)) })
            })
        }
    )*};
}

sync_calls! {
    /// §12.5.1 Fence: completes every pending operation; the shadow of a VE window is pushed before
    /// and pulled after.
    fn MPI_Win_fence(assert: Int, win: Win) on win => Sync::Fence { assert };

    /// §12.5.2 General active target synchronization.
    fn MPI_Win_start(group: Group, assert: Int, win: Win) on win => Sync::Start { group };
    fn MPI_Win_complete(win: Win) on win => Sync::Complete;
    fn MPI_Win_post(group: Group, assert: Int, win: Win) on win => Sync::Post { assert };
    fn MPI_Win_wait(win: Win) on win => Sync::Wait;
    fn MPI_Win_test(win: Win, flag: IntOut) on win => Sync::Test { flag };

    /// §12.5.3 Lock.
    fn MPI_Win_lock(lock_type: Int, rank: Int, assert: Int, win: Win) on win => Sync::Lock { rank };
    fn MPI_Win_lock_all(assert: Int, win: Win) on win => Sync::LockAll;
    fn MPI_Win_unlock(rank: Int, win: Win) on win => Sync::Unlock { rank };
    fn MPI_Win_unlock_all(win: Win) on win => Sync::UnlockAll;

    /// §12.5.4 Flush and sync. Local completion stores results too: a get is locally complete when
    /// its data is in the origin buffer.
    fn MPI_Win_flush(rank: Int, win: Win) on win => Sync::Flush { rank };
    fn MPI_Win_flush_all(win: Win) on win => Sync::FlushAll;
    fn MPI_Win_flush_local(rank: Int, win: Win) on win => Sync::Flush { rank };
    fn MPI_Win_flush_local_all(win: Win) on win => Sync::FlushAll;
    fn MPI_Win_sync(win: Win) on win => Sync::WinSync;
}

/// §12.2.1 Window creation: a VE base gets a host shadow window (see [`crate::rma`]).
///
/// # Safety
/// Called by the application (C, or the MPI's own bindings) with the arguments the MPI standard
/// specifies for this function: valid handles, and pointers to memory of the size it documents.
#[no_mangle]
pub unsafe extern "C" fn MPI_Win_create(base: *mut c_void, size: Aint, disp_unit: c_int, info: Info, comm: Comm, win: *mut c_void) -> c_int {
    let Some(real) = crate::pmpi_fn!(MPI_Win_create(Buf, Aint, Int, Info, Comm, HandleOut)) else {
        return crate::real::missing("MPI_Win_create");
    };
    if !crate::ve::is_ve(base) || size == 0 || crate::stage::reentered() {
        // SAFETY: forwarding the application's arguments unchanged.
        return unsafe { real(base, size, disp_unit, info, comm, win) };
    }
    ffi::boundary(Obj::Comm(comm), "MPI_Win_create", || {
        // SAFETY: the application's arguments, with the shadow as base.
        Ok(unsafe { rma::create(base as usize, size, comm, win, "MPI_Win_create", |shadow| real(shadow, size, disp_unit, info, comm, win)) })
    })
}

/// §12.2.1 Window creation with an MPI_Aint displacement unit (MPI-4). On an MPI without it (Open MPI
/// 4.1) this is MPI_Win_create with the unit as an int: mpi4py calls MPI_Win_create_c whenever the
/// symbol exists.
///
/// # Safety
/// Called by the application (C, or the MPI's own bindings) with the arguments the MPI standard
/// specifies for this function: valid handles, and pointers to memory of the size it documents.
#[no_mangle]
pub unsafe extern "C" fn MPI_Win_create_c(base: *mut c_void, size: Aint, disp_unit: Aint, info: Info, comm: Comm, win: *mut c_void) -> c_int {
    let Some(real) = crate::pmpi_fn!(MPI_Win_create_c(Buf, Aint, Aint, Info, Comm, HandleOut)) else {
        return match c_int::try_from(disp_unit) {
            // SAFETY: the application's arguments, with the unit narrowed losslessly.
            Ok(unit) => unsafe { MPI_Win_create(base, size, unit, info, comm, win) },
            Err(_) => {
                let e = crate::errors::Error::new(
                    crate::abi::Class::Arg,
                    format!("disp_unit {disp_unit} does not fit in an int, and this MPI has no MPI_Win_create_c"),
                );
                // SAFETY: comm is the application's communicator.
                unsafe { crate::errors::raise(crate::errors::Obj::Comm(comm), "MPI_Win_create_c", &e) }
            }
        };
    };
    if !crate::ve::is_ve(base) || size == 0 || crate::stage::reentered() {
        // SAFETY: forwarding the application's arguments unchanged.
        return unsafe { real(base, size, disp_unit, info, comm, win) };
    }
    ffi::boundary(Obj::Comm(comm), "MPI_Win_create_c", || {
        // SAFETY: the application's arguments, with the shadow as base.
        Ok(unsafe { rma::create(base as usize, size, comm, win, "MPI_Win_create_c", |shadow| real(shadow, size, disp_unit, info, comm, win)) })
    })
}

/// §12.2.7 Window attributes: a shadowed window reports the application's VE base and
/// MPI_WIN_SEPARATE.
///
/// # Safety
/// Called by the application (C, or the MPI's own bindings) with the arguments the MPI standard
/// specifies for this function: valid handles, and pointers to memory of the size it documents.
#[no_mangle]
pub unsafe extern "C" fn MPI_Win_get_attr(win: Win, win_keyval: c_int, attribute_val: *mut c_void, flag: *mut c_int) -> c_int {
    ffi::boundary(Obj::Win(win), "MPI_Win_get_attr", || {
        let Some(real) = crate::pmpi_fn!(MPI_Win_get_attr(Win, Int, Buf, IntOut)) else {
            return Ok(crate::real::missing("MPI_Win_get_attr"));
        };
        if rma::any() && !crate::stage::reentered() {
            // SAFETY: the application's out-arguments.
            if let Some(rc) = unsafe { rma::get_attr(win, win_keyval, attribute_val, flag) } {
                return Ok(rc);
            }
        }
        // SAFETY: forwarding the application's arguments unchanged.
        Ok(unsafe { real(win, win_keyval, attribute_val, flag) })
    })
}

/// §12.2.5 Window destruction: completes what is staged and drops the shadow. (Its own errors go
/// through the window's handler; the window is known only through `win` here, so a panic outside
/// that goes through MPI_COMM_WORLD's.)
///
/// # Safety
/// Called by the application (C, or the MPI's own bindings) with the arguments the MPI standard
/// specifies for this function: valid handles, and pointers to memory of the size it documents.
#[no_mangle]
pub unsafe extern "C" fn MPI_Win_free(win: *mut c_void) -> c_int {
    let Some(real) = crate::pmpi_fn!(MPI_Win_free(HandleOut)) else { return crate::real::missing("MPI_Win_free") };
    if !rma::any() || crate::stage::reentered() || win.is_null() {
        // SAFETY: forwarding the application's arguments unchanged.
        return unsafe { real(win) };
    }
    ffi::boundary(Obj::World, "MPI_Win_free", || {
        // SAFETY: the application's argument.
        Ok(unsafe { rma::free(win, "MPI_Win_free", || real(win)) })
    })
}

// Fortran: Open MPI's bindings call PMPI_Win_fence..., MPICH's f08 ones too.
crate::fortran_wrap! {
    fn MPI_Win_fence(assert: Int, win: Win) when rma::any() || crate::requests::orphans();
    fn MPI_Win_start(group: Group, assert: Int, win: Win) when rma::any() || crate::requests::orphans();
    fn MPI_Win_complete(win: Win) when rma::any() || crate::requests::orphans();
    fn MPI_Win_post(group: Group, assert: Int, win: Win) when rma::any() || crate::requests::orphans();
    fn MPI_Win_wait(win: Win) when rma::any() || crate::requests::orphans();
    fn MPI_Win_test(win: Win, flag: IntOut) when rma::any() || crate::requests::orphans();
    fn MPI_Win_lock(lock_type: Int, rank: Int, assert: Int, win: Win) when rma::any() || crate::requests::orphans();
    fn MPI_Win_lock_all(assert: Int, win: Win) when rma::any() || crate::requests::orphans();
    fn MPI_Win_unlock(rank: Int, win: Win) when rma::any() || crate::requests::orphans();
    fn MPI_Win_unlock_all(win: Win) when rma::any() || crate::requests::orphans();
    fn MPI_Win_flush(rank: Int, win: Win) when rma::any() || crate::requests::orphans();
    fn MPI_Win_flush_all(win: Win) when rma::any() || crate::requests::orphans();
    fn MPI_Win_flush_local(rank: Int, win: Win) when rma::any() || crate::requests::orphans();
    fn MPI_Win_flush_local_all(win: Win) when rma::any() || crate::requests::orphans();
    fn MPI_Win_sync(win: Win) when rma::any() || crate::requests::orphans();
}
