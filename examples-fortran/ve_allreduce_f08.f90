! VE allreduce (use mpi_f08): every rank contributes an array in Vector Engine memory; the sum lands in
! VE memory, and a second reduction works in place on VE memory, nonblocking.
!
! Build with any MPI and run with libmpi-ve preloaded:
!   mpifort veo.f90 ve_allreduce_f08.f90 -o ve_allreduce_f08 -L<libveo dir> -lveo
!   LD_PRELOAD=libmpive.so mpirun -n 4 ./ve_allreduce_f08
program ve_allreduce_f08
  use iso_c_binding
  use veo
  use mpi_f08
  implicit none
  integer, parameter :: n = 100000
  real(c_double), pointer, contiguous :: x(:), s(:)
  real(c_double), allocatable, target :: host(:)
  type(c_ptr) :: proc, px, ps
  type(MPI_Request) :: req
  integer :: rank, nprocs, i, bad, rc

  call MPI_Init()
  call MPI_Comm_rank(MPI_COMM_WORLD, rank)
  call MPI_Comm_size(MPI_COMM_WORLD, nprocs)

  proc = veo_proc_create(0)
  if (.not. c_associated(proc)) call MPI_Abort(MPI_COMM_WORLD, 1)
  if (veo_alloc_hmem(proc, px, int(n * 8, c_size_t)) /= 0) call MPI_Abort(MPI_COMM_WORLD, 1)
  if (veo_alloc_hmem(proc, ps, int(n * 8, c_size_t)) /= 0) call MPI_Abort(MPI_COMM_WORLD, 1)
  call c_f_pointer(px, x, [n])
  call c_f_pointer(ps, s, [n])

  allocate(host(n))
  host = [(rank + i - 1.0d0, i = 1, n)]
  rc = veo_hmemcpy(c_loc(x), c_loc(host), int(n * 8, c_size_t))

  call MPI_Allreduce(x, s, n, MPI_DOUBLE_PRECISION, MPI_SUM, MPI_COMM_WORLD)
  call MPI_Iallreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE_PRECISION, MPI_MAX, MPI_COMM_WORLD, req)
  call MPI_Wait(req, MPI_STATUS_IGNORE)

  rc = veo_hmemcpy(c_loc(host), c_loc(s), int(n * 8, c_size_t))
  bad = count(host /= [(nprocs * (i - 1.0d0) + nprocs * (nprocs - 1) / 2.0d0, i = 1, n)])
  rc = veo_hmemcpy(c_loc(host), c_loc(x), int(n * 8, c_size_t))
  bad = bad + count(host /= [(nprocs - 1.0d0 + i - 1, i = 1, n)])
  call MPI_Allreduce(MPI_IN_PLACE, bad, 1, MPI_INTEGER, MPI_SUM, MPI_COMM_WORLD)
  if (rank == 0) print '(a, i0, a, i0, a, a)', 've_allreduce (use mpi_f08): sum and max of ', n, ' doubles over ', &
                        nprocs, ' ranks in VE memory: ', merge('ok        ', 'WRONG DATA', bad == 0)

  rc = veo_free_hmem(c_loc(x))
  rc = veo_free_hmem(c_loc(s))
  rc = veo_proc_destroy(proc)
  call MPI_Finalize()
  if (bad /= 0) error stop 1
end program ve_allreduce_f08
