package qwen4j.model;

/**
 * Keys and values of every past position, per layer, [ctx * kvDim] float32, allocated once.
 * Keys are stored after RoPE, so a step only computes attention for the new token.
 */
public final class KvCache {
    final float[][] keys;
    final float[][] values;
    private final int ctx;

    KvCache(int layers, int ctx, int kvDim) {
        this.ctx = ctx;
        long bytes = 2L * layers * ctx * kvDim * Float.BYTES;
        if ((long) ctx * kvDim > Integer.MAX_VALUE - 8) {
            throw new qwen4j.Qwen4jException("context " + ctx + " is too large for the KV cache (" + bytes + " bytes)");
        }
        keys = new float[layers][ctx * kvDim];
        values = new float[layers][ctx * kvDim];
    }

    public int capacity() { return ctx; }

    public long bytes() {
        return 2L * keys.length * keys[0].length * Float.BYTES;
    }
}
