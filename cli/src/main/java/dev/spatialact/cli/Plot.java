package dev.spatialact.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A line chart drawn on a {@link Canvas} with its 5x7 font: a title, axes with ticks, grid lines
 * and labels (linear x; linear or logarithmic y), one polyline with markers per series (solid or
 * dashed) and a legend to the right. Enough for the study's figures; needs no desktop module.
 */
final class Plot {
    /** A line: its legend name, points (x[i], y[i]), colour, and whether it is dashed and has markers. */
    record Series(String name, double[] x, double[] y, int colour, boolean dashed, boolean markers) {}

    /** Qualitative colours (Tableau 10 order). */
    static final int[] PALETTE = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};

    private final String title, xLabel, yLabel;
    private final List<Series> series = new ArrayList<>();
    private boolean logY;
    private double[] xTicks;
    private double yMin = Double.NaN, yMax = Double.NaN;
    private String note;

    Plot(String title, String xLabel, String yLabel) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
    }

    Plot add(Series s) {
        series.add(s);
        return this;
    }

    Plot logY() {
        logY = true;
        return this;
    }

    /** Tick positions on x (default: nice steps over the data's range). */
    Plot xTicks(double... t) {
        xTicks = t.clone();
        return this;
    }

    /** Fixed y range (default: the data's range, padded). */
    Plot yRange(double lo, double hi) {
        yMin = lo;
        yMax = hi;
        return this;
    }

    /** A line of small text under the chart. */
    Plot note(String n) {
        note = n;
        return this;
    }

    static final int TS = 2;  // text scale of labels, ticks and legend

    Canvas render(int plotW, int plotH) {
        int ch = Canvas.textHeight(TS), cw = Canvas.FONT_W * TS + TS;
        int legendW = 0;
        for (Series s : series) legendW = Math.max(legendW, Canvas.textWidth(s.name(), TS));
        legendW += 44 + 24;
        int left = 24 + 7 * cw, top = 16 + ch + 24 + ch + 10, bottom = 12 + ch + 12 + ch + 16 + (note == null ? 0 : ch + 8);
        int w = left + plotW + 24 + legendW, h = top + plotH + bottom;
        Canvas cv = new Canvas(w, h);
        cv.textFit(title, 16, 16, w - 32, TS, Canvas.TEXT);

        // ranges
        double x0 = Double.POSITIVE_INFINITY, x1 = Double.NEGATIVE_INFINITY, y0 = Double.POSITIVE_INFINITY, y1 = Double.NEGATIVE_INFINITY;
        for (Series s : series)
            for (int i = 0; i < s.x().length; i++) {
                if (Double.isNaN(s.y()[i]) || logY && s.y()[i] <= 0) continue;
                x0 = Math.min(x0, s.x()[i]);
                x1 = Math.max(x1, s.x()[i]);
                y0 = Math.min(y0, s.y()[i]);
                y1 = Math.max(y1, s.y()[i]);
            }
        if (xTicks != null) {
            x0 = Math.min(x0, xTicks[0]);
            x1 = Math.max(x1, xTicks[xTicks.length - 1]);
        }
        if (!(x1 > x0)) x1 = x0 + 1;
        if (!Double.isNaN(yMin)) {
            y0 = yMin;
            y1 = yMax;
        } else if (logY) {
            y0 = Math.pow(10, Math.floor(Math.log10(y0) * 10) / 10 - 0.05);
            y1 = Math.pow(10, Math.ceil(Math.log10(y1) * 10) / 10 + 0.05);
        } else {
            double pad = 0.05 * Math.max(1e-12, y1 - y0);
            y0 -= pad;
            y1 += pad;
        }
        if (!(y1 > y0)) y1 = y0 + 1;
        final double fx0 = x0, fx1 = x1, fy0 = y0, fy1 = y1;
        java.util.function.DoubleUnaryOperator px = v -> left + (v - fx0) / (fx1 - fx0) * (plotW - 1);
        java.util.function.DoubleUnaryOperator py = logY
                ? v -> top + plotH - 1 - (Math.log10(v) - Math.log10(fy0)) / (Math.log10(fy1) - Math.log10(fy0)) * (plotH - 1)
                : v -> top + plotH - 1 - (v - fy0) / (fy1 - fy0) * (plotH - 1);

        // grid and ticks
        int grid = 0xe6e6e6;
        double[] xt = xTicks != null ? xTicks : niceTicks(x0, x1, 8);
        for (double t : xt) {
            int x = (int) Math.round(px.applyAsDouble(t));
            for (int y = top; y < top + plotH; y++) cv.set(x, y, grid);
            String s = tick(t);
            cv.text(s, x - Canvas.textWidth(s, TS) / 2, top + plotH + 8, TS, Canvas.TEXT);
            cv.fillRect(x, top + plotH, 1, 5, Canvas.TEXT);
        }
        double[] yt = logY ? logTicks(y0, y1) : niceTicks(y0, y1, 8);
        for (double t : yt) {
            int y = (int) Math.round(py.applyAsDouble(t));
            for (int x = left; x < left + plotW; x++) cv.set(x, y, grid);
            String s = tick(t);
            cv.text(s, left - 8 - Canvas.textWidth(s, TS), y - ch / 2, TS, Canvas.TEXT);
            cv.fillRect(left - 5, y, 5, 1, Canvas.TEXT);
        }
        cv.rect(left - 1, top - 1, plotW + 2, plotH + 2, Canvas.TEXT);
        cv.text(yLabel, 16, top - ch - 10, TS, Canvas.TEXT);
        cv.text(xLabel, left + (plotW - Canvas.textWidth(xLabel, TS)) / 2, top + plotH + 8 + ch + 12, TS, Canvas.TEXT);
        if (note != null) cv.textFit(note, 16, h - 12 - ch, w - 32, TS, Canvas.GREY);

        // lines, clipped to the plot area
        Canvas area = cv;
        for (Series s : series) {
            double lx = Double.NaN, ly = Double.NaN;
            for (int i = 0; i < s.x().length; i++) {
                double v = s.y()[i];
                if (Double.isNaN(v) || logY && v <= 0) {
                    lx = Double.NaN;
                    continue;
                }
                double x = px.applyAsDouble(s.x()[i]), y = py.applyAsDouble(v);
                if (!Double.isNaN(lx)) line(area, lx, ly, x, y, s.colour(), s.dashed(), left, top, plotW, plotH);
                lx = x;
                ly = y;
            }
            if (s.markers())
                for (int i = 0; i < s.x().length; i++) {
                    double v = s.y()[i];
                    if (Double.isNaN(v) || logY && v <= 0) continue;
                    int x = (int) Math.round(px.applyAsDouble(s.x()[i])), y = (int) Math.round(py.applyAsDouble(v));
                    if (x >= left && x < left + plotW && y >= top && y < top + plotH) {
                        cv.fillRect(x - 3, y - 3, 7, 7, 0xffffff);
                        cv.rect(x - 3, y - 3, 7, 7, s.colour());
                        cv.fillRect(x - 1, y - 1, 3, 3, s.colour());
                    }
                }
        }

        // legend
        int lx = left + plotW + 24, ly = top + 4;
        for (Series s : series) {
            int yy = ly + ch / 2;
            for (int x = 0; x < 32; x++)
                if (!s.dashed() || (x / 6) % 2 == 0) cv.fillRect(lx + x, yy - 1, 1, 3, s.colour());
            if (s.markers()) {
                cv.fillRect(lx + 13, yy - 3, 7, 7, 0xffffff);
                cv.rect(lx + 13, yy - 3, 7, 7, s.colour());
                cv.fillRect(lx + 15, yy - 1, 3, 3, s.colour());
            }
            cv.text(s.name(), lx + 40, ly, TS, Canvas.TEXT);
            ly += ch + 10;
        }
        return cv;
    }

    /** A 3-pixel-wide line from (ax, ay) to (bx, by), dashed if asked, clipped to the plot area. */
    private static void line(Canvas cv, double ax, double ay, double bx, double by, int colour, boolean dashed, int left, int top,
            int pw, int ph) {
        double len = Math.hypot(bx - ax, by - ay);
        int steps = Math.max(1, (int) Math.ceil(len * 2));
        for (int k = 0; k <= steps; k++) {
            double t = (double) k / steps;
            if (dashed && ((int) (t * len / 6)) % 2 == 1) continue;
            int x = (int) Math.round(ax + t * (bx - ax)), y = (int) Math.round(ay + t * (by - ay));
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx >= left && xx < left + pw && yy >= top && yy < top + ph) cv.set(xx, yy, colour);
                }
        }
    }

    /** Ticks at 1, 2, 2.5 or 5 times a power of ten, about n of them, inside [lo, hi]. */
    static double[] niceTicks(double lo, double hi, int n) {
        double raw = (hi - lo) / Math.max(1, n), mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double step = mag;
        for (double m : new double[] {1, 2, 2.5, 5, 10})
            if (m * mag >= raw) {
                step = m * mag;
                break;
            }
        List<Double> t = new ArrayList<>();
        for (long k = (long) Math.ceil(lo / step - 1e-9); k * step <= hi + 1e-9 * step; k++) {
            double v = Double.parseDouble(String.format(Locale.ROOT, "%.10g", k * step));  // 0.7999999 -> 0.8
            t.add(v == 0 ? 0 : v);
        }
        return t.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** Ticks at 1, 2 and 5 times the powers of ten inside [lo, hi] (only the powers if there are many decades). */
    static double[] logTicks(double lo, double hi) {
        List<Double> t = new ArrayList<>();
        double decades = Math.log10(hi / lo);
        double[] mantissas = decades > 3 ? new double[] {1} : decades > 1.5 ? new double[] {1, 2, 5} : new double[] {1, 1.5, 2, 3, 5, 7};
        for (int e = (int) Math.floor(Math.log10(lo)); e <= (int) Math.ceil(Math.log10(hi)); e++)
            for (double m : mantissas) {
                double v = m * Math.pow(10, e);
                if (v >= lo && v <= hi) t.add(v);
            }
        return t.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** A tick label: integers plainly ("20000" as "20K" from 10 000 up), others with up to 3 decimals. */
    static String tick(double v) {
        if (Math.abs(v) >= 10000 && v == Math.rint(v)) {
            double k = v / 1000;
            return (k == Math.rint(k) ? String.valueOf((long) k) : String.format(Locale.ROOT, "%.1f", k)) + "K";
        }
        if (v == Math.rint(v)) return String.valueOf((long) v);
        String s = String.format(Locale.ROOT, "%.3f", v);
        return s.replaceAll("0+$", "");
    }
}
