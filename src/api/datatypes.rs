//! MPI-4.1 chapter 5: datatypes (packing).

use crate::intercept;

const EXTERNAL: &str = "external32 conversion runs on the host CPU (refused as in mpi4py-ve); use MPI_Pack/MPI_Unpack";

intercept! {
    /// §5.2.1 Canonical MPI_Pack and MPI_Unpack.
    [large, fortran]
    fn MPI_Pack_external(datarep: CStr, inbuf: CBuf, incount: Count, datatype: Datatype, outbuf: Buf,
                         outsize: Aint, position: AintOut)
        refuse_ve(World) ve(inbuf, outbuf) because EXTERNAL;

    [large, fortran]
    fn MPI_Unpack_external(datarep: CStr, inbuf: CBuf, insize: Aint, position: AintOut, outbuf: Buf,
                           outcount: Count, datatype: Datatype)
        refuse_ve(World) ve(inbuf, outbuf) because EXTERNAL;
}
