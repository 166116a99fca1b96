package qwen4j.model;

/**
 * Rotary position embedding, rotate-half (NeoX) form as in HF Qwen2: for each head, dimension i
 * of the first half pairs with i + headDim/2 and both are rotated by angle pos * theta^(-2i/headDim).
 * Three ways to get cos/sin, all the same math (the ablation checks they give identical tokens):
 * computed per call, read from a table precomputed for the whole context, or applied as a complex
 * multiplication by exp(i*angle) held as a precomputed (re, im) pair.
 */
public final class Rope {
    public enum Mode { DIRECT, TABLE, COMPLEX }

    private final Mode mode;
    private final int half;
    private final float[] invFreq;  // theta^(-2i/headDim), float32 as HF computes it
    private final float[] cos, sin; // [pos * half + i], TABLE only
    private final float[] unit;     // [(pos * half + i) * 2] = (re, im) of exp(i*angle), COMPLEX only

    public Rope(Mode mode, int headDim, double theta, int maxPositions) {
        this.mode = mode;
        this.half = headDim / 2;
        this.invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            invFreq[i] = (float) (1.0 / Math.pow(theta, (2.0 * i) / headDim));
        }
        int n = mode == Mode.DIRECT ? 0 : maxPositions * half;
        cos = mode == Mode.TABLE ? new float[n] : null;
        sin = mode == Mode.TABLE ? new float[n] : null;
        unit = mode == Mode.COMPLEX ? new float[2 * n] : null;
        for (int p = 0; p < (mode == Mode.DIRECT ? 0 : maxPositions); p++) {
            for (int i = 0; i < half; i++) {
                float angle = p * invFreq[i];
                float c = (float) Math.cos(angle), s = (float) Math.sin(angle);
                int k = p * half + i;
                if (mode == Mode.TABLE) {
                    cos[k] = c;
                    sin[k] = s;
                } else {
                    unit[2 * k] = c;
                    unit[2 * k + 1] = s;
                }
            }
        }
    }

    /** Rotates {@code heads} consecutive head vectors of {@code x} starting at {@code off}, in place. */
    public void apply(float[] x, int off, int heads, int pos) {
        int headDim = 2 * half;
        for (int h = 0; h < heads; h++) {
            int base = off + h * headDim;
            for (int i = 0; i < half; i++) {
                float x0 = x[base + i], x1 = x[base + i + half];
                switch (mode) {
                    case DIRECT -> {
                        float angle = pos * invFreq[i];
                        float c = (float) Math.cos(angle), s = (float) Math.sin(angle);
                        x[base + i] = x0 * c - x1 * s;
                        x[base + i + half] = x0 * s + x1 * c;
                    }
                    case TABLE -> {
                        int k = pos * half + i;
                        x[base + i] = x0 * cos[k] - x1 * sin[k];
                        x[base + i + half] = x0 * sin[k] + x1 * cos[k];
                    }
                    case COMPLEX -> {
                        // (x0 + i*x1) * (re + i*im): the pair (i, i+half) as one complex number.
                        int k = 2 * (pos * half + i);
                        float re = unit[k], im = unit[k + 1];
                        x[base + i] = x0 * re - x1 * im;
                        x[base + i + half] = x0 * im + x1 * re;
                    }
                }
            }
        }
    }
}
