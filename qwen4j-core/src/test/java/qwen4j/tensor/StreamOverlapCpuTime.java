package qwen4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Whether one core overlaps reading weights from memory with arithmetic on them (not a test), 16 lanes.
 * Four weight streams a quarter of the buffer apart, as the matvecs read them, each kernel timed on
 * 256 KB (in cache) and on the whole buffer (from memory), best thread-CPU time, ns per weight:
 * <ul>
 * <li>read only: the memory side alone;</li>
 * <li>BF16 x 4 tokens, x in registers: the fused kernel's arithmetic with no activation loads;</li>
 * <li>BF16 x 4 tokens, x from an array of 4 x cols floats, as {@code SimdHalfFused.fourRowsFourTokens}
 * runs it: at 3584 columns (57 KB of x, more than L1) and at 512 (8 KB);</li>
 * <li>the same with the four rows of a pass adjacent (streams restarting every row).</li>
 * </ul>
 * Overlap means "from memory" near max(in cache, read only); no overlap, near their sum or above.
 * Args: megabytes of weights (default 117, the 7B's 16384 x 3584 BF16 rows).
 */
public final class StreamOverlapCpuTime {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_256;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final MemorySegment ALL = SimdHalfFused.ALL;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final FloatVector C0 = FloatVector.broadcast(F, 1.001f), C1 = FloatVector.broadcast(F, 1.002f),
            C2 = FloatVector.broadcast(F, 1.003f), C3 = FloatVector.broadcast(F, 1.004f);

    private static FloatVector bf16(long addr) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S, ALL, addr, LE).convertShape(VectorOperators.S2I, I, 0);
        return (FloatVector) h.lanewise(VectorOperators.LSHL, 16).reinterpretShape(F, 0);
    }

    private static float readOnly(long base, long bytes) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        long q = bytes / 4 / 64 * 64;
        for (long o = base, end = base + q; o < end; o += 64) {
            s0 = s0.add(FloatVector.fromMemorySegment(F, ALL, o, LE));
            s1 = s1.add(FloatVector.fromMemorySegment(F, ALL, o + q, LE));
            s2 = s2.add(FloatVector.fromMemorySegment(F, ALL, o + 2 * q, LE));
            s3 = s3.add(FloatVector.fromMemorySegment(F, ALL, o + 3 * q, LE));
        }
        return s0.add(s1).add(s2).add(s3).reduceLanes(VectorOperators.ADD);
    }

    /** BF16 rows of cols columns, four per pass (a quarter apart, or adjacent), times 4 tokens held in registers. */
    private static float fourByFour(long base, int rows, int cols, boolean adjacent) {
        long rowBytes = 2L * cols;
        int q = rows / 4;
        float sum = 0;
        for (int p = 0; p < q; p++) {
            long a = base + (adjacent ? 4L * p : p) * rowBytes, st = (adjacent ? 1 : q) * rowBytes, b1 = a + st, b2 = b1 + st, b3 = b2 + st;
            FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
            for (int j = 0; j + 16 <= cols; j += 16) {
                long o = 2L * j;
                FloatVector w0 = bf16(a + o), w1 = bf16(b1 + o), w2 = bf16(b2 + o), w3 = bf16(b3 + o);
                a00 = w0.fma(C0, a00); a10 = w1.fma(C0, a10); a20 = w2.fma(C0, a20); a30 = w3.fma(C0, a30);
                a01 = w0.fma(C1, a01); a11 = w1.fma(C1, a11); a21 = w2.fma(C1, a21); a31 = w3.fma(C1, a31);
                a02 = w0.fma(C2, a02); a12 = w1.fma(C2, a12); a22 = w2.fma(C2, a22); a32 = w3.fma(C2, a32);
                a03 = w0.fma(C3, a03); a13 = w1.fma(C3, a13); a23 = w2.fma(C3, a23); a33 = w3.fma(C3, a33);
            }
            sum += a00.add(a01).add(a02).add(a03).add(a10).add(a11).add(a12).add(a13).add(a20).add(a21).add(a22).add(a23)
                    .add(a30).add(a31).add(a32).add(a33).reduceLanes(VectorOperators.ADD);
        }
        return sum;
    }

    /**
     * As {@link #fourByFour} (rows a quarter apart) with the 4 tokens' x rows loaded from x (4 x cols floats), as
     * the engine's kernel does. A method of its own: one kernel choosing between x and registers per call mixed
     * its profiles, and C2's code for it boxed its vectors (0.40 ns per weight in a scratch harness).
     */
    private static float fourByFourX(long base, int rows, int cols, float[] x) {
        long rowBytes = 2L * cols;
        int q = rows / 4;
        float sum = 0;
        for (int p = 0; p < q; p++) {
            long a = base + p * rowBytes, st = q * rowBytes, b1 = a + st, b2 = b1 + st, b3 = b2 + st;
            FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
            for (int j = 0; j + 16 <= cols; j += 16) {
                long o = 2L * j;
                FloatVector w0 = bf16(a + o), w1 = bf16(b1 + o), w2 = bf16(b2 + o), w3 = bf16(b3 + o);
                FloatVector u = FloatVector.fromArray(F, x, j);
                a00 = w0.fma(u, a00); a10 = w1.fma(u, a10); a20 = w2.fma(u, a20); a30 = w3.fma(u, a30);
                u = FloatVector.fromArray(F, x, cols + j);
                a01 = w0.fma(u, a01); a11 = w1.fma(u, a11); a21 = w2.fma(u, a21); a31 = w3.fma(u, a31);
                u = FloatVector.fromArray(F, x, 2 * cols + j);
                a02 = w0.fma(u, a02); a12 = w1.fma(u, a12); a22 = w2.fma(u, a22); a32 = w3.fma(u, a32);
                u = FloatVector.fromArray(F, x, 3 * cols + j);
                a03 = w0.fma(u, a03); a13 = w1.fma(u, a13); a23 = w2.fma(u, a23); a33 = w3.fma(u, a33);
            }
            sum += a00.add(a01).add(a02).add(a03).add(a10).add(a11).add(a12).add(a13).add(a20).add(a21).add(a22).add(a23)
                    .add(a30).add(a31).add(a32).add(a33).reduceLanes(VectorOperators.ADD);
        }
        return sum;
    }

    private interface Kernel { float run(long bytes); }

    private static float sink;

    /** Best thread-CPU ns per weight (2 bytes) over reps calls on bytes of the buffer. */
    private static double time(Kernel k, long bytes, int reps) {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long best = Long.MAX_VALUE;
        for (int i = 0; i < reps; i++) {
            long t = mx.getCurrentThreadCpuTime();
            sink += k.run(bytes);
            best = Math.min(best, mx.getCurrentThreadCpuTime() - t);
        }
        return best / (bytes / 2.0);
    }

    private static void report(String what, Kernel k, long big) {
        long small = 256 << 10;
        for (int i = 0; i < 1500; i++) sink += k.run(small); // C2 compiles it
        double inCache = time(k, small, 1500), fromMemory = time(k, big, 5);
        System.out.printf("%-52s in cache %.4f, from memory %.4f ns/weight%n", what, inCache, fromMemory);
    }

    public static void main(String[] args) {
        long big = Long.parseLong(args.length > 0 ? args[0] : "117") << 20;
        MemorySegment seg = Arena.global().allocate(big, 1 << 21);
        seg.fill((byte) 0x3c);
        long a = seg.address();
        float[] x3584 = TestData.randomVector(4 * 3584, 1), x512 = TestData.randomVector(4 * 512, 2);
        report("read only", bytes -> readOnly(a, bytes), big);
        report("BF16 x 4 tokens, x in registers, 3584 columns", bytes -> fourByFour(a, rows(bytes, 3584), 3584, false), big);
        report("BF16 x 4 tokens, x from an array, 3584 columns", bytes -> fourByFourX(a, rows(bytes, 3584), 3584, x3584), big);
        report("BF16 x 4 tokens, x from an array, 512 columns", bytes -> fourByFourX(a, rows(bytes, 512), 512, x512), big);
        report("BF16 x 4 tokens, x in registers, rows adjacent", bytes -> fourByFour(a, rows(bytes, 3584), 3584, true), big);
        if (sink == 42) System.out.println();
    }

    /** Whole passes of four rows of cols BF16 columns in bytes. */
    private static int rows(long bytes, int cols) { return (int) (bytes / (2L * cols)) / 4 * 4; }
}
