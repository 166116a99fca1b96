package qwen4j.tokenizer;

import java.util.Arrays;

/**
 * Open-addressing hash map from a pair of token ids (left, right) to the merge's rank and the id of
 * the merged token. Keys are packed into one long; lookups allocate nothing.
 */
final class MergeTable {
    private static final long EMPTY = -1L;

    private final long[] keys;
    private final int[] ranks;
    private final int[] results;
    private final int mask;
    private int size;

    MergeTable(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, expected * 3)) << 1; // load factor <= 1/3
        keys = new long[cap];
        Arrays.fill(keys, EMPTY);
        ranks = new int[cap];
        results = new int[cap];
        mask = cap - 1;
    }

    static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private static int hash(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29));
    }

    /**
     * Adds a merge. A pair listed twice keeps its later rank and result, as HF tokenizers does
     * (it collects the merges into a hash map); returns false in that case.
     */
    boolean put(int left, int right, int rank, int result) {
        if (size * 3 >= keys.length) throw new IllegalStateException("merge table full");
        long k = key(left, right);
        int slot = hash(k) & mask;
        while (keys[slot] != EMPTY) {
            if (keys[slot] == k) {
                ranks[slot] = rank;
                results[slot] = result;
                return false;
            }
            slot = (slot + 1) & mask;
        }
        keys[slot] = k;
        ranks[slot] = rank;
        results[slot] = result;
        size++;
        return true;
    }

    /** The slot holding the pair, or -1. */
    int find(int left, int right) {
        long k = key(left, right);
        int slot = hash(k) & mask;
        long cur;
        while ((cur = keys[slot]) != EMPTY) {
            if (cur == k) return slot;
            slot = (slot + 1) & mask;
        }
        return -1;
    }

    int rankAt(int slot) {
        return ranks[slot];
    }

    int resultAt(int slot) {
        return results[slot];
    }

    int size() {
        return size;
    }
}
