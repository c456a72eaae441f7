package dev.spatialact;

import dev.spatialact.internal.Native;
import dev.spatialact.internal.NativeLoader;
import dev.spatialact.internal.SpatialActNative;

/**
 * An operator's operands as the native operator table declares them ({@code sa_op_info} in the
 * C header): the names of its tensor inputs, which of them the output may be (in place), and
 * which input is a guide shaped N x guideChannels x H x W. Read from the native table once, so
 * the rules exist in one place for every language and every kind of memory.
 */
final class Operands {
    final int op;
    final String name;
    final String[] inputs;
    private final int inplaceMask, guideInput;

    // Read on first use, not in a static initializer: a library that cannot load must fail each
    // call with its own exception, not once with ExceptionInInitializerError and then with
    // NoClassDefFoundError.
    private static volatile Operands[] table;

    private static Operands[] table() {
        Operands[] t = table;
        if (t == null) {
            synchronized (Operands.class) {
                if (table == null) table = load();
                t = table;
            }
        }
        return t;
    }

    private Operands(int op, String name, String[] inputs, int inplaceMask, int guideInput) {
        this.op = op;
        this.name = name;
        this.inputs = inputs;
        this.inplaceMask = inplaceMask;
        this.guideInput = guideInput;
    }

    private static Operands[] load() {
        NativeLoader.ensureLoaded();
        Operands[] t = new Operands[SpatialActNative.SA_OP_COUNT];
        try (SpatialActNative.sa_op_info info = new SpatialActNative.sa_op_info()) {
            for (int op = 0; op < t.length; op++) {
                Native.check(SpatialActNative.sa_op_info_get(op, info));
                String[] names = new String[info.inputs()];
                for (int i = 0; i < names.length; i++) names[i] = info.input_names(i).getString();
                t[op] = new Operands(op, info.name().getString(), names, info.inplace_mask(), info.guide_input());
            }
        }
        return t;
    }

    /** The row of an SA_OP_* code. */
    static Operands of(int op) {
        return table()[op];
    }

    /** The number of rows. */
    static int count() {
        return table().length;
    }

    /** True if the output may be exactly input i (in place). */
    boolean mayAlias(int i) {
        return (inplaceMask >> i & 1) != 0;
    }

    /** True if input i is the guide, N x guideChannels x H x W. */
    boolean isGuide(int i) {
        return i == guideInput;
    }

    /** The shape of input i for a call of this shape. */
    Shape inputShape(int i, Shape s, long guideChannels) {
        return isGuide(i) ? Shape.of(s.n(), guideChannels, s.h(), s.w()) : s;
    }

    @Override
    public String toString() {
        return name + "(" + String.join(", ", inputs) + ")";
    }
}
