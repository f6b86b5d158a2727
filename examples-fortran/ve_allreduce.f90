! VE allreduce (mpif.h): every rank contributes an array in Vector Engine memory; the sum lands in VE
! memory, and a second reduction works in place on VE memory.
!
! Build with any MPI and run with libmpi-ve preloaded:
!   mpifort -fallow-argument-mismatch veo.f90 ve_allreduce.f90 -o ve_allreduce -L<libveo dir> -lveo
!   LD_PRELOAD=libmpive.so mpirun -n 4 ./ve_allreduce
! (gfortran 10 and later need -fallow-argument-mismatch for mpif.h codes that pass buffers of
! different types to one MPI routine, with or without libmpi-ve.)
program ve_allreduce
  use iso_c_binding
  use veo
  implicit none
  include 'mpif.h'
  integer, parameter :: n = 100000
  real(c_double), pointer, contiguous :: x(:), s(:)
  real(c_double), allocatable, target :: host(:)
  type(c_ptr) :: proc, px, ps
  integer :: rank, nprocs, ierr, i, bad

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, nprocs, ierr)

  proc = veo_proc_create(0)
  if (.not. c_associated(proc)) call MPI_Abort(MPI_COMM_WORLD, 1, ierr)
  if (veo_alloc_hmem(proc, px, int(n * 8, c_size_t)) /= 0) call MPI_Abort(MPI_COMM_WORLD, 1, ierr)
  if (veo_alloc_hmem(proc, ps, int(n * 8, c_size_t)) /= 0) call MPI_Abort(MPI_COMM_WORLD, 1, ierr)
  call c_f_pointer(px, x, [n])
  call c_f_pointer(ps, s, [n])

  ! x(i) = rank + i - 1, written to the VE
  allocate(host(n))
  host = [(rank + i - 1.0d0, i = 1, n)]
  ierr = veo_hmemcpy(c_loc(x), c_loc(host), int(n * 8, c_size_t))

  call MPI_Allreduce(x, s, n, MPI_DOUBLE_PRECISION, MPI_SUM, MPI_COMM_WORLD, ierr)            ! VE -> VE
  call MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE_PRECISION, MPI_MAX, MPI_COMM_WORLD, ierr) ! in place

  ! s(i) = nprocs * (i - 1) + nprocs * (nprocs - 1) / 2; max x(i) = nprocs - 1 + i - 1
  ierr = veo_hmemcpy(c_loc(host), c_loc(s), int(n * 8, c_size_t))
  bad = count(host /= [(nprocs * (i - 1.0d0) + nprocs * (nprocs - 1) / 2.0d0, i = 1, n)])
  ierr = veo_hmemcpy(c_loc(host), c_loc(x), int(n * 8, c_size_t))
  bad = bad + count(host /= [(nprocs - 1.0d0 + i - 1, i = 1, n)])
  call MPI_Allreduce(MPI_IN_PLACE, bad, 1, MPI_INTEGER, MPI_SUM, MPI_COMM_WORLD, ierr)
  if (rank == 0) print '(a, i0, a, i0, a, a)', 've_allreduce (mpif.h): sum and max of ', n, ' doubles over ', &
                        nprocs, ' ranks in VE memory: ', merge('ok        ', 'WRONG DATA', bad == 0)

  ierr = veo_free_hmem(c_loc(x))
  ierr = veo_free_hmem(c_loc(s))
  ierr = veo_proc_destroy(proc)
  call MPI_Finalize(ierr)
  if (bad /= 0) error stop 1
end program ve_allreduce
