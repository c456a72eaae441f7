# The source rewrite of the emulated GPU (cuda_emu.h): copies one CUDA source (.cu or .cuh)
# and replaces the three constructs C++ cannot express, nothing else:
#   kernel<<<grid, block, smem, stream>>>(args)  ->  ::sa_emu::make_launch(kernel, grid, block, smem, stream)(args)
#   extern __shared__ T name[];                   ->  T* const name = ::sa_emu::dynamic_shared<T>();
#   __shared__ T name[A][B];                      ->  auto& name = ::sa_emu::static_shared<T[A][B]>();
# Lines are kept (a #line directive names the original file), so compiler messages and
# __FILE__/__LINE__ point into src/main/cuda. With MUTANT set, the broken-kernel variant of
# mutants.cmake is applied first (its FROM text must occur exactly once).
# cmake -DIN=<source> -DOUT=<copy> [-DMUTANT=<name> -DMUTANTS=<mutants.cmake>] -P rewrite_cu.cmake
file(READ "${IN}" text)
if(MUTANT)
    include("${MUTANTS}")
    set(from "${SA_MUT_${MUTANT}_FROM}")
    set(to "${SA_MUT_${MUTANT}_TO}")
    string(FIND "${text}" "${from}" first)
    string(FIND "${text}" "${from}" last REVERSE)
    if(first EQUAL -1 OR NOT first EQUAL last)
        message(FATAL_ERROR "mutant ${MUTANT}: its text does not occur exactly once in ${IN}; update src/test/native/emu/mutants.cmake")
    endif()
    string(REPLACE "${from}" "${to}" text "${text}")
endif()
string(REGEX REPLACE "([A-Za-z_][A-Za-z_0-9]*)<<<([^;>]*)>>>" "::sa_emu::make_launch(\\1, \\2)" text "${text}")
string(REGEX REPLACE "extern __shared__ ([A-Za-z_][A-Za-z_0-9]*) ([A-Za-z_][A-Za-z_0-9]*)\\[\\];"
       "\\1* const \\2 = ::sa_emu::dynamic_shared<\\1>();" text "${text}")
string(REGEX REPLACE "__shared__ ([A-Za-z_][A-Za-z_0-9]*) ([A-Za-z_][A-Za-z_0-9]*)((\\[[^];]+\\])+);"
       "auto& \\2 = ::sa_emu::static_shared<\\1\\3>();" text "${text}")
if(text MATCHES "[A-Za-z_0-9)]<<<" OR text MATCHES "__shared__ [A-Za-z_]")
    message(FATAL_ERROR "${IN}: a launch or __shared__ declaration the emulator's rewrite does not handle; extend src/test/native/emu/rewrite_cu.cmake")
endif()
file(WRITE "${OUT}.tmp" "#line 1 \"${IN}\"\n${text}")
# Only touch the output when it changed (no needless recompiles).
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
file(REMOVE "${OUT}.tmp")
