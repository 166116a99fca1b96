package qwen4j.tensor;

import static qwen4j.tensor.Simd.F;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;

/**
 * The roofline for weight streaming: how fast this machine reads memory from Java, measured as
 * a multi-threaded sum of a large off-heap buffer with Vector API loads.
 */
public final class MemoryBandwidth {
    private MemoryBandwidth() {}

    private static final long BLOCK = 1 << 20;
    private static final int RUNS = 5;
    private static final int STREAMS = 4;

    /**
     * Reads a fresh {@code bytes}-byte off-heap buffer (rounded down to whole MiB, at least 1 MiB)
     * {@value #RUNS} times with all of the pool's threads and returns the best rate, in GB/s
     * (10^9 bytes per second). Use a buffer much larger than the last-level cache (1 GB is good).
     */
    public static double measure(WorkerPool pool, long bytes) {
        int blocks = (int) Math.max(1, Math.min(bytes / BLOCK, Integer.MAX_VALUE));
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate(blocks * BLOCK, 64);
            // Distinct contents on every page: a constant fill lets the hypervisor or kernel merge
            // identical pages (KSM), and then the "stream" hits cache.
            // Values are normal floats in [0.5, 1).
            for (long i = 0, n = seg.byteSize() / 4; i < n; i++) {
                int bits = 0x3F00_0000 | (int) ((i * 0x9E37_79B9_7F4A_7C15L) >>> 41);
                seg.set(ValueLayout.JAVA_INT_UNALIGNED, 4 * i, bits);
            }
            Reader reader = new Reader(seg, blocks);
            long best = Long.MAX_VALUE;
            for (int run = 0; run < RUNS; run++) {
                long t0 = System.nanoTime();
                pool.parallelFor(blocks, reader);
                best = Math.min(best, System.nanoTime() - t0);
            }
            if (reader.checksum() != reader.checksum()) throw new AssertionError(); // keep the sums alive
            return (double) seg.byteSize() / best;
        }
    }

    private static final class Reader implements WorkerPool.RangeTask {
        private final MemorySegment seg;
        private final float[] sums;

        Reader(MemorySegment seg, int blocks) {
            this.seg = seg;
            this.sums = new float[blocks];
        }

        @Override
        public void run(int from, int to) {
            // STREAMS sequential streams at once per thread (as a multi-row matvec reads
            // several rows at once): one stream leaves bandwidth unused on this kind of machine.
            int step = F.vectorByteSize();
            long part = BLOCK / STREAMS;
            for (int b = from; b < to; b++) {
                FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
                long o0 = b * BLOCK, o1 = o0 + part, o2 = o1 + part, o3 = o2 + part;
                for (long o = 0; o < part; o += step) {
                    s0 = s0.add(Simd.f32(seg, o0 + o));
                    s1 = s1.add(Simd.f32(seg, o1 + o));
                    s2 = s2.add(Simd.f32(seg, o2 + o));
                    s3 = s3.add(Simd.f32(seg, o3 + o));
                }
                sums[b] = Simd.sum(s0.add(s1).add(s2.add(s3)));
            }
        }

        double checksum() {
            double s = 0;
            for (float v : sums) s += v;
            return s;
        }
    }
}
