// Control of the emulated GPU (cuda_emu.cpp) for the test programs linked against the
// emulated backend (emu-java/libspatialact.so (target spatialact_emu)). Plain C: the Java tests may call it too.
#ifndef SA_EMU_H
#define SA_EMU_H

#include <stdint.h>

#define SA_EMU_EXPORT __attribute__((visibility("default")))

#ifdef __cplusplus
extern "C" {
#endif

/* Device model of every emulated device, by name (sa_emu_model_name(i) lists them), and the
 * number of devices; count 0 emulates a machine without GPU. Environment at load time:
 * SA_EMU_DEVICE (default "h100"), SA_EMU_DEVICES (1), SA_EMU_ORDERS (3), SA_EMU_SMEM_CAP.
 * Fails (non-zero) for an unknown name or while device memory is allocated. */
SA_EMU_EXPORT int sa_emu_select(const char* model, int count);
SA_EMU_EXPORT const char* sa_emu_model_name(int i); /* NULL past the last */
SA_EMU_EXPORT const char* sa_emu_current_model(void);
/* Test-only cap on the opt-in shared memory per block (bytes; 0 = the model's). */
SA_EMU_EXPORT void sa_emu_set_smem_cap(int bytes);
/* Replays per launch, 1..3 (ascending; + descending; + shuffled thread and block orders). */
SA_EMU_EXPORT void sa_emu_set_orders(int n);
/* Quiet: faults are counted and kept, not printed (the broken-kernel tests). */
SA_EMU_EXPORT void sa_emu_set_quiet(int quiet);
/* Late faults (1): an execution fault is reported only by the next synchronising call, as a real
 * GPU does once the launch has returned, not by the launch check (0, the default). */
SA_EMU_EXPORT void sa_emu_set_late_faults(int late);

typedef struct {
    int64_t launches, blocks, threads, barriers; /* barriers: __syncthreads passed, summed over threads */
    int64_t faults, launch_errors;               /* execution faults; launches refused by the limits */
    int64_t replays;                             /* block executions beyond the first order */
    int64_t live_allocations, live_bytes;
    int64_t pools_created, pool_allocations;     /* cudaMemPoolCreate calls; cudaMallocFromPoolAsync */
    int64_t func_attribute_sets;                 /* cudaFuncSetAttribute calls */
} sa_emu_stats;
SA_EMU_EXPORT void sa_emu_get_stats(sa_emu_stats* s);
SA_EMU_EXPORT const char* sa_emu_last_fault(void); /* "" when none since the last reset */
SA_EMU_EXPORT void sa_emu_reset_fault(void);

/* Per kernel (the first index read names it; template arguments dropped). The access counts
 * are filled only in the counting build (SA_EMU_COUNT_ACCESSES), else -1. */
typedef struct {
    char name[96];
    int64_t launches, threads, barriers;
    int64_t global_loads, global_stores, shared_loads, shared_stores; /* bytes / 4 */
    int64_t local_accesses;
} sa_emu_kernel_stats;
SA_EMU_EXPORT int sa_emu_kernel_count(void);
SA_EMU_EXPORT int sa_emu_kernel_get(int i, sa_emu_kernel_stats* out);
SA_EMU_EXPORT void sa_emu_kernel_reset(void);
SA_EMU_EXPORT int sa_emu_counting(void); /* 1 in the counting build */

#ifdef __cplusplus
}
#endif

#endif
