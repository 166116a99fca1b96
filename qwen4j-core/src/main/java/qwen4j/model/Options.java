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
 * @param prompt   how a prompt is prefilled: one token at a time, or blocks of tokens through
 *                 matrix-matrix products ({@link Qwen2Model#forward(Batch, Qwen2Model.LogitsSink)})
 * @param ubatch   the largest block of prompt tokens one step takes (longer prompts are split); a "batch"
 *                 is many sequences in one step ({@link Batch})
 * @param attention precision of attention scores and softmax: F32, or BF16 (each score and each
 *                 probability rounded to bf16, emulated in float: what bf16 frameworks compute)
 * @param kv       element type of the KV cache: F32, or F16/BF16 (half the memory, rounded on store)
 */
public record Options(Kernels kernels, int threads, Rope.Mode rope, Attention.Mask mask, Prompt prompt, int ubatch,
                      Attention.Precision attention, KvCache.Type kv) {

    /** Prefill mode. */
    public enum Prompt { SEQUENTIAL, BATCHED }

    /** Default prompt block size (tokens per step). */
    public static final int DEFAULT_UBATCH = 256;

    public Options {
        kernels = java.util.Objects.requireNonNull(kernels, "kernels").usable();
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        if (ubatch < 1) throw new IllegalArgumentException("ubatch must be >= 1, got " + ubatch);
        java.util.Objects.requireNonNull(attention, "attention");
        java.util.Objects.requireNonNull(kv, "kv");
    }

    /**
     * The fast configuration: SIMD kernels on every core, cached rotary table, implicit mask, batched
     * prefill; attention and KV cache in float32 (exact: the goldens hold within 1e-3).
     */
    public static Options defaults() {
        return new Options(Kernels.SIMD, Runtime.getRuntime().availableProcessors(), Rope.Mode.TABLE,
                Attention.Mask.IMPLICIT, Prompt.BATCHED, DEFAULT_UBATCH, Attention.Precision.F32, KvCache.Type.F32);
    }

    public Options withThreads(int n) { return new Options(kernels, n, rope, mask, prompt, ubatch, attention, kv); }

    public Options withKernels(Kernels k) { return new Options(k, threads, rope, mask, prompt, ubatch, attention, kv); }

    public Options withRope(Rope.Mode r) { return new Options(kernels, threads, r, mask, prompt, ubatch, attention, kv); }

    public Options withMask(Attention.Mask m) { return new Options(kernels, threads, rope, m, prompt, ubatch, attention, kv); }

    public Options withPrompt(Prompt p) { return new Options(kernels, threads, rope, mask, p, ubatch, attention, kv); }

    public Options withUbatch(int b) { return new Options(kernels, threads, rope, mask, prompt, b, attention, kv); }

    public Options withAttention(Attention.Precision a) { return new Options(kernels, threads, rope, mask, prompt, ubatch, a, kv); }

    public Options withKv(KvCache.Type t) { return new Options(kernels, threads, rope, mask, prompt, ubatch, attention, t); }
}
