/* How the VE kernel of libmpive (mpive_vekernel.c) reaches VE memory.
 *
 * The kernel receives VE virtual addresses as uint64_t. Built for the VE with NEC's compiler, they
 * are plain pointers of the VE process the kernel runs in. Built for the simulated VE (simve,
 * -DMPIVE_VEKERNEL_SIMVE), the kernel runs on the host and VE addresses are not host pointers: the
 * two accessors below are functions that simve hands the library when it loads it (simve_bind),
 * and they copy through simve's memory of the process that called the kernel, checking every range.
 *
 *   MK_COPY(dst, src, n)   copies n bytes between two VE addresses; 0 on success.
 *   MK_FETCH(p, src, n)    copies n bytes from VE address src into the kernel's local array p; 0 on
 *                          success.
 */
#ifndef MPIVE_VEKERNEL_MEM_H
#define MPIVE_VEKERNEL_MEM_H

#include <stdint.h>
#include <string.h>

#ifdef MPIVE_VEKERNEL_SIMVE

typedef int (*mk_copy_fn)(uint64_t dst, uint64_t src, uint64_t n);
typedef int (*mk_fetch_fn)(void *dst, uint64_t src, uint64_t n);
extern mk_copy_fn mk_copy;
extern mk_fetch_fn mk_fetch;
#define MK_COPY(dst, src, n) (mk_copy ? mk_copy((dst), (src), (n)) : -1)
#define MK_FETCH(p, src, n) (mk_fetch ? mk_fetch((p), (src), (n)) : -1)

#else

#define MK_COPY(dst, src, n) (memcpy((void *)(uintptr_t)(dst), (const void *)(uintptr_t)(src), (n)), 0)
#define MK_FETCH(p, src, n) (memcpy((p), (const void *)(uintptr_t)(src), (n)), 0)

#endif

#endif
