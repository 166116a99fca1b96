package qwen4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/**
 * The lane sums every kernel uses, at this JVM's width (the pom runs this at 16, 8 and 4 lanes): one
 * order, the pairwise tree (lane i with lane i ^ k for k = L/2 ... 1), whichever way they are taken.
 */
class SimdSumTest {
    private static final int L = Simd.L;

    /** The tree, independently: recursive halves of the lane indexes as the butterflies pair them. */
    private static float tree(float[] a, int o, int lanes) {
        float[] v = java.util.Arrays.copyOfRange(a, o, o + lanes);
        for (int k = lanes / 2; k >= 1; k /= 2) {
            float[] next = v.clone();
            for (int i = 0; i < lanes; i++) next[i] = v[i] + v[i ^ k];
            v = next;
        }
        return v[0];
    }

    /** Values of very different sizes, so that the order of the additions shows in the result. */
    private static float[] data(long seed, int n) {
        Random r = new Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(9) - 4));
        return a;
    }

    @Test
    void sumAddsInTheTreeOrder() {
        int orderShows = 0;
        for (int seed = 0; seed < 200; seed++) {
            float[] a = data(seed, L);
            float s = Simd.sum(FloatVector.fromArray(Simd.F, a, 0));
            assertThat(Float.floatToRawIntBits(s)).as("seed %d", seed).isEqualTo(Float.floatToRawIntBits(tree(a, 0, L)));
            float sequential = 0;
            for (float x : a) sequential += x;
            if (sequential != s) orderShows++;
        }
        if (L >= 4) assertThat(orderShows).as("cases where a sequential sum differs (the data tests the order)").isPositive();
    }

    @Test
    void sumsOfLVectorsAtOnceEqualTheirSums() {
        for (int seed = 0; seed < 200; seed++) {
            int off = seed % 5; // any offset into the array
            float[] a = data(1000 + seed, off + L * L);
            float[] got = new float[L];
            LaneSums.sums(a.clone(), off, got, 0); // it uses its input as scratch
            for (int p = 0; p < L; p++) {
                float expected = Simd.sum(FloatVector.fromArray(Simd.F, a, off + p * L));
                assertThat(Float.floatToRawIntBits(got[p])).as("seed %d, vector %d of %d", seed, p, L)
                        .isEqualTo(Float.floatToRawIntBits(expected))
                        .isEqualTo(Float.floatToRawIntBits(tree(a, off + p * L, L)));
            }
        }
    }
}
