//! MPI-4.1 chapter 8: process topologies (neighbor collectives, §8.6–§8.8).
//!
//! The number of blocks comes from the topology ([`crate::msg`]'s neighbor forms); receive blocks from
//! MPI_PROC_NULL neighbors are left untouched, as the real MPIs leave them in host memory. The
//! persistent forms are MPI-4: MPICH 4.0 has them, Open MPI 4.1 does not (they return
//! [`crate::real::UNAVAILABLE`] there). MPI_IN_PLACE is not allowed in neighbor collectives.

use crate::intercept;

intercept! {
    /// §8.6.1 Neighbor gather.
    [large, fortran]
    fn MPI_Neighbor_allgather(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcount: Count,
                              recvtype: Datatype, comm: Comm)
        blocking(Comm comm) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = neighbor_allgather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm);

    [large, fortran]
    fn MPI_Neighbor_allgatherv(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcounts: CountArr,
                               displs: DispArr, recvtype: Datatype, comm: Comm)
        blocking(Comm comm) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = neighbor_allgatherv(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, comm);

    /// §8.6.2 Neighbor alltoall.
    [large, fortran]
    fn MPI_Neighbor_alltoall(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcount: Count,
                             recvtype: Datatype, comm: Comm)
        blocking(Comm comm) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = neighbor_alltoall(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm);

    [large, fortran]
    fn MPI_Neighbor_alltoallv(sendbuf: CBuf, sendcounts: CountArr, sdispls: DispArr, sendtype: Datatype, recvbuf: Buf,
                              recvcounts: CountArr, rdispls: DispArr, recvtype: Datatype, comm: Comm)
        blocking(Comm comm) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = neighbor_alltoallv(sendbuf, sendcounts, sdispls, sendtype, recvbuf, recvcounts, rdispls, recvtype, comm);

    /// Byte displacements of type MPI_Aint, even in this `int` version.
    [large, fortran]
    fn MPI_Neighbor_alltoallw(sendbuf: CBuf, sendcounts: CountArr, sdispls: AintArr, sendtypes: DatatypeArr, recvbuf: Buf,
                              recvcounts: CountArr, rdispls: AintArr, recvtypes: DatatypeArr, comm: Comm)
        blocking(Comm comm) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = neighbor_alltoallw(sendbuf, sendcounts, sdispls, sendtypes, recvbuf, recvcounts, rdispls, recvtypes, comm);

    /// §8.7 Nonblocking neighbor collectives.
    [large, fortran]
    fn MPI_Ineighbor_allgather(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcount: Count,
                               recvtype: Datatype, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = neighbor_allgather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm);

    [large, fortran]
    fn MPI_Ineighbor_allgatherv(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcounts: CountArr,
                                displs: DispArr, recvtype: Datatype, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = neighbor_allgatherv(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, comm);

    [large, fortran]
    fn MPI_Ineighbor_alltoall(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcount: Count,
                              recvtype: Datatype, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = neighbor_alltoall(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm);

    [large, fortran]
    fn MPI_Ineighbor_alltoallv(sendbuf: CBuf, sendcounts: CountArr, sdispls: DispArr, sendtype: Datatype, recvbuf: Buf,
                               recvcounts: CountArr, rdispls: DispArr, recvtype: Datatype, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = neighbor_alltoallv(sendbuf, sendcounts, sdispls, sendtype, recvbuf, recvcounts, rdispls, recvtype, comm);

    [large, fortran]
    fn MPI_Ineighbor_alltoallw(sendbuf: CBuf, sendcounts: CountArr, sdispls: AintArr, sendtypes: DatatypeArr, recvbuf: Buf,
                               recvcounts: CountArr, rdispls: AintArr, recvtypes: DatatypeArr, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = neighbor_alltoallw(sendbuf, sendcounts, sdispls, sendtypes, recvbuf, recvcounts, rdispls, recvtypes, comm);

    /// §8.8 Persistent neighbor collectives (MPI-4; where the real MPI has them).
    [large, fortran]
    fn MPI_Neighbor_allgather_init(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcount: Count,
                                   recvtype: Datatype, comm: Comm, info: Info, request: RequestOut)
        persistent(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = neighbor_allgather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm);

    [large, fortran]
    fn MPI_Neighbor_allgatherv_init(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcounts: CountArr,
                                    displs: DispArr, recvtype: Datatype, comm: Comm, info: Info, request: RequestOut)
        persistent(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = neighbor_allgatherv(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, comm);

    [large, fortran]
    fn MPI_Neighbor_alltoall_init(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcount: Count,
                                  recvtype: Datatype, comm: Comm, info: Info, request: RequestOut)
        persistent(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = neighbor_alltoall(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm);

    [large, fortran]
    fn MPI_Neighbor_alltoallv_init(sendbuf: CBuf, sendcounts: CountArr, sdispls: DispArr, sendtype: Datatype, recvbuf: Buf,
                                   recvcounts: CountArr, rdispls: DispArr, recvtype: Datatype, comm: Comm, info: Info,
                                   request: RequestOut)
        persistent(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = neighbor_alltoallv(sendbuf, sendcounts, sdispls, sendtype, recvbuf, recvcounts, rdispls, recvtype, comm);

    [large, fortran]
    fn MPI_Neighbor_alltoallw_init(sendbuf: CBuf, sendcounts: CountArr, sdispls: AintArr, sendtypes: DatatypeArr, recvbuf: Buf,
                                   recvcounts: CountArr, rdispls: AintArr, recvtypes: DatatypeArr, comm: Comm, info: Info,
                                   request: RequestOut)
        persistent(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = neighbor_alltoallw(sendbuf, sendcounts, sdispls, sendtypes, recvbuf, recvcounts, rdispls, recvtypes, comm);
}
