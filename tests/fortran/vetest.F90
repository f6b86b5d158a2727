! Test helpers for Fortran programs: buffers in (simulated) VE memory through libveo's C API, and
! value-by-value checks. MPI-free, so that one module serves mpif.h, use mpi and use mpi_f08 programs.
! Each program prints one line per rank, "FT <name> rank R: N checks, F failures", which the pytest
! driver adds up.
module vetest
  use iso_c_binding
  implicit none
  private
  public :: ve_init, ve_alloc, ve_free, to_ve, from_ve, check, check_int, report, vt_nchecks, vt_nfail

  interface
    type(c_ptr) function veo_proc_create(venode) bind(C, name="veo_proc_create")
      import :: c_ptr, c_int
      integer(c_int), value :: venode
    end function
    integer(c_int) function veo_alloc_hmem(proc, addr, size) bind(C, name="veo_alloc_hmem")
      import :: c_ptr, c_int, c_size_t
      type(c_ptr), value :: proc
      type(c_ptr) :: addr
      integer(c_size_t), value :: size
    end function
    integer(c_int) function veo_free_hmem(addr) bind(C, name="veo_free_hmem")
      import :: c_ptr, c_int
      type(c_ptr), value :: addr
    end function
    integer(c_int) function veo_hmemcpy(dst, src, size) bind(C, name="veo_hmemcpy")
      import :: c_ptr, c_int, c_size_t
      type(c_ptr), value :: dst, src
      integer(c_size_t), value :: size
    end function
  end interface

  type(c_ptr), save :: proc = c_null_ptr
  integer, save :: vt_nchecks = 0, vt_nfail = 0

contains

  subroutine ve_init()
    proc = veo_proc_create(0_c_int)
    if (.not. c_associated(proc)) stop 'cannot create a VE process'
  end subroutine

  ! n doubles in VE memory ('v') or host memory ('h'), as a Fortran pointer array.
  function ve_alloc(place, n) result(a)
    character, intent(in) :: place
    integer, intent(in) :: n
    real(c_double), pointer, contiguous :: a(:)
    type(c_ptr) :: p
    if (place == 'v') then
      if (veo_alloc_hmem(proc, p, int(max(n, 1) * 8, c_size_t)) /= 0) stop 'veo_alloc_hmem failed'
      call c_f_pointer(p, a, [n])
    else
      allocate(a(n))
    end if
  end function

  subroutine ve_free(place, a)
    character, intent(in) :: place
    real(c_double), pointer, contiguous :: a(:)
    integer(c_int) :: rc
    if (place == 'v') then
      rc = veo_free_hmem(c_loc(a))
    else
      deallocate(a)
    end if
    nullify(a)
  end subroutine

  ! Copies host values into a buffer of either kind (veo_hmemcpy handles both directions).
  subroutine to_ve(a, vals)
    real(c_double), pointer, contiguous :: a(:)
    real(c_double), intent(in), target :: vals(:)
    integer(c_int) :: rc
    if (size(vals) == 0) return
    rc = veo_hmemcpy(c_loc(a), c_loc(vals), int(size(vals) * 8, c_size_t))
    if (rc /= 0) stop 'veo_hmemcpy to the buffer failed'
  end subroutine

  function from_ve(a, n) result(vals)
    real(c_double), pointer, contiguous :: a(:)
    integer, intent(in) :: n
    real(c_double), target :: vals(n)
    integer(c_int) :: rc
    if (n == 0) return
    rc = veo_hmemcpy(c_loc(vals), c_loc(a), int(n * 8, c_size_t))
    if (rc /= 0) stop 'veo_hmemcpy from the buffer failed'
  end function

  ! Compares the first size(expected) values of a buffer of either kind, value by value.
  subroutine check(what, a, expected)
    character(*), intent(in) :: what
    real(c_double), pointer, contiguous :: a(:)
    real(c_double), intent(in) :: expected(:)
    real(c_double) :: got(size(expected))
    integer :: i
    got = from_ve(a, size(expected))
    vt_nchecks = vt_nchecks + 1
    do i = 1, size(expected)
      if (got(i) /= expected(i)) then
        vt_nfail = vt_nfail + 1
        print '(a, a, i0, a, f0.1, a, f0.1)', what, ': element ', i, ' is ', got(i), ', expected ', expected(i)
        return
      end if
    end do
  end subroutine

  subroutine check_int(what, got, expected)
    character(*), intent(in) :: what
    integer, intent(in) :: got, expected
    vt_nchecks = vt_nchecks + 1
    if (got /= expected) then
      vt_nfail = vt_nfail + 1
      print '(a, a, i0, a, i0)', what, ': got ', got, ', expected ', expected
    end if
  end subroutine

  subroutine report(name, rank)
    character(*), intent(in) :: name
    integer, intent(in) :: rank
    print '(a, a, a, i0, a, i0, a, i0, a)', 'FT ', name, ' rank ', rank, ': ', vt_nchecks, ' checks, ', vt_nfail, ' failures'
  end subroutine

end module vetest
