package qwen4j.model;

/**
 * Keys and values of every past position, per layer, [ctx * kvDim], allocated once. Keys are
 * stored after RoPE, so a step only computes attention for the new token.
 *
 * <p>The element type is a switch ({@link Type}): F32 keeps float32 ({@link #keys}/{@link #values});
 * F16 and BF16 keep 16-bit values ({@link #keys16}/{@link #values16}), rounded when stored and
 * widened when attention reads them: half the memory and half the bytes attention streams, at the
 * cost of a rounding of every cached element (so the logits move; the ablation's status column
 * shows by how much).
 */
public final class KvCache {
    /** Element type of the cache. */
    public enum Type { F32, F16, BF16 }

    final Type type;
    final float[][] keys, values;       // F32 only
    final short[][] keys16, values16;   // F16, BF16 only
    private final int ctx, kvDim, layers;

    KvCache(int layers, int ctx, int kvDim, Type type) {
        this.ctx = ctx;
        this.kvDim = kvDim;
        this.layers = layers;
        this.type = type;
        if ((long) ctx * kvDim > Integer.MAX_VALUE - 8) {
            throw new qwen4j.Qwen4jException("context " + ctx + " is too large for the KV cache ("
                    + 2L * layers * ctx * kvDim * elementBytes(type) + " bytes)");
        }
        if (type == Type.F32) {
            keys = new float[layers][ctx * kvDim];
            values = new float[layers][ctx * kvDim];
            keys16 = values16 = null;
        } else {
            keys16 = new short[layers][ctx * kvDim];
            values16 = new short[layers][ctx * kvDim];
            keys = values = null;
        }
    }

    KvCache(int layers, int ctx, int kvDim) {
        this(layers, ctx, kvDim, Type.F32);
    }

    static int elementBytes(Type t) {
        return t == Type.F32 ? Float.BYTES : Short.BYTES;
    }

    public Type type() { return type; }

    public int capacity() { return ctx; }

    /** Bytes the cache holds (keys and values of every layer and position). */
    public long bytes() {
        return 2L * layers * ctx * kvDim * elementBytes(type);
    }

    /** Stores n positions' keys and values (k, v: n rows of kvDim) at positions pos .. pos + n - 1 of layer l. */
    void store(int l, int pos, float[] k, float[] v, int n) {
        int off = pos * kvDim, len = n * kvDim;
        switch (type) {
            case F32 -> {
                System.arraycopy(k, 0, keys[l], off, len);
                System.arraycopy(v, 0, values[l], off, len);
            }
            case F16 -> {
                short[] kd = keys16[l], vd = values16[l];
                for (int i = 0; i < len; i++) {
                    kd[off + i] = Float.floatToFloat16(k[i]);
                    vd[off + i] = Float.floatToFloat16(v[i]);
                }
            }
            case BF16 -> {
                short[] kd = keys16[l], vd = values16[l];
                for (int i = 0; i < len; i++) {
                    kd[off + i] = Half.toBf16(k[i]);
                    vd[off + i] = Half.toBf16(v[i]);
                }
            }
        }
    }

    /** For benchmarks: sets element i of layer l's keys and values. */
    void set(int l, int i, float k, float v) {
        switch (type) {
            case F32 -> {
                keys[l][i] = k;
                values[l][i] = v;
            }
            case F16 -> {
                keys16[l][i] = Float.floatToFloat16(k);
                values16[l][i] = Float.floatToFloat16(v);
            }
            case BF16 -> {
                keys16[l][i] = Half.toBf16(k);
                values16[l][i] = Half.toBf16(v);
            }
        }
    }

    int layers() { return layers; }

    int kvDim() { return kvDim; }
}
