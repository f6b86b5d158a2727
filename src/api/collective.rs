//! MPI-4.1 chapter 6: collective communication.

use crate::intercept;

intercept! {
    /// §6.4 Broadcast.
    [large, fortran]
    fn MPI_Bcast(buffer: Buf, count: Count, datatype: Datatype, root: Int, comm: Comm)
        blocking(Comm comm) ve(buffer) => (buffer) = bcast(buffer, count, datatype, root, comm);

    /// §6.5 Gather.
    [large, fortran]
    fn MPI_Gather(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcount: Count,
                  recvtype: Datatype, root: Int, comm: Comm)
        blocking(Comm comm) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = gather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, root, comm);

    [large, fortran]
    fn MPI_Gatherv(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcounts: CountArr,
                   displs: DispArr, recvtype: Datatype, root: Int, comm: Comm)
        blocking(Comm comm) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = gatherv(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, root, comm);

    /// §6.6 Scatter.
    [large, fortran]
    fn MPI_Scatter(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcount: Count,
                   recvtype: Datatype, root: Int, comm: Comm)
        blocking(Comm comm) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = scatter(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, root, comm);

    [large, fortran]
    fn MPI_Scatterv(sendbuf: CBuf, sendcounts: CountArr, displs: DispArr, sendtype: Datatype, recvbuf: Buf,
                    recvcount: Count, recvtype: Datatype, root: Int, comm: Comm)
        blocking(Comm comm) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = scatterv(sendbuf, sendcounts, displs, sendtype, recvbuf, recvcount, recvtype, root, comm);

    /// §6.7 Gather-to-all.
    [large, fortran]
    fn MPI_Allgather(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcount: Count,
                     recvtype: Datatype, comm: Comm)
        blocking(Comm comm) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = allgather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm);

    [large, fortran]
    fn MPI_Allgatherv(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcounts: CountArr,
                      displs: DispArr, recvtype: Datatype, comm: Comm)
        blocking(Comm comm) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = allgatherv(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, comm);

    /// §6.8 All-to-all.
    [large, fortran]
    fn MPI_Alltoall(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcount: Count,
                    recvtype: Datatype, comm: Comm)
        blocking(Comm comm) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = alltoall(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm);

    [large, fortran]
    fn MPI_Alltoallv(sendbuf: CBuf, sendcounts: CountArr, sdispls: DispArr, sendtype: Datatype, recvbuf: Buf,
                     recvcounts: CountArr, rdispls: DispArr, recvtype: Datatype, comm: Comm)
        blocking(Comm comm) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = alltoallv(sendbuf, sendcounts, sdispls, sendtype, recvbuf, recvcounts, rdispls, recvtype, comm);

    [large, fortran]
    fn MPI_Alltoallw(sendbuf: CBuf, sendcounts: CountArr, sdispls: DispArr, sendtypes: DatatypeArr, recvbuf: Buf,
                     recvcounts: CountArr, rdispls: DispArr, recvtypes: DatatypeArr, comm: Comm)
        blocking(Comm comm) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = alltoallw(sendbuf, sendcounts, sdispls, sendtypes, recvbuf, recvcounts, rdispls, recvtypes, comm);

    /// §6.9 Global reduction.
    [large, fortran]
    fn MPI_Reduce(sendbuf: CBuf, recvbuf: Buf, count: Count, datatype: Datatype, op: Op, root: Int, comm: Comm)
        blocking(Comm comm) ve(sendbuf, recvbuf) => (sendbuf, recvbuf) = reduce(sendbuf, recvbuf, count, datatype, root, comm);

    [large, fortran]
    fn MPI_Allreduce(sendbuf: CBuf, recvbuf: Buf, count: Count, datatype: Datatype, op: Op, comm: Comm)
        blocking(Comm comm) ve(sendbuf, recvbuf) => (sendbuf, recvbuf) = allreduce(sendbuf, recvbuf, count, datatype);

    /// §6.9.7 Local reduction: mpi4py-ve refuses it with VE buffers.
    [large, fortran]
    fn MPI_Reduce_local(inbuf: CBuf, inoutbuf: Buf, count: Count, datatype: Datatype, op: Op)
        refuse_ve(World) ve(inbuf, inoutbuf)
        because "the host CPU cannot read VE memory (refused as in mpi4py-ve); copy the operands to host memory";

    /// §6.10 Reduce-scatter.
    [large, fortran]
    fn MPI_Reduce_scatter_block(sendbuf: CBuf, recvbuf: Buf, recvcount: Count, datatype: Datatype, op: Op, comm: Comm)
        blocking(Comm comm) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = reduce_scatter_block(sendbuf, recvbuf, recvcount, datatype, comm);

    [large, fortran]
    fn MPI_Reduce_scatter(sendbuf: CBuf, recvbuf: Buf, recvcounts: CountArr, datatype: Datatype, op: Op, comm: Comm)
        blocking(Comm comm) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = reduce_scatter(sendbuf, recvbuf, recvcounts, datatype, comm);

    /// §6.11 Scan.
    [large, fortran]
    fn MPI_Scan(sendbuf: CBuf, recvbuf: Buf, count: Count, datatype: Datatype, op: Op, comm: Comm)
        blocking(Comm comm) ve(sendbuf, recvbuf) => (sendbuf, recvbuf) = allreduce(sendbuf, recvbuf, count, datatype);

    [large, fortran]
    fn MPI_Exscan(sendbuf: CBuf, recvbuf: Buf, count: Count, datatype: Datatype, op: Op, comm: Comm)
        blocking(Comm comm) ve(sendbuf, recvbuf) => (sendbuf, recvbuf) = exscan(sendbuf, recvbuf, count, datatype, comm);
    // §6.12 Nonblocking collectives: the same argument rules, completed through the request.

    [large, fortran]
    fn MPI_Ibcast(buffer: Buf, count: Count, datatype: Datatype, root: Int, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(buffer) => (buffer) = bcast(buffer, count, datatype, root, comm);

    [large, fortran]
    fn MPI_Igather(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcount: Count,
                   recvtype: Datatype, root: Int, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = gather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, root, comm);

    [large, fortran]
    fn MPI_Igatherv(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcounts: CountArr,
                    displs: DispArr, recvtype: Datatype, root: Int, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = gatherv(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, root, comm);

    [large, fortran]
    fn MPI_Iscatter(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcount: Count,
                    recvtype: Datatype, root: Int, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = scatter(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, root, comm);

    [large, fortran]
    fn MPI_Iscatterv(sendbuf: CBuf, sendcounts: CountArr, displs: DispArr, sendtype: Datatype, recvbuf: Buf,
                     recvcount: Count, recvtype: Datatype, root: Int, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = scatterv(sendbuf, sendcounts, displs, sendtype, recvbuf, recvcount, recvtype, root, comm);

    [large, fortran]
    fn MPI_Iallgather(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcount: Count,
                      recvtype: Datatype, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = allgather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm);

    [large, fortran]
    fn MPI_Iallgatherv(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcounts: CountArr,
                       displs: DispArr, recvtype: Datatype, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = allgatherv(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, comm);

    [large, fortran]
    fn MPI_Ialltoall(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcount: Count,
                     recvtype: Datatype, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = alltoall(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm);

    [large, fortran]
    fn MPI_Ialltoallv(sendbuf: CBuf, sendcounts: CountArr, sdispls: DispArr, sendtype: Datatype, recvbuf: Buf,
                      recvcounts: CountArr, rdispls: DispArr, recvtype: Datatype, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = alltoallv(sendbuf, sendcounts, sdispls, sendtype, recvbuf, recvcounts, rdispls, recvtype, comm);

    [large, fortran]
    fn MPI_Ialltoallw(sendbuf: CBuf, sendcounts: CountArr, sdispls: DispArr, sendtypes: DatatypeArr, recvbuf: Buf,
                      recvcounts: CountArr, rdispls: DispArr, recvtypes: DatatypeArr, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = alltoallw(sendbuf, sendcounts, sdispls, sendtypes, recvbuf, recvcounts, rdispls, recvtypes, comm);

    [large, fortran]
    fn MPI_Ireduce(sendbuf: CBuf, recvbuf: Buf, count: Count, datatype: Datatype, op: Op, root: Int, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(sendbuf, recvbuf) => (sendbuf, recvbuf) = reduce(sendbuf, recvbuf, count, datatype, root, comm);

    [large, fortran]
    fn MPI_Iallreduce(sendbuf: CBuf, recvbuf: Buf, count: Count, datatype: Datatype, op: Op, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(sendbuf, recvbuf) => (sendbuf, recvbuf) = allreduce(sendbuf, recvbuf, count, datatype);

    [large, fortran]
    fn MPI_Ireduce_scatter_block(sendbuf: CBuf, recvbuf: Buf, recvcount: Count, datatype: Datatype, op: Op, comm: Comm,
                                 request: RequestOut)
        nonblocking(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = reduce_scatter_block(sendbuf, recvbuf, recvcount, datatype, comm);

    [large, fortran]
    fn MPI_Ireduce_scatter(sendbuf: CBuf, recvbuf: Buf, recvcounts: CountArr, datatype: Datatype, op: Op, comm: Comm,
                           request: RequestOut)
        nonblocking(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = reduce_scatter(sendbuf, recvbuf, recvcounts, datatype, comm);

    [large, fortran]
    fn MPI_Iscan(sendbuf: CBuf, recvbuf: Buf, count: Count, datatype: Datatype, op: Op, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(sendbuf, recvbuf) => (sendbuf, recvbuf) = allreduce(sendbuf, recvbuf, count, datatype);

    [large, fortran]
    fn MPI_Iexscan(sendbuf: CBuf, recvbuf: Buf, count: Count, datatype: Datatype, op: Op, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(sendbuf, recvbuf) => (sendbuf, recvbuf) = exscan(sendbuf, recvbuf, count, datatype, comm);

    // §6.13 Persistent collectives (MPI-4; where the real MPI has them).

    [large, fortran]
    fn MPI_Bcast_init(buffer: Buf, count: Count, datatype: Datatype, root: Int, comm: Comm, info: Info, request: RequestOut)
        persistent(Comm comm; request) ve(buffer) => (buffer) = bcast(buffer, count, datatype, root, comm);

    [large, fortran]
    fn MPI_Gather_init(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcount: Count,
                       recvtype: Datatype, root: Int, comm: Comm, info: Info, request: RequestOut)
        persistent(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = gather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, root, comm);

    [large, fortran]
    fn MPI_Gatherv_init(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcounts: CountArr,
                        displs: DispArr, recvtype: Datatype, root: Int, comm: Comm, info: Info, request: RequestOut)
        persistent(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = gatherv(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, root, comm);

    [large, fortran]
    fn MPI_Scatter_init(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcount: Count,
                        recvtype: Datatype, root: Int, comm: Comm, info: Info, request: RequestOut)
        persistent(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = scatter(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, root, comm);

    [large, fortran]
    fn MPI_Scatterv_init(sendbuf: CBuf, sendcounts: CountArr, displs: DispArr, sendtype: Datatype, recvbuf: Buf,
                         recvcount: Count, recvtype: Datatype, root: Int, comm: Comm, info: Info, request: RequestOut)
        persistent(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = scatterv(sendbuf, sendcounts, displs, sendtype, recvbuf, recvcount, recvtype, root, comm);

    [large, fortran]
    fn MPI_Allgather_init(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcount: Count,
                          recvtype: Datatype, comm: Comm, info: Info, request: RequestOut)
        persistent(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = allgather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm);

    [large, fortran]
    fn MPI_Allgatherv_init(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcounts: CountArr,
                           displs: DispArr, recvtype: Datatype, comm: Comm, info: Info, request: RequestOut)
        persistent(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = allgatherv(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, comm);

    [large, fortran]
    fn MPI_Alltoall_init(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, recvbuf: Buf, recvcount: Count,
                         recvtype: Datatype, comm: Comm, info: Info, request: RequestOut)
        persistent(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = alltoall(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm);

    [large, fortran]
    fn MPI_Alltoallv_init(sendbuf: CBuf, sendcounts: CountArr, sdispls: DispArr, sendtype: Datatype, recvbuf: Buf,
                          recvcounts: CountArr, rdispls: DispArr, recvtype: Datatype, comm: Comm, info: Info, request: RequestOut)
        persistent(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = alltoallv(sendbuf, sendcounts, sdispls, sendtype, recvbuf, recvcounts, rdispls, recvtype, comm);

    [large, fortran]
    fn MPI_Alltoallw_init(sendbuf: CBuf, sendcounts: CountArr, sdispls: DispArr, sendtypes: DatatypeArr, recvbuf: Buf,
                          recvcounts: CountArr, rdispls: DispArr, recvtypes: DatatypeArr, comm: Comm, info: Info,
                          request: RequestOut)
        persistent(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = alltoallw(sendbuf, sendcounts, sdispls, sendtypes, recvbuf, recvcounts, rdispls, recvtypes, comm);

    [large, fortran]
    fn MPI_Reduce_init(sendbuf: CBuf, recvbuf: Buf, count: Count, datatype: Datatype, op: Op, root: Int, comm: Comm,
                       info: Info, request: RequestOut)
        persistent(Comm comm; request) ve(sendbuf, recvbuf) => (sendbuf, recvbuf) = reduce(sendbuf, recvbuf, count, datatype, root, comm);

    [large, fortran]
    fn MPI_Allreduce_init(sendbuf: CBuf, recvbuf: Buf, count: Count, datatype: Datatype, op: Op, comm: Comm, info: Info,
                          request: RequestOut)
        persistent(Comm comm; request) ve(sendbuf, recvbuf) => (sendbuf, recvbuf) = allreduce(sendbuf, recvbuf, count, datatype);

    [large, fortran]
    fn MPI_Reduce_scatter_block_init(sendbuf: CBuf, recvbuf: Buf, recvcount: Count, datatype: Datatype, op: Op, comm: Comm,
                                     info: Info, request: RequestOut)
        persistent(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = reduce_scatter_block(sendbuf, recvbuf, recvcount, datatype, comm);

    [large, fortran]
    fn MPI_Reduce_scatter_init(sendbuf: CBuf, recvbuf: Buf, recvcounts: CountArr, datatype: Datatype, op: Op, comm: Comm,
                               info: Info, request: RequestOut)
        persistent(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = reduce_scatter(sendbuf, recvbuf, recvcounts, datatype, comm);

    [large, fortran]
    fn MPI_Scan_init(sendbuf: CBuf, recvbuf: Buf, count: Count, datatype: Datatype, op: Op, comm: Comm, info: Info,
                     request: RequestOut)
        persistent(Comm comm; request) ve(sendbuf, recvbuf) => (sendbuf, recvbuf) = allreduce(sendbuf, recvbuf, count, datatype);

    [large, fortran]
    fn MPI_Exscan_init(sendbuf: CBuf, recvbuf: Buf, count: Count, datatype: Datatype, op: Op, comm: Comm, info: Info,
                       request: RequestOut)
        persistent(Comm comm; request) ve(sendbuf, recvbuf) => (sendbuf, recvbuf) = exscan(sendbuf, recvbuf, count, datatype, comm);
}
