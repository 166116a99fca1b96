package qwen4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;
import qwen4j.testing.AllocationSites;

/** After warm-up, dispatching matvecs allocates nothing on the calling thread. */
class NoAllocationTest {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private static long allocated() { return THREADS.getCurrentThreadAllocatedBytes(); }

    @Test
    void thousandMatvecsAllocateNothing() {
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(2)) {
            int cols = 512;
            Matrix[] ms = {
                Matrices.of(TestData.randomTensor(arena, DType.BF16, 256, cols, 1), Kernels.SIMD),
                Matrices.of(TestData.randomTensor(arena, DType.F16, 128, cols, 2), Kernels.SIMD),
                Matrices.of(TestData.randomTensor(arena, DType.F32, 64, cols, 3), Kernels.SIMD),
                // quantized, with rows left over after the four-row passes (the one- and two-row kernels)
                Matrices.of(TestData.randomWeights(arena, DType.Q4_0, 67, cols), Kernels.SIMD),
                Matrices.of(TestData.randomWeights(arena, DType.Q8_0, 66, cols), Kernels.SIMD),
            };
            float[] x = TestData.randomVector(cols, 4);
            float[] o0 = new float[256], o1 = new float[128], o2 = new float[64], o3 = new float[67], o4 = new float[66];
            assertSteadyStateAllocatesNothing("6000 dispatches", () -> {
                for (int i = 0; i < 2000; i++) {
                    pool.matvec(ms[i % 5], x, i % 5 == 0 ? o0 : i % 5 == 1 ? o1 : i % 5 == 2 ? o2 : i % 5 == 3 ? o3 : o4);
                    pool.matvec3(ms[0], o0, ms[1], o1, ms[2], o2, x);
                }
            }, () -> {
                for (int i = 0; i < 1000; i++) {
                    pool.matvec(ms[0], x, o0);
                    pool.matvec(ms[1], x, o1);
                    pool.matvec(ms[2], x, o2);
                    pool.matvec(ms[3], x, o3);
                    pool.matvec(ms[4], x, o4);
                    pool.matvec3(ms[0], o0, ms[1], o1, ms[2], o2, x);
                }
            });
        }
    }

    /**
     * Batched products too, on every kernel: x packed for 40 tokens (token vectors; the last block in
     * column pairs at 16 lanes), BF16, F16, Q4_0 and Q8_0 with 2, 4, 8 and 12 tokens (their fused kernels at 16
     * lanes; matvecs over row chunks elsewhere).
     */
    @Test
    void matmulDispatchesAllocateNothing() {
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(2)) {
            int cols = 256;
            Matrix a = Matrices.of(TestData.randomTensor(arena, DType.BF16, 96, cols, 1), Kernels.SIMD);
            Matrix b = Matrices.of(TestData.randomTensor(arena, DType.F16, 64, cols, 2), Kernels.SIMD);
            Matrix q = Matrices.of(TestData.randomWeights(arena, DType.Q4_0, 64, cols), Kernels.SIMD);
            Matrix q8 = Matrices.of(TestData.randomWeights(arena, DType.Q8_0, 64, cols), Kernels.SIMD);
            float[] x = TestData.randomVector(40 * cols, 4);
            float[] oa = new float[40 * 96], ob = new float[40 * 64];
            Runnable dispatches = () -> { // 15 dispatches
                pool.matmul2(a, oa, b, ob, x, 40);
                pool.matmul(b, x, 2, ob);
                pool.matmul(b, x, 4, ob);
                pool.matmul(b, x, 8, ob);
                pool.matmul(a, x, 2, oa);
                pool.matmul(a, x, 4, oa);
                pool.matmul(a, x, 8, oa);
                pool.matmul(q, x, 2, ob);
                pool.matmul(q, x, 4, ob);
                pool.matmul(q, x, 8, ob);
                pool.matmul(q8, x, 2, ob);
                pool.matmul(q8, x, 4, ob);
                pool.matmul(q8, x, 8, ob);
                pool.matmul(q, x, 12, ob); // 9-12 tokens: the fused kernels with scaled weights
                pool.matmul(q8, x, 12, ob);
            };
            assertSteadyStateAllocatesNothing("1500 matmul dispatches", () -> {
                for (int i = 0; i < 300; i++) dispatches.run();
            }, () -> {
                for (int i = 0; i < 100; i++) dispatches.run();
            });
        }
    }

    /**
     * Warm-up then a measured window, up to 20 times until a window allocates nothing (the kernels must be
     * compiled by C2 first: interpreted Vector API code boxes vectors); asserts that one did, and a failure
     * names where the last window allocated.
     */
    private static void assertSteadyStateAllocatesNothing(String what, Runnable warmUp, Runnable window) {
        long overhead = -(allocated() - allocated()); // the probe itself: expected 0
        long best = Long.MAX_VALUE;
        String sites = "";
        for (int attempt = 0; attempt < 20 && best != 0; attempt++) {
            warmUp.run();
            try (AllocationSites profile = new AllocationSites()) {
                long before = allocated();
                window.run();
                long bytes = allocated() - before - overhead;
                best = Math.min(best, bytes);
                if (bytes != 0) sites = profile.top(5);
            }
        }
        assertThat(best).as("bytes allocated by %s after warm-up, last at%s", what, sites).isZero();
    }
}
