package dev.spatialact.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import dev.spatialact.Backend;

/**
 * A parsed command line: positional words, {@code --name value} / {@code --name=value} options
 * and {@code --flag}s. Which names are flags is fixed ({@link #FLAGS}); every other
 * {@code --name} takes a value. {@code --} ends the options. Malformed input is a
 * {@link UsageException}.
 */
final class Args {
    /** Options that take no value. */
    static final Set<String> FLAGS = Set.of("help", "verbose", "light", "no-bench", "version", "quick");

    final List<String> positional = new ArrayList<>();
    private final Map<String, String> options = new LinkedHashMap<>();
    private final Set<String> flags = new LinkedHashSet<>();

    static Args parse(String[] argv) {
        Args a = new Args();
        boolean optionsEnded = false;
        for (int i = 0; i < argv.length; i++) {
            String s = argv[i];
            if (optionsEnded || !s.startsWith("-") || s.equals("-") || isNumber(s)) {
                a.positional.add(s);
                continue;
            }
            if (s.equals("--")) {
                optionsEnded = true;
                continue;
            }
            if (s.equals("-h")) {
                a.flags.add("help");
                continue;
            }
            if (s.equals("-v")) {
                a.flags.add("verbose");
                continue;
            }
            if (!s.startsWith("--") || s.length() == 2) throw new UsageException("unknown option '" + s + "' (options are --name value)");
            String name = s.substring(2), value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (name.isEmpty()) throw new UsageException("malformed option '" + s + "'");
            if (FLAGS.contains(name)) {
                if (value != null) throw new UsageException("option --" + name + " takes no value");
                a.flags.add(name);
                continue;
            }
            if (value == null) {
                if (i + 1 >= argv.length) throw new UsageException("option --" + name + " needs a value");
                value = argv[++i];
            }
            if (a.options.put(name, value) != null) throw new UsageException("option --" + name + " is given twice");
        }
        return a;
    }

    // The numbers the command line takes: ASCII decimal, as a user types them (and Python prints
    // them). Not Java's extras: hexadecimal floats (0x1p3), type suffixes (1f, 2d), non-ASCII
    // digits, NaN and Infinity.
    private static final java.util.regex.Pattern DECIMAL =
            java.util.regex.Pattern.compile("[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?");
    private static final java.util.regex.Pattern INTEGER = java.util.regex.Pattern.compile("[+-]?[0-9]+");

    private static boolean isNumber(String s) {
        return DECIMAL.matcher(s).matches();
    }

    boolean flag(String name) {
        return flags.contains(name);
    }

    boolean has(String name) {
        return options.containsKey(name) || flags.contains(name);
    }

    String get(String name) {
        return options.get(name);
    }

    String get(String name, String dflt) {
        return options.getOrDefault(name, dflt);
    }

    String require(String name, String what) {
        String v = options.get(name);
        if (v == null) throw new UsageException("missing --" + name + " " + what);
        return v;
    }

    Path path(String name) {
        String v = options.get(name);
        return v == null ? null : Path.of(v);
    }

    float getFloat(String name, float dflt) {
        String v = options.get(name);
        return v == null ? dflt : parseFloat(name, v);
    }

    int getInt(String name, int dflt) {
        return (int) integer(name, dflt, Integer.MIN_VALUE, Integer.MAX_VALUE, 32);
    }

    long getLong(String name, long dflt) {
        return integer(name, dflt, Long.MIN_VALUE, Long.MAX_VALUE, 64);
    }

    private long integer(String name, long dflt, long min, long max, int bits) {
        String v = options.get(name);
        if (v == null) return dflt;
        try {
            if (!INTEGER.matcher(v.trim()).matches()) throw new NumberFormatException();
            long l = Long.parseLong(v.trim());
            if (l < min || l > max) throw new NumberFormatException();
            return l;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " " + v + ": not an integer (ASCII digits, within " + bits + " bits)");
        }
    }

    static float parseFloat(String name, String v) {
        if (!DECIMAL.matcher(v.trim()).matches())
            throw new UsageException("--" + name + " " + v + ": not a decimal number (e.g. 0.25, -1, 1e-3)");
        return Float.parseFloat(v.trim());
    }

    /** --backend auto|cpu|cuda, or dflt when absent. */
    Backend backend(Backend dflt) {
        String v = options.get("backend");
        if (v == null) return dflt;
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "auto" -> Backend.AUTO;
            case "cpu" -> Backend.CPU;
            case "cuda", "gpu" -> Backend.CUDA;
            default -> throw new UsageException("--backend " + v + ": expected auto, cpu or cuda");
        };
    }

    /** Every option and flag given, for checks against what a command accepts. */
    Set<String> names() {
        Set<String> s = new LinkedHashSet<>(options.keySet());
        s.addAll(flags);
        return s;
    }

    /** Throws a usage error for any option or flag not in allowed (help and verbose always are). */
    void allowOnly(Collection<String> allowed, String context) {
        for (String n : names()) {
            if (n.equals("help") || n.equals("verbose")) continue;
            if (!allowed.contains(n)) {
                Set<String> sorted = new TreeSet<>(allowed);
                throw new UsageException(context + " takes no option --" + n + (sorted.isEmpty() ? "" : "; its options: --" + String.join(", --", sorted)));
            }
        }
    }
}
