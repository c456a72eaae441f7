package dev.spatialact.cli;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;

import dev.spatialact.SpatialActException;
import dev.spatialact.SpatialActException.Code;

/**
 * An RGB image in memory for the demo's figures: panels of a plane in a diverging colour map,
 * text in a built-in 5x7 pixel font (so no system fonts are needed), and PNG output through
 * javax.imageio, or, where the java.desktop module is absent (a jlink'd runtime), through a
 * small PNG encoder of its own. Works headless.
 */
final class Canvas {
    final int width, height;
    final int[] rgb;

    static final int WHITE = 0xffffff, BLACK = 0x000000, GREY = 0x808080, BACKGROUND = 0xffffff, TEXT = 0x202020;

    Canvas(int width, int height) {
        if (width < 1 || height < 1) throw new IllegalArgumentException("canvas " + width + "x" + height);
        this.width = width;
        this.height = height;
        this.rgb = new int[width * height];
        Arrays.fill(rgb, BACKGROUND);
    }

    void set(int x, int y, int c) {
        if (x >= 0 && y >= 0 && x < width && y < height) rgb[y * width + x] = c;
    }

    int get(int x, int y) {
        return rgb[y * width + x];
    }

    void fillRect(int x0, int y0, int w, int h, int c) {
        for (int y = Math.max(0, y0); y < Math.min(height, y0 + h); y++)
            for (int x = Math.max(0, x0); x < Math.min(width, x0 + w); x++) rgb[y * width + x] = c;
    }

    void rect(int x0, int y0, int w, int h, int c) {
        for (int x = x0; x < x0 + w; x++) {
            set(x, y0, c);
            set(x, y0 + h - 1, c);
        }
        for (int y = y0; y < y0 + h; y++) {
            set(x0, y, c);
            set(x0 + w - 1, y, c);
        }
    }

    // ---- colour ---------------------------------------------------------------------------------

    private static final int[] NEG = {33, 102, 172}, MID = {247, 247, 247}, POS = {178, 24, 43};

    /** Diverging map: blue for -scale and below, white at 0, red for +scale and above; NaN is black. */
    static int diverging(float v, float scale) {
        if (Float.isNaN(v)) return BLACK;
        double t = scale > 0 ? v / scale : Math.signum(v);
        t = Math.max(-1, Math.min(1, t));
        int[] end = t < 0 ? NEG : POS;
        double a = Math.abs(t);
        int r = (int) Math.round(MID[0] + (end[0] - MID[0]) * a);
        int g = (int) Math.round(MID[1] + (end[1] - MID[1]) * a);
        int b = (int) Math.round(MID[2] + (end[2] - MID[2]) * a);
        return (r << 16) | (g << 8) | b;
    }

    static int rgb(double r, double g, double b) {
        return (clamp8(r) << 16) | (clamp8(g) << 8) | clamp8(b);
    }

    private static int clamp8(double v) {
        return (int) Math.round(255 * Math.max(0, Math.min(1, v)));
    }

    /**
     * Draws plane (h x w values from offset off of data) into a size x size-ish box at (x0, y0),
     * nearest-neighbour, in the diverging map with this scale.
     */
    void plane(float[] data, int off, int h, int w, int x0, int y0, int dw, int dh, float scale) {
        for (int y = 0; y < dh; y++) {
            int sy = (int) ((long) y * h / dh);
            for (int x = 0; x < dw; x++) {
                int sx = (int) ((long) x * w / dw);
                set(x0 + x, y0 + y, diverging(data[off + sy * w + sx], scale));
            }
        }
        rect(x0 - 1, y0 - 1, dw + 2, dh + 2, GREY);
    }

    /** Draws a 3 x h x w image with values in [0, 1] (channels R, G, B) at (x0, y0), scaled to dw x dh. */
    void image(float[] chw, int h, int w, int x0, int y0, int dw, int dh) {
        int plane = h * w;
        for (int y = 0; y < dh; y++) {
            int sy = (int) ((long) y * h / dh);
            for (int x = 0; x < dw; x++) {
                int sx = (int) ((long) x * w / dw);
                int i = sy * w + sx;
                set(x0 + x, y0 + y, rgb(chw[i], chw[plane + i], chw[2 * plane + i]));
            }
        }
        rect(x0 - 1, y0 - 1, dw + 2, dh + 2, GREY);
    }

    /** A horizontal colour bar for [-scale, scale] with its labels, width w at (x0, y0). */
    void colourBar(int x0, int y0, int w, float scale) {
        int h = 12;
        for (int x = 0; x < w; x++) {
            float v = (float) ((2.0 * x / Math.max(1, w - 1) - 1) * scale);
            for (int y = 0; y < h; y++) set(x0 + x, y0 + y, diverging(v, scale));
        }
        rect(x0 - 1, y0 - 1, w + 2, h + 2, GREY);
        String lo = "-" + fmt(scale), hi = "+" + fmt(scale);
        text(lo, x0, y0 + h + 4, 1, TEXT);
        text("0", x0 + w / 2 - FONT_W / 2, y0 + h + 4, 1, TEXT);
        text(hi, x0 + w - textWidth(hi, 1), y0 + h + 4, 1, TEXT);
    }

    static String fmt(float v) {
        return String.format(Locale.ROOT, Math.abs(v) >= 100 ? "%.0f" : Math.abs(v) >= 10 ? "%.1f" : "%.2f", v);
    }

    // ---- text: a 5x7 pixel font --------------------------------------------------------------------

    static final int FONT_W = 5, FONT_H = 7;

    /** Glyph rows, '#' set. Letters are drawn upper case. */
    private static final String GLYPHS = """
            A .###. #...# #...# ##### #...# #...# #...#
            B ####. #...# #...# ####. #...# #...# ####.
            C .###. #...# #.... #.... #.... #...# .###.
            D ####. #...# #...# #...# #...# #...# ####.
            E ##### #.... #.... ####. #.... #.... #####
            F ##### #.... #.... ####. #.... #.... #....
            G .###. #...# #.... #.### #...# #...# .####
            H #...# #...# #...# ##### #...# #...# #...#
            I .###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.
            J ..### ...#. ...#. ...#. ...#. #..#. .##..
            K #...# #..#. #.#.. ##... #.#.. #..#. #...#
            L #.... #.... #.... #.... #.... #.... #####
            M #...# ##.## #.#.# #.#.# #...# #...# #...#
            N #...# #...# ##..# #.#.# #..## #...# #...#
            O .###. #...# #...# #...# #...# #...# .###.
            P ####. #...# #...# ####. #.... #.... #....
            Q .###. #...# #...# #...# #.#.# #..#. .##.#
            R ####. #...# #...# ####. #.#.. #..#. #...#
            S .#### #.... #.... .###. ....# ....# ####.
            T ##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..
            U #...# #...# #...# #...# #...# #...# .###.
            V #...# #...# #...# #...# #...# .#.#. ..#..
            W #...# #...# #...# #.#.# #.#.# #.#.# .#.#.
            X #...# #...# .#.#. ..#.. .#.#. #...# #...#
            Y #...# #...# .#.#. ..#.. ..#.. ..#.. ..#..
            Z ##### ....# ...#. ..#.. .#... #.... #####
            0 .###. #...# #..## #.#.# ##..# #...# .###.
            1 ..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.
            2 .###. #...# ....# ...#. ..#.. .#... #####
            3 ##### ...#. ..#.. ...#. ....# #...# .###.
            4 ...#. ..##. .#.#. #..#. ##### ...#. ...#.
            5 ##### #.... ####. ....# ....# #...# .###.
            6 ..##. .#... #.... ####. #...# #...# .###.
            7 ##### ....# ...#. ..#.. .#... .#... .#...
            8 .###. #...# #...# .###. #...# #...# .###.
            9 .###. #...# #...# .#### ....# ...#. .##..
            ( ...#. ..#.. .#... .#... .#... ..#.. ...#.
            ) .#... ..#.. ...#. ...#. ...#. ..#.. .#...
            = ..... ..... ##### ..... ##### ..... .....
            . ..... ..... ..... ..... ..... .##.. .##..
            , ..... ..... ..... ..... .##.. ..#.. .#...
            - ..... ..... ..... ##### ..... ..... .....
            + ..... ..#.. ..#.. ##### ..#.. ..#.. .....
            : ..... .##.. .##.. ..... .##.. .##.. .....
            | ..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..
            / ..... ....# ...#. ..#.. .#... #.... .....
            _ ..... ..... ..... ..... ..... ..... #####
            % ##... ##..# ...#. ..#.. .#... #..## ...##
            * ..... ..#.. #.#.# .###. #.#.# ..#.. .....
            ? .###. #...# ....# ...#. ..#.. ..... ..#..
            """;

    private static final Map<Character, boolean[]> FONT = new HashMap<>();

    static {
        for (String line : GLYPHS.split("\n")) {
            if (line.isBlank()) continue;
            String[] rows = line.substring(2).trim().split(" ");
            boolean[] g = new boolean[FONT_W * FONT_H];
            for (int r = 0; r < FONT_H; r++)
                for (int c = 0; c < FONT_W; c++) g[r * FONT_W + c] = rows[r].charAt(c) == '#';
            FONT.put(line.charAt(0), g);
        }
        FONT.put(' ', new boolean[FONT_W * FONT_H]);
    }

    /** Width in pixels of s drawn at this scale (1 pixel of spacing per character, scaled). */
    static int textWidth(String s, int scale) {
        return s.isEmpty() ? 0 : (s.length() * (FONT_W + 1) - 1) * scale;
    }

    static int textHeight(int scale) {
        return FONT_H * scale;
    }

    /** Draws s with its top-left corner at (x0, y0); unknown characters are drawn as '?'. */
    void text(String s, int x0, int y0, int scale, int colour) {
        int x = x0;
        for (char ch : s.toUpperCase(Locale.ROOT).toCharArray()) {
            boolean[] g = FONT.getOrDefault(ch, FONT.get('?'));
            for (int r = 0; r < FONT_H; r++)
                for (int c = 0; c < FONT_W; c++)
                    if (g[r * FONT_W + c]) fillRect(x + c * scale, y0 + r * scale, scale, scale, colour);
            x += (FONT_W + 1) * scale;
        }
    }

    /** Draws s at the largest scale (up to maxScale) that fits width w, centred in [x0, x0 + w). */
    void textFit(String s, int x0, int y0, int w, int maxScale, int colour) {
        int scale = maxScale;
        while (scale > 1 && textWidth(s, scale) > w) scale--;
        String t = s;
        while (t.length() > 1 && textWidth(t, scale) > w) t = t.substring(0, t.length() - 1);
        text(t, x0 + Math.max(0, (w - textWidth(t, scale)) / 2), y0, scale, colour);
    }

    /**
     * Draws s centred in width w: at maxScale if it fits on one line, else at scale 1 on up to two
     * lines (broken after a ", " or a space), truncated if it still does not fit.
     */
    void textWrap(String s, int x0, int y0, int w, int maxScale, int colour) {
        if (textWidth(s, maxScale) <= w || maxScale == 1 && textWidth(s, 1) <= w) {
            textFit(s, x0, y0, w, maxScale, colour);
            return;
        }
        if (textWidth(s, 1) <= w) {
            textFit(s, x0, y0, w, 1, colour);
            return;
        }
        int maxChars = (w + 1) / (FONT_W + 1);
        int cut = -1;
        for (int i = Math.min(s.length() - 1, maxChars); i > 0; i--) {
            if (s.charAt(i) == ' ') {
                cut = i;
                break;
            }
        }
        if (cut < 0) cut = Math.min(s.length(), maxChars);
        textFit(s.substring(0, cut).strip(), x0, y0, w, 1, colour);
        textFit(s.substring(cut).strip(), x0, y0 + FONT_H + 3, w, 1, colour);
    }

    // ---- PNG -------------------------------------------------------------------------------------

    /** Writes the canvas as a PNG file (javax.imageio when java.desktop is present, else the built-in encoder). */
    void writePng(Path file) {
        try {
            if (desktopAvailable()) AwtPng.write(this, file);
            else Files.write(file, encodePng());
        } catch (IOException e) {
            throw new SpatialActException(Code.IO, file + ": cannot write PNG: " + e, e);
        }
    }

    /**
     * Writes the canvas as a PNG with a palette (8-bit indices) when it has at most 256 colours,
     * which for figures of few colours (plots, binary masks, quantised grey) is several times
     * smaller than RGB; else as {@link #writePng}.
     */
    void writePngCompact(Path file) {
        try {
            byte[] png = encodePngIndexed();
            if (png == null) writePng(file);
            else Files.write(file, png);
        } catch (IOException e) {
            throw new SpatialActException(Code.IO, file + ": cannot write PNG: " + e, e);
        }
    }

    /** A PNG file (8-bit palette, no filter) of the canvas, or null if it has more than 256 colours. */
    byte[] encodePngIndexed() throws IOException {
        Map<Integer, Integer> index = new HashMap<>();
        for (int p : rgb) {
            if (!index.containsKey(p)) {
                if (index.size() == 256) return null;
                index.put(p, index.size());
            }
        }
        byte[] plte = new byte[3 * index.size()];
        for (Map.Entry<Integer, Integer> e : index.entrySet()) {
            int c = e.getKey(), i = e.getValue();
            plte[3 * i] = (byte) (c >> 16);
            plte[3 * i + 1] = (byte) (c >> 8);
            plte[3 * i + 2] = (byte) c;
        }
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        Deflater def = new Deflater(9);
        try (DeflaterOutputStream z = new DeflaterOutputStream(raw, def)) {
            byte[] row = new byte[1 + width];
            for (int y = 0; y < height; y++) {
                row[0] = 0;  // filter: None
                for (int x = 0; x < width; x++) row[1 + x] = (byte) (int) index.get(rgb[y * width + x]);
                z.write(row);
            }
        } finally {
            def.end();
        }
        return png(3, plte, raw.toByteArray());  // colour type 3: palette
    }

    /** The PNG file around compressed image data: 8-bit samples of this colour type, optional palette. */
    private byte[] png(int colourType, byte[] plte, byte[] idat) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(out);
        d.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
        DataOutputStream h = new DataOutputStream(ihdr);
        h.writeInt(width);
        h.writeInt(height);
        h.write(new byte[] {8, (byte) colourType, 0, 0, 0});  // bit depth 8, deflate, filter 0, no interlace
        chunk(d, "IHDR", ihdr.toByteArray());
        if (plte != null) chunk(d, "PLTE", plte);
        chunk(d, "IDAT", idat);
        chunk(d, "IEND", new byte[0]);
        return out.toByteArray();
    }

    static boolean desktopAvailable() {
        return ModuleLayer.boot().findModule("java.desktop").isPresent() && Ops.findClass("javax.imageio.ImageIO") != null;
    }

    /** Kept apart so that java.desktop is only touched when present. */
    private static final class AwtPng {
        static void write(Canvas c, Path file) throws IOException {
            java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(c.width, c.height,
                    java.awt.image.BufferedImage.TYPE_INT_RGB);
            img.setRGB(0, 0, c.width, c.height, c.rgb, 0, c.width);
            if (!javax.imageio.ImageIO.write(img, "png", file.toFile()))
                throw new IOException("javax.imageio has no PNG writer");
        }
    }

    /** A PNG file (8-bit RGB, no interlace, filter 'sub' per row) of the canvas; needs only java.base. */
    byte[] encodePng() throws IOException {
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        Deflater def = new Deflater(6);
        try (DeflaterOutputStream z = new DeflaterOutputStream(raw, def)) {
            byte[] row = new byte[1 + 3 * width];
            for (int y = 0; y < height; y++) {
                row[0] = 1;  // filter: Sub
                int prevR = 0, prevG = 0, prevB = 0;
                for (int x = 0; x < width; x++) {
                    int p = rgb[y * width + x];
                    int r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
                    row[1 + 3 * x] = (byte) (r - prevR);
                    row[2 + 3 * x] = (byte) (g - prevG);
                    row[3 + 3 * x] = (byte) (b - prevB);
                    prevR = r;
                    prevG = g;
                    prevB = b;
                }
                z.write(row);
            }
        } finally {
            def.end();
        }
        return png(2, null, raw.toByteArray());  // colour type 2: RGB
    }

    private static void chunk(DataOutputStream d, String type, byte[] data) throws IOException {
        byte[] t = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        d.writeInt(data.length);
        d.write(t);
        d.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        d.writeInt((int) crc.getValue());
    }
}
