// The kernel table of one instruction set, sa::kernels_<isa> (../dispatch.h): this build's
// functions from the kernel files, and the baseline build's soft-gate point function (see
// KernelTable).
#include "isa.h"

namespace sa {

extern const KernelTable SA_CAT(kernels_, SA_ISA_NAME);
const KernelTable SA_CAT(kernels_, SA_ISA_NAME) = {
    SA_STR(SA_ISA_NAME),
    SA_ISA_NS::leaky,
    SA_ISA_NS::leaky_backward,
    SA_ISA_NS::star,
    SA_ISA_NS::frelu,
    SA_ISA_NS::td_tile,
    SA_ISA_NS::td_sparse,
    SA_ISA_NS::td_incr,
    isa_baseline::td_soft_point,
    SA_ISA_NS::ntd_iter,
    SA_ISA_NS::ntd_incr,
    SA_ISA_NS::ntd_guide,
    SA_ISA_NS::ntd_weights,
    SA_ISA_NS::ntd_normalise,
    SA_ISA_NS::ntd_init,
    SA_ISA_NS::ntd_sources,
};

}  // namespace sa
