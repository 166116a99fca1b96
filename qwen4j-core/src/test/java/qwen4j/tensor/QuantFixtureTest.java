package qwen4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import java.util.stream.Stream;

/** ggml's F16/BF16 fixtures (../shared/fixtures/quant, see its README). */
class QuantFixtureTest {
    static final int ROWS = 8, COLS = 512;

    static Path dir() {
        String shared = System.getProperty("qwen4j.shared");
        Path d = shared == null ? null : Path.of(shared, "fixtures", "quant");
        Assumptions.assumeTrue(d != null && Files.isDirectory(d),
                "SKIPPED: shared fixtures not found (system property qwen4j.shared=" + shared + ")");
        return d;
    }

    static Stream<Arguments> cases() {
        return Stream.of(DType.F16, DType.BF16).flatMap(t -> Stream.of(Kernels.values()).map(k -> Arguments.of(t, k)));
    }

    static float[] floats(Path p) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        float[] f = new float[b.remaining() / 4];
        b.asFloatBuffer().get(f);
        return f;
    }

    static double[] doubles(Path p) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        double[] d = new double[b.remaining() / 8];
        b.asDoubleBuffer().get(d);
        return d;
    }

    static Matrix load(Arena arena, Path dir, DType type, Kernels k) throws IOException {
        byte[] bytes = Files.readAllBytes(dir.resolve("quant-" + type + ".bin"));
        MemorySegment seg = arena.allocate(bytes.length);
        seg.copyFrom(MemorySegment.ofArray(bytes));
        return Matrices.of(new Tensor("quant", type, new long[] {ROWS, COLS}, seg, "quant-" + type + ".bin"), k);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void rowsDequantizeBitExactly(DType type, Kernels k) throws IOException {
        Path dir = dir();
        float[] want = floats(dir.resolve("quant-" + type + ".dequant.f32"));
        try (Arena arena = Arena.ofConfined()) {
            Matrix m = load(arena, dir, type, k);
            float[] row = new float[COLS];
            for (int r = 0; r < ROWS; r++) {
                m.row(r, row, 0);
                for (int j = 0; j < COLS; j++) {
                    assertThat(Float.floatToRawIntBits(row[j])).as("row %d col %d", r, j)
                            .isEqualTo(Float.floatToRawIntBits(want[r * COLS + j]));
                }
            }
        }
    }

    /**
     * Style B of the README (section 7): dequantized row times the float32 x. Against the exact
     * dot (.dotexact.f64) a float32 accumulator is within 1e-6 * S, S = sum |w x| (README's
     * suggested tolerance). Against ggml's own result (.dot.f32, x rounded to the weight type
     * first) the README's cross-style tolerance is 2e-5 * S for F16 and 3e-4 * S for BF16.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void dotProductsMatchFixtures(DType type, Kernels k) throws IOException {
        Path dir = dir();
        float[] w = floats(dir.resolve("quant-" + type + ".dequant.f32"));
        float[] x = floats(dir.resolve("quant-x.f32"));
        double[] exact = doubles(dir.resolve("quant-" + type + ".dotexact.f64"));
        float[] ggml = floats(dir.resolve("quant-" + type + ".dot.f32"));
        double crossStyle = type == DType.F16 ? 2e-5 : 3e-4;
        try (Arena arena = Arena.ofConfined()) {
            Matrix m = load(arena, dir, type, k);
            float[] out = new float[ROWS];
            m.matvec(x, out, 0, ROWS);
            for (int r = 0; r < ROWS; r++) {
                double s = 0;
                for (int j = 0; j < COLS; j++) s += Math.abs((double) w[r * COLS + j] * x[j]);
                assertThat(Math.abs(out[r] - exact[r])).as("row %d vs dotexact", r).isLessThanOrEqualTo(1e-6 * s);
                assertThat(Math.abs(out[r] - (double) ggml[r])).as("row %d vs ggml dot", r)
                        .isLessThanOrEqualTo(crossStyle * s);
            }
        }
    }
}
