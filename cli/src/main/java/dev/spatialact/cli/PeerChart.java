package dev.spatialact.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The summary of the peer benchmarks (issue 10, item 5; scripts/peers.sh): reads JMH's CSV of
 * {@code PeerBench} (spatialact and ONNX Runtime Java in one run) and the TSV of
 * scripts/torch_cpu_bench.py (PyTorch eager, its own process), prints a Markdown table and
 * draws a grouped bar chart (PNG, log scale) of each operator's throughput relative to
 * LeakyReLU: spatialact and ONNX Runtime relative to spatialact's native LeakyReLU of the same
 * JMH run, PyTorch relative to its own leaky_relu.
 *
 * <pre>java -cp cli/target/spatialact-cli.jar dev.spatialact.cli.PeerChart peers.csv torch.tsv peers.png "caption"</pre>
 */
public final class PeerChart {
    private PeerChart() {}

    static final String[] OPS = {"leaky_relu", "frelu", "td_lrelu"};
    static final String[] OP_NAMES = {"LeakyReLU", "FReLU k=3", "TD-LReLU T=5 r=3"};
    static final String[] OP_LABELS = {"Leaky", "FReLU", "TD"};

    /** impl -> op@shape -> ops/s (JMH) or seconds per call (torch). */
    record Results(Map<String, Map<String, Double>> perSecond, List<String> shapes) {}

    public static void main(String[] args) throws IOException {
        if (args.length < 3) {
            System.err.println("usage: PeerChart PEERS.csv TORCH.tsv OUT.png [caption]");
            System.exit(2);
        }
        Results r = read(Path.of(args[0]), Path.of(args[1]));
        System.out.print(table(r));
        chart(r, args.length > 3 ? args[3] : "").writePng(Path.of(args[2]));
        System.out.println("chart: " + args[2]);
    }

    static Results read(Path jmhCsv, Path torchTsv) throws IOException {
        Map<String, Map<String, Double>> m = new LinkedHashMap<>();
        List<String> shapes = new ArrayList<>();
        List<String> lines = Files.readAllLines(jmhCsv);
        String[] head = csv(lines.get(0));
        int bench = index(head, "Benchmark"), score = index(head, "Score"), op = index(head, "Param: op"), shape = index(head, "Param: shape");
        for (String line : lines.subList(1, lines.size())) {
            String[] f = csv(line);
            String impl = f[bench].substring(f[bench].lastIndexOf('.') + 1);
            m.computeIfAbsent(impl, k -> new LinkedHashMap<>()).put(f[op] + "@" + f[shape], Double.parseDouble(f[score]));
            if (!shapes.contains(f[shape])) shapes.add(f[shape]);
        }
        if (Files.exists(torchTsv)) {
            for (String line : Files.readAllLines(torchTsv)) {
                String[] f = line.split("\t");
                if (f.length < 4) continue;
                m.computeIfAbsent(f[0], k -> new LinkedHashMap<>()).put(f[1] + "@" + f[2], 1.0 / Double.parseDouble(f[3]));
            }
        }
        return new Results(m, shapes);
    }

    private static int index(String[] head, String name) {
        for (int i = 0; i < head.length; i++) if (head[i].equals(name)) return i;
        throw new IllegalArgumentException("JMH CSV has no column '" + name + "'");
    }

    private static String[] csv(String line) {
        String[] f = line.split(",", -1);
        for (int i = 0; i < f.length; i++) f[i] = f[i].replace("\"", "").trim();
        return f;
    }

    /** Throughput of impl's op relative to base's LeakyReLU on the shape, or NaN. */
    static double rel(Results r, String impl, String op, String shape, String base) {
        Map<String, Double> a = r.perSecond.get(impl), b = r.perSecond.get(base);
        if (a == null || b == null) return Double.NaN;
        Double x = a.get(op + "@" + shape), l = b.get("leaky_relu@" + shape);
        return x == null || l == null ? Double.NaN : x / l;
    }

    static String table(Results r) {
        StringBuilder b = new StringBuilder();
        b.append("| shape | operator | spatialact vs its LeakyReLU | ONNX Runtime vs spatialact's LeakyReLU | spatialact / ONNX Runtime | PyTorch vs its leaky_relu |\n");
        b.append("|---|---|---|---|---|---|\n");
        for (String s : r.shapes)
            for (int i = 0; i < OPS.length; i++) {
                double sa = rel(r, "spatialact", OPS[i], s, "spatialact"), ort = rel(r, "onnxRuntime", OPS[i], s, "spatialact");
                double pt = rel(r, "pytorch", OPS[i], s, "pytorch");
                b.append(String.format(Locale.ROOT, "| %s | %s | %.3fx | %.3fx | %.2fx | %s |%n", s, OP_NAMES[i], sa, ort, sa / ort,
                        Double.isNaN(pt) ? "-" : String.format(Locale.ROOT, "%.3fx", pt)));
            }
        return b.toString();
    }

    static Canvas chart(Results r, String caption) {
        // (the bitmap font has letters, digits and .,:()=+-/x%_ only)
        String[][] impls = {{"spatialact", "spatialact", "spatialact, relative to its LeakyReLU"},
            {"onnxRuntime", "spatialact", "ONNX Runtime Java, relative to spatialact LeakyReLU (same JMH run)"},
            {"pytorch", "pytorch", "PyTorch eager, relative to its own leaky_relu"}};
        int ts = Plot.TS, ch = Canvas.textHeight(ts);
        int barW = 24, groupGap = 40, plotH = 360, left = 120, top = 16 + ch + 20 + 3 * (ch + 8) + 10;
        int groups = r.shapes.size() * OPS.length;
        int plotW = groups * (impls.length * barW + groupGap) + groupGap;
        int legendW = 0;
        for (String[] im : impls) legendW = Math.max(legendW, 48 + Canvas.textWidth(im[2], ts) + 16);
        int w = Math.max(left + plotW + 24, legendW), h = top + plotH + 3 * ch + 60 + (caption.isEmpty() ? 0 : ch + 8);
        Canvas cv = new Canvas(w, h);
        cv.textFit("Throughput relative to LeakyReLU on the CPU (higher is better, 1 = the cost of a LeakyReLU)", 16, 16, w - 32, ts, Canvas.TEXT);
        for (int k = 0; k < impls.length; k++) {
            int y = 16 + ch + 20 + k * (ch + 8);
            cv.fillRect(16, y, 24, ch, Plot.PALETTE[k]);
            cv.text(impls[k][2], 48, y, ts, Canvas.TEXT);
        }
        final double lo = 1e-4, hi = 2;  // fixed: charts of different runs compare
        java.util.function.DoubleUnaryOperator py = v -> top + plotH - 1 - (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) * (plotH - 1);
        for (double t : Plot.logTicks(lo, hi)) {
            int y = (int) Math.round(py.applyAsDouble(t));
            for (int x = left; x < left + plotW; x++) cv.set(x, y, t == 1 ? 0x909090 : 0xe6e6e6);
            String s = t >= 1 ? String.format(Locale.ROOT, "%.0f", t) : String.format(Locale.ROOT, "%." + (int) Math.round(-Math.log10(t)) + "f", t);
            cv.text(s, left - 8 - Canvas.textWidth(s, ts), y - ch / 2, ts, Canvas.TEXT);
        }
        int x = left + groupGap;
        for (String s : r.shapes) {
            int gx = x;
            for (int i = 0; i < OPS.length; i++) {
                for (int k = 0; k < impls.length; k++) {
                    double v = rel(r, impls[k][0], OPS[i], s, impls[k][1]);
                    if (!Double.isNaN(v) && v > 0) {
                        int y = (int) Math.round(py.applyAsDouble(Math.max(lo, Math.min(hi, v))));
                        cv.fillRect(x + k * barW, y, barW - 2, top + plotH - y, Plot.PALETTE[k]);
                    }
                }
                String name = OP_LABELS[i];
                cv.text(name, x + (impls.length * barW - Canvas.textWidth(name, ts)) / 2, top + plotH + 8, ts, Canvas.TEXT);
                x += impls.length * barW + groupGap;
            }
            String label = s;
            cv.text(label, gx + (x - groupGap - gx - Canvas.textWidth(label, ts)) / 2, top + plotH + 16 + ch, ts, Canvas.TEXT);
        }
        cv.rect(left, top, plotW, plotH, Canvas.GREY);
        if (!caption.isEmpty()) cv.textFit(caption, 16, h - ch - 12, w - 32, ts, Canvas.TEXT);
        return cv;
    }
}
