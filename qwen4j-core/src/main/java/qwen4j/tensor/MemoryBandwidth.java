package qwen4j.tensor;

import static qwen4j.tensor.Simd.F;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

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
            return measure(pool, seg);
        }
    }

    /**
     * The same read over whole MiB blocks of an existing segment, e.g. a model file's read-only
     * mapping: that is what decode streams, and a page-cache mapping (4 KiB pages) can read slower
     * than the anonymous buffer above, so it is the honest roofline for a model from disk.
     */
    public static double measure(WorkerPool pool, MemorySegment seg) {
        int blocks = (int) Math.min(seg.byteSize() / BLOCK, Integer.MAX_VALUE);
        if (blocks == 0) throw new IllegalArgumentException("need at least 1 MiB to measure, got " + seg.byteSize() + " bytes");
        Reader reader = new Reader(seg, blocks);
        long best = Long.MAX_VALUE;
        for (int run = 0; run < RUNS; run++) {
            long t0 = System.nanoTime();
            pool.parallelFor(blocks, reader);
            best = Math.min(best, System.nanoTime() - t0);
        }
        if (reader.checksum() != reader.checksum()) throw new AssertionError(); // keep the sums alive
        return (double) blocks * BLOCK / best;
    }

    private static final class Reader implements WorkerPool.RangeTask {
        private final MemorySegment seg;
        private final int[] sums;

        Reader(MemorySegment seg, int blocks) {
            this.seg = seg;
            this.sums = new int[blocks];
        }

        @Override
        public void run(int from, int to) {
            // STREAMS sequential streams at once per thread (as a multi-row matvec reads
            // several rows at once): one stream leaves bandwidth unused on this kind of machine.
            // Integer adds: any bytes (a model file's) are fine, where float adds of subnormals stall.
            int step = F.vectorByteSize();
            long part = BLOCK / STREAMS;
            for (int b = from; b < to; b++) {
                IntVector s0 = IntVector.zero(Simd.I), s1 = s0, s2 = s0, s3 = s0;
                long o0 = b * BLOCK, o1 = o0 + part, o2 = o1 + part, o3 = o2 + part;
                for (long o = 0; o < part; o += step) {
                    s0 = s0.add(IntVector.fromMemorySegment(Simd.I, seg, o0 + o, Simd.LE));
                    s1 = s1.add(IntVector.fromMemorySegment(Simd.I, seg, o1 + o, Simd.LE));
                    s2 = s2.add(IntVector.fromMemorySegment(Simd.I, seg, o2 + o, Simd.LE));
                    s3 = s3.add(IntVector.fromMemorySegment(Simd.I, seg, o3 + o, Simd.LE));
                }
                sums[b] = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
            }
        }

        long checksum() {
            long s = 0;
            for (int v : sums) s += v;
            return s;
        }
    }
}
