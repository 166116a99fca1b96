package qwen4j.jmh;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteOrder;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorSpecies;

/** Single-thread read bandwidth with 1, 2, 4, 8 concurrent sequential streams (best CPU time of 15). */
public final class StreamProbe {
    static final VectorSpecies<Integer> I = IntVector.SPECIES_512;

    static int read(MemorySegment s, long n, int streams) {
        long part = n / streams;
        IntVector acc = IntVector.zero(I);
        for (long o = 0; o < part; o += 64) {
            for (int k = 0; k < streams; k++) {
                acc = acc.add(IntVector.fromMemorySegment(I, s, k * part + o, ByteOrder.LITTLE_ENDIAN));
            }
        }
        return acc.reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }

    public static void main(String[] a) {
        long n = 256L << 20;
        MemorySegment s = Arena.global().allocate(n, 4096);
        s.fill((byte) 1);
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        int sink = 0;
        for (int streams : new int[] {1, 2, 4, 8, 1, 2, 4, 8}) {
            long best = Long.MAX_VALUE;
            for (int i = 0; i < 15; i++) {
                long t0 = mx.getCurrentThreadCpuTime();
                sink += read(s, n, streams);
                best = Math.min(best, mx.getCurrentThreadCpuTime() - t0);
            }
            System.out.printf("%d streams: %.1f GB/s%n", streams, n / (double) best);
        }
        System.out.println(sink == 42 ? "" : ".");
    }
}
