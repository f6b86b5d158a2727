! The part of libveo (ve_offload.h) that the examples use, through ISO_C_BINDING: a VE process and
! heterogeneous memory (HMEM). An HMEM address of VE memory has bit 63 set; the host must not touch it,
! but MPI may be given it when libmpive is preloaded. veo_hmemcpy copies between host and VE memory.
module veo
  use iso_c_binding
  implicit none
  interface
    type(c_ptr) function veo_proc_create(venode) bind(C, name="veo_proc_create")
      import :: c_ptr, c_int
      integer(c_int), value :: venode
    end function
    integer(c_int) function veo_proc_destroy(proc) bind(C, name="veo_proc_destroy")
      import :: c_ptr, c_int
      type(c_ptr), value :: proc
    end function
    integer(c_int) function veo_alloc_hmem(proc, addr, size) bind(C, name="veo_alloc_hmem")
      import :: c_ptr, c_int, c_size_t
      type(c_ptr), value :: proc
      type(c_ptr), intent(out) :: addr
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
end module veo
