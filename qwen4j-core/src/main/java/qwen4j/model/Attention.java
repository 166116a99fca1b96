package qwen4j.model;

import qwen4j.tensor.FloatKernels;

/**
 * Causal grouped-query attention of one new token over the KV cache, scores and softmax in
 * float32 (or rounded to bf16, {@link Precision}). Query head h reads KV head h / (heads / kvHeads).
 * A float32 cache is read by the kernels ({@link #attend}, {@link #attendBatch}); a 16-bit cache
 * by {@link #attendHalf}, which widens each element as it reads it.
 */
public final class Attention {
    /**
     * IMPLICIT: loop over positions 0..pos only (causality by construction). PRECOMPUTED: score
     * every cached slot and add a precomputed mask matrix row (0 or -inf), as static-shape
     * frameworks do; same result, more work.
     */
    public enum Mask { IMPLICIT, PRECOMPUTED }

    /**
     * F32: scores and softmax in float32. BF16: every score (q.k * scale, after the mask) and
     * every softmax probability rounded to bf16, as a bf16 framework computes them; Java has no
     * bf16 arithmetic, so this is emulated: the rounding is extra work on top of the float32 math.
     */
    public enum Precision { F32, BF16 }

    private final int heads, kvHeads, headDim, ctx;
    private final float scale;
    private final Mask mask;
    private final boolean bf16; // Precision.BF16
    private final float[] maskMatrix; // [ctx * ctx], PRECOMPUTED only
    private final FloatKernels ops;

    public Attention(int heads, int kvHeads, int headDim, int ctx, Mask mask, FloatKernels ops) {
        this(heads, kvHeads, headDim, ctx, mask, Precision.F32, ops);
    }

    public Attention(int heads, int kvHeads, int headDim, int ctx, Mask mask, Precision precision, FloatKernels ops) {
        this.ops = ops;
        this.bf16 = precision == Precision.BF16;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.ctx = ctx;
        this.scale = (float) (1.0 / Math.sqrt(headDim));
        this.mask = mask;
        if (mask == Mask.PRECOMPUTED) {
            maskMatrix = new float[Math.multiplyExact(ctx, ctx)];
            for (int i = 0; i < ctx; i++) {
                for (int j = i + 1; j < ctx; j++) maskMatrix[i * ctx + j] = Float.NEGATIVE_INFINITY;
            }
        } else {
            maskMatrix = null;
        }
    }

    /** Scores buffer size one head needs. */
    public int scoresLength() { return ctx; }

    /**
     * For heads [from, to): out[h*headDim ..] = softmax(q_h . K^T * scale) V for the token at
     * {@code pos}. {@code keys}/{@code values} are this layer's cache, [ctx * kvDim];
     * {@code scores} is scratch of size heads * ctx.
     */
    public void attend(float[] q, float[] keys, float[] values, int pos, float[] scores, float[] out,
                       int from, int to) {
        // The decode step's own loop, deliberately not shared with attendHead: when both paths went
        // through attendHead, its profile (polluted by batched prefill) made C2 box vectors, and
        // ZeroAllocationTest failed 3 of 3 runs of the model tests (vs 1 of 3 with this copy).
        // Heads that share a KV head (grouped-query attention: 7 per KV head in the 7B) go through
        // the cache together, position by position, so each cached key and value is read from
        // memory once per step instead of once per head; per head the arithmetic and its order
        // are unchanged. The weighted sum of values keeps out in registers over all positions
        // (weightedSum: the same values as an axpy per position, without storing and reloading out).
        int group = heads / kvHeads;
        int kvDim = kvHeads * headDim;
        int len = mask == Mask.IMPLICIT ? pos + 1 : ctx;
        for (int h0 = from; h0 < to; ) {
            int h1 = Math.min(to, (h0 / group + 1) * group); // heads [h0, h1) share KV head h0 / group
            int kvOff = (h0 / group) * headDim;
            for (int t = 0; t < len; t++) {
                int k0 = t * kvDim + kvOff;
                for (int h = h0; h < h1; h++) {
                    float sc = ops.dot(q, h * headDim, keys, k0, headDim) * scale;
                    if (maskMatrix != null) sc += maskMatrix[pos * ctx + t];
                    scores[h * ctx + t] = bf16 ? Half.roundBf16(sc) : sc;
                }
            }
            for (int h = h0; h < h1; h++) {
                ops.softmax(scores, h * ctx, len);
                if (bf16) roundBf16(scores, h * ctx, len);
                ops.weightedSum(scores, h * ctx, values, kvOff, kvDim, len, out, h * headDim, headDim);
            }
            h0 = h1;
        }
    }

    /**
     * For heads [from, to) and each of {@code n} block tokens t at positions pos0 + t: the same as
     * {@link #attend} with q and out rows at t * heads * headDim. The cache must already hold the
     * block's keys and values; token t sees positions 0..pos0 + t only.
     */
    public void attendBatch(float[] q, float[] keys, float[] values, int pos0, int n, float[] scores, float[] out,
                            int from, int to) {
        int stride = heads * headDim;
        for (int h = from; h < to; h++) {
            for (int t = 0; t < n; t++) {
                attendHead(q, t * stride, keys, values, pos0 + t, scores, h * ctx, out, t * stride, h);
            }
        }
    }

    private void attendHead(float[] q, int qBase, float[] keys, float[] values, int pos, float[] scores, int sOff,
                            float[] out, int outBase, int h) {
        int group = heads / kvHeads;
        int kvDim = kvHeads * headDim;
        int len = mask == Mask.IMPLICIT ? pos + 1 : ctx;
        int qOff = qBase + h * headDim, oOff = outBase + h * headDim;
        int kvOff = (h / group) * headDim;
        for (int t = 0; t < len; t++) {
            float s = ops.dot(q, qOff, keys, t * kvDim + kvOff, headDim) * scale;
            if (maskMatrix != null) s += maskMatrix[pos * ctx + t];
            scores[sOff + t] = bf16 ? Half.roundBf16(s) : s;
        }
        ops.softmax(scores, sOff, len);
        if (bf16) roundBf16(scores, sOff, len);
        ops.weightedSum(scores, sOff, values, kvOff, kvDim, len, out, oOff, headDim);
    }

    private static void roundBf16(float[] a, int off, int n) {
        for (int i = off; i < off + n; i++) a[i] = Half.roundBf16(a[i]);
    }

    /**
     * {@link #attendBatch} over a 16-bit cache (F16 or BF16, {@code f16} says which): for heads
     * [from, to) and each of n tokens t at positions pos0 + t (n = 1 for a decode step). Plain
     * loops: each cached element is widened to float as it is read, then used as in the float32
     * path (same order of operations as the scalar kernels).
     */
    public void attendHalf(float[] q, short[] keys, short[] values, boolean f16, int pos0, int n, float[] scores,
                           float[] out, int from, int to) {
        int group = heads / kvHeads;
        int kvDim = kvHeads * headDim;
        int stride = heads * headDim;
        for (int h = from; h < to; h++) {
            int kvOff = (h / group) * headDim;
            int sOff = h * ctx;
            for (int tok = 0; tok < n; tok++) {
                int pos = pos0 + tok;
                int len = mask == Mask.IMPLICIT ? pos + 1 : ctx;
                int qOff = tok * stride + h * headDim;
                for (int t = 0; t < len; t++) {
                    int k0 = t * kvDim + kvOff;
                    float dot = 0f;
                    for (int i = 0; i < headDim; i++) dot += q[qOff + i] * widen(keys[k0 + i], f16);
                    float s = dot * scale;
                    if (maskMatrix != null) s += maskMatrix[pos * ctx + t];
                    scores[sOff + t] = bf16 ? Half.roundBf16(s) : s;
                }
                ops.softmax(scores, sOff, len);
                if (bf16) roundBf16(scores, sOff, len);
                java.util.Arrays.fill(out, qOff, qOff + headDim, 0f);
                for (int t = 0; t < len; t++) {
                    float a = scores[sOff + t];
                    int v0 = t * kvDim + kvOff;
                    for (int i = 0; i < headDim; i++) out[qOff + i] += a * widen(values[v0 + i], f16);
                }
            }
        }
    }

    private static float widen(short h, boolean f16) {
        return f16 ? Float.float16ToFloat(h) : Half.bf16ToFloat(h);
    }
}
