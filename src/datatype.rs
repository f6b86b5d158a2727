//! What memory a (count, datatype) pair touches.
//!
//! The span of `count` elements of `dt` at `buf` runs from `buf + true_lb` to `buf + true_lb +
//! true_extent + (count - 1) * extent` (the other way round for a negative extent), so derived types
//! with negative strides, resized bounds or holes are staged correctly. A type is *dense* when its data
//! fills its span exactly; otherwise its *coverage* (the byte runs the type map touches) says which
//! bytes a receive may write back, so the holes between blocks keep their contents in VE memory.
//!
//! Coverage is computed by the real MPI itself: unpacking a stream of 0xFF bytes into a zeroed map of
//! the span marks exactly the bytes the type map covers, for every constructor including subarray and
//! darray.

use crate::abi::{Class, Count, Handle};
use crate::errors::{Error, Result};
use crate::real::{abi, pmpi};

/// Size, bounds and kind of a datatype.
#[derive(Clone, Copy, Debug)]
pub struct TypeInfo {
    pub size: Count,
    pub extent: Count,
    pub true_lb: Count,
    pub true_extent: Count,
    /// A predefined (named) type: contiguous, lower bound 0.
    pub named: bool,
}

/// A byte range relative to the buffer address, `[lo, hi)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub lo: i64,
    pub hi: i64,
}

impl Span {
    pub const EMPTY: Span = Span { lo: 0, hi: 0 };

    pub fn len(&self) -> u64 {
        (self.hi - self.lo).max(0) as u64
    }

    pub fn is_empty(&self) -> bool {
        self.hi <= self.lo
    }

    pub fn shift(self, by: i64) -> Span {
        if self.is_empty() {
            self
        } else {
            Span { lo: self.lo + by, hi: self.hi + by }
        }
    }

    pub fn union(self, o: Span) -> Span {
        match (self.is_empty(), o.is_empty()) {
            (true, _) => o,
            (_, true) => self,
            _ => Span { lo: self.lo.min(o.lo), hi: self.hi.max(o.hi) },
        }
    }
}

fn type_error(dt: Handle, what: &str, rc: i32) -> Error {
    Error::new(Class::Type, format!("cannot query the datatype {dt:#x} ({what} returned {rc}): is it a valid, committed datatype?"))
}

/// Queries `dt`.
///
/// # Safety
/// `dt` is a datatype handle given by the application.
pub unsafe fn info(dt: Handle) -> Result<TypeInfo> {
    let (mut size, mut lb, mut extent, mut tlb, mut textent) = (0, 0, 0, 0, 0);
    let (mut ni, mut na, mut nd, mut combiner) = (0, 0, 0, 0);
    // SAFETY: out-pointers to locals.
    unsafe {
        let rc = pmpi::PMPI_Type_size_x(dt, &mut size);
        if rc != 0 {
            return Err(type_error(dt, "MPI_Type_size_x", rc));
        }
        let rc = pmpi::PMPI_Type_get_extent_x(dt, &mut lb, &mut extent);
        if rc != 0 {
            return Err(type_error(dt, "MPI_Type_get_extent_x", rc));
        }
        let rc = pmpi::PMPI_Type_get_true_extent_x(dt, &mut tlb, &mut textent);
        if rc != 0 {
            return Err(type_error(dt, "MPI_Type_get_true_extent_x", rc));
        }
        let rc = pmpi::PMPI_Type_get_envelope(dt, &mut ni, &mut na, &mut nd, &mut combiner);
        if rc != 0 {
            return Err(type_error(dt, "MPI_Type_get_envelope", rc));
        }
    }
    Ok(TypeInfo { size, extent, true_lb: tlb, true_extent: textent, named: combiner == abi().combiner_named })
}

impl TypeInfo {
    /// The bytes `count` elements touch, relative to the buffer address.
    pub fn span(&self, count: Count) -> Span {
        if count <= 0 || self.size == 0 {
            return Span::EMPTY;
        }
        let first = self.true_lb;
        let last = self.true_lb + (count - 1) * self.extent;
        Span { lo: first.min(last), hi: first.max(last) + self.true_extent }
    }

    /// Whether `count` elements fill their span exactly (no holes).
    pub fn dense(&self, count: Count) -> bool {
        count <= 0 || self.size == 0 || (self.size as u128) * (count as u128) == self.span(count).len() as u128
    }
}

/// A run of bytes `[off, off + len)` relative to the buffer address.
pub type Run = (i64, u64);

/// The byte runs that `count` elements of `dt` touch, sorted and merged, relative to the buffer.
///
/// # Safety
/// `dt` is a valid datatype handle.
pub unsafe fn coverage(dt: Handle, t: &TypeInfo, count: Count) -> Result<Vec<Run>> {
    if count <= 0 || t.size == 0 {
        return Ok(Vec::new());
    }
    if t.dense(1) {
        // Each element is one run; the elements themselves may leave gaps (resized types).
        let runs = (0..count).map(|k| (t.true_lb + k * t.extent, t.true_extent as u64)).collect();
        return Ok(merge(runs));
    }
    // SAFETY: forwarded contract.
    let one = unsafe { element_coverage(dt, t) }?;
    let mut runs = Vec::with_capacity(one.len() * count.min(1 << 20) as usize);
    for k in 0..count {
        runs.extend(one.iter().map(|&(o, l)| (o + k * t.extent, l)));
    }
    Ok(merge(runs))
}

/// Coverage of one element, by unpacking 0xFF bytes into a zeroed map of its true extent.
unsafe fn element_coverage(dt: Handle, t: &TypeInfo) -> Result<Vec<Run>> {
    let (size, span) = (t.size, t.true_extent);
    if size > i32::MAX as i64 || span > (1 << 34) {
        return Err(Error::new(
            Class::Type,
            format!("a datatype with holes of {size} bytes over an extent of {span} bytes is too large to stage from VE memory"),
        ));
    }
    let packed = vec![0xFFu8; size as usize];
    let mut map = vec![0u8; span as usize];
    let mut pos = 0;
    // The map stands for the element's true span, so the element's buffer address is map - true_lb.
    let out = (map.as_mut_ptr() as i64 - t.true_lb) as *mut std::ffi::c_void;
    // SAFETY: the unpacked data lands inside map by the definition of the true extent.
    let rc = unsafe { pmpi::PMPI_Unpack(packed.as_ptr().cast(), size as i32, &mut pos, out, 1, dt, abi().h.comm_self) };
    if rc != 0 {
        return Err(type_error(dt, "MPI_Unpack", rc));
    }
    let mut runs = Vec::new();
    let mut i = 0;
    while i < map.len() {
        if map[i] == 0 {
            i += 1;
            continue;
        }
        let start = i;
        while i < map.len() && map[i] != 0 {
            i += 1;
        }
        runs.push((t.true_lb + start as i64, (i - start) as u64));
    }
    Ok(runs)
}

/// Sorts runs and merges the ones that touch or overlap.
pub fn merge(mut runs: Vec<Run>) -> Vec<Run> {
    runs.retain(|r| r.1 > 0);
    runs.sort_unstable_by_key(|r| r.0);
    let mut out: Vec<Run> = Vec::with_capacity(runs.len());
    for (o, l) in runs {
        match out.last_mut() {
            Some((po, pl)) if o <= *po + *pl as i64 => {
                let end = (*po + *pl as i64).max(o + l as i64);
                *pl = (end - *po) as u64;
            }
            _ => out.push((o, l)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(size: i64, extent: i64, true_lb: i64, true_extent: i64) -> TypeInfo {
        TypeInfo { size, extent, true_lb, true_extent, named: false }
    }

    #[test]
    fn spans() {
        let double = t(8, 8, 0, 8);
        assert_eq!(double.span(10), Span { lo: 0, hi: 80 });
        assert!(double.dense(10));
        assert_eq!(double.span(0), Span::EMPTY);
        // vector(count 3, blocklen 1, stride -2) of doubles: true_lb -32, true_extent 40, extent 40
        let neg = t(24, 40, -32, 40);
        assert_eq!(neg.span(1), Span { lo: -32, hi: 8 });
        assert!(!neg.dense(1));
        // resized to extent -40: elements go downwards
        let down = t(8, -16, 0, 8);
        assert_eq!(down.span(3), Span { lo: -32, hi: 8 });
    }

    #[test]
    fn merging() {
        assert_eq!(merge(vec![(16, 8), (0, 8), (8, 8), (40, 0), (30, 4)]), vec![(0, 24), (30, 4)]);
        assert_eq!(merge(vec![(0, 10), (2, 3)]), vec![(0, 10)]);
    }

    #[test]
    fn spans_union() {
        let a = Span { lo: 0, hi: 8 };
        assert_eq!(a.union(Span::EMPTY), a);
        assert_eq!(Span::EMPTY.union(a.shift(8)), Span { lo: 8, hi: 16 });
        assert_eq!(a.union(Span { lo: -8, hi: 2 }), Span { lo: -8, hi: 8 });
    }
}
