// The emulated GPU's stand-in for CUDA's <cuda_runtime.h>: the test build of the CUDA
// backend (src/test/native/emu/CMakeLists.txt) puts this directory first on the include path,
// so the unchanged kernel sources get the host emulation of ../cuda_emu.h instead of CUDA.
#include "../cuda_emu.h"
