package qwen4j.model;

import java.util.Locale;
import qwen4j.Qwen4jException;

/**
 * What a context size costs, computed before anything is allocated: per session the KV cache, the
 * attention scores (and a precomputed mask), per model the RoPE tables. {@link #check} refuses a
 * plan that cannot be allocated (a Java array past 2^31 elements) or does not fit in the heap, naming
 * the number and the options that lower it, instead of an OutOfMemoryError or a
 * NegativeArraySizeException halfway through start-up.
 */
public record MemoryPlan(long kvBytesPerSession, long scratchBytesPerSession, long ropeBytesPerModel, long largestArray,
                         int ctx, int sessions, int models, KvCache.Type kv) {
    /** Longest Java array the JVM allocates. */
    static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

    public static MemoryPlan of(Qwen2Config c, Options o, int ctx, int sessions, int models) {
        long kvDim = c.kvDim(), half = c.headDim() / 2;
        int elem = KvCache.elementBytes(o.kv());
        long kv = 2L * c.numLayers() * ctx * kvDim * elem;
        long scores = (long) c.numHeads() * ctx * Float.BYTES;
        long mask = o.mask() == Attention.Mask.PRECOMPUTED ? (long) ctx * ctx * Float.BYTES : 0;
        long rope = switch (o.rope()) {
            case DIRECT -> 0;
            case TABLE, COMPLEX -> 2L * ctx * half * Float.BYTES;
        };
        long largest = Math.max(Math.max((long) ctx * kvDim, (long) c.numHeads() * ctx),
                Math.max(o.mask() == Attention.Mask.PRECOMPUTED ? (long) ctx * ctx : 0, 2L * ctx * half));
        return new MemoryPlan(kv, scores + mask, rope, largest, ctx, sessions, models, o.kv());
    }

    /** Heap bytes the plan needs in all. */
    public long totalBytes() {
        return sessions * (kvBytesPerSession + scratchBytesPerSession) + models * ropeBytesPerModel;
    }

    /** Throws a one-line user error when the plan cannot be allocated or does not fit in the heap. */
    public void check() {
        check(Runtime.getRuntime());
    }

    void check(Runtime rt) {
        String lower = "lower --ctx" + (sessions > 1 ? " or --parallel" : "")
                + (kv == KvCache.Type.F32 ? ", or use --kv-cache f16 (half the KV memory)" : "");
        if (largestArray > MAX_ARRAY) {
            throw new Qwen4jException(String.format(Locale.ROOT,
                    "--ctx %d is too large: the KV cache of one layer would need %,d elements, more than a Java array holds; %s",
                    ctx, largestArray, lower));
        }
        long need = totalBytes();
        long free = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        if (need > free) {
            System.gc(); // garbage counts as used until collected: look again before refusing
            free = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        }
        if (need > free) {
            throw new Qwen4jException(String.format(Locale.ROOT,
                    "--ctx %d needs %s of memory (KV cache %s x %d session%s, attention scratch %s) but the Java heap has %s free; "
                            + "%s, or raise the heap (QWEN4J_HEAP)",
                    ctx, gb(need), gb(kvBytesPerSession), sessions, sessions == 1 ? "" : "s", gb(scratchBytesPerSession),
                    gb(free), lower));
        }
    }

    static String gb(long bytes) {
        return bytes >= 1L << 30 ? String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30))
                : String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
    }
}
