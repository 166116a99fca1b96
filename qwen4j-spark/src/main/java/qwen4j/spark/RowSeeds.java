package qwen4j.spark;

import java.nio.charset.StandardCharsets;

/**
 * A row's sampling seed from the stage's seed and the row's key (a key column's value, or the prompt
 * itself). It depends on nothing Spark decides (partitioning, task attempt, row order), so a retried or
 * speculative task samples exactly the same text.
 */
public final class RowSeeds {
    private RowSeeds() {}

    /** The seed row {@code key} samples with under stage seed {@code seed}. */
    public static long of(long seed, String key) {
        // FNV-1a over the UTF-8 bytes, then SplitMix64's finalizer to spread it with the stage seed
        long h = 0xcbf29ce484222325L;
        for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        long z = h ^ (seed * 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
