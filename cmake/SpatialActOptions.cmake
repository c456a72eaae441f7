# Build options and common flags of the native library.
option(SA_BUILD_TESTS "Build the native test and benchmark programs (ctest)" ON)
set(SA_CUDA "AUTO" CACHE STRING "CUDA kernels: AUTO (when nvcc is found), ON (required) or OFF")
set_property(CACHE SA_CUDA PROPERTY STRINGS AUTO ON OFF)
option(SA_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
    set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
set(CMAKE_CXX_VISIBILITY_PRESET hidden)
set(CMAKE_CUDA_VISIBILITY_PRESET hidden)
set(CMAKE_VISIBILITY_INLINES_HIDDEN ON)

set(SA_INCLUDE_DIR ${CMAKE_CURRENT_LIST_DIR}/../src/main/cpp/include)

# Optimisation of the project's C++ (after the build type's flags, so it wins): -O3, except in
# sanitizer builds. There GCC's -O3 (and its variable tracking under -g) takes minutes per
# kernel file: frelu_isa.cpp for AVX-512 under ASan+UBSan 122 s at -O3 -g1 and over 5 min at
# -O3 -g, 6.3 s at -O1 -g1. -O1 is the level the sanitizers recommend; -fexpensive-optimizations
# keeps GCC's FMA contraction pass (gated on it), so that the sanitized kernels round as the
# release ones do; -g1 keeps the line tables the reports need.
if(SA_SANITIZE)
    set(SA_OPT_FLAGS -O1 $<$<CXX_COMPILER_ID:GNU>:-fexpensive-optimizations> -g1)
    set(SA_TEST_OPT_FLAGS -O1 -g1)
else()
    set(SA_OPT_FLAGS -O3)
    set(SA_TEST_OPT_FLAGS -O2)  # the test and benchmark programs
endif()

# Flags every native target of the project gets. No -ffast-math anywhere: NaN must propagate.
function(sa_configure_target target)
    target_include_directories(${target} PUBLIC ${SA_INCLUDE_DIR})
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${SA_OPT_FLAGS} -fno-math-errno -fopenmp-simd -Wall -Wextra>)
    find_package(Threads REQUIRED)
    target_link_libraries(${target} PRIVATE Threads::Threads)
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "SHARED_LIBRARY" AND NOT SA_SANITIZE)
        # Carry libstdc++ inside: the library then loads in any JVM on glibc 2.17+, whatever
        # C++ runtime the host has.
        target_link_options(${target} PRIVATE -static-libstdc++ -static-libgcc -Wl,--exclude-libs,ALL -Wl,--no-undefined)
    endif()
    if(SA_SANITIZE)
        target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined>)
        target_link_options(${target} PRIVATE -fsanitize=address,undefined)
    endif()
endfunction()

# Adds the kernel sources (the arguments after flags) compiled with the given flags into the
# namespace sa::isa_<name>, which makes the table sa::kernels_<name> (cpu/kernels/isa.h).
function(sa_add_isa_kernels target name flags)
    set(obj ${target}_kernels_${name})
    list(TRANSFORM ARGN PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/ OUTPUT_VARIABLE sources)
    add_library(${obj} OBJECT ${sources})
    target_include_directories(${obj} PRIVATE ${SA_INCLUDE_DIR})
    target_compile_definitions(${obj} PRIVATE SA_ISA_NAME=${name} SA_ISA_BUILD_${name})
    # -fno-trapping-math: the JVM runs with FP traps off, and it lets GCC turn selects into blends.
    target_compile_options(${obj} PRIVATE ${SA_OPT_FLAGS} -fno-math-errno -fno-trapping-math -fopenmp-simd -Wall -Wextra ${flags})
    if(SA_SANITIZE)
        target_compile_options(${obj} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer)
    endif()
    target_sources(${target} PRIVATE $<TARGET_OBJECTS:${obj}>)
endfunction()
