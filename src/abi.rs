//! Everything that differs between the MPI libraries libmpive sits on, in one place.
//!
//! One `libmpive.so` serves three ABIs: Open MPI's (4.1 and 5.0: pointer handles,
//! `MPI_IN_PLACE == (void*)1`, 24-byte status), MPICH's (MPICH 4.0 and 5.0's `libmpi.so.12`, Intel MPI
//! 2021's `libmpi.so.12`: `int` handles, `MPI_IN_PLACE == (void*)-1`, 20-byte status) and the MPI-5
//! standard ABI (`libmpi_abi.so.1` of MPICH 5 and Intel MPI: pointer-sized handles with small predefined
//! values, `MPI_IN_PLACE == (void*)1`, `MPI_STATUS_IGNORE == NULL`, 32-byte status, its own numbering of
//! every constant). The library is identified once, when the real MPI is first resolved
//! ([`crate::real`]); after that every module asks [`abi()`] for a constant or a predefined handle and
//! never spells out a library name.
//!
//! Handles travel through the shim as typed handles ([`Comm`], [`Datatype`], ...: `#[repr(transparent)]`
//! over the raw [`Handle`], `usize`): an MPICH `int` handle arrives in a 64-bit register whose upper
//! half is undefined, so handles are forwarded untouched and only ever compared after [`Abi::norm`].
//! Arrays of handles and of statuses have an ABI-specific stride: read and write them through
//! [`Abi::handle_at`], [`Abi::set_handle_at`] and [`Abi::status_at`] (the elements are raw handles;
//! wrap one with `Datatype::from_raw` etc. where it is used as an object of that kind).
//!
//! The standard ABI's numbers are those of the MPI-5.0 standard's ABI chapter, as spelled by the
//! `mpi_abi.h` of MPICH 5.0.2 and of Intel MPI 2021.19 (checked against both, and against what the
//! libraries answer at run time). Where the two headers disagree the library's own behaviour decides:
//! Intel MPI swaps MPI_ERRORS_ABORT and MPI_ERRORS_RETURN (0x143/0x142; MPICH and the standard:
//! 0x142/0x143), and so does its `libmpi_abi.so.1` at run time ([`StdVendor`]).

use std::ffi::{c_int, c_void};

/// A raw MPI handle as it arrives in an argument register (see the module documentation).
pub type Handle = usize;

/// Writes the typed handles: one `#[repr(transparent)]` newtype over [`Handle`] per kind of MPI
/// object, so that a communicator cannot be passed where a datatype is expected. Each has the size,
/// alignment and calling convention of the raw handle (one argument register, one pointer-size
/// slot), so it appears directly in `extern "C"` signatures; [`raw`](Comm::raw) and
/// [`from_raw`](Comm::from_raw) cross to the integer where it is genuinely needed (arrays of handles,
/// whose element width is the ABI's, hashing, formatting).
///
/// ```compile_fail,E0308
/// use mpive::abi::{Comm, Datatype};
/// fn type_size(_dt: Datatype) {}
/// type_size(Comm::from_raw(0x4400_0000)); // a communicator is no datatype
/// ```
/// ```
/// use mpive::abi::{Comm, Datatype};
/// fn type_size(_dt: Datatype) {}
/// type_size(Datatype::from_raw(0x4c00_010d));
/// assert_eq!(Comm::from_raw(7).raw(), 7);
/// ```
macro_rules! handles {
    ($($(#[$m:meta])* $name:ident;)*) => {$(
        $(#[$m])*
        #[repr(transparent)]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
        pub struct $name(Handle);

        impl $name {
            /// The handle as the integer that arrived in the argument register.
            #[inline(always)]
            pub const fn raw(self) -> Handle {
                self.0
            }
            /// The handle whose integer value is `h`.
            #[inline(always)]
            pub const fn from_raw(h: Handle) -> Self {
                $name(h)
            }
        }

        /// Formats the integer value (`{comm:#x}` in messages).
        impl std::fmt::LowerHex for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::LowerHex::fmt(&self.0, f)
            }
        }

        impl RawHandle for $name {
            #[inline(always)]
            fn raw_handle(self) -> Handle {
                self.0
            }
        }
    )*};
}

/// A handle of any kind, typed or raw, as its integer value ([`Abi::norm`], [`Abi::same`]).
pub trait RawHandle: Copy {
    fn raw_handle(self) -> Handle;
}

impl RawHandle for Handle {
    #[inline(always)]
    fn raw_handle(self) -> Handle {
        self
    }
}

handles! {
    /// `MPI_Comm`.
    Comm;
    /// `MPI_Datatype`.
    Datatype;
    /// `MPI_Op`.
    Op;
    /// `MPI_Win`.
    Win;
    /// `MPI_File`.
    File;
    /// `MPI_Request`.
    Request;
    /// `MPI_Group`.
    Group;
    /// `MPI_Info`.
    Info;
    /// `MPI_Message`.
    Message;
}
/// `MPI_Aint`, `MPI_Offset` and `MPI_Count` are 64-bit signed integers in every supported ABI.
pub type Aint = i64;
pub type Count = i64;
pub type Offset = i64;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Family {
    OpenMpi,
    Mpich,
    /// The MPI-5 standard ABI (`MPI_Abi_get_version` answers a major version > 0).
    Std,
}

/// Who implements a library of the standard ABI: what the standard leaves to the implementation
/// (where the status keeps its byte count) and where a vendor departs from it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StdVendor {
    /// MPICH's `libmpi_abi.so.1`.
    Mpich,
    /// Intel MPI's `libmpi_abi.so.1`: MPI_ERRORS_RETURN is 0x142 and MPI_ERRORS_ABORT 0x143.
    Intel,
    /// Any other: only what the standard fixes is assumed.
    Other,
}

impl StdVendor {
    /// The vendor, from the first line of MPI_Get_library_version.
    pub fn of(version: &str) -> StdVendor {
        if version.contains("Intel(R) MPI") {
            StdVendor::Intel
        } else if version.contains("MPICH") {
            StdVendor::Mpich
        } else {
            StdVendor::Other
        }
    }
}

/// The error classes libmpive reports, mapped to each library's numbers by [`Abi::class`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Class {
    Buffer,
    Count,
    Type,
    Arg,
    Other,
    Intern,
    NoMem,
    Unsupported,
    Truncate,
    InStatus,
    Pending,
    Request,
}

/// A library's numbers for the error classes of [`Class`] but the first three: MPI_ERR_BUFFER,
/// MPI_ERR_COUNT and MPI_ERR_TYPE are 1, 2 and 3 in every ABI ([`Abi::class`]).
#[derive(Clone, Copy, Debug)]
struct Classes {
    request: c_int,
    arg: c_int,
    truncate: c_int,
    other: c_int,
    intern: c_int,
    in_status: c_int,
    pending: c_int,
    no_mem: c_int,
    unsupported: c_int,
}

/// Offsets of the public fields of `MPI_Status`, and where the library keeps the byte count.
#[derive(Clone, Copy, Debug)]
pub struct StatusLayout {
    pub size: usize,
    pub source: usize,
    pub tag: usize,
    pub error: usize,
    pub count: CountField,
}

/// The byte count of a status, which `MPI_Get_elements_x(status, MPI_BYTE)` reports.
#[derive(Clone, Copy, Debug)]
pub enum CountField {
    /// Open MPI: `size_t _ucount` at this offset.
    Size(usize),
    /// MPICH: `int count_lo` at this offset (0 in MPICH's ABI, 12 in MPICH's and Intel MPI's
    /// standard ABI), then `int count_hi_and_cancelled` (bit 0: cancelled).
    LoHi(usize),
    /// Not known (a standard-ABI library of another vendor): MPI_Get_elements_x is asked.
    Unknown,
}

/// Maximum size of an `MPI_Status` over the supported ABIs; the shim's own statuses use this.
pub const STATUS_MAX: usize = 32;

/// Storage for one status of any ABI.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub struct StatusBuf(pub [u8; STATUS_MAX]);

impl Default for StatusBuf {
    fn default() -> Self {
        StatusBuf::new()
    }
}

impl StatusBuf {
    pub const fn new() -> StatusBuf {
        StatusBuf([0; STATUS_MAX])
    }
    pub fn as_mut_ptr(&mut self) -> *mut c_void {
        self.0.as_mut_ptr().cast()
    }
}

/// Predefined handles of the running library (addresses of global objects in Open MPI).
#[derive(Clone, Copy, Debug, Default)]
pub struct Predefined {
    pub comm_world: Comm,
    pub comm_self: Comm,
    pub comm_null: Comm,
    pub request_null: Request,
    pub message_null: Message,
    pub message_no_proc: Message,
    pub datatype_null: Datatype,
    pub byte: Datatype,
    pub errors_are_fatal: Handle,
    /// MPI-4's MPI_ERRORS_ABORT, where the library has it.
    pub errors_abort: Option<Handle>,
    pub errors_return: Handle,
    pub file_null: File,
    pub win_null: Win,
    /// MPI_NO_OP (Get_accumulate and Fetch_and_op ignore the origin buffer with it).
    pub op_no_op: Op,
}

/// How an MPI's Fortran bindings reach MPI, and the names of their sentinels.
///
/// Read off the Debian libraries with `nm -D` and `objdump -d` (see docs/architecture.md):
/// - Open MPI 4.1: libmpi_mpifh defines `ompi_send_f` with the aliases `mpi_send`, `mpi_send_`,
///   `mpi_send__`, `MPI_SEND` and `pmpi_send_`, and calls `PMPI_Send`; libmpi_usempif08's
///   `mpi_send_f08_` passes the buffer address and the handles' integer values to `ompi_send_f`
///   through the PLT. MPI_IN_PLACE, MPI_BOTTOM and MPI_STATUS(ES)_IGNORE are the addresses of common
///   blocks (`mpi_fortran_in_place_`, ...) in every binding style.
/// - MPICH 4.0: libmpichfort's `mpi_send_` (alias `pmpi_send_`) and `mpi_send_f08ts_` call the C
///   `MPI_Send` through the PLT (the f08 ones after turning a descriptor into a datatype), so they
///   reach the shim's C functions; but the f08 completion calls (`mpi_wait_f08_`, ...) call
///   `PMPI_Wait` directly. The f08 MPI_STATUS(ES)_IGNORE are the objects
///   `MPIR_F08_MPI_STATUS(ES)_IGNORE_OBJ`; f08 statuses and requests are laid out as in C.
#[derive(Debug, Clone, Copy)]
pub struct FortranAbi {
    /// The `mpif.h`/`use mpi` entry points call the C `MPI_*` functions (MPICH), so the shim's own
    /// Fortran entry points forward to them; otherwise (Open MPI) they call `PMPI_*` and the shim
    /// converts and stages itself.
    pub f77_reaches_c: bool,
    /// The `use mpi_f08` completion calls (`mpi_wait_f08_`) call `PMPI_*` directly (MPICH), so the
    /// shim completes staged requests there itself; otherwise (Open MPI) they go through the f77
    /// layer (`ompi_wait_f`), which the shim exports.
    pub f08_completion_is_pmpi: bool,
    /// Sentinels of `mpif.h`/`use mpi` (and Open MPI's mpi_f08): data symbols whose address is the value.
    pub in_place: &'static str,
    pub bottom: &'static str,
    pub status_ignore: &'static str,
    pub statuses_ignore: &'static str,
    /// MPI_STATUS(ES)_IGNORE of `use mpi_f08`.
    pub f08_status_ignore: &'static str,
    pub f08_statuses_ignore: &'static str,
    /// MPI_STATUS_SIZE: INTEGERs in a Fortran status.
    pub status_size: usize,
    /// Whether the shim can convert Fortran handles to C ones (`MPI_*_f2c`, or MPICH's identity). The
    /// standard ABI's libraries export no `PMPI_*_f2c/c2f`, so there Fortran calls with VE buffers are
    /// refused ([`crate::fortran::guard`]).
    pub converts_handles: bool,
}

/// MPICH's Fortran bindings (libmpichfort). The standard ABI's Fortran library (Intel MPI's
/// `libmpifort_abi.so.1`) keeps the names of their sentinels.
const MPICH_FORTRAN: FortranAbi = FortranAbi {
    f77_reaches_c: true,
    f08_completion_is_pmpi: true,
    // Pointer variables set at the first Fortran call; unused, since MPICH's own
    // f77 bindings translate them before calling the shim's C functions.
    in_place: "MPIR_F_MPI_IN_PLACE",
    bottom: "MPIR_F_MPI_BOTTOM",
    status_ignore: "MPI_F_STATUS_IGNORE",
    statuses_ignore: "MPI_F_STATUSES_IGNORE",
    f08_status_ignore: "MPIR_F08_MPI_STATUS_IGNORE_OBJ",
    f08_statuses_ignore: "MPIR_F08_MPI_STATUSES_IGNORE_OBJ",
    status_size: 5,
    converts_handles: true,
};

/// The constants of one MPI ABI.
#[derive(Debug)]
pub struct Abi {
    pub family: Family,
    /// What MPI_Get_library_version said, first line.
    pub library: String,
    handle_size: usize,
    pub in_place: usize,
    pub status_ignore: usize,
    pub statuses_ignore: usize,
    pub status: StatusLayout,
    pub root: c_int,
    pub proc_null: c_int,
    pub any_source: c_int,
    pub undefined: c_int,
    pub combiner_named: c_int,
    /// MPI_ORDER_FORTRAN (subarray and darray constructors).
    pub order_fortran: c_int,
    pub topo_cart: c_int,
    pub topo_graph: c_int,
    pub topo_dist_graph: c_int,
    pub win_model_keyval: c_int,
    pub win_separate: c_int,
    /// MPI_WIN_BASE: the predefined window attribute holding the window's base address.
    pub win_base_keyval: c_int,
    /// MPI_MODE_NOSTORE: the local window was not updated by local stores since the last synchronization.
    pub mode_nostore: c_int,
    /// MPI_MAX_ERROR_STRING: 256 in Open MPI, 512 in MPICH and the standard ABI. Longer strings are refused.
    pub max_error_string: usize,
    /// Who implements the standard ABI (None for the Open MPI and MPICH ABIs).
    pub std_vendor: Option<StdVendor>,
    pub h: Predefined,
    pub fortran: FortranAbi,
    classes: Classes,
}

impl Abi {
    /// The table for `family`; `sym` looks up a data symbol of the real library (Open MPI's predefined
    /// handles are the addresses of its global objects).
    pub fn new(family: Family, library: String, sym: &dyn Fn(&str) -> Option<usize>) -> Result<Abi, String> {
        match family {
            Family::OpenMpi => {
                let need = |name: &str| sym(name).ok_or_else(|| format!("Open MPI symbol {name} not found"));
                Ok(Abi {
                    family,
                    library,
                    handle_size: 8,
                    in_place: 1,
                    status_ignore: 0,
                    statuses_ignore: 0,
                    status: StatusLayout { size: 24, source: 0, tag: 4, error: 8, count: CountField::Size(16) },
                    root: -4,
                    proc_null: -2,
                    any_source: -1,
                    undefined: -32766,
                    combiner_named: 0,
                    order_fortran: 1,
                    topo_cart: 1,
                    topo_graph: 2,
                    topo_dist_graph: 3,
                    win_model_keyval: 11,
                    win_separate: 1,
                    win_base_keyval: 7,
                    mode_nostore: 8,
                    max_error_string: 256,
                    std_vendor: None,
                    h: Predefined {
                        comm_world: Comm::from_raw(need("ompi_mpi_comm_world")?),
                        comm_self: Comm::from_raw(need("ompi_mpi_comm_self")?),
                        comm_null: Comm::from_raw(need("ompi_mpi_comm_null")?),
                        request_null: Request::from_raw(need("ompi_request_null")?),
                        message_null: Message::from_raw(need("ompi_message_null")?),
                        message_no_proc: Message::from_raw(need("ompi_message_no_proc")?),
                        datatype_null: Datatype::from_raw(need("ompi_mpi_datatype_null")?),
                        byte: Datatype::from_raw(need("ompi_mpi_byte")?),
                        errors_are_fatal: need("ompi_mpi_errors_are_fatal")?,
                        errors_abort: sym("ompi_mpi_errors_abort"),
                        errors_return: need("ompi_mpi_errors_return")?,
                        file_null: File::from_raw(need("ompi_mpi_file_null")?),
                        win_null: Win::from_raw(need("ompi_mpi_win_null")?),
                        op_no_op: Op::from_raw(need("ompi_mpi_op_no_op")?),
                    },
                    fortran: FortranAbi {
                        f77_reaches_c: false,
                        f08_completion_is_pmpi: false,
                        in_place: "mpi_fortran_in_place_",
                        bottom: "mpi_fortran_bottom_",
                        status_ignore: "mpi_fortran_status_ignore_",
                        statuses_ignore: "mpi_fortran_statuses_ignore_",
                        f08_status_ignore: "mpi_fortran_status_ignore_",
                        f08_statuses_ignore: "mpi_fortran_statuses_ignore_",
                        status_size: 6,
                        converts_handles: true,
                    },
                    classes: Classes {
                        request: 7,
                        arg: 13,
                        truncate: 15,
                        other: 16,
                        intern: 17,
                        in_status: 18,
                        pending: 19,
                        no_mem: 39,
                        unsupported: 52,
                    },
                })
            }
            Family::Mpich => Ok(Abi {
                family,
                library,
                handle_size: 4,
                in_place: usize::MAX,
                status_ignore: 1,
                statuses_ignore: 1,
                status: StatusLayout { size: 20, source: 8, tag: 12, error: 16, count: CountField::LoHi(0) },
                root: -3,
                proc_null: -1,
                any_source: -2,
                undefined: -32766,
                combiner_named: 1,
                order_fortran: 57,
                topo_cart: 2,
                topo_graph: 1,
                topo_dist_graph: 3,
                win_model_keyval: 0x6600_0009,
                win_separate: 1,
                win_base_keyval: 0x6600_0001,
                mode_nostore: 2048,
                max_error_string: 512,
                std_vendor: None,
                h: Predefined {
                    comm_world: Comm::from_raw(0x4400_0000),
                    comm_self: Comm::from_raw(0x4400_0001),
                    comm_null: Comm::from_raw(0x0400_0000),
                    request_null: Request::from_raw(0x2c00_0000),
                    message_null: Message::from_raw(0x2c00_0000),
                    message_no_proc: Message::from_raw(0x6c00_0000),
                    datatype_null: Datatype::from_raw(0x0c00_0000),
                    byte: Datatype::from_raw(0x4c00_010d),
                    errors_are_fatal: 0x5400_0000,
                    errors_abort: Some(0x5400_0003),
                    errors_return: 0x5400_0001,
                    file_null: File::from_raw(0),
                    win_null: Win::from_raw(0x2000_0000),
                    op_no_op: Op::from_raw(0x5800_000e),
                },
                fortran: MPICH_FORTRAN,
                classes: Classes {
                    request: 19,
                    arg: 12,
                    truncate: 14,
                    other: 15,
                    intern: 16,
                    in_status: 17,
                    pending: 18,
                    no_mem: 34,
                    unsupported: 44,
                },
            }),
            Family::Std => {
                // MPI-5.0's ABI chapter; what a vendor may choose is taken from `StdVendor`.
                let vendor = StdVendor::of(&library);
                let (errors_abort, errors_return) = match vendor {
                    StdVendor::Intel => (0x143, 0x142),
                    StdVendor::Mpich | StdVendor::Other => (0x142, 0x143),
                };
                let count = match vendor {
                    StdVendor::Mpich | StdVendor::Intel => CountField::LoHi(12),
                    StdVendor::Other => CountField::Unknown,
                };
                Ok(Abi {
                    family,
                    library,
                    handle_size: 8,
                    in_place: 1,
                    status_ignore: 0,
                    statuses_ignore: 0,
                    status: StatusLayout { size: 32, source: 0, tag: 4, error: 8, count },
                    root: -4,
                    proc_null: -3,
                    any_source: -1,
                    undefined: -32766,
                    combiner_named: 101,
                    order_fortran: 15,
                    topo_cart: 211,
                    topo_graph: 212,
                    topo_dist_graph: 213,
                    win_model_keyval: 605,
                    win_separate: 322,
                    win_base_keyval: 601,
                    mode_nostore: 8192,
                    max_error_string: 512,
                    std_vendor: Some(vendor),
                    h: Predefined {
                        comm_world: Comm::from_raw(0x101),
                        comm_self: Comm::from_raw(0x102),
                        comm_null: Comm::from_raw(0x100),
                        request_null: Request::from_raw(0x180),
                        message_null: Message::from_raw(0x128),
                        message_no_proc: Message::from_raw(0x129),
                        datatype_null: Datatype::from_raw(0x200),
                        byte: Datatype::from_raw(0x247),
                        errors_are_fatal: 0x141,
                        errors_abort: Some(errors_abort),
                        errors_return,
                        file_null: File::from_raw(0x118),
                        win_null: Win::from_raw(0x110),
                        op_no_op: Op::from_raw(0x3d),
                    },
                    fortran: FortranAbi {
                        // Intel MPI's libmpifort_abi.so.1 (MPICH 5.0.2 ships no Fortran library for
                        // this ABI): `mpi_send_` calls the C `MPI_Send`, but `pmpi_send_`, where the
                        // shim forwards, calls `PMPI_Send`, and the library has no `PMPI_*_f2c` to
                        // convert handles with: so every Fortran call with VE buffers (or while VE
                        // requests are pending) takes the converting path, which refuses it.
                        f77_reaches_c: false,
                        f08_completion_is_pmpi: false,
                        // MPI_F_STATUS_SIZE of the standard ABI
                        status_size: 8,
                        converts_handles: false,
                        // the sentinels keep MPICH's names
                        ..MPICH_FORTRAN
                    },
                    classes: Classes {
                        request: 7,
                        arg: 13,
                        truncate: 15,
                        other: 16,
                        intern: 17,
                        in_status: 19,
                        pending: 18,
                        no_mem: 39,
                        unsupported: 55,
                    },
                })
            }
        }
    }

    /// A handle as the library compares it (MPICH handles are 32-bit).
    #[inline]
    pub fn norm<H: RawHandle>(&self, h: H) -> Handle {
        let h = h.raw_handle();
        if self.handle_size == 4 {
            h as u32 as usize
        } else {
            h
        }
    }

    /// Whether two handles name the same object.
    #[inline]
    pub fn same<H: RawHandle>(&self, a: H, b: H) -> bool {
        self.norm(a) == self.norm(b)
    }

    pub fn handle_size(&self) -> usize {
        self.handle_size
    }

    /// Element `i` of an array of handles.
    ///
    /// # Safety
    /// `base` points to at least `i + 1` handles of this ABI.
    #[inline]
    pub unsafe fn handle_at(&self, base: *const c_void, i: usize) -> Handle {
        // SAFETY: by the caller's contract; unaligned reads keep Fortran-provided arrays safe too.
        unsafe {
            if self.handle_size == 4 {
                (base as *const u32).add(i).read_unaligned() as usize
            } else {
                (base as *const u64).add(i).read_unaligned() as usize
            }
        }
    }

    /// Stores handle `h` as element `i` of an array of handles.
    ///
    /// # Safety
    /// `base` points to at least `i + 1` writable handles of this ABI.
    #[inline]
    pub unsafe fn set_handle_at<H: RawHandle>(&self, base: *mut c_void, i: usize, h: H) {
        let h = h.raw_handle();
        // SAFETY: by the caller's contract.
        unsafe {
            if self.handle_size == 4 {
                (base as *mut u32).add(i).write_unaligned(h as u32)
            } else {
                (base as *mut u64).add(i).write_unaligned(h as u64)
            }
        }
    }

    /// Address of status `i` in an array of statuses.
    #[inline]
    pub fn status_at(&self, base: *mut c_void, i: usize) -> *mut c_void {
        (base as usize + i * self.status.size) as *mut c_void
    }

    /// The bytes a completed operation's status reports: what `MPI_Get_elements_x(status, MPI_BYTE)`
    /// returns, read without a call into the library (so that a small VE receive costs no extra MPI call);
    /// -1 where
    /// the layout is not known (the caller then asks MPI_Get_elements_x).
    ///
    /// # Safety
    /// `status` is a status of the real MPI.
    #[inline]
    pub unsafe fn status_bytes(&self, status: *const c_void) -> i64 {
        let p = status as *const u8;
        // SAFETY: the fields lie inside the library's MPI_Status; statuses are int aligned, and
        // Open MPI's size_t field is read unaligned all the same.
        unsafe {
            match self.status.count {
                CountField::Size(off) => (p.add(off) as *const usize).read_unaligned() as i64,
                CountField::LoHi(off) => {
                    let lo = (p.add(off) as *const u32).read_unaligned() as i64;
                    let hi = ((p.add(off + 4) as *const i32).read_unaligned() >> 1) as i64;
                    (hi << 32) + lo
                }
                CountField::Unknown => -1,
            }
        }
    }

    /// Whether a status pointer is MPI_STATUS_IGNORE.
    #[inline]
    pub fn is_status_ignore(&self, p: *const c_void) -> bool {
        p as usize == self.status_ignore
    }

    /// Whether a statuses pointer is MPI_STATUSES_IGNORE.
    #[inline]
    pub fn is_statuses_ignore(&self, p: *const c_void) -> bool {
        p as usize == self.statuses_ignore
    }

    #[inline]
    pub fn is_in_place(&self, p: *const c_void) -> bool {
        p as usize == self.in_place
    }

    /// The MPI_ERROR field of a status.
    ///
    /// # Safety
    /// `st` points to a status of this ABI.
    pub unsafe fn status_error(&self, st: *const c_void) -> c_int {
        // SAFETY: by the caller's contract.
        unsafe { (st as *const u8).add(self.status.error).cast::<c_int>().read_unaligned() }
    }

    /// An error code returned by MPI_Add_error_code, made usable: MPICH 4.0 leaves its dynamic-code
    /// bit (`ERROR_DYN_MASK`, 1 << 30) off codes added to predefined classes, and then
    /// MPI_Error_string decodes them as internal codes and prints an unrelated message. Setting the
    /// bit is a no-op where MPICH already sets it.
    pub fn fix_added_code(&self, code: c_int) -> c_int {
        match (self.family, self.std_vendor) {
            (Family::Mpich, _) | (Family::Std, Some(StdVendor::Mpich | StdVendor::Intel)) => code | 1 << 30,
            _ => code,
        }
    }

    /// A datatype combiner as the library numbers it, renumbered as MPICH does (MPI_COMBINER_NAMED = 1,
    /// ..., MPI_COMBINER_HINDEXED_BLOCK = 19, MPI_COMBINER_VALUE_INDEX = 20). Open MPI counts in the
    /// same order from 0; the standard ABI numbers them 101 to 117 in an order of its own (it has no
    /// `*_INTEGER` combiners). A number this table does not know becomes -1.
    pub fn mpich_combiner(&self, c: c_int) -> c_int {
        match self.family {
            Family::OpenMpi | Family::Mpich => c - self.combiner_named + 1,
            Family::Std => {
                // MPI_COMBINER_NAMED (101) .. MPI_COMBINER_VALUE_INDEX (117)
                const TO_MPICH: [c_int; 17] = [1, 2, 3, 4, 6, 7, 9, 10, 19, 12, 13, 14, 15, 16, 17, 18, 20];
                usize::try_from(c - 101).ok().and_then(|i| TO_MPICH.get(i)).copied().unwrap_or(-1)
            }
        }
    }

    /// The library's number for an error class.
    pub fn class(&self, c: Class) -> c_int {
        let k = &self.classes;
        match c {
            Class::Buffer => 1,
            Class::Count => 2,
            Class::Type => 3,
            Class::Request => k.request,
            Class::Arg => k.arg,
            Class::Truncate => k.truncate,
            Class::Other => k.other,
            Class::Intern => k.intern,
            Class::InStatus => k.in_status,
            Class::Pending => k.pending,
            Class::NoMem => k.no_mem,
            Class::Unsupported => k.unsupported,
        }
    }
}

/// A count or displacement: `int` in the classic functions, `MPI_Count`/`MPI_Aint` in the `_c` ones.
pub trait CountT: Copy {
    fn get(self) -> i64;
}
impl CountT for c_int {
    #[inline]
    fn get(self) -> i64 {
        self as i64
    }
}
impl CountT for i64 {
    #[inline]
    fn get(self) -> i64 {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_byte_counts() {
        // MPICH: count_lo, then the high bits shifted left by one above the cancelled bit
        let m = Abi::new(Family::Mpich, "MPICH".into(), &|_| None).unwrap();
        for (count, cancelled) in [(0i64, 1), (7, 0), (3_000_000_000, 1), (5_000_000_000, 1), ((1 << 40) + 12345, 0)] {
            let st: [i32; 5] = [count as i32, ((((count as u64) >> 32) << 1) as i32) | cancelled, 1, 2, 3];
            // SAFETY: a 20-byte MPICH status.
            assert_eq!(unsafe { m.status_bytes(st.as_ptr().cast()) }, count, "MPICH count {count}");
        }
        // Open MPI: size_t _ucount after four ints
        let o = Abi::new(Family::OpenMpi, "Open MPI".into(), &|s| Some(s.len())).unwrap();
        let mut st = [0u8; 24];
        st[..16].fill(0xff);
        st[16..].copy_from_slice(&5_000_000_000u64.to_ne_bytes());
        // SAFETY: a 24-byte Open MPI status.
        assert_eq!(unsafe { o.status_bytes(st.as_ptr().cast()) }, 5_000_000_000);
    }

    #[test]
    fn typed_handles_are_raw_handles() {
        use std::mem::{align_of, size_of};
        macro_rules! same_layout {
            ($($t:ty),*) => {$(
                assert_eq!(size_of::<$t>(), size_of::<usize>(), stringify!($t));
                assert_eq!(align_of::<$t>(), align_of::<usize>(), stringify!($t));
                assert_eq!(size_of::<Option<$t>>(), size_of::<Option<usize>>(), stringify!($t));
            )*};
        }
        same_layout!(Comm, Datatype, Op, Win, File, Request, Group, Info, Message);
        assert_eq!(Comm::from_raw(0x4400_0000).raw(), 0x4400_0000);
        assert_eq!(format!("{:#x}", Datatype::from_raw(0x4c00_010d)), "0x4c00010d");
        // typed handles compare as the library does, like raw ones
        let abi = Abi::new(Family::Mpich, "MPICH".into(), &|_| None).unwrap();
        assert!(abi.same(Comm::from_raw(0xdead_beef_4400_0000), abi.h.comm_world));
        assert_eq!(abi.norm(Request::from_raw(0x1_2c00_0000)), abi.norm(abi.h.request_null));
    }

    #[test]
    fn mpich_handles_compare_as_32_bit() {
        let abi = Abi::new(Family::Mpich, "MPICH".into(), &|_| None).unwrap();
        assert!(abi.same(0xdead_beef_4400_0000, 0x4400_0000));
        assert_eq!(abi.class(Class::Unsupported), 44);
        let arr: [u32; 3] = [1, 2, 3];
        // SAFETY: arr has three elements.
        assert_eq!(unsafe { abi.handle_at(arr.as_ptr().cast(), 2) }, 3);
    }

    #[test]
    fn openmpi_needs_its_symbols() {
        assert!(Abi::new(Family::OpenMpi, "Open MPI".into(), &|_| None).is_err());
        let abi = Abi::new(Family::OpenMpi, "Open MPI".into(), &|s| Some(s.len())).unwrap();
        assert!(abi.same(0xdead_beef_4400_0000, 0xdead_beef_4400_0000));
        assert!(!abi.same(0xdead_beef_4400_0000, 0x4400_0000));
        assert_eq!(abi.class(Class::Unsupported), 52);
        assert_eq!(abi.status.size, 24);
    }

    #[test]
    fn standard_abi_table() {
        for (version, vendor, ret, abort) in [
            ("MPICH Version:      5.0.2", StdVendor::Mpich, 0x143, 0x142),
            ("Intel(R) MPI Library 2021.19.0 for Linux* OS", StdVendor::Intel, 0x142, 0x143),
            ("Some MPI 1.0", StdVendor::Other, 0x143, 0x142),
        ] {
            let abi = Abi::new(Family::Std, version.into(), &|_| None).unwrap();
            assert_eq!(abi.std_vendor, Some(vendor));
            assert_eq!((abi.h.errors_return, abi.h.errors_abort), (ret, Some(abort)), "{version}");
            // pointer-sized handles: nothing is truncated
            assert!(!abi.same(0x1_0000_0101, 0x101));
            assert_eq!(abi.handle_size(), 8);
            let arr: [u64; 2] = [0x101, 0xdead_beef_0000_1234];
            // SAFETY: arr has two elements.
            assert_eq!(unsafe { abi.handle_at(arr.as_ptr().cast(), 1) }, 0xdead_beef_0000_1234);
            assert!(abi.is_in_place(std::ptr::without_provenance(1)) && abi.is_status_ignore(std::ptr::null()));
            assert_eq!((abi.status.size, abi.status.source, abi.status.tag, abi.status.error), (32, 0, 4, 8));
            assert_eq!((abi.class(Class::Unsupported), abi.class(Class::InStatus), abi.class(Class::Pending)), (55, 19, 18));
            assert_eq!((abi.topo_cart, abi.topo_graph, abi.topo_dist_graph), (211, 212, 213));
        }
        // MPICH's and Intel's status: count_lo at 12, count_hi_and_cancelled at 16 (as MPI_Status_set_elements_x
        // writes them: 0x123456789 bytes, cancelled, reads 89674523 03000000)
        let m = Abi::new(Family::Std, "MPICH Version: 5.0.2".into(), &|_| None).unwrap();
        let mut st = [0xabu8; 32];
        st[12..16].copy_from_slice(&0x2345_6789u32.to_ne_bytes());
        st[16..20].copy_from_slice(&3u32.to_ne_bytes());
        // SAFETY: a 32-byte status.
        assert_eq!(unsafe { m.status_bytes(st.as_ptr().cast()) }, 0x1_2345_6789);
        let o = Abi::new(Family::Std, "Other MPI".into(), &|_| None).unwrap();
        // SAFETY: as above.
        assert_eq!(unsafe { o.status_bytes(st.as_ptr().cast()) }, -1, "an unknown layout is asked for");
    }

    #[test]
    fn classes_and_fortran_names_of_every_abi() {
        let o = Abi::new(Family::OpenMpi, "Open MPI".into(), &|s| Some(s.len())).unwrap();
        let m = Abi::new(Family::Mpich, "MPICH".into(), &|_| None).unwrap();
        let s = Abi::new(Family::Std, "MPICH Version: 5.0.2".into(), &|_| None).unwrap();
        let classes = |a: &Abi| [Class::Buffer, Class::Count, Class::Type, Class::Other, Class::Intern, Class::NoMem].map(|c| a.class(c));
        assert_eq!(classes(&o), [1, 2, 3, 16, 17, 39]);
        assert_eq!(classes(&m), [1, 2, 3, 15, 16, 34]);
        assert_eq!(classes(&s), [1, 2, 3, 16, 17, 39]);
        assert_eq!((m.fortran.in_place, m.fortran.f08_status_ignore), ("MPIR_F_MPI_IN_PLACE", "MPIR_F08_MPI_STATUS_IGNORE_OBJ"));
        assert_eq!((s.fortran.in_place, s.fortran.statuses_ignore), ("MPIR_F_MPI_IN_PLACE", "MPI_F_STATUSES_IGNORE"));
        assert!(m.fortran.f77_reaches_c && !s.fortran.f77_reaches_c && !s.fortran.converts_handles);
        assert_eq!((o.fortran.status_size, m.fortran.status_size, s.fortran.status_size), (6, 5, 8));
        assert_eq!(o.fortran.in_place, "mpi_fortran_in_place_");
    }

    #[test]
    fn combiners_are_renumbered() {
        let s = Abi::new(Family::Std, "MPICH".into(), &|_| None).unwrap();
        let m = Abi::new(Family::Mpich, "MPICH".into(), &|_| None).unwrap();
        let o = Abi::new(Family::OpenMpi, "Open MPI".into(), &|s| Some(s.len())).unwrap();
        // (standard ABI, MPICH, Open MPI) numbers of NAMED, DUP, CONTIGUOUS, VECTOR, HVECTOR, INDEXED,
        // HINDEXED, INDEXED_BLOCK, HINDEXED_BLOCK, STRUCT, SUBARRAY, DARRAY, RESIZED
        for (std, mpich, ompi) in [
            (101, 1, 0),
            (102, 2, 1),
            (103, 3, 2),
            (104, 4, 3),
            (105, 6, 5),
            (106, 7, 6),
            (107, 9, 8),
            (108, 10, 9),
            (109, 19, 18),
            (110, 12, 11),
            (111, 13, 12),
            (112, 14, 13),
            (116, 18, 17),
        ] {
            assert_eq!(s.mpich_combiner(std), mpich);
            assert_eq!(m.mpich_combiner(mpich), mpich);
            assert_eq!(o.mpich_combiner(ompi), mpich);
        }
        assert_eq!(s.mpich_combiner(5), -1);
        assert_eq!(s.mpich_combiner(118), -1);
    }
}
