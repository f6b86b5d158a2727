//! MPI-4.1 chapter 9: MPI environmental management (error classes and strings).
//!
//! The shim answers MPI_Error_class and MPI_Error_string for the error codes it created
//! ([`crate::errors`]), so they report its class and message on every MPI; all other codes go to the
//! real functions untouched.

use crate::errors::Obj;
use crate::ffi;
use std::ffi::{c_char, c_int};

/// §9.4 Error codes and classes.
///
/// # Safety
/// Called by the application (C, or the MPI's own bindings) with the arguments the MPI standard
/// specifies for this function: valid handles, and pointers to memory of the size it documents.
#[no_mangle]
pub unsafe extern "C" fn MPI_Error_class(errorcode: c_int, errorclass: *mut c_int) -> c_int {
    ffi::boundary(Obj::World, "MPI_Error_class", || {
        if let Some((class, _)) = crate::errors::lookup(errorcode) {
            if !errorclass.is_null() {
                // SAFETY: the application's out-argument.
                unsafe { errorclass.write(class) };
                return Ok(0);
            }
        }
        Ok(match crate::pmpi_fn!(MPI_Error_class(Int, IntOut)) {
            // SAFETY: forwarding the application's arguments.
            Some(f) => unsafe { f(errorcode, errorclass) },
            None => crate::real::missing("MPI_Error_class"),
        })
    })
}

/// §9.4 Error codes and classes.
///
/// # Safety
/// Called by the application (C, or the MPI's own bindings) with the arguments the MPI standard
/// specifies for this function: valid handles, and pointers to memory of the size it documents.
#[no_mangle]
pub unsafe extern "C" fn MPI_Error_string(errorcode: c_int, string: *mut c_char, resultlen: *mut c_int) -> c_int {
    ffi::boundary(Obj::World, "MPI_Error_string", || {
        if let Some((_, text)) = crate::errors::lookup(errorcode) {
            if !string.is_null() && !resultlen.is_null() {
                // MPI_MAX_ERROR_STRING is 256 in Open MPI and 512 in MPICH: stay within the smaller.
                let n = text.len().min(255);
                // SAFETY: the application provides MPI_MAX_ERROR_STRING bytes.
                unsafe {
                    std::ptr::copy_nonoverlapping(text.as_ptr(), string.cast::<u8>(), n);
                    string.add(n).write(0);
                    resultlen.write(n as c_int);
                }
                return Ok(0);
            }
        }
        Ok(match crate::pmpi_fn!(MPI_Error_string(Int, CStrOut, IntOut)) {
            // SAFETY: forwarding the application's arguments.
            Some(f) => unsafe { f(errorcode, string, resultlen) },
            None => crate::real::missing("MPI_Error_string"),
        })
    })
}

// Fortran: MPICH's mpi_f08 MPI_Error_class calls PMPI_Error_class, which does not know the shim's codes.
crate::fortran_wrap! {
    fn MPI_Error_class(errorcode: Int, errorclass: IntOut) when true;
}
