//! MPI-4.1 chapter 11: process creation and management (ports, name publishing, join).
//!
//! mpi4py-ve offers none of the client/server functions; libmpi-ve refuses them always, with
//! MPI_ERR_UNSUPPORTED_OPERATION. MPI_Comm_spawn carries no buffer and is forwarded.

use crate::errors::Obj;
use crate::ffi;
use crate::intercept;
use std::ffi::{c_char, c_int};

const PORTS: &str = "ports, accept/connect/join and name publishing are not offered (as in mpi4py-ve); \
start all processes with mpirun, or use MPI_Comm_spawn";

intercept! {
    /// §11.4.2 Server routines.
    [fortran]
    fn MPI_Open_port(info: Info, port_name: CStrOut) refuse(World) because PORTS;
    [fortran]
    fn MPI_Close_port(port_name: CStr) refuse(World) because PORTS;
    [fortran]
    fn MPI_Comm_accept(port_name: CStr, info: Info, root: Int, comm: Comm, newcomm: HandleOut)
        refuse(Comm comm) because PORTS;
    /// §11.4.3 Client routines.
    [fortran]
    fn MPI_Comm_connect(port_name: CStr, info: Info, root: Int, comm: Comm, newcomm: HandleOut)
        refuse(Comm comm) because PORTS;
    /// §11.4.4 Name publishing.
    [fortran]
    fn MPI_Publish_name(service_name: CStr, info: Info, port_name: CStr) refuse(World) because PORTS;
    [fortran]
    fn MPI_Unpublish_name(service_name: CStr, info: Info, port_name: CStr) refuse(World) because PORTS;
    [fortran]
    fn MPI_Lookup_name(service_name: CStr, info: Info, port_name: CStrOut) refuse(World) because PORTS;
    /// §11.8.4 Another way to establish communication.
    [fortran]
    fn MPI_Comm_join(fd: Int, intercomm: HandleOut) refuse(World) because PORTS;
}

/// §11.2.1 Initialization. With MPIVE_PIPELINE=1 the pipelined protocol makes its private
/// communicators here, where every rank is ([`crate::pipeline`]); otherwise this is a forward.
///
/// # Safety
/// Called by the application (C, or the MPI's own bindings) with the arguments the MPI standard
/// specifies for this function: valid handles, and pointers to memory of the size it documents.
#[no_mangle]
pub unsafe extern "C" fn MPI_Init(argc: *mut c_int, argv: *mut *mut *mut c_char) -> c_int {
    ffi::boundary(Obj::World, "MPI_Init", || {
        let Some(real) = crate::pmpi_fn!(MPI_Init(IntOut, HandleOut)) else { return Ok(crate::real::missing("MPI_Init")) };
        // SAFETY: the application's call (argv's type differs only in pointer constness).
        let rc = unsafe { real(argc, argv.cast()) };
        if rc == 0 {
            crate::pipeline::after_init();
        }
        Ok(rc)
    })
}

/// §11.2.1 Initialization, with a thread level: as MPI_Init.
///
/// # Safety
/// Called by the application (C, or the MPI's own bindings) with the arguments the MPI standard
/// specifies for this function: valid handles, and pointers to memory of the size it documents.
#[no_mangle]
pub unsafe extern "C" fn MPI_Init_thread(argc: *mut c_int, argv: *mut *mut *mut c_char, required: c_int, provided: *mut c_int) -> c_int {
    ffi::boundary(Obj::World, "MPI_Init_thread", || {
        let Some(real) = crate::pmpi_fn!(MPI_Init_thread(IntOut, HandleOut, Int, IntOut)) else {
            return Ok(crate::real::missing("MPI_Init_thread"));
        };
        // SAFETY: the application's call.
        let rc = unsafe { real(argc, argv.cast(), required, provided) };
        if rc == 0 {
            crate::pipeline::after_init();
        }
        Ok(rc)
    })
}

/// §11.2.2 Finalizing: requests the application freed while active are finished first, so their data
/// reaches VE memory; then every staging buffer goes back and the pool is emptied.
///
/// A failure in finishing that work is reported and MPI is finalized all the same; once it is, no
/// error handler is left, so a failure in emptying the pool is only reported on stderr.
///
/// # Safety
/// Called by the application (C, or the MPI's own bindings) with the arguments the MPI standard
/// specifies for this function: valid handles, and pointers to memory of the size it documents.
#[no_mangle]
pub unsafe extern "C" fn MPI_Finalize() -> c_int {
    let rc = ffi::boundary(Obj::World, "MPI_Finalize", || {
        let Some(real) = crate::pmpi_fn!(MPI_Finalize()) else { return Ok(crate::real::missing("MPI_Finalize")) };
        if crate::requests::any() {
            ffi::boundary_or("MPI_Finalize", (), crate::requests::finalize);
        }
        ffi::boundary_or("MPI_Finalize", (), crate::pipeline::finalize);
        // SAFETY: the application's call.
        Ok(unsafe { real() })
    });
    ffi::boundary_or("MPI_Finalize", (), crate::pool::trim);
    rc
}
