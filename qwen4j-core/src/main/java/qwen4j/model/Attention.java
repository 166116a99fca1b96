package qwen4j.model;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import qwen4j.tensor.FloatKernels;

/**
 * Causal grouped-query attention of one token over its sequence's paged KV cache, scores and
 * softmax in float32 (or rounded to bf16, {@link Precision}). Query head h reads KV head
 * h / (heads / kvHeads). A float32 cache is read by the Vector API kernels, a 16-bit cache by plain
 * loops that widen each element as they read it.
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

    private final int heads, kvHeads, headDim, ctx, group;
    private final float scale;
    private final Mask mask;
    private final boolean bf16; // Precision.BF16
    private final float[] maskMatrix; // [ctx * ctx], PRECOMPUTED only
    private final FloatKernels ops;

    public Attention(int heads, int kvHeads, int headDim, int ctx, Mask mask, Precision precision, FloatKernels ops) {
        this.ops = ops;
        this.bf16 = precision == Precision.BF16;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.ctx = (ctx + KvCache.BLOCK - 1) / KvCache.BLOCK * KvCache.BLOCK; // whole blocks
        this.group = heads / kvHeads;
        ctx = this.ctx;
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
     * The query heads of KV head {@code kvHead} (grouped-query attention: heads g*group .. g*group +
     * group - 1) for one token at position {@code pos} of {@code seq}: out_h = softmax(q_h . K^T * scale) V
     * over the sequence's cached positions 0..pos, read block by block from the off-heap cache. q and
     * out rows start at qBase / outBase ([heads * headDim]); {@code scores} is scratch of heads * ctx.
     *
     * <p>The heads of one KV head go through the cache together, position by position, so each cached
     * key and value is read from memory once per token instead of once per head; per head the
     * arithmetic and its order are those of one head alone. The weighted sum of values continues its
     * sums across blocks in the same order as one pass over all positions.
     */
    public void attend(float[] q, int qBase, Sequence seq, int layer, int pos, float[] scores, float[] out, int outBase,
                       int kvHead) {
        KvCache cache = seq.cache;
        MemorySegment mem = cache.memory; // a local: C2 keeps the segment's base and bounds in registers
        boolean f32 = cache.type == KvCache.Type.F32, f16 = cache.type == KvCache.Type.F16;
        int elem = f32 ? Float.BYTES : Short.BYTES;
        long row = cache.rowBytes, headOff = (long) kvHead * headDim * elem, valuesOff = KvCache.BLOCK * row;
        int h0 = kvHead * group, h1 = h0 + group;
        // PRECOMPUTED scores every slot of the sequence's blocks up to pos, then adds the mask row
        int len = mask == Mask.IMPLICIT ? pos + 1 : Math.min(ctx, (pos / KvCache.BLOCK + 1) * KvCache.BLOCK);
        int[] blocks = seq.blocks;
        for (int t0 = 0; t0 < len; t0 += KvCache.BLOCK) {
            int n = Math.min(KvCache.BLOCK, len - t0);
            long k0 = cache.keyOffset(layer, blocks[t0 / KvCache.BLOCK]) + headOff;
            for (int t = 0; t < n; t++) {
                long k = k0 + t * row;
                for (int h = h0; h < h1; h++) {
                    int qOff = qBase + h * headDim;
                    float sc = (f32 ? ops.dot(q, qOff, mem, k, headDim) : dotHalf(q, qOff, mem, k, f16)) * scale;
                    if (maskMatrix != null) sc += maskMatrix[pos * ctx + t0 + t];
                    scores[h * ctx + t0 + t] = bf16 ? Half.roundBf16(sc) : sc;
                }
            }
        }
        for (int h = h0; h < h1; h++) {
            ops.softmax(scores, h * ctx, len);
            if (bf16) roundBf16(scores, h * ctx, len);
            int oOff = outBase + h * headDim;
            for (int t0 = 0; t0 < len; t0 += KvCache.BLOCK) {
                int n = Math.min(KvCache.BLOCK, len - t0);
                long v0 = cache.keyOffset(layer, blocks[t0 / KvCache.BLOCK]) + valuesOff + headOff;
                if (f32) ops.weightedSum(scores, h * ctx + t0, mem, v0, row, n, out, oOff, headDim, t0 > 0);
                else weightedSumHalf(scores, h * ctx + t0, mem, v0, row, n, out, oOff, f16, t0 > 0);
            }
        }
    }

    private float dotHalf(float[] q, int qOff, MemorySegment mem, long k, boolean f16) {
        float dot = 0f;
        for (int i = 0; i < headDim; i++) dot += q[qOff + i] * widen(mem.get(ValueLayout.JAVA_SHORT, k + 2L * i), f16);
        return dot;
    }

    private void weightedSumHalf(float[] w, int wOff, MemorySegment mem, long v0, long row, int n, float[] out, int oOff,
                                 boolean f16, boolean accumulate) {
        if (!accumulate) java.util.Arrays.fill(out, oOff, oOff + headDim, 0f);
        for (int t = 0; t < n; t++) {
            float a = w[wOff + t];
            long v = v0 + t * row;
            for (int i = 0; i < headDim; i++) out[oOff + i] += a * widen(mem.get(ValueLayout.JAVA_SHORT, v + 2L * i), f16);
        }
    }

    private static void roundBf16(float[] a, int off, int n) {
        for (int i = off; i < off + n; i++) a[i] = Half.roundBf16(a[i]);
    }

    private static float widen(short h, boolean f16) {
        return f16 ? Float.float16ToFloat(h) : Half.bf16ToFloat(h);
    }
}
