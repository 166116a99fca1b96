package qwen4j.tensor.quant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;

/**
 * Does other work done first in the same JVM slow a quantized matvec down? One thread's best CPU time
 * for a Q4_K matvec (4736 x 3584, 9.5 MB, in cache) after a given history, in GB/s. Histories
 * (combine them, e.g. {@code prefill,heap}): {@code plain} (nothing), {@code prefill} /
 * {@code prefill64} (the batched GEMM on the same matrix, 8 / 64 tokens), {@code q6} (Q6_K matvecs), {@code heap} (the same Q4_K kernels on a
 * heap segment, {@code MemorySegment.ofArray}). Measured 2026-11-27 while the kernel loaded through
 * the matrix's own segment: plain 9.1-11.2, heap 5.9-6.3 every time, prefill 9.7 or 6.0, prefill64
 * 11.0, prefill64,q6 5.9: a fast and a slow compiled form, chosen by what ran before (the loads
 * inline JDK code whose type profiles every caller shares). Since it loads through the constant
 * {@link QuantMatrix#ALL}: 11.9-12.7 after each of these histories.
 * Usage: {@code KernelProfileProbe HISTORY}.
 */
public final class KernelProfileProbe {
    public static void main(String[] args) {
        String history = args.length > 0 ? args[0] : "plain";
        int rows = 4736, cols = 3584;
        DType t = DType.Q4_K;
        long rowBytes = t.bytesFor(cols);
        MemorySegment seg = Arena.global().allocate(rowBytes * rows, 4096);
        SplittableRandom rnd = new SplittableRandom(1);
        // random bits, with bit 14 of every 16-bit word cleared so that fp16 scales stay finite
        for (long i = 0; i + 8 <= seg.byteSize(); i += 8) seg.set(ValueLayout.JAVA_LONG_UNALIGNED, i, rnd.nextLong() & 0xBFFFBFFFBFFFBFFFL);
        QuantMatrix m = QuantMatrix.of(t, seg, rows, cols, Kernels.SIMD);
        float[] x = new float[cols * 64], out = new float[rows * 64];
        for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        if (history.contains("prefill")) { // 8 tokens: the dot-product kernel; prefill64: token vectors
            float[] w = new float[m.matmulScratch()];
            int n = history.contains("prefill64") ? 64 : 8;
            for (int it = 0; it < 200; it++) m.matmul(x, n, out, 0, rows, w);
        }
        if (history.contains("heap")) {
            MemorySegment heap = MemorySegment.ofArray(new byte[(int) (rowBytes * 64)]);
            MemorySegment.copy(seg, 0, heap, 0, heap.byteSize());
            QuantMatrix mh = QuantMatrix.of(t, heap, 64, cols, Kernels.SIMD);
            float[] w = new float[mh.matmulScratch()], oh = new float[64 * 8];
            for (int it = 0; it < 3000; it++) {
                mh.matmul(x, 8, oh, 0, 64, w);
                mh.matvec(x, oh, 0, 64);
            }
        }
        if (history.contains("q6")) {
            long rb6 = DType.Q6_K.bytesFor(cols);
            MemorySegment s6 = Arena.global().allocate(rb6 * 2048, 4096);
            for (long i = 0; i + 8 <= s6.byteSize(); i += 8) s6.set(ValueLayout.JAVA_LONG_UNALIGNED, i, rnd.nextLong() & 0xBFFFBFFFBFFFBFFFL);
            QuantMatrix m6 = QuantMatrix.of(DType.Q6_K, s6, 2048, cols, Kernels.SIMD);
            float[] o6 = new float[2048];
            for (int it = 0; it < 3000; it++) m6.matvec(x, o6, 0, 2048);
        }
        long best = qwen4j.jmh.KernelCpuTime.bestCpuNanos(() -> m.matvec(x, out, 0, rows));
        System.out.printf("Q4_K matvec after %s: %.1f GB/s%n", history, rowBytes * rows / (double) best);
    }
}
