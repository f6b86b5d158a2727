/*
 * ve_offload.h for the simulated VE of libmpi-ve (simve).
 *
 * Declares the part of NEC's libveo (AVEO, API version 11) that the simulated library implements:
 * processes, memory, heterogeneous memory (HMEM) and asynchronous memory transfers. A program written
 * against it builds unchanged against the real libveo on an SX-Aurora host.
 */
#ifndef SIMVE_VE_OFFLOAD_H
#define SIMVE_VE_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

#define VEO_API_VERSION 11
#define VEO_REQUEST_ID_INVALID (~0UL)

#ifdef __cplusplus
extern "C" {
#endif

enum veo_context_state { VEO_STATE_UNKNOWN = 0, VEO_STATE_RUNNING, VEO_STATE_SYSCALL, VEO_STATE_BLOCKED, VEO_STATE_EXIT };
enum veo_command_state { VEO_COMMAND_OK = 0, VEO_COMMAND_EXCEPTION, VEO_COMMAND_ERROR, VEO_COMMAND_UNFINISHED };

struct veo_proc_handle;
struct veo_thr_ctxt;

/* Processes */
struct veo_proc_handle *veo_proc_create(int venode);
int veo_proc_destroy(struct veo_proc_handle *h);
int veo_proc_identifier(struct veo_proc_handle *h);

/* VE memory by VE virtual address */
int veo_alloc_mem(struct veo_proc_handle *h, uint64_t *addr, const size_t size);
int veo_free_mem(struct veo_proc_handle *h, uint64_t addr);
int veo_read_mem(struct veo_proc_handle *h, void *dst, uint64_t src, size_t size);
int veo_write_mem(struct veo_proc_handle *h, uint64_t dst, const void *src, size_t size);

/* Heterogeneous memory: bit 63 marks a VE address, bits 62..59 the process identifier */
int veo_alloc_hmem(struct veo_proc_handle *h, void **addr, const size_t size);
int veo_free_hmem(void *addr);
int veo_hmemcpy(void *dst, const void *src, size_t size);
int veo_is_ve_addr(const void *addr);
void *veo_get_hmem_addr(void *addr);

/* Thread contexts and asynchronous transfers */
struct veo_thr_ctxt *veo_context_open(struct veo_proc_handle *h);
int veo_context_close(struct veo_thr_ctxt *ctx);
int veo_get_context_state(struct veo_thr_ctxt *ctx);
void veo_context_sync(struct veo_thr_ctxt *ctx);
uint64_t veo_async_read_mem(struct veo_thr_ctxt *ctx, void *dst, uint64_t src, size_t size);
uint64_t veo_async_write_mem(struct veo_thr_ctxt *ctx, uint64_t dst, const void *src, size_t size);
uint64_t veo_call_async_vh(struct veo_thr_ctxt *ctx, uint64_t (*func)(void *), void *arg);
int veo_call_peek_result(struct veo_thr_ctxt *ctx, uint64_t reqid, uint64_t *retp);
int veo_call_wait_result(struct veo_thr_ctxt *ctx, uint64_t reqid, uint64_t *retp);

const char *veo_version_string(void);
int veo_api_version(void);

#ifdef __cplusplus
}
#endif
#endif
