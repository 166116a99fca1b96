package qwen4j.tensor.quant;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import qwen4j.Fixtures;
import qwen4j.tensor.DType;
import qwen4j.tensor.Int8Activations;
import qwen4j.tensor.Kernels;
import qwen4j.tensor.WorkerPool;

/** The int8-activation kernels (Q8_0, Q4_0) against exact dots, on the quant fixtures and random 7B-width rows. */
class Int8ActivationsTest {
    static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static float[] floats(Path p) throws IOException {
        return MemorySegment.ofArray(Files.readAllBytes(p)).toArray(F);
    }

    /**
     * Bound on |int8 dot - exact dot|: each x element is off by at most half its block's step d/2, so the
     * error is at most sum |w_i| * d_block(i) / 2, plus float rounding.
     */
    static double bound(float[] w, int wo, float[] x, int n) {
        double b = 0;
        for (int blk = 0; blk < n / 32; blk++) {
            float amax = 0;
            for (int e = 0; e < 32; e++) amax = Math.max(amax, Math.abs(x[blk * 32 + e]));
            double sw = 0;
            for (int e = 0; e < 32; e++) sw += Math.abs(w[wo + blk * 32 + e]);
            b += sw * amax / 127 / 2;
        }
        return b * 1.01 + 1e-6;
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0"})
    void fixtureRowsWithinTheQuantizationBound(DType type) throws IOException {
        Assumptions.assumeTrue(QuantSimd.L == 16, "int8 kernels need 512-bit vectors");
        Path dir = Fixtures.shared().resolve("fixtures/quant");
        byte[] bin = Files.readAllBytes(dir.resolve("quant-" + type + ".bin"));
        float[] deq = floats(dir.resolve("quant-" + type + ".dequant.f32"));
        float[] x = floats(dir.resolve("quant-x.f32"));
        double[] exact = MemorySegment.ofArray(Files.readAllBytes(dir.resolve("quant-" + type + ".dotexact.f64"))).toArray(D);
        MemorySegment seg = Arena.ofAuto().allocate(bin.length);
        seg.copyFrom(MemorySegment.ofArray(bin));
        QuantMatrix m = QuantMatrix.of(type, seg, 8, 512, Kernels.SIMD, true);
        assertThat(m.usesInt8Activations()).isTrue();
        float[] out = new float[8], direct = new float[8];
        m.matvec(Int8Activations.of(x, 512), out, 0, 8);
        m.matvec(x, direct, 0, 8); // a direct call quantizes x itself: same result
        for (int r = 0; r < 8; r++) {
            assertThat(Math.abs(out[r] - exact[r])).as("row %d: %f vs %f", r, out[r], exact[r])
                    .isLessThanOrEqualTo(bound(deq, r * 512, x, 512) + 1e-4 * Math.abs(exact[r]));
            assertThat(direct[r]).isEqualTo(out[r]);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0"})
    void poolDispatchEqualsDirectKernelOnWideRows(DType type) {
        Assumptions.assumeTrue(QuantSimd.L == 16, "int8 kernels need 512-bit vectors");
        int rows = 77, cols = 3584;
        MemorySegment seg = Arena.ofAuto().allocate(type.bytesFor((long) rows * cols));
        RandomBlocks.fill(seg, type, 5);
        float[] x = RandomBlocks.vector(cols, 6);
        QuantMatrix i8 = QuantMatrix.of(type, seg, rows, cols, Kernels.SIMD, true);
        QuantMatrix sc = QuantMatrix.of(type, seg, rows, cols, Kernels.SCALAR);
        float[] ref = new float[rows], direct = new float[rows], pooled = new float[rows], w = new float[cols];
        sc.matvec(x, ref, 0, rows);
        i8.matvec(Int8Activations.of(x, cols), direct, 0, rows);
        try (WorkerPool pool = new WorkerPool(3)) {
            pool.matvec3(i8, pooled, sc, new float[rows], null, null, x);
        }
        for (int r = 0; r < rows; r++) {
            sc.row(r, w, 0);
            assertThat((double) Math.abs(direct[r] - ref[r])).isLessThanOrEqualTo(bound(w, 0, x, cols) + 1e-4 * Math.abs(ref[r]));
            assertThat(pooled[r]).as("row %d", r).isEqualTo(direct[r]);
        }
    }
}
