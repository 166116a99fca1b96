package qwen4j.tensor;

/**
 * An activation vector x quantized for integer dot products, as ggml's Q8_0 does for Q8_0/Q4_0 weights:
 * per block of 32, {@code d = max|x| / 127} and {@code q = round(x / d)} in [-127, 127]. The quants are
 * kept widened to int16 ({@code qs}), the scales as float32 ({@code d}, not rounded to fp16). One
 * instance is reused for every product (grown when needed), so steady-state decoding allocates nothing.
 * It is written once per dispatch by the dispatching thread, then only read by the workers.
 */
public final class Int8Activations {
    public static final int QK = 32;
    private short[] qs = new short[0];
    private float[] d = new float[0];
    private int n;

    /** Quantizes x[0 .. n) (n a multiple of 32). */
    public void quantize(float[] x, int n) {
        if (n % QK != 0) throw new IllegalArgumentException(n + " is not a multiple of " + QK);
        if (qs.length < n) {
            qs = new short[n];
            d = new float[n / QK];
        }
        this.n = n;
        for (int b = 0; b < n / QK; b++) {
            int o = b * QK;
            float amax = 0f;
            for (int e = 0; e < QK; e++) amax = Math.max(amax, Math.abs(x[o + e]));
            float dd = amax / 127f;
            float id = dd != 0f ? 1f / dd : 0f;
            d[b] = dd;
            for (int e = 0; e < QK; e++) qs[o + e] = (short) Math.round(x[o + e] * id);
        }
    }

    /** A fresh quantization of x (allocates; for direct calls outside a dispatch). */
    public static Int8Activations of(float[] x, int n) {
        Int8Activations a = new Int8Activations();
        a.quantize(x, n);
        return a;
    }

    /** Number of quantized elements. */
    public int length() { return n; }

    /** The int8 quants, widened to int16. */
    public short[] qs() { return qs; }

    /** The per-block scales. */
    public float[] d() { return d; }
}
