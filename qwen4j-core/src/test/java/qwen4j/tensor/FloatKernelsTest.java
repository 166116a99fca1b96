package qwen4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import org.assertj.core.data.Offset;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** SIMD FloatKernels against the scalar ones on odd sizes and offsets. */
class FloatKernelsTest {
    static final FloatKernels SCALAR = FloatOps.scalar(), SIMD = FloatOps.simd();
    static final double U = 0x1p-24; // unit roundoff of float32

    static void assertBitsEqual(float[] got, float[] want) {
        WorkerPoolTest.assertBitsEqual(got, want);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 7, 15, 16, 17, 33, 100, 257, 1000})
    void dotWithinSummationBound(int n) {
        float[] a = TestData.randomVector(n + 5, n), b = TestData.randomVector(n + 3, n + 1);
        double s = 0;
        for (int i = 0; i < n; i++) s += Math.abs((double) a[i + 5] * b[i + 3]);
        // Two orders of the same n products: each within n*u*S of the exact sum.
        assertThat((double) SIMD.dot(a, 5, b, 3, n)).isCloseTo(SCALAR.dot(a, 5, b, 3, n), Offset.offset(2 * n * U * s + 1e-30));
        assertThat(FloatOps.of(Kernels.SIMD)).isSameAs(SIMD);
        assertThat(FloatOps.of(Kernels.SCALAR)).isSameAs(SCALAR);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 7, 15, 16, 17, 33, 100, 257, 1000})
    void elementwiseOpsAreBitExact(int n) {
        float[] x = TestData.randomVector(n + 2, n + 10);
        float[] y1 = TestData.randomVector(n + 4, n + 11), y2 = y1.clone();
        SCALAR.axpy(0.37f, x, 2, y1, 4, n);
        SIMD.axpy(0.37f, x, 2, y2, 4, n);
        assertBitsEqual(y2, y1);
        SCALAR.scale(-1.7f, y1, 1, n);
        SIMD.scale(-1.7f, y2, 1, n);
        assertBitsEqual(y2, y1);
        SCALAR.add(x, 1, y1, 3, n);
        SIMD.add(x, 1, y2, 3, n);
        assertBitsEqual(y2, y1);
    }

    /** weightedSum equals zeroing out, then an axpy per position, bit for bit, in both kernels. */
    @ParameterizedTest
    @ValueSource(ints = {1, 15, 16, 17, 63, 64, 65, 100, 128})
    void weightedSumIsAxpyPerPositionBitExact(int dim) {
        for (int n : new int[] {1, 7, 300}) {
            int stride = dim + 9, vOff = 5, wOff = 3, outOff = 2;
            float[] v = TestData.randomVector(vOff + n * stride, dim + n), w = TestData.randomVector(wOff + n, dim - n);
            float[] want = TestData.randomVector(outOff + dim + 4, 1), a = want.clone(), b = want.clone();
            java.util.Arrays.fill(want, outOff, outOff + dim, 0f);
            for (int t = 0; t < n; t++) SCALAR.axpy(w[wOff + t], v, vOff + t * stride, want, outOff, dim);
            SCALAR.weightedSum(w, wOff, v, vOff, stride, n, a, outOff, dim);
            SIMD.weightedSum(w, wOff, v, vOff, stride, n, b, outOff, dim);
            assertBitsEqual(a, want);
            assertBitsEqual(b, want);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 15, 16, 17, 33, 100, 257, 896, 1000})
    void rmsnormMatches(int n) {
        float[] x = TestData.randomVector(n, n), w = TestData.randomVector(n, n + 1);
        float[] a = new float[n], b = new float[n];
        SCALAR.rmsnorm(a, x, w, 1e-6f, n);
        SIMD.rmsnorm(b, x, w, 1e-6f, n);
        // Only sum(x^2) differs (order; relative error <= n*u each); through 1/sqrt that is half
        // of it, then two more roundings per element.
        for (int i = 0; i < n; i++) {
            assertThat(b[i]).isCloseTo(a[i], Offset.offset((float) ((n + 4) * U * Math.abs(a[i])) + 1e-30f));
        }
        float[] inPlace = x.clone();
        SIMD.rmsnorm(inPlace, inPlace, w, 1e-6f, n);
        assertBitsEqual(inPlace, b);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 15, 16, 17, 33, 100, 257, 1000, 4099})
    void softmaxMatches(int n) {
        float[] x = TestData.randomVector(n + 3, n);
        for (int i = 0; i < x.length; i++) x[i] *= 8; // a wide range of exponents
        float[] a = x.clone(), b = x.clone();
        SCALAR.softmax(a, 3, n);
        SIMD.softmax(b, 3, n);
        double total = 0;
        for (int i = 0; i < n; i++) {
            // exp within a few ulp (SVML vs Math.exp, both then rounded to float), the sum within
            // n*u relative, then one division.
            assertThat(b[i + 3]).isCloseTo(a[i + 3], Offset.offset((float) ((n + 8) * U * a[i + 3]) + 1e-30f));
            total += b[i + 3];
        }
        assertThat(total).isCloseTo(1.0, Offset.offset(1e-5));
        for (int i = 0; i < 3; i++) assertThat(b[i]).isEqualTo(x[i]);
        float[] big = {1000f, 1000f, -1000f, Float.NEGATIVE_INFINITY};
        SIMD.softmax(big, 0, 4);
        assertThat(big).containsExactly(0.5f, 0.5f, 0f, 0f);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 16, 17, 100, 4864})
    void swigluMatches(int n) {
        float[] g = TestData.randomVector(n, n), up = TestData.randomVector(n, n + 1);
        for (int i = 0; i < n; i++) g[i] *= 6;
        float[] a = g.clone(), b = g.clone();
        SCALAR.swiglu(a, up, n);
        SIMD.swiglu(b, up, n);
        for (int i = 0; i < n; i++) assertThat(b[i]).isCloseTo(a[i], Offset.offset((float) (8 * U * Math.abs(a[i])) + 1e-30f));
    }
}
