//! MPI-4.1 chapter 5: datatypes (packing).
//!
//! MPI_Pack and MPI_Unpack are staged; the meaning of `position` is unchanged (see
//! [`crate::msg`]'s pack forms). MPI_Pack_size carries no buffer and is not intercepted.

use crate::intercept;

const EXTERNAL: &str = "external32 conversion runs on the host CPU (refused as in mpi4py-ve); use MPI_Pack/MPI_Unpack";

intercept! {
    /// §5.2.1 Pack and unpack: Pack writes exactly `outbuf[*position .. new position)`.
    [large, fortran]
    fn MPI_Pack(inbuf: CBuf, incount: Count, datatype: Datatype, outbuf: Buf, outsize: Count, position: CountOut, comm: Comm)
        blocking(Comm comm) ve(inbuf, outbuf)
        => (inbuf, outbuf) = pack(inbuf, incount, datatype, outbuf, outsize, position, comm);

    /// Unpack reads `inbuf` from `*position` on.
    [large, fortran]
    fn MPI_Unpack(inbuf: CBuf, insize: Count, position: CountOut, outbuf: Buf, outcount: Count, datatype: Datatype, comm: Comm)
        blocking(Comm comm) ve(inbuf, outbuf)
        => (inbuf, outbuf) = unpack(inbuf, insize, position, outbuf, outcount, datatype, comm);

    /// §5.2.2 Canonical MPI_Pack and MPI_Unpack.
    [large, fortran]
    fn MPI_Pack_external(datarep: CStr, inbuf: CBuf, incount: Count, datatype: Datatype, outbuf: Buf,
                         outsize: Aint, position: AintOut)
        refuse_ve(World) ve(inbuf, outbuf) because EXTERNAL;

    [large, fortran]
    fn MPI_Unpack_external(datarep: CStr, inbuf: CBuf, insize: Aint, position: AintOut, outbuf: Buf,
                           outcount: Count, datatype: Datatype)
        refuse_ve(World) ve(inbuf, outbuf) because EXTERNAL;
}
