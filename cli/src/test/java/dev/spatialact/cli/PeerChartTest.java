package dev.spatialact.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The peer summary (scripts/peers.sh) on a JMH CSV and a PyTorch TSV of the formats they write. */
class PeerChartTest {
    @TempDir
    Path tmp;

    @Test
    void tableAndChart() throws Exception {
        Path csv = tmp.resolve("p.csv"), tsv = tmp.resolve("t.tsv"), png = tmp.resolve("p.png");
        Files.write(csv, List.of(
                "\"Benchmark\",\"Mode\",\"Threads\",\"Samples\",\"Score\",\"Score Error (99.9%)\",\"Unit\",\"Param: op\",\"Param: shape\",\"Param: threads\"",
                "\"dev.spatialact.jmh.PeerBench.onnxRuntime\",\"thrpt\",1,5,100.0,1.0,\"ops/s\",leaky_relu,1x8x4x4,2",
                "\"dev.spatialact.jmh.PeerBench.onnxRuntime\",\"thrpt\",1,5,10.0,1.0,\"ops/s\",frelu,1x8x4x4,2",
                "\"dev.spatialact.jmh.PeerBench.spatialact\",\"thrpt\",1,5,200.0,1.0,\"ops/s\",leaky_relu,1x8x4x4,2",
                "\"dev.spatialact.jmh.PeerBench.spatialact\",\"thrpt\",1,5,100.0,1.0,\"ops/s\",frelu,1x8x4x4,2"));
        Files.write(tsv, List.of("pytorch\tleaky_relu\t1x8x4x4\t0.001\t1.0", "pytorch\tfrelu\t1x8x4x4\t0.01\t0.1"));
        PeerChart.Results r = PeerChart.read(csv, tsv);
        assertEquals(0.5, PeerChart.rel(r, "spatialact", "frelu", "1x8x4x4", "spatialact"), 1e-12);
        assertEquals(0.05, PeerChart.rel(r, "onnxRuntime", "frelu", "1x8x4x4", "spatialact"), 1e-12);
        assertEquals(0.1, PeerChart.rel(r, "pytorch", "frelu", "1x8x4x4", "pytorch"), 1e-12);
        String t = PeerChart.table(r);
        assertTrue(t.contains("| 1x8x4x4 | FReLU k=3 | 0.500x | 0.050x | 10.00x | 0.100x |"), t);
        PeerChart.chart(r, "caption").writePng(png);
        assertTrue(Files.size(png) > 1000);
    }
}
