//! MPI-4.1 chapter 14: I/O (data access, §14.4).
//!
//! Only the memory buffer is staged; file views with any etype and filetype work unchanged. A write is
//! staged like a send, a read like a receive: a read that stops at the end of the file copies back only
//! what was read. Nonblocking accesses complete through the request table; the staging of a split
//! collective lives from its begin call to its end call. Errors go through the file's error handler
//! (MPI_ERRORS_RETURN unless the application sets another).

use crate::intercept;

intercept! {
    /// §14.4.2 Data access with explicit offsets.
    [large, fortran]
    fn MPI_File_read_at(fh: File, offset: Offset, buf: Buf, count: Count, datatype: Datatype, status: Status)
        blocking(File fh) ve(buf) => (buf, status) = file_read(buf, count, datatype, status);

    [large, fortran]
    fn MPI_File_read_at_all(fh: File, offset: Offset, buf: Buf, count: Count, datatype: Datatype, status: Status)
        blocking(File fh) ve(buf) => (buf, status) = file_read(buf, count, datatype, status);

    [large, fortran]
    fn MPI_File_write_at(fh: File, offset: Offset, buf: CBuf, count: Count, datatype: Datatype, status: Status)
        blocking(File fh) ve(buf) => (buf) = file_write(buf, count, datatype);

    [large, fortran]
    fn MPI_File_write_at_all(fh: File, offset: Offset, buf: CBuf, count: Count, datatype: Datatype, status: Status)
        blocking(File fh) ve(buf) => (buf) = file_write(buf, count, datatype);

    [large, fortran]
    fn MPI_File_iread_at(fh: File, offset: Offset, buf: Buf, count: Count, datatype: Datatype, request: RequestOut)
        nonblocking(File fh; request) ve(buf) => (buf) = file_read_later(buf, count, datatype);

    [large, fortran]
    fn MPI_File_iread_at_all(fh: File, offset: Offset, buf: Buf, count: Count, datatype: Datatype, request: RequestOut)
        nonblocking(File fh; request) ve(buf) => (buf) = file_read_later(buf, count, datatype);

    [large, fortran]
    fn MPI_File_iwrite_at(fh: File, offset: Offset, buf: CBuf, count: Count, datatype: Datatype, request: RequestOut)
        nonblocking(File fh; request) ve(buf) => (buf) = file_write(buf, count, datatype);

    [large, fortran]
    fn MPI_File_iwrite_at_all(fh: File, offset: Offset, buf: CBuf, count: Count, datatype: Datatype, request: RequestOut)
        nonblocking(File fh; request) ve(buf) => (buf) = file_write(buf, count, datatype);

    /// §14.4.3 Data access with individual file pointers.
    [large, fortran]
    fn MPI_File_read(fh: File, buf: Buf, count: Count, datatype: Datatype, status: Status)
        blocking(File fh) ve(buf) => (buf, status) = file_read(buf, count, datatype, status);

    [large, fortran]
    fn MPI_File_read_all(fh: File, buf: Buf, count: Count, datatype: Datatype, status: Status)
        blocking(File fh) ve(buf) => (buf, status) = file_read(buf, count, datatype, status);

    [large, fortran]
    fn MPI_File_write(fh: File, buf: CBuf, count: Count, datatype: Datatype, status: Status)
        blocking(File fh) ve(buf) => (buf) = file_write(buf, count, datatype);

    [large, fortran]
    fn MPI_File_write_all(fh: File, buf: CBuf, count: Count, datatype: Datatype, status: Status)
        blocking(File fh) ve(buf) => (buf) = file_write(buf, count, datatype);

    [large, fortran]
    fn MPI_File_iread(fh: File, buf: Buf, count: Count, datatype: Datatype, request: RequestOut)
        nonblocking(File fh; request) ve(buf) => (buf) = file_read_later(buf, count, datatype);

    [large, fortran]
    fn MPI_File_iread_all(fh: File, buf: Buf, count: Count, datatype: Datatype, request: RequestOut)
        nonblocking(File fh; request) ve(buf) => (buf) = file_read_later(buf, count, datatype);

    [large, fortran]
    fn MPI_File_iwrite(fh: File, buf: CBuf, count: Count, datatype: Datatype, request: RequestOut)
        nonblocking(File fh; request) ve(buf) => (buf) = file_write(buf, count, datatype);

    [large, fortran]
    fn MPI_File_iwrite_all(fh: File, buf: CBuf, count: Count, datatype: Datatype, request: RequestOut)
        nonblocking(File fh; request) ve(buf) => (buf) = file_write(buf, count, datatype);

    /// §14.4.4 Data access with shared file pointers.
    [large, fortran]
    fn MPI_File_read_shared(fh: File, buf: Buf, count: Count, datatype: Datatype, status: Status)
        blocking(File fh) ve(buf) => (buf, status) = file_read(buf, count, datatype, status);

    [large, fortran]
    fn MPI_File_write_shared(fh: File, buf: CBuf, count: Count, datatype: Datatype, status: Status)
        blocking(File fh) ve(buf) => (buf) = file_write(buf, count, datatype);

    [large, fortran]
    fn MPI_File_iread_shared(fh: File, buf: Buf, count: Count, datatype: Datatype, request: RequestOut)
        nonblocking(File fh; request) ve(buf) => (buf) = file_read_later(buf, count, datatype);

    [large, fortran]
    fn MPI_File_iwrite_shared(fh: File, buf: CBuf, count: Count, datatype: Datatype, request: RequestOut)
        nonblocking(File fh; request) ve(buf) => (buf) = file_write(buf, count, datatype);

    [large, fortran]
    fn MPI_File_read_ordered(fh: File, buf: Buf, count: Count, datatype: Datatype, status: Status)
        blocking(File fh) ve(buf) => (buf, status) = file_read(buf, count, datatype, status);

    [large, fortran]
    fn MPI_File_write_ordered(fh: File, buf: CBuf, count: Count, datatype: Datatype, status: Status)
        blocking(File fh) ve(buf) => (buf) = file_write(buf, count, datatype);

    /// §14.4.5 Split collective data access: one per file handle at a time.
    [large, fortran]
    fn MPI_File_read_at_all_begin(fh: File, offset: Offset, buf: Buf, count: Count, datatype: Datatype)
        split_begin(File fh) ve(buf) => (buf) = file_read_later(buf, count, datatype);

    [fortran]
    fn MPI_File_read_at_all_end(fh: File, buf: Buf, status: Status)
        split_end(File fh) ve(buf) status(status);

    [large, fortran]
    fn MPI_File_write_at_all_begin(fh: File, offset: Offset, buf: CBuf, count: Count, datatype: Datatype)
        split_begin(File fh) ve(buf) => (buf) = file_write(buf, count, datatype);

    [fortran]
    fn MPI_File_write_at_all_end(fh: File, buf: CBuf, status: Status)
        split_end(File fh) ve(buf) status(status);

    [large, fortran]
    fn MPI_File_read_all_begin(fh: File, buf: Buf, count: Count, datatype: Datatype)
        split_begin(File fh) ve(buf) => (buf) = file_read_later(buf, count, datatype);

    [fortran]
    fn MPI_File_read_all_end(fh: File, buf: Buf, status: Status)
        split_end(File fh) ve(buf) status(status);

    [large, fortran]
    fn MPI_File_write_all_begin(fh: File, buf: CBuf, count: Count, datatype: Datatype)
        split_begin(File fh) ve(buf) => (buf) = file_write(buf, count, datatype);

    [fortran]
    fn MPI_File_write_all_end(fh: File, buf: CBuf, status: Status)
        split_end(File fh) ve(buf) status(status);

    [large, fortran]
    fn MPI_File_read_ordered_begin(fh: File, buf: Buf, count: Count, datatype: Datatype)
        split_begin(File fh) ve(buf) => (buf) = file_read_later(buf, count, datatype);

    [fortran]
    fn MPI_File_read_ordered_end(fh: File, buf: Buf, status: Status)
        split_end(File fh) ve(buf) status(status);

    [large, fortran]
    fn MPI_File_write_ordered_begin(fh: File, buf: CBuf, count: Count, datatype: Datatype)
        split_begin(File fh) ve(buf) => (buf) = file_write(buf, count, datatype);

    [fortran]
    fn MPI_File_write_ordered_end(fh: File, buf: CBuf, status: Status)
        split_end(File fh) ve(buf) status(status);
}
