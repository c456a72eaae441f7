# Broken-kernel variants ("mutants") of the real CUDA sources, each one deliberate bug the
# emulated GPU must flag (test_emu.cpp runs them; docs/EMULATOR.md lists what flags each).
# Every mutant is the real file with one text replaced (FROM must occur exactly once; the
# rewrite fails the build when a kernel change makes it stale), compiled into the emulated
# backend with its entry points renamed sa_mut_<name>_<op>_forward. Line counts are kept.
# SA_EMU_MUTANTS: name;file;operator (frelu, td) triples.
set(SA_EMU_MUTANTS
    frelu_no_barrier frelu.cu frelu
    frelu_stage_short frelu.cu frelu
    frelu_unguarded frelu.cu frelu
    td_no_barrier td_lrelu.cu td
    td_no_barrier_tiles td_lrelu.cu td
    td_halo_short td_lrelu.cu td
    td_stage_short td_lrelu.cu td
    td_wave_no_barrier td_lrelu.cu td
    td_bit_no_barrier td_lrelu.cu td
    td_bit_slot td_lrelu.cu td
    ew_tail_short elementwise.cu leaky)

# The barrier at the end of a step removed: the next step reads rows other threads have not
# staged yet.
set(SA_MUT_frelu_no_barrier_FROM [==[
            // rows and the filter: every thread must be past this step.
            __syncthreads();]==])
set(SA_MUT_frelu_no_barrier_TO [==[
            // rows and the filter: every thread must be past this step.
            ;]==])

# The prologue one row short: the first step's last buffer row (halo included) is never written.
set(SA_MUT_frelu_stage_short_FROM [==[if (rr < kStepRows + 2 * R) {]==])
set(SA_MUT_frelu_stage_short_TO [==[if (rr < kStepRows + 2 * R - 1) {]==])

# The column guard of the halo load dropped: at the left and right edges the load reads the
# neighbouring row (and before / past the tensor at its corners).
set(SA_MUT_frelu_unguarded_FROM [==[const bool side_in = has_side && j0 + side_dj >= 0 && j0 + side_dj < W;]==])
set(SA_MUT_frelu_unguarded_TO [==[const bool side_in = has_side;]==])

# TD: the barrier between the vertical and the horizontal pass, removed.
set(SA_MUT_td_no_barrier_FROM [==[
            }
            __syncthreads();
            // Horizontal pass]==])
set(SA_MUT_td_no_barrier_TO [==[
            }
            ;
            // Horizontal pass]==])

# TD: the barrier after writing a tile, before the block's next tile overwrites the shared
# buffers, removed (matters only when blocks loop over tiles: few SMs).
set(SA_MUT_td_no_barrier_tiles_FROM [==[__syncthreads();  // the next tile overwrites the shared buffers]==])
set(SA_MUT_td_no_barrier_tiles_TO [==[;  // the next tile overwrites the shared buffers]==])

# TD: the halo one iteration short.
set(SA_MUT_td_halo_short_FROM [==[const int halo = a.iters * r;]==])
set(SA_MUT_td_halo_short_TO [==[const int halo = (a.iters - 1) * r;]==])

# TD: the staging loop one row short (the last ring row of sV is never zeroed).
set(SA_MUT_td_stage_short_FROM [==[pi < eh + 2 * r; pi += kBlockY]==])
set(SA_MUT_td_stage_short_TO [==[pi < eh + 2 * r - 1; pi += kBlockY]==])

# Element-wise: the scalar tail loop one element short.
set(SA_MUT_ew_tail_short_FROM [==[for (int64_t i = head + 4 * nvec + tid; i < n; i += stride)]==])
set(SA_MUT_ew_tail_short_TO [==[for (int64_t i = head + 4 * nvec + tid; i < n - 1; i += stride)]==])

# The wavefront kernel's barrier between its vertical and horizontal pass removed (the
# horizontal pass then reads the vertical-pass buffer while it is written).
set(SA_MUT_td_wave_no_barrier_FROM [==[
                            if (ii < nrows) sT[ii * EW + c] = acc[ii];
                    }
                }
                __syncthreads();]==])
set(SA_MUT_td_wave_no_barrier_TO [==[
                            if (ii < nrows) sT[ii * EW + c] = acc[ii];
                    }
                }
                ;]==])

# The bit wavefront's barrier after each level removed: level t + 1 reads gate bits that level
# t of the same step has not stored yet.
set(SA_MUT_td_bit_no_barrier_FROM [==[
                }
                __syncthreads();
            };]==])
set(SA_MUT_td_bit_no_barrier_TO [==[
                }
                ;
            };]==])

# The bit wavefront's new gate bits stored in the next row block's byte of their words: the
# next level's windows read rows 8 apart from the ones they name.
set(SA_MUT_td_bit_slot_FROM [==[bcur[c * 4 + slot + sb]]==])
set(SA_MUT_td_bit_slot_TO [==[bcur[c * 4 + ((slot + sb + 1) & 3)]]==])
