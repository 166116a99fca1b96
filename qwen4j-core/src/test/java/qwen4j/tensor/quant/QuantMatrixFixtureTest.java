package qwen4j.tensor.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static qwen4j.tensor.quant.QuantFixtures.COLS;
import static qwen4j.tensor.quant.QuantFixtures.ROWS;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;
import qwen4j.tensor.Matrices;
import qwen4j.tensor.Matrix;
import qwen4j.tensor.Tensor;

/** The 8 x 512 ggml fixtures of shared/fixtures/quant, one test per type. */
class QuantMatrixFixtureTest {

    /** Float32 unit roundoff. */
    static final double U = 0x1p-24;

    /**
     * Error bound of a float32 dot of n terms against the exact dot of the same dequantized weights:
     * recursive (or lane-split) float32 summation is within (n - 1) u S, S = sum |w x| (Higham 3.1);
     * each product/FMA adds at most u S, and the SIMD path's fused dequantization (q * d - m as one FMA)
     * one more u S. So (n + 2) u S bounds both kernels; for n = 512 that is 3.1e-5 S.
     */
    static double bound(int n, double s) {
        return (n + 2) * U * s;
    }

    static Matrix load(DType t, Kernels k) {
        MemorySegment seg = QuantFixtures.offHeap(QuantFixtures.bytes("quant-" + t + ".bin"));
        // the float-activation SIMD kernels
        if (QuantMatrix.supports(t)) return QuantMatrix.of(t, seg, ROWS, COLS, k);
        return Matrices.of(new Tensor(t.name().toLowerCase(), t, new long[] {ROWS, COLS}, seg, "fixture"), k);
    }

    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void rowDequantizesBitExactly(DType t) {
        float[] expected = QuantFixtures.floats("quant-" + t + ".dequant.f32");
        for (Kernels k : Kernels.values()) {
            Matrix m = load(t, k);
            assertThat(m.type()).isEqualTo(t);
            assertThat(m.byteSize()).isEqualTo(t.bytesFor((long) ROWS * COLS));
            float[] got = new float[ROWS * COLS + 3];
            for (int r = 0; r < ROWS; r++) m.row(r, got, 3 + r * COLS);
            for (int i = 0; i < ROWS * COLS; i++) {
                int g = Float.floatToRawIntBits(got[3 + i]), e = Float.floatToRawIntBits(expected[i]);
                if (g != e) {
                    throw new AssertionError(t + " " + k + ": element " + i + " (row " + i / COLS + ", col "
                            + i % COLS + ") is " + got[3 + i] + " (0x" + Integer.toHexString(g) + "), expected "
                            + expected[i] + " (0x" + Integer.toHexString(e) + ")");
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void matvecMatchesExactDotOfDequantizedRows(DType t) {
        float[] x = QuantFixtures.floats("quant-x.f32");
        float[] w = QuantFixtures.floats("quant-" + t + ".dequant.f32");
        double[] exact = QuantFixtures.doubles("quant-" + t + ".dotexact.f64");
        float[] ggml = QuantFixtures.floats("quant-" + t + ".dot.f32");
        float[] scalar = new float[ROWS], simd = new float[ROWS];
        load(t, Kernels.SCALAR).matvec(x, scalar, 0, ROWS);
        load(t, Kernels.SIMD).matvec(x, simd, 0, ROWS);
        double styleGap = t.blockSize() == 256 ? 5e-3 : 2e-3; // README section 7, quantized-x vs float-x
        for (int r = 0; r < ROWS; r++) {
            double s = 0;
            for (int j = 0; j < COLS; j++) s += Math.abs((double) w[r * COLS + j] * x[j]);
            String what = t + " row " + r + " (S = " + s + ")";
            assertThat(Math.abs(scalar[r] - exact[r])).as("scalar " + what).isLessThanOrEqualTo(bound(COLS, s));
            assertThat(Math.abs(simd[r] - exact[r])).as("SIMD " + what).isLessThanOrEqualTo(bound(COLS, s));
            assertThat(Math.abs((double) simd[r] - scalar[r])).as("SIMD vs scalar " + what)
                    .isLessThanOrEqualTo(2 * bound(COLS, s));
            // llama.cpp's own result (x quantized to 8 bits) is further away, within the README's gap.
            assertThat(Math.abs((double) simd[r] - ggml[r])).as("SIMD vs ggml " + what).isLessThanOrEqualTo(styleGap * s);
        }
        assertThat(simd[3]).isZero(); // the all-zero row
    }

    /** README section 6: the same blocks inside quant-types.gguf, at the documented offsets (no GGUF parsing). */
    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void tensorsOfTheGgufFileDequantizeBitExactly(DType t) throws IOException {
        long dataStart = 928;
        long offset = switch (t) {
            case Q4_0 -> 32768; case Q4_1 -> 35072; case Q5_0 -> 37632; case Q5_1 -> 40448;
            case Q8_0 -> 43520; case Q2_K -> 47872; case Q3_K -> 49216; case Q4_K -> 50976;
            case Q5_K -> 53280; case Q6_K -> 56096;
            default -> throw new IllegalArgumentException();
        };
        try (Arena arena = Arena.ofConfined();
                FileChannel ch = FileChannel.open(QuantFixtures.dir().resolve("quant-types.gguf"),
                        StandardOpenOption.READ)) {
            MemorySegment file = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            MemorySegment slice = file.asSlice(dataStart + offset, t.bytesFor((long) ROWS * COLS));
            float[] expected = QuantFixtures.floats("quant-" + t + ".dequant.f32");
            Matrix m = QuantMatrix.of(t, slice, ROWS, COLS, Kernels.SIMD);
            float[] got = new float[ROWS * COLS];
            for (int r = 0; r < ROWS; r++) m.row(r, got, r * COLS);
            int[] gb = new int[got.length], eb = new int[got.length];
            for (int i = 0; i < got.length; i++) {
                gb[i] = Float.floatToRawIntBits(got[i]);
                eb[i] = Float.floatToRawIntBits(expected[i]);
            }
            assertThat(Arrays.equals(gb, eb)).as(t + " from the GGUF").isTrue();
            float[] x = QuantFixtures.floats("quant-x.f32"), out = new float[ROWS];
            m.matvec(x, out, 0, ROWS); // mapped (native, read-only) segment through the SIMD path
            float[] ref = new float[ROWS];
            load(t, Kernels.SIMD).matvec(x, ref, 0, ROWS);
            // Same kernel, other memory: equal up to the order of the final lane sum, which the JIT may
            // change (reduceLanes sums in one order when compiled, another when interpreted).
            for (int r = 0; r < ROWS; r++) {
                double s = 0;
                for (int j = 0; j < COLS; j++) s += Math.abs(got[r * COLS + j] * x[j]);
                assertThat(out[r]).as(t + " row " + r).isCloseTo(ref[r], org.assertj.core.data.Offset.offset((float) (2 * COLS * 0x1p-24 * s)));
            }
        }
    }
}
