// A small fork-join pool for the CPU kernels. One pool per process, created on first use and
// never destroyed (joining workers from a static destructor can hang a JVM's exit).
// If another caller is already using the pool, a call runs its tasks on the calling thread:
// concurrent Java threads then each get a core instead of oversubscribing the machine.
#ifndef SA_THREADPOOL_H
#define SA_THREADPOOL_H

#include <stdint.h>

namespace sa {

typedef void (*task_fn)(void* ctx, int64_t task);

// Runs fn(ctx, t) for t in [0, ntasks), on the pool and the calling thread, and returns when
// all have run. Tasks must not throw; a task that cannot allocate records it in its context
// and the entry point reports SA_ERR_OUT_OF_MEMORY.
void parallel_for(int64_t ntasks, task_fn fn, void* ctx);

int pool_threads();            // threads a call may use, the caller included
void pool_set_threads(int n);  // n <= 0: all cores
int pool_spin_us();            // how long idle workers and a joining caller poll before blocking
void pool_set_spin_us(int us);  // us < 0: the default (200); 0: block at once

}  // namespace sa

#endif
