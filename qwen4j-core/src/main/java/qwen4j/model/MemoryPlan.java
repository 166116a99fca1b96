package qwen4j.model;

import java.util.Locale;
import qwen4j.Qwen4jException;

/**
 * What a context size costs, computed before anything is allocated: the KV cache per session (off-heap,
 * in the shared block pool), per model the attention scores (and a precomputed mask) and the RoPE
 * tables (on the heap). {@link #check} refuses a plan whose KV cache does not fit in the machine's
 * memory, whose arrays a Java array cannot hold, or whose heap part does not fit in the heap, naming
 * the number and the options that lower it, instead of an OutOfMemoryError halfway through start-up.
 */
public record MemoryPlan(long kvBytesPerSession, long scratchBytesPerSession, long ropeBytesPerModel, long largestArray,
                         int ctx, int sessions, int models, KvCache.Type kv) {
    /** Longest Java array the JVM allocates. */
    static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

    public static MemoryPlan of(Qwen2Config c, Options o, int ctx, int sessions, int models) {
        long half = c.headDim() / 2;
        long blocks = KvCache.blocksFor(ctx);
        long kv = KvCache.bytes(c.numLayers(), c.kvDim(), o.kv(), blocks);
        long scores = (long) c.numHeads() * ctx * Float.BYTES;
        long mask = o.mask() == Attention.Mask.PRECOMPUTED ? (long) ctx * ctx * Float.BYTES : 0;
        long rope = switch (o.rope()) {
            case DIRECT -> 0;
            case TABLE, COMPLEX -> 2L * ctx * half * Float.BYTES;
        };
        long largest = Math.max(Math.max((long) c.numHeads() * ctx, (long) ctx * KvCache.BLOCK),
                Math.max(o.mask() == Attention.Mask.PRECOMPUTED ? (long) ctx * ctx : 0, 2L * ctx * half));
        return new MemoryPlan(kv, scores + mask, rope, largest, ctx, sessions, models, o.kv());
    }

    /** Bytes the plan needs in all (off-heap KV cache and heap). */
    public long totalBytes() {
        return sessions * (kvBytesPerSession + scratchBytesPerSession) + models * ropeBytesPerModel;
    }

    /** Off-heap bytes: every session's KV cache. */
    public long kvBytes() {
        return sessions * kvBytesPerSession;
    }

    /** Heap bytes: each model's attention scratch and RoPE tables. */
    public long heapBytes() {
        return models * (scratchBytesPerSession + ropeBytesPerModel);
    }

    /** Throws a one-line user error when the plan cannot be allocated or does not fit. */
    public void check() {
        Runtime rt = Runtime.getRuntime();
        check(() -> rt.maxMemory() - (rt.totalMemory() - rt.freeMemory()), qwen4j.tensor.HugePageMemory.physicalMemory());
    }

    /** {@code heapFree}: the heap's free bytes now; {@code machine}: the machine's memory. */
    void check(java.util.function.LongSupplier heapFree, long machine) {
        String lower = "lower --ctx" + (sessions > 1 ? " or --parallel" : "")
                + (kv == KvCache.Type.F32 ? ", or use --kv-cache f16 (half the KV memory)" : "");
        if (kvBytes() > machine) {
            throw new Qwen4jException(String.format(Locale.ROOT,
                    "--ctx %d needs %s of KV cache (%s x %d session%s, off-heap) but the machine has %s of memory; %s",
                    ctx, gb(kvBytes()), gb(kvBytesPerSession), sessions, sessions == 1 ? "" : "s", gb(machine), lower));
        }
        if (largestArray > MAX_ARRAY) {
            throw new Qwen4jException(String.format(Locale.ROOT,
                    "--ctx %d is too large: the attention scratch would need %,d elements, more than a Java array holds; %s",
                    ctx, largestArray, lower));
        }
        // twice the need: the large arrays must fit in the old generation (2/3 of the heap with the
        // parallel collector), next to whatever else lives there
        long need = heapBytes();
        long free = heapFree.getAsLong();
        if (2 * need > free) {
            System.gc(); // garbage counts as used until collected: look again before refusing
            free = heapFree.getAsLong();
        }
        if (2 * need > free) {
            throw new Qwen4jException(String.format(Locale.ROOT,
                    "--ctx %d needs %s of heap (attention scratch %s, RoPE tables %s) but the Java heap has %s free (twice that needed); "
                            + "%s, or raise the heap (QWEN4J_HEAP)",
                    ctx, gb(need), gb(scratchBytesPerSession), gb(ropeBytesPerModel), gb(free), lower));
        }
    }

    static String gb(long bytes) {
        return bytes >= 1L << 30 ? String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30))
                : String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
    }
}
