//! Large-count (`_c`) calls on an MPI without them, and the lengths of a call's arrays.
//!
//! mpi4py's binary wheels call `MPI_X_c` through weak symbols whenever the symbol exists, so once
//! libmpive exports `MPI_Send_c`, mpi4py on Open MPI 4.1 (which has no `PMPI_Send_c`) calls it for
//! every send. There the shim serves the call with the `int` function: [`Narrow`] converts every count
//! and displacement that the call reads to `int`, or fails with MPI_ERR_COUNT when one does not fit.
//!
//! Scalars are always converted. Arrays (v and w variants, Reduce_scatter, neighbor collectives) have
//! a length and a significance that only the message form knows (comm size, remote size, topology
//! degrees, root, MPI_IN_PLACE): each form that takes arrays has a *shape* function of the same name
//! and arguments in [`shape`], which lists the arrays the call reads with their lengths. The Fortran
//! entry points use the same shapes to convert arrays of datatype handles.

use super::CountT;
use crate::abi::Class;
use crate::errors::{Error, Result};
use smallvec::SmallVec;
use std::ffi::c_int;

/// The arrays a call reads, by address, with their lengths.
#[derive(Default, Debug, Clone)]
pub struct Shape(SmallVec<[(usize, usize); 6]>);

impl Shape {
    /// A call without arrays.
    pub fn none() -> Shape {
        Shape::default()
    }

    /// Records that the call reads `n` elements of the array at `p`.
    pub fn add<T>(&mut self, p: *const T, n: c_int) {
        if !p.is_null() && n > 0 {
            self.0.push((p as usize, n as usize));
        }
    }

    /// How many elements of the array at `p` the call reads; None if it reads none (not
    /// significant on this process). The same array passed twice is read up to the longer length.
    pub fn len_of<T>(&self, p: *const T) -> Option<usize> {
        self.0.iter().filter(|(a, _)| *a == p as usize).map(|&(_, n)| n).max()
    }
}

/// The `int` arguments for the `int` function, made from those of a `_c` call.
#[derive(Default)]
pub struct Narrow {
    /// Converted arrays; a Vec's elements do not move when the Vec itself does.
    arrays: SmallVec<[Vec<c_int>; 4]>,
    shape: Option<Shape>,
    /// In-out counts (MPI_Pack's position): the `int` the call updates, and the application's
    /// `MPI_Count` it is copied back to. Inline: the Narrow stays in place during the call.
    cells: [c_int; 2],
    targets: [usize; 2],
    ncells: usize,
}

fn too_big(what: &str, v: i64) -> Error {
    Error::new(
        Class::Count,
        format!(
            "{what} = {v} does not fit in an int, and the MPI library has no large-count (MPI-4) version of this \
             function; use an MPI with large-count support (MPICH 4), or split the message"
        ),
    )
}

impl Narrow {
    pub fn new() -> Narrow {
        Narrow::default()
    }

    /// A scalar count.
    pub fn count<C: CountT>(&self, v: C, what: &str) -> Result<c_int> {
        let v = v.get();
        c_int::try_from(v).map_err(|_| too_big(what, v))
    }

    /// An in-out count: its value as an `int` the call may update, copied back by [`Narrow::write_back`].
    ///
    /// # Safety
    /// `p` is NULL or the application's in-out count, valid until `write_back`.
    pub unsafe fn inout(&mut self, p: *mut i64, what: &str) -> Result<*mut c_int> {
        if p.is_null() {
            return Ok(std::ptr::null_mut());
        }
        // SAFETY: by the caller's contract.
        let v = unsafe { p.read_unaligned() };
        let i = self.ncells;
        self.cells[i] = c_int::try_from(v).map_err(|_| too_big(what, v))?;
        self.targets[i] = p as usize;
        self.ncells += 1;
        Ok(&mut self.cells[i])
    }

    /// Copies the in-out counts back to the application's `MPI_Count`s after the call.
    ///
    /// # Safety
    /// As for [`Narrow::inout`].
    pub unsafe fn write_back(&self) {
        for i in 0..self.ncells {
            // SAFETY: by the caller's contract.
            unsafe { (self.targets[i] as *mut i64).write_unaligned(self.cells[i] as i64) };
        }
    }

    /// An array of counts or displacements; `shape` is computed at most once per call.
    ///
    /// # Safety
    /// `p` is an argument of the call whose shape `shape` computes.
    pub unsafe fn array<C: CountT>(&mut self, p: *const C, what: &str, shape: &dyn Fn() -> Result<Shape>) -> Result<*const c_int> {
        if self.shape.is_none() {
            self.shape = Some(shape()?);
        }
        let Some(n) = self.shape.as_ref().and_then(|s| s.len_of(p)) else {
            // Not read by the call on this process: passed as it is.
            return Ok(p as *const c_int);
        };
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            // SAFETY: the call reads n elements of p (its shape).
            let v = unsafe { super::at(p, i) };
            out.push(c_int::try_from(v).map_err(|_| too_big(&format!("{what}[{i}]"), v))?);
        }
        let ptr = out.as_ptr();
        self.arrays.push(out);
        Ok(ptr)
    }
}

/// Shape functions: one per message form that takes arrays, with the form's name and arguments.
pub mod shape {
    pub use super::super::coll::shape::*;
    pub use super::super::topo::shape::*;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_fit_or_fail_with_err_count() {
        let n = Narrow::new();
        assert_eq!(n.count(5i64, "count").unwrap(), 5);
        assert_eq!(n.count(c_int::MAX as i64, "count").unwrap(), c_int::MAX);
        let e = n.count(c_int::MAX as i64 + 1, "count").unwrap_err();
        assert_eq!(e.class, Class::Count);
        assert!(e.msg.starts_with("count = 2147483648 does not fit in an int"), "{}", e.msg);
    }

    #[test]
    fn arrays_are_converted_as_far_as_the_shape_says() {
        let counts: [i64; 4] = [1, 2, 3, i64::MAX];
        let displs: [i64; 3] = [0, 10, 20];
        let shape = || {
            let mut s = Shape::none();
            s.add(counts.as_ptr(), 3);
            s.add(displs.as_ptr(), 3);
            Ok(s)
        };
        let mut n = Narrow::new();
        // SAFETY: the arrays have at least as many elements as the shape says.
        unsafe {
            let c = n.array(counts.as_ptr(), "counts", &shape).unwrap();
            let d = n.array(displs.as_ptr(), "displs", &shape).unwrap();
            assert_eq!(std::slice::from_raw_parts(c, 3), &[1, 2, 3]);
            assert_eq!(std::slice::from_raw_parts(d, 3), &[0, 10, 20]);
            // an array the call does not read passes through
            let other: [i64; 1] = [i64::MAX];
            assert_eq!(n.array(other.as_ptr(), "other", &shape).unwrap() as usize, other.as_ptr() as usize);
        }
        let long = || {
            let mut s = Shape::none();
            s.add(counts.as_ptr(), 4);
            Ok(s)
        };
        let mut n = Narrow::new();
        // SAFETY: as above.
        let e = unsafe { n.array(counts.as_ptr(), "counts", &long) }.unwrap_err();
        assert!(e.msg.starts_with("counts[3] = "), "{}", e.msg);
    }

    #[test]
    fn an_array_passed_twice_is_read_to_the_longer_length() {
        let a: [c_int; 5] = [0; 5];
        let mut s = Shape::none();
        s.add(a.as_ptr(), 2);
        s.add(a.as_ptr(), 5);
        s.add(std::ptr::null::<c_int>(), 7);
        assert_eq!(s.len_of(a.as_ptr()), Some(5));
        assert_eq!(s.len_of(std::ptr::null::<c_int>()), None);
    }
}
