/* The VE side of libmpive's staging of derived datatypes: one library, loaded into the VE process
 * that owns a buffer (veo_load_library), whose two functions move the blocks of a datatype between
 * the buffer and a packed copy in VE scratch memory. The host then moves the packed bytes with one
 * libveo copy, whatever the number of blocks.
 *
 * A run list is an array of nruns pairs of uint64_t (offset from base, length in bytes), in the
 * order the packed bytes follow. Both functions return 0 on success, else a nonzero code: 1 if the
 * run list cannot be read, 2 + i if run i cannot be copied.
 *
 * Built for the VE with NEC's compiler (see docs/architecture.md, "Staging"):
 *   ncc -O2 -fpic -shared -o libmpive_vekernel.so mpive_vekernel.c
 * and for the simulated VE by build.rs with -DMPIVE_VEKERNEL_SIMVE (see mpive_vekernel_mem.h).
 */
#include "mpive_vekernel_mem.h"

#ifdef MPIVE_VEKERNEL_SIMVE
mk_copy_fn mk_copy;
mk_fetch_fn mk_fetch;

/* Called by simve when it loads the library: the accessors of the simulated VE's memory. */
void simve_bind(mk_copy_fn copy, mk_fetch_fn fetch)
{
    mk_copy = copy;
    mk_fetch = fetch;
}
#endif

/* Runs read from VE memory at once (into a local array). */
#define RUNS_AT_ONCE 256

/* Moves each run between base + offset and the packed bytes: unpack (packed to the runs) when
 * `to_runs`, pack (the runs to packed) otherwise. */
static uint64_t move_runs(uint64_t base, uint64_t packed, uint64_t runs, uint64_t nruns, int to_runs)
{
    uint64_t r[2 * RUNS_AT_ONCE];
    uint64_t pos = 0;
    for (uint64_t i = 0; i < nruns; i += RUNS_AT_ONCE) {
        uint64_t k = nruns - i < RUNS_AT_ONCE ? nruns - i : RUNS_AT_ONCE;
        if (MK_FETCH(r, runs + 16 * i, 16 * k) != 0)
            return 1;
        for (uint64_t j = 0; j < k; j++) {
            uint64_t at = base + r[2 * j], len = r[2 * j + 1];
            int rc = to_runs ? MK_COPY(at, packed + pos, len) : MK_COPY(packed + pos, at, len);
            if (rc != 0)
                return 2 + i + j;
            pos += len;
        }
    }
    return 0;
}

/* Scatters the packed bytes at `packed` to the runs of the buffer at `base` (a receive). */
uint64_t mpive_unpack(uint64_t base, uint64_t packed, uint64_t runs, uint64_t nruns)
{
    return move_runs(base, packed, runs, nruns, 1);
}

/* Gathers the runs of the buffer at `base` into `packed` (a send). */
uint64_t mpive_pack(uint64_t base, uint64_t packed, uint64_t runs, uint64_t nruns)
{
    return move_runs(base, packed, runs, nruns, 0);
}
