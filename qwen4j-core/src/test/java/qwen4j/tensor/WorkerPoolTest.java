package qwen4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class WorkerPoolTest {
    static void assertBitsEqual(float[] got, float[] want) {
        assertThat(got.length).isEqualTo(want.length);
        for (int i = 0; i < got.length; i++) {
            if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(want[i])) {
                throw new AssertionError("element " + i + ": " + got[i] + " != " + want[i]);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void matvecIsBitIdenticalToSingleThread(int threads) {
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(threads)) {
            for (DType type : TestData.TYPES) {
                for (int rows : new int[] {1, 17, 64, 130, 1001}) {
                    int cols = 67;
                    Matrix m = Matrices.of(TestData.randomTensor(arena, type, rows, cols, rows), Kernels.SIMD);
                    float[] x = TestData.randomVector(cols, 5);
                    float[] want = new float[rows], got = new float[rows];
                    m.matvec(x, want, 0, rows);
                    pool.matvec(m, x, got);
                    assertBitsEqual(got, want);
                }
            }
        }
    }

    /** A matrix whose matvecs the pool hands out by quarters, counting how often each row is computed. */
    private static final class Spreading implements Matrix {
        final Matrix m;
        final java.util.concurrent.atomic.AtomicIntegerArray hits;
        Spreading(Matrix m) { this.m = m; this.hits = new java.util.concurrent.atomic.AtomicIntegerArray(m.rows()); }
        @Override public DType type() { return m.type(); }
        @Override public int rows() { return m.rows(); }
        @Override public int cols() { return m.cols(); }
        @Override public long byteSize() { return m.byteSize(); }
        @Override public boolean spreadsRows() { return true; }
        @Override public void row(int r, float[] dst, int off) { m.row(r, dst, off); }
        @Override public void matvec(float[] x, float[] out, int from, int to) {
            for (int r = from; r < to; r++) hits.incrementAndGet(r);
            m.matvec(x, out, from, to);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3})
    void spreadMatvecsComputeEveryRowOnce(int threads) {
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(threads)) {
            int cols = 40;
            float[] x = TestData.randomVector(cols, 6);
            for (int[] shape : new int[][] {{4}, {64}, {100}, {516}, {3584}, {101}, {3584, 512, 512}, {8, 1000, 13}}) {
                Spreading[] ms = new Spreading[shape.length];
                float[][] want = new float[shape.length][], got = new float[shape.length][];
                for (int i = 0; i < shape.length; i++) {
                    Matrix plain = Matrices.of(TestData.randomTensor(arena, DType.F32, shape[i], cols, 20 + i), Kernels.SCALAR);
                    ms[i] = new Spreading(plain);
                    want[i] = new float[shape[i]];
                    got[i] = new float[shape[i]];
                    plain.matvec(x, want[i], 0, shape[i]);
                }
                if (shape.length == 1) pool.matvec(ms[0], x, got[0]);
                else pool.matvec3(ms[0], got[0], ms[1], got[1], ms[2], got[2], x);
                for (int i = 0; i < shape.length; i++) {
                    for (int r = 0; r < shape[i]; r++) {
                        assertThat(ms[i].hits.get(r)).as("matrix " + i + " of " + java.util.Arrays.toString(shape) + ", row " + r).isEqualTo(1);
                    }
                    assertBitsEqual(got[i], want[i]);
                }
            }
        }
    }

    @Test
    void fusedMatvecsMatchSeparateOnes() {
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(2)) {
            int cols = 96;
            Matrix a = Matrices.of(TestData.randomTensor(arena, DType.BF16, 200, cols, 1), Kernels.SIMD);
            Matrix b = Matrices.of(TestData.randomTensor(arena, DType.F16, 35, cols, 2), Kernels.SIMD);
            Matrix c = Matrices.of(TestData.randomTensor(arena, DType.F32, 77, cols, 3), Kernels.SIMD);
            float[] x = TestData.randomVector(cols, 4);
            float[] wa = new float[200], wb = new float[35], wc = new float[77];
            a.matvec(x, wa, 0, 200);
            b.matvec(x, wb, 0, 35);
            c.matvec(x, wc, 0, 77);
            float[] ga = new float[200], gb = new float[35], gc = new float[77];
            pool.matvec3(a, ga, b, gb, c, gc, x);
            assertBitsEqual(ga, wa);
            assertBitsEqual(gb, wb);
            assertBitsEqual(gc, wc);
            float[] ha = new float[200], hb = new float[35];
            pool.matvec2(a, ha, b, hb, x);
            assertBitsEqual(ha, wa);
            assertBitsEqual(hb, wb);
        }
    }

    @Test
    void stressThousandsOfDispatchesWithVaryingSizes() {
        Random rnd = new Random(42);
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(3)) {
            int cols = 40;
            Matrix big = Matrices.of(TestData.randomTensor(arena, DType.BF16, 700, cols, 9), Kernels.SIMD);
            float[] x = TestData.randomVector(cols, 10);
            float[] want = new float[700];
            big.matvec(x, want, 0, 700);
            int[] hits = new int[5000];
            AtomicInteger calls = new AtomicInteger();
            WorkerPool.RangeTask fill = (from, to) -> {
                calls.incrementAndGet();
                for (int i = from; i < to; i++) hits[i]++;
            };
            for (int iter = 0; iter < 5000; iter++) {
                if (iter % 2 == 0) {
                    int n = 1 + rnd.nextInt(hits.length);
                    java.util.Arrays.fill(hits, 0);
                    pool.parallelFor(n, fill);
                    for (int i = 0; i < hits.length; i++) {
                        if (hits[i] != (i < n ? 1 : 0)) throw new AssertionError("iter " + iter + " n " + n + " index " + i + " hits " + hits[i]);
                    }
                } else {
                    float[] got = new float[700];
                    pool.matvec(big, x, got);
                    assertBitsEqual(got, want);
                }
                if (iter % 500 == 0) {
                    // Let the workers fall asleep (park) now and then, so both wake-up paths run.
                    try { Thread.sleep(5); } catch (InterruptedException e) { throw new AssertionError(e); }
                }
            }
            assertThat(calls.get()).isGreaterThan(2500);
        }
    }

    @Test
    void taskExceptionsReachTheCallerAndThePoolStaysUsable() {
        try (WorkerPool pool = new WorkerPool(2)) {
            assertThatThrownBy(() -> pool.parallelFor(1000, (from, to) -> {
                if (from > 0) throw new IllegalArgumentException("boom");
            })).isInstanceOf(IllegalArgumentException.class).hasMessage("boom");
            int[] sum = new int[1000];
            pool.parallelFor(1000, (from, to) -> { for (int i = from; i < to; i++) sum[i] = 1; });
            assertThat(java.util.Arrays.stream(sum).sum()).isEqualTo(1000);
        }
    }

    @Test
    void nestedDispatchIsRefused() {
        try (WorkerPool pool = new WorkerPool(2)) {
            assertThatThrownBy(() -> pool.parallelFor(100, (from, to) -> pool.parallelFor(100, (a, b) -> {})))
                    .isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void closeStopsWorkers() throws Exception {
        WorkerPool pool = new WorkerPool(3);
        assertThat(pool.threads()).isEqualTo(3);
        pool.parallelFor(100, (from, to) -> {});
        pool.close();
        Thread.sleep(50);
        assertThat(Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("qwen4j-worker-") && t.isAlive()).count())
                .as("live workers after close (other pools may be open in parallel tests)").isZero();
        assertThatThrownBy(() -> pool.parallelFor(100, (from, to) -> {})).isInstanceOf(IllegalStateException.class);
        assertThat(new WorkerPool().threads()).isEqualTo(Runtime.getRuntime().availableProcessors());
    }
}
