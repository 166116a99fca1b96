package qwen4j.jmh;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.SplittableRandom;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;
import qwen4j.tensor.Matrix;
import qwen4j.tensor.quant.QuantMatrix;

/**
 * One-thread speed of a matvec (quantized types, or BF16 with random finite values) on a shared, noisy machine: the best thread-CPU time of 60
 * calls after 3 s of warm-up (CPU time leaves out time spent preempted; the best run leaves out
 * disturbed ones), plus the bytes one call allocates (must be 0). A matrix of a few MB stays in
 * cache and shows the kernel's arithmetic speed; one of 64 MB or more shows what it reaches from
 * memory. Usage: {@code KernelCpuTime TYPE [megabytes|ROWSr [cols]]}, e.g. {@code Q4_0 4}, {@code Q4_0 64} and
 * {@code Q6_K 76032r 3584} (one thread's half of the 7B output matrix).
 */
public final class KernelCpuTime {
    public static void main(String[] args) {
        DType t = DType.valueOf(args[0]);
        String size = args.length > 1 ? args[1] : "64";
        int cols = args.length > 2 ? Integer.parseInt(args[2]) : 18944;
        long rowBytes = t.bytesFor(cols);
        // "64" = 64 MB of rows; "76032r" = exactly 76032 rows (a thread's share of a model matrix)
        int rows = size.endsWith("r") ? Integer.parseInt(size.substring(0, size.length() - 1))
                : (int) (Integer.parseInt(size) * 1_000_000L / rowBytes) & ~1;
        int mb = (int) (rows * rowBytes / 1_000_000L);
        MemorySegment seg = Arena.global().allocate(rowBytes * rows, 4096);
        SplittableRandom rnd = new SplittableRandom(1);
        // random bits, with bit 14 of every 16-bit word cleared so that fp16 scales stay finite
        for (long i = 0; i + 8 <= seg.byteSize(); i += 8) {
            seg.set(ValueLayout.JAVA_LONG_UNALIGNED, i, rnd.nextLong() & 0xBFFFBFFFBFFFBFFFL);
        }
        if (t == DType.BF16) { // random finite bf16 values: a float's top half, exponent kept small
            for (long i = 0; i < seg.byteSize(); i += 2) {
                seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) (Float.floatToIntBits((float) rnd.nextGaussian()) >>> 16));
            }
        }
        if (t == DType.F16) { // random finite halves
            for (long i = 0; i < seg.byteSize(); i += 2) seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, i, Float.floatToFloat16((float) rnd.nextGaussian()));
        }
        Matrix m = t == DType.BF16 || t == DType.F16
                ? qwen4j.tensor.Matrices.of(new qwen4j.tensor.Tensor("w", t, new long[] {rows, cols}, seg, "bench"), Kernels.SIMD)
                : QuantMatrix.of(t, seg, rows, cols, Kernels.SIMD);
        float[] x = new float[cols], out = new float[rows];
        for (int i = 0; i < cols; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long best = bestCpuNanos(() -> m.matvec(x, out, 0, rows));
        long a0 = mx.getCurrentThreadAllocatedBytes();
        m.matvec(x, out, 0, rows);
        long allocated = mx.getCurrentThreadAllocatedBytes() - a0;
        System.out.printf("%s, %d MB, one thread: %.2f ms per matvec, %.1f GB/s, %d bytes allocated per call%n",
                t, mb, best / 1e6, rowBytes * rows / (double) best, allocated);
    }

    /** The best thread-CPU time of 60 calls after 3 s of calls as warm-up, in ns. */
    public static long bestCpuNanos(Runnable call) {
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long warmEnd = System.nanoTime() + 3_000_000_000L;
        while (System.nanoTime() < warmEnd) call.run();
        long best = Long.MAX_VALUE;
        for (int it = 0; it < 60; it++) {
            long t0 = mx.getCurrentThreadCpuTime();
            call.run();
            best = Math.min(best, mx.getCurrentThreadCpuTime() - t0);
        }
        return best;
    }
}
