package qwen4j.model;

import qwen4j.tensor.Kernels;

/**
 * The switches of the one engine. Every optimization the project measures is one field here,
 * read by the one model; the ablation study flips them, nothing is copied.
 *
 * @param kernels  scalar reference loops or Vector API kernels
 * @param threads  worker threads for matrix products and attention (1 = single-threaded)
 * @param rope     how rotary angles are obtained
 * @param mask     how causality is enforced in attention
 */
public record Options(Kernels kernels, int threads, Rope.Mode rope, Attention.Mask mask) {

    public Options {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }

    /** The fast configuration: SIMD kernels on every core, cached rotary table, implicit mask. */
    public static Options defaults() {
        return new Options(Kernels.SIMD, Runtime.getRuntime().availableProcessors(), Rope.Mode.TABLE,
                Attention.Mask.IMPLICIT);
    }

    public Options withThreads(int n) { return new Options(kernels, n, rope, mask); }

    public Options withKernels(Kernels k) { return new Options(k, threads, rope, mask); }

    public Options withRope(Rope.Mode r) { return new Options(kernels, threads, r, mask); }

    public Options withMask(Attention.Mask m) { return new Options(kernels, threads, rope, m); }
}
