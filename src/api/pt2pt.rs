//! MPI-4.1 chapter 3: point-to-point communication.

use crate::intercept;

const BUFFERED: &str = "buffered mode is refused, as in mpi4py-ve; use MPI_Send, MPI_Isend or MPI_Send_init";
const PARTITIONED: &str = "partitioned communication is not offered (as in mpi4py-ve); use MPI_Send_init/MPI_Recv_init";

intercept! {
    /// §3.2.1 Blocking send.
    fn MPI_Send(buf: CBuf, count: Count, datatype: Datatype, dest: Int, tag: Int, comm: Comm)
        blocking(Comm comm) ve(buf) => (buf) = send(buf, count, datatype);

    /// §3.4 Synchronous mode.
    fn MPI_Ssend(buf: CBuf, count: Count, datatype: Datatype, dest: Int, tag: Int, comm: Comm)
        blocking(Comm comm) ve(buf) => (buf) = send(buf, count, datatype);

    /// §3.4 Ready mode.
    fn MPI_Rsend(buf: CBuf, count: Count, datatype: Datatype, dest: Int, tag: Int, comm: Comm)
        blocking(Comm comm) ve(buf) => (buf) = send(buf, count, datatype);

    /// §3.2.4 Blocking receive: only the bytes that arrived are copied back.
    fn MPI_Recv(buf: Buf, count: Count, datatype: Datatype, source: Int, tag: Int, comm: Comm, status: Status)
        blocking(Comm comm) ve(buf) => (buf, status) = recv(buf, count, datatype, status);

    /// §3.10 Send-receive.
    fn MPI_Sendrecv(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, dest: Int, sendtag: Int,
                    recvbuf: Buf, recvcount: Count, recvtype: Datatype, source: Int, recvtag: Int,
                    comm: Comm, status: Status)
        blocking(Comm comm) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf, status) = sendrecv(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, status);

    /// §3.10 Send-receive in one buffer.
    fn MPI_Sendrecv_replace(buf: Buf, count: Count, datatype: Datatype, dest: Int, sendtag: Int,
                            source: Int, recvtag: Int, comm: Comm, status: Status)
        blocking(Comm comm) ve(buf) => (buf, status) = sendrecv_replace(buf, count, datatype, status);

    /// §3.8.3 Matched receive (MPI_Mprobe and MPI_Improbe carry no buffer and are not intercepted).
    fn MPI_Mrecv(buf: Buf, count: Count, datatype: Datatype, message: HandleOut, status: Status)
        blocking(World) ve(buf) => (buf, status) = recv(buf, count, datatype, status);

    /// §3.7.2 Nonblocking sends: the VE data is copied to the host when the send is posted.
    fn MPI_Isend(buf: CBuf, count: Count, datatype: Datatype, dest: Int, tag: Int, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(buf) => (buf) = send(buf, count, datatype);

    fn MPI_Issend(buf: CBuf, count: Count, datatype: Datatype, dest: Int, tag: Int, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(buf) => (buf) = send(buf, count, datatype);

    fn MPI_Irsend(buf: CBuf, count: Count, datatype: Datatype, dest: Int, tag: Int, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(buf) => (buf) = send(buf, count, datatype);

    /// §3.7.2 Nonblocking receive: the data reaches VE memory when a completion call reports it.
    fn MPI_Irecv(buf: Buf, count: Count, datatype: Datatype, source: Int, tag: Int, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(buf) => (buf) = recv_later(buf, count, datatype);

    /// §3.8.3 Matched nonblocking receive.
    fn MPI_Imrecv(buf: Buf, count: Count, datatype: Datatype, message: HandleOut, request: RequestOut)
        nonblocking(World; request) ve(buf) => (buf) = recv_later(buf, count, datatype);

    /// §3.10 Nonblocking send-receive (MPI-4; where the real MPI has it).
    fn MPI_Isendrecv(sendbuf: CBuf, sendcount: Count, sendtype: Datatype, dest: Int, sendtag: Int,
                     recvbuf: Buf, recvcount: Count, recvtype: Datatype, source: Int, recvtag: Int,
                     comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(sendbuf, recvbuf)
        => (sendbuf, recvbuf) = sendrecv_later(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype);

    fn MPI_Isendrecv_replace(buf: Buf, count: Count, datatype: Datatype, dest: Int, sendtag: Int,
                             source: Int, recvtag: Int, comm: Comm, request: RequestOut)
        nonblocking(Comm comm; request) ve(buf) => (buf) = sendrecv_replace_later(buf, count, datatype);

    /// §3.9 Persistent requests: staged at every MPI_Start, copied back at every completion.
    fn MPI_Send_init(buf: CBuf, count: Count, datatype: Datatype, dest: Int, tag: Int, comm: Comm, request: RequestOut)
        persistent(Comm comm; request) ve(buf) => (buf) = send(buf, count, datatype);

    fn MPI_Ssend_init(buf: CBuf, count: Count, datatype: Datatype, dest: Int, tag: Int, comm: Comm, request: RequestOut)
        persistent(Comm comm; request) ve(buf) => (buf) = send(buf, count, datatype);

    fn MPI_Rsend_init(buf: CBuf, count: Count, datatype: Datatype, dest: Int, tag: Int, comm: Comm, request: RequestOut)
        persistent(Comm comm; request) ve(buf) => (buf) = send(buf, count, datatype);

    fn MPI_Recv_init(buf: Buf, count: Count, datatype: Datatype, source: Int, tag: Int, comm: Comm, request: RequestOut)
        persistent(Comm comm; request) ve(buf) => (buf) = recv_later(buf, count, datatype);

    /// §3.4 Buffered mode.
    fn MPI_Bsend(buf: CBuf, count: Count, datatype: Datatype, dest: Int, tag: Int, comm: Comm)
        refuse_ve(Comm comm) ve(buf) because BUFFERED;

    fn MPI_Ibsend(buf: CBuf, count: Count, datatype: Datatype, dest: Int, tag: Int, comm: Comm, request: RequestOut)
        refuse_ve(Comm comm) ve(buf) because BUFFERED;

    fn MPI_Bsend_init(buf: CBuf, count: Count, datatype: Datatype, dest: Int, tag: Int, comm: Comm, request: RequestOut)
        refuse_ve(Comm comm) ve(buf) because BUFFERED;

    /// §3.6 Buffer allocation.
    fn MPI_Buffer_attach(buffer: Buf, size: Int)
        refuse_ve(World) ve(buffer) because BUFFERED;

    /// §3.6 Buffer allocation on a communicator or session (MPI-4.1).
    fn MPI_Comm_attach_buffer(comm: Comm, buffer: Buf, size: Int)
        refuse_ve(Comm comm) ve(buffer) because BUFFERED;

    fn MPI_Session_attach_buffer(session: Handle, buffer: Buf, size: Int)
        refuse_ve(World) ve(buffer) because BUFFERED;

    /// Chapter 4: partitioned point-to-point communication.
    fn MPI_Psend_init(buf: CBuf, partitions: Int, count: MpiCount, datatype: Datatype, dest: Int, tag: Int, comm: Comm,
                      info: Info, request: RequestOut)
        refuse_ve(Comm comm) ve(buf) because PARTITIONED;

    fn MPI_Precv_init(buf: Buf, partitions: Int, count: MpiCount, datatype: Datatype, source: Int, tag: Int, comm: Comm,
                      info: Info, request: RequestOut)
        refuse_ve(Comm comm) ve(buf) because PARTITIONED;
}
