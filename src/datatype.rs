//! What memory a (count, datatype) pair touches.
//!
//! The span of `count` elements of `dt` at `buf` runs from `buf + true_lb` to `buf + true_lb +
//! true_extent + (count - 1) * extent` (the other way round for a negative extent), so derived types
//! with negative strides, resized bounds or holes are staged correctly. A type is *dense* when its data
//! fills its span exactly; otherwise its *coverage* (the byte runs the type map touches) says which
//! bytes a receive may write back, so the holes between blocks keep their contents in VE memory.
//!
//! Coverage comes from the type's constructor, read back with MPI_Type_get_contents (vector,
//! indexed, struct, subarray, ... recursively), so it costs one entry per block, not per byte of
//! extent. For the rare constructors that are not decoded (darray, Fortran parameterized types) the
//! real MPI computes it: unpacking a stream of 0xFF bytes into a zeroed map of the element's extent
//! marks exactly the bytes the type map covers.
//!
//! Both are cached per datatype. Predefined types live forever; a derived type gets an attribute of a
//! private keyval whose delete callback drops the cache entry when the application frees the type, so a
//! handle that MPI reuses for a new type is never served stale data.

use crate::abi::{Class, Count, Datatype, Handle};
use crate::errors::{Error, Result};
use crate::real::{abi, pmpi};
use once_cell::sync::{Lazy, OnceCell};
use parking_lot::RwLock;
use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::sync::Arc;

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


/// What the shim caches about one datatype.
struct Cached {
    info: TypeInfo,
    /// Byte runs of one element, computed at first need.
    runs: OnceCell<Arc<ElementRuns>>,
    /// The runs of `count` elements last asked for ([`coverage`]), when not too many: a program
    /// sends the same (count, datatype) again and again (a halo exchange's columns).
    last: parking_lot::Mutex<Option<(Count, Arc<Vec<Run>>)>>,
}

/// Most runs [`coverage`] keeps per datatype for its next call (16 bytes each).
const LAST_MAX_RUNS: usize = 1 << 16;

/// The byte runs of one element of a derived datatype.
pub struct ElementRuns {
    /// Sorted and merged.
    pub runs: Vec<Run>,
    /// The type map visits the runs in ascending address order without going back or overlapping
    /// (false when that is not known): packed byte k of an element is then byte k of its runs.
    pub in_order: bool,
}

static CACHE: Lazy<RwLock<HashMap<Handle, Arc<Cached>>>> = Lazy::new(|| RwLock::new(HashMap::new()));
/// The private keyval whose delete callback invalidates the cache; None if MPI refused to create it.
static KEYVAL: OnceCell<Option<c_int>> = OnceCell::new();

/// Attribute delete callback: called by MPI (any thread) when the application's type is destroyed;
/// drops the type's cached layout. Inside the C boundary: a panic is reported, never unwinds into MPI.
extern "C" fn forget(dt: Datatype, _key: c_int, _val: *mut c_void, _extra: *mut c_void) -> c_int {
    crate::ffi::boundary_or("the datatype cache's delete callback", 0, || {
        if let Ok(m) = crate::real::mpi() {
            CACHE.write().remove(&m.abi.norm(dt));
        }
        0
    })
}

fn keyval() -> Option<c_int> {
    *KEYVAL.get_or_init(|| {
        let mut k: c_int = 0;
        // SAFETY: the callbacks have the C signatures MPI expects; k is a valid out-pointer.
        let rc = unsafe { pmpi::PMPI_Type_create_keyval(crate::ffi::attr_not_inherited::<Datatype> as *const c_void, forget as *const c_void, &mut k, std::ptr::null_mut()) };
        (rc == 0).then_some(k)
    })
}

fn type_error(dt: Datatype, what: &str, rc: i32) -> Error {
    Error::new(Class::Type, format!("cannot query the datatype {dt:#x} ({what} returned {rc}): is it a valid, committed datatype?"))
}

/// The cache entry of `dt`, computed and registered on first use.
unsafe fn cached(dt: Datatype) -> Result<Arc<Cached>> {
    let key = abi().norm(dt);
    if let Some(c) = CACHE.read().get(&key) {
        return Ok(c.clone());
    }
    // SAFETY: forwarded contract.
    let info = unsafe { query(dt) }?;
    let c = Arc::new(Cached { info, runs: OnceCell::new(), last: parking_lot::Mutex::new(None) });
    // Predefined types are never freed; a derived type is cached only once MPI will tell us when it is.
    let keep = info.named || keyval().is_some_and(|k| {
        // SAFETY: a valid datatype and our keyval.
        unsafe { pmpi::PMPI_Type_set_attr(dt, k, std::ptr::null_mut()) == 0 }
    });
    if keep {
        CACHE.write().insert(key, c.clone());
    }
    Ok(c)
}

/// Queries `dt`.
///
/// # Safety
/// `dt` is a datatype handle given by the application.
pub unsafe fn info(dt: Datatype) -> Result<TypeInfo> {
    let key = abi().norm(dt);
    if let Some(t) = named::get(key) {
        return Ok(t);
    }
    // SAFETY: forwarded contract.
    let t = unsafe { cached(dt) }?.info;
    if t.named {
        named::put(key, t);
    }
    Ok(t)
}

/// Predefined datatypes, which live for ever, in a table read without a lock or a reference count:
/// the small VE messages' path. A slot is written once; a handle whose slot another
/// type took goes to the cache above.
mod named {
    use super::{Handle, TypeInfo};
    use std::sync::OnceLock;

    const SLOTS: usize = 128;
    static TABLE: [OnceLock<(Handle, TypeInfo)>; SLOTS] = [const { OnceLock::new() }; SLOTS];

    fn slot(h: Handle) -> &'static OnceLock<(Handle, TypeInfo)> {
        &TABLE[((h as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 57) as usize % SLOTS]
    }

    #[inline]
    pub fn get(h: Handle) -> Option<TypeInfo> {
        slot(h).get().filter(|e| e.0 == h).map(|e| e.1)
    }

    pub fn put(h: Handle, t: TypeInfo) {
        let _ = slot(h).set((h, t));
    }
}

/// Asks the real MPI about `dt`.
unsafe fn query(dt: Datatype) -> Result<TypeInfo> {
    let (mut size, mut lb, mut extent, mut tlb, mut textent) = (0, 0, 0, 0, 0);
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
    }
    // SAFETY: forwarded contract.
    let env = unsafe { envelope(dt) }?;
    Ok(TypeInfo { size, extent, true_lb: tlb, true_extent: textent, named: env.combiner == comb::NAMED })
}

/// A type's envelope, with the combiner numbered as in [`comb`].
#[derive(Clone, Copy, Debug)]
struct Envelope {
    ni: i64,
    na: i64,
    /// Large counts: types built with the MPI-4 `_c` constructors keep their counts there.
    nc: i64,
    nd: i64,
    combiner: i32,
}

type EnvelopeC = unsafe extern "C" fn(Datatype, *mut Count, *mut Count, *mut Count, *mut Count, *mut c_int) -> c_int;
type ContentsC = unsafe extern "C" fn(Datatype, Count, Count, Count, Count, *mut c_int, *mut i64, *mut Count, *mut c_void) -> c_int;

/// The MPI-4 `_c` query functions, where the real MPI has them (MPICH 4.0): a type built with a
/// large-count constructor cannot be described by MPI_Type_get_envelope.
fn large_queries() -> Option<(EnvelopeC, ContentsC)> {
    static Q: OnceCell<Option<(usize, usize)>> = OnceCell::new();
    let (e, c) = (*Q.get_or_init(|| {
        let m = crate::real::mpi().ok()?;
        Some((m.sym("PMPI_Type_get_envelope_c")? as usize, m.sym("PMPI_Type_get_contents_c")? as usize))
    }))?;
    // SAFETY: the symbols are the real library's functions of these signatures (MPI-4.0 §5.1.13).
    Some(unsafe { (std::mem::transmute::<usize, EnvelopeC>(e), std::mem::transmute::<usize, ContentsC>(c)) })
}

unsafe fn envelope(dt: Datatype) -> Result<Envelope> {
    let abi = abi();
    if let Some((env_c, _)) = large_queries() {
        let (mut ni, mut na, mut nc, mut nd, mut combiner) = (0, 0, 0, 0, 0);
        // SAFETY: out-pointers to locals.
        let rc = unsafe { env_c(dt, &mut ni, &mut na, &mut nc, &mut nd, &mut combiner) };
        if rc != 0 {
            return Err(type_error(dt, "MPI_Type_get_envelope_c", rc));
        }
        return Ok(Envelope { ni, na, nc, nd, combiner: abi.mpich_combiner(combiner) });
    }
    let (mut ni, mut na, mut nd, mut combiner) = (0, 0, 0, 0);
    // SAFETY: out-pointers to locals.
    let rc = unsafe { pmpi::PMPI_Type_get_envelope(dt, &mut ni, &mut na, &mut nd, &mut combiner) };
    if rc != 0 {
        return Err(type_error(dt, "MPI_Type_get_envelope", rc));
    }
    Ok(Envelope { ni: ni as i64, na: na as i64, nc: 0, nd: nd as i64, combiner: abi.mpich_combiner(combiner) })
}

/// A type's constructor arguments: the integer ones in the layout of the classic (`int`) constructor
/// whichever constructor made the type, the addresses, and the constituent types.
struct Contents {
    ints: Vec<i64>,
    addrs: Vec<i64>,
    subs: Vec<Datatype>,
}

unsafe fn contents(dt: Datatype, env: &Envelope) -> Result<Contents> {
    let abi = abi();
    let mut ints = vec![0 as c_int; env.ni.max(0) as usize];
    let mut addrs = vec![0i64; env.na.max(0) as usize];
    let mut large = vec![0 as Count; env.nc.max(0) as usize];
    let mut types = vec![0u8; env.nd.max(0) as usize * abi.handle_size()];
    let rc = match large_queries() {
        // SAFETY: the arrays have the sizes the envelope gave.
        Some((_, cont_c)) => unsafe {
            cont_c(dt, env.ni, env.na, env.nc, env.nd, ints.as_mut_ptr(), addrs.as_mut_ptr(), large.as_mut_ptr(), types.as_mut_ptr().cast())
        },
        // SAFETY: as above.
        None => unsafe {
            pmpi::PMPI_Type_get_contents(dt, env.ni as c_int, env.na as c_int, env.nd as c_int, ints.as_mut_ptr(), addrs.as_mut_ptr(), types.as_mut_ptr().cast())
        },
    };
    if rc != 0 {
        return Err(type_error(dt, "MPI_Type_get_contents", rc));
    }
    // SAFETY: get_contents filled nd handles.
    let subs = (0..env.nd.max(0) as usize).map(|i| Datatype::from_raw(unsafe { abi.handle_at(types.as_ptr().cast(), i) })).collect();
    if env.nc == 0 {
        return Ok(Contents { ints: ints.into_iter().map(i64::from).collect(), addrs, subs });
    }
    if env.combiner == comb::SUBARRAY {
        // large-count subarray: ints = [ndims, order], large = sizes, subsizes, starts
        let mut v = vec![ints.first().copied().unwrap_or(0) as i64];
        v.extend(large);
        v.push(ints.get(1).copied().unwrap_or(0) as i64);
        return Ok(Contents { ints: v, addrs, subs });
    }
    // The other large-count constructors take every count, and their byte displacements too, as
    // MPI_Count: the large counts are the classic integer arguments followed by the classic address
    // arguments.
    let count = large.first().copied().unwrap_or(0).max(0) as usize;
    let int_len = match env.combiner {
        comb::HVECTOR | comb::HINDEXED_BLOCK => 2,
        comb::HINDEXED | comb::STRUCT => 1 + count,
        comb::RESIZED => 0,
        _ => large.len(),
    }
    .min(large.len());
    let (i, a) = large.split_at(int_len);
    let addrs = if addrs.is_empty() { a.to_vec() } else { addrs };
    Ok(Contents { ints: i.to_vec(), addrs, subs })
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

/// The byte runs that `count` elements of `dt` touch, sorted and merged, relative to the buffer. The
/// result of the last count asked for is kept with the datatype (until it is freed).
///
/// # Safety
/// `dt` is a valid datatype handle.
pub unsafe fn coverage(dt: Datatype, t: &TypeInfo, count: Count) -> Result<Arc<Vec<Run>>> {
    if count <= 0 || t.size == 0 {
        return Ok(Arc::new(Vec::new()));
    }
    // SAFETY: forwarded contract.
    let c = unsafe { cached(dt) }?;
    if let Some((n, runs)) = c.last.lock().as_ref() {
        if *n == count {
            return Ok(runs.clone());
        }
    }
    let runs = if t.dense(1) {
        // Each element is one run; the elements themselves may leave gaps (resized types).
        merge((0..count).map(|k| (t.true_lb + k * t.extent, t.true_extent as u64)).collect())
    } else {
        // SAFETY: forwarded contract.
        let one = unsafe { element_runs(dt) }?;
        let mut runs = Vec::with_capacity(one.runs.len().saturating_mul(count.min(1 << 20) as usize));
        for k in 0..count {
            runs.extend(one.runs.iter().map(|&(o, l)| (o + k * t.extent, l)));
        }
        merge(runs)
    };
    let runs = Arc::new(runs);
    if runs.len() <= LAST_MAX_RUNS {
        *c.last.lock() = Some((count, runs.clone()));
    }
    Ok(runs)
}

/// Whether the packed bytes of `count` elements of `dt` (described by `t`) fill their byte runs in
/// ascending address order: then the first n bytes of a message land in the first n bytes of
/// [`coverage`]'s runs, and a receive that brought fewer bytes than the type holds can store exactly
/// those without having read the rest first. False when the type map goes backwards (a negative
/// stride, blocks listed out of order, a permuted struct), overlaps, or cannot be decoded.
///
/// # Safety
/// `dt` is a valid datatype handle.
pub unsafe fn in_order(dt: Datatype, t: &TypeInfo, count: Count) -> Result<bool> {
    if count <= 0 || t.size == 0 {
        return Ok(true);
    }
    if count > 1 && (t.extent <= 0 || t.true_extent > t.extent) {
        return Ok(false);
    }
    if t.named {
        return Ok(true);
    }
    if t.dense(1) {
        // SAFETY: forwarded contract.
        return unsafe { dense_in_order(dt) };
    }
    // SAFETY: forwarded contract.
    Ok(unsafe { element_runs(dt) }?.in_order)
}

/// The merged byte runs of one element of `dt`, from the cache.
unsafe fn element_runs(dt: Datatype) -> Result<Arc<ElementRuns>> {
    // SAFETY: forwarded contract.
    let c = unsafe { cached(dt) }?;
    c.runs
        .get_or_try_init(|| {
            let mut runs = Vec::new();
            let order = Cell::new(true);
            // SAFETY: forwarded contract.
            unsafe { flatten(dt, &c.info, 0, &mut runs, &order, 0) }?;
            // The runs came in type-map order: in order if they ascend without overlapping (and
            // every constituent type's own runs did).
            let in_order = order.get() && runs.windows(2).all(|w| w[0].0 + w[0].1 as i64 <= w[1].0);
            let runs = merge(runs);
            if *CHECK {
                // Self-check (MPIVE_CHECK_COVERAGE=1, used by the tests): the decoded runs must be
                // exactly what the real MPI's unpack touches.
                // SAFETY: forwarded contract.
                let by_mpi = merge(unsafe { element_coverage(dt, &c.info) }?);
                if by_mpi != runs {
                    return Err(Error::new(
                        Class::Intern,
                        format!("coverage of datatype {dt:#x} decoded as {runs:?} but MPI_Unpack touches {by_mpi:?}"),
                    ));
                }
                // SAFETY: forwarded contract.
                if in_order && !unsafe { order_by_mpi(dt, &c.info) }? {
                    return Err(Error::new(Class::Intern, format!("datatype {dt:#x} was decoded as in order but MPI_Unpack fills it out of order")));
                }
            }
            Ok(Arc::new(ElementRuns { runs, in_order }))
        })
        .cloned()
}

/// MPIVE_CHECK_COVERAGE=1: compare every decoded coverage with the real MPI's (tests).
static CHECK: Lazy<bool> = Lazy::new(|| std::env::var("MPIVE_CHECK_COVERAGE").is_ok_and(|v| v == "1"));

/// Most runs a flattening may produce before the shim gives up on a datatype.
const MAX_RUNS: usize = 1 << 24;

/// The combiners the flattening decodes, numbered as in MPICH (every library's numbers are
/// translated by `Abi::mpich_combiner`).
mod comb {
    pub const NAMED: i32 = 1;
    pub const DUP: i32 = 2;
    pub const CONTIGUOUS: i32 = 3;
    pub const VECTOR: i32 = 4;
    pub const HVECTOR_INTEGER: i32 = 5;
    pub const HVECTOR: i32 = 6;
    pub const INDEXED: i32 = 7;
    pub const HINDEXED_INTEGER: i32 = 8;
    pub const HINDEXED: i32 = 9;
    pub const INDEXED_BLOCK: i32 = 10;
    pub const STRUCT_INTEGER: i32 = 11;
    pub const STRUCT: i32 = 12;
    pub const SUBARRAY: i32 = 13;
    pub const RESIZED: i32 = 18;
    pub const HINDEXED_BLOCK: i32 = 19;
}

/// Whether [`flatten`] decodes types made by `combiner` (others are mapped by MPI_Unpack).
fn decodes(combiner: i32) -> bool {
    matches!(
        combiner,
        comb::DUP
            | comb::CONTIGUOUS
            | comb::VECTOR
            | comb::HVECTOR_INTEGER
            | comb::HVECTOR
            | comb::INDEXED
            | comb::HINDEXED_INTEGER
            | comb::HINDEXED
            | comb::INDEXED_BLOCK
            | comb::STRUCT_INTEGER
            | comb::STRUCT
            | comb::SUBARRAY
            | comb::RESIZED
            | comb::HINDEXED_BLOCK
    )
}

/// The order of the type map of a derived type without holes: decoded (and cached) when its
/// combiner is one [`flatten`] decodes, else not known (false): mapping a type without holes
/// through MPI_Unpack would cost a map of its whole extent for nothing.
///
/// # Safety
/// `dt` is a valid datatype handle.
unsafe fn dense_in_order(dt: Datatype) -> Result<bool> {
    // Decoded before: no query to MPI (every receive into the type asks).
    // SAFETY: forwarded contract.
    if let Some(e) = unsafe { cached(dt) }?.runs.get() {
        return Ok(e.in_order);
    }
    // SAFETY: forwarded contract.
    if !decodes(unsafe { envelope(dt) }?.combiner) {
        return Ok(false);
    }
    // SAFETY: forwarded contract.
    Ok(unsafe { element_runs(dt) }?.in_order)
}

/// Appends the runs of one element of `dt` (described by `t`) at byte offset `base` to `out`, in
/// type-map order; clears `order` when a part's order is not known to ascend.
unsafe fn flatten(dt: Datatype, t: &TypeInfo, base: i64, out: &mut Vec<Run>, order: &Cell<bool>, depth: u32) -> Result<()> {
    if t.size == 0 {
        return Ok(());
    }
    if t.named {
        out.push((base + t.true_lb, t.size as u64));
        return Ok(());
    }
    if out.len() > MAX_RUNS || depth > 64 {
        return Err(Error::new(Class::Type, format!("the datatype {dt:#x} has too many blocks to stage from VE memory")));
    }
    // SAFETY: forwarded contract.
    let env = unsafe { envelope(dt) }?;
    let combiner = env.combiner;
    if !decodes(combiner) {
        // SAFETY: forwarded contract.
        let runs = unsafe { element_coverage(dt, t) }?;
        out.extend(runs.into_iter().map(|(o, l)| (o + base, l)));
        order.set(false);
        return Ok(());
    }
    // SAFETY: forwarded contract.
    let Contents { ints, addrs, subs } = unsafe { contents(dt, &env) }?;
    // SAFETY: forwarded contract; the handles are released below whatever happens.
    let r = unsafe { flatten_contents(combiner, &ints, &addrs, &subs, base, out, order, depth) };
    for &h in &subs {
        // Handles get_contents returned for derived types are new references: release them.
        // SAFETY: a handle MPI just gave us.
        let named = unsafe { info(h) }.map(|i| i.named).unwrap_or(true);
        if !named {
            let mut hv = h.raw() as u64;
            // SAFETY: as above; a u64 holds a handle of either ABI.
            unsafe { pmpi::PMPI_Type_free(&mut hv as *mut u64 as *mut c_void) };
        }
    }
    r
}

#[allow(clippy::too_many_arguments)]
unsafe fn flatten_contents(
    combiner: i32,
    ints: &[i64],
    addrs: &[i64],
    subs: &[Datatype],
    base: i64,
    out: &mut Vec<Run>,
    order: &Cell<bool>,
    depth: u32,
) -> Result<()> {
    let sub = subs.first().copied().unwrap_or(Datatype::from_raw(0));
    let last = subs.len().saturating_sub(1);
    // SAFETY: forwarded contract.
    let child = |h: Datatype| -> Result<TypeInfo> { unsafe { info(h) } };
    let n = |i: usize| ints.get(i).copied().unwrap_or(0);
    let a = |i: usize| addrs.get(i).copied().unwrap_or(0);
    // One block: `len` consecutive elements of `h` at byte offset `at`.
    let block = |h: Datatype, t: &TypeInfo, at: i64, len: i64, out: &mut Vec<Run>| -> Result<()> {
        if len <= 0 || t.size == 0 {
            return Ok(());
        }
        if t.dense(len) {
            // One run; in order if the elements follow one another upwards without interleaving
            // (a column type resized to one element's extent, repeated, is dense but goes back
            // after every element: a transpose) and each element's own type map ascends.
            if order.get() {
                let ascends = len == 1 || (t.extent > 0 && t.true_extent <= t.extent);
                // SAFETY: forwarded contract.
                if !ascends || !t.named && !unsafe { dense_in_order(h) }? {
                    order.set(false);
                }
            }
            let sp = t.span(len);
            out.push((base + at + sp.lo, sp.len()));
            return Ok(());
        }
        if out.len().saturating_add(len as usize) > MAX_RUNS || depth > 64 {
            return Err(Error::new(Class::Type, "a datatype has too many blocks to stage from VE memory"));
        }
        // The child's own runs come from the cache: each constituent type is decoded once.
        // SAFETY: forwarded contract.
        let one = unsafe { element_runs(h) }?;
        if !one.in_order {
            order.set(false);
        }
        for k in 0..len {
            out.extend(one.runs.iter().map(|&(o, l)| (base + at + k * t.extent + o, l)));
        }
        Ok(())
    };
    match combiner {
        comb::DUP | comb::RESIZED => {
            let t = child(sub)?;
            block(sub, &t, 0, 1, out)
        }
        comb::CONTIGUOUS => {
            let t = child(sub)?;
            block(sub, &t, 0, n(0), out)
        }
        comb::VECTOR | comb::HVECTOR | comb::HVECTOR_INTEGER => {
            let t = child(sub)?;
            let stride = if combiner == comb::VECTOR { n(2) * t.extent } else if combiner == comb::HVECTOR { a(0) } else { n(2) };
            (0..n(0)).try_for_each(|i| block(sub, &t, i * stride, n(1), out))
        }
        comb::INDEXED | comb::HINDEXED | comb::HINDEXED_INTEGER => {
            let t = child(sub)?;
            let count = n(0) as usize;
            (0..count).try_for_each(|i| {
                let d = match combiner {
                    comb::INDEXED => n(1 + count + i) * t.extent,
                    comb::HINDEXED => a(i),
                    _ => n(1 + count + i),
                };
                block(sub, &t, d, n(1 + i), out)
            })
        }
        comb::INDEXED_BLOCK | comb::HINDEXED_BLOCK => {
            let t = child(sub)?;
            (0..n(0) as usize).try_for_each(|i| {
                let d = if combiner == comb::INDEXED_BLOCK { n(2 + i) * t.extent } else { a(i) };
                block(sub, &t, d, n(1), out)
            })
        }
        comb::STRUCT | comb::STRUCT_INTEGER => {
            let count = n(0) as usize;
            (0..count.min(last + 1)).try_for_each(|i| {
                let t = child(subs[i])?;
                let d = if combiner == comb::STRUCT { a(i) } else { n(1 + count + i) };
                block(subs[i], &t, d, n(1 + i), out)
            })
        }
        comb::SUBARRAY => {
            // ints: ndims, sizes[ndims], subsizes[ndims], starts[ndims], order
            let t = child(sub)?;
            let nd = n(0) as usize;
            let sizes: Vec<i64> = (0..nd).map(|i| n(1 + i)).collect();
            let subsz: Vec<i64> = (0..nd).map(|i| n(1 + nd + i)).collect();
            let starts: Vec<i64> = (0..nd).map(|i| n(1 + 2 * nd + i)).collect();
            let fortran = n(1 + 3 * nd) == abi().order_fortran as i64;
            // dimension order from slowest to fastest
            let dims: Vec<usize> = if fortran { (0..nd).rev().collect() } else { (0..nd).collect() };
            let mut stride = vec![0i64; nd];
            let mut s = t.extent;
            for &d in dims.iter().rev() {
                stride[d] = s;
                s *= sizes[d];
            }
            if nd == 0 || subsz.iter().any(|&x| x <= 0) {
                return Ok(());
            }
            let fast = *dims.last().unwrap_or(&0);
            let outer: Vec<usize> = dims[..nd - 1].to_vec();
            let mut idx = vec![0i64; nd];
            loop {
                let off: i64 = (0..nd).map(|d| (starts[d] + if d == fast { 0 } else { idx[d] }) * stride[d]).sum();
                block(sub, &t, off, subsz[fast], out)?;
                // next index over the outer dimensions, fastest varying last
                let mut k = outer.len();
                loop {
                    if k == 0 {
                        return Ok(());
                    }
                    k -= 1;
                    let d = outer[k];
                    idx[d] += 1;
                    if idx[d] < subsz[d] {
                        break;
                    }
                    idx[d] = 0;
                }
            }
        }
        _ => unreachable!("combiner {combiner} is not decoded"),
    }
}

/// One element of `dt` unpacked from `packed` (its `t.size` bytes) into a zeroed map of its true
/// extent: the map's byte i is the element's byte at true_lb + i.
unsafe fn unpack_map(dt: Datatype, t: &TypeInfo, packed: &[u8]) -> Result<Vec<u8>> {
    let (size, span) = (t.size, t.true_extent);
    if size > i32::MAX as i64 || span > (1 << 34) {
        return Err(Error::new(
            Class::Type,
            format!("a datatype with holes of {size} bytes over an extent of {span} bytes is too large to stage from VE memory"),
        ));
    }
    let mut map = vec![0u8; span as usize];
    let mut pos = 0;
    // The map stands for the element's true span, so the element's buffer address is map - true_lb.
    let out = (map.as_mut_ptr() as i64 - t.true_lb) as *mut std::ffi::c_void;
    // A constituent type need not be committed: unpack with a committed duplicate.
    let mut dup: u64 = 0;
    let dp = &mut dup as *mut u64 as *mut c_void;
    // SAFETY: a u64 holds a handle of either ABI; the unpacked data lands inside map by the definition
    // of the true extent; the duplicate is freed below.
    let rc = unsafe {
        let mut rc = pmpi::PMPI_Type_dup(dt, dp);
        if rc == 0 {
            rc = pmpi::PMPI_Type_commit(dp);
            if rc == 0 {
                rc = pmpi::PMPI_Unpack(packed.as_ptr().cast(), size as i32, &mut pos, out, 1, Datatype::from_raw(dup as Handle), abi().h.comm_self);
            }
            pmpi::PMPI_Type_free(dp);
        }
        rc
    };
    if rc != 0 {
        return Err(type_error(dt, "MPI_Unpack", rc));
    }
    Ok(map)
}

/// Coverage of one element, by unpacking 0xFF bytes into a zeroed map of its true extent.
unsafe fn element_coverage(dt: Datatype, t: &TypeInfo) -> Result<Vec<Run>> {
    // SAFETY: forwarded contract.
    let map = unsafe { unpack_map(dt, t, &vec![0xFFu8; t.size.max(0) as usize]) }?;
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

/// The self-check of [`ElementRuns::in_order`] (MPIVE_CHECK_COVERAGE=1): packed byte k carries
/// 1 + k mod 251; read in ascending address order, the bytes the element covers must count up the
/// same way.
unsafe fn order_by_mpi(dt: Datatype, t: &TypeInfo) -> Result<bool> {
    let packed: Vec<u8> = (0..t.size.max(0)).map(|k| (1 + k % 251) as u8).collect();
    // SAFETY: forwarded contract.
    let map = unsafe { unpack_map(dt, t, &packed) }?;
    Ok(map.iter().filter(|&&b| b != 0).copied().eq(packed.iter().copied()))
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
