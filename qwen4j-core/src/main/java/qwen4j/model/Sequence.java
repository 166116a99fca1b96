package qwen4j.model;

import qwen4j.Qwen4jException;

/**
 * One sequence's view of a {@link KvCache}: the list of blocks holding its positions 0..length-1,
 * the token ids there (for the prefix cache) and the logits of its last computed token. Run through
 * the model in a {@link Batch}, alone or with other sequences.
 */
public final class Sequence {
    final KvCache cache;
    private final int capacity;
    int[] blocks;       // blocks[i] holds positions i*BLOCK .. i*BLOCK + BLOCK - 1
    int blockCount;
    int length;         // positions already in the cache
    final int[] tokens; // token at each position (capacity)
    private final long[] hashes; // chained hash of each full block (valid below hashed)
    private int hashed;          // leading full blocks whose hash is known (published or matched)
    final float[] logits;
    int next;           // scratch of Qwen2Model.forward: the position the sequence's next batch token takes

    public Sequence(KvCache cache, int capacity, int vocab) {
        if (capacity < 1) throw new Qwen4jException("a sequence needs room for at least one token");
        this.cache = cache;
        this.capacity = capacity;
        this.blocks = new int[KvCache.blocksFor(capacity)];
        this.tokens = new int[capacity];
        this.hashes = new long[blocks.length];
        this.logits = new float[vocab];
    }

    /** Positions already computed (the position the next token takes). */
    public int length() { return length; }

    /** Most positions this sequence may hold. */
    public int capacity() { return capacity; }

    /** Logits of the last token run with logits wanted (valid until the sequence's next step). */
    public float[] logits() { return logits; }

    /** Blocks this sequence holds. */
    public int blockCount() { return blockCount; }

    /**
     * Starts an empty sequence on the longest run of published blocks that begins {@code prompt}, so
     * their prefill is skipped; at least the last prompt token is left to compute (its logits are
     * needed). Returns the number of prompt tokens already in the cache.
     */
    public int reuseCachedPrefix(int[] prompt) {
        if (length != 0) throw new IllegalStateException("reuseCachedPrefix needs an empty sequence");
        int parent = -1;
        long h = 0;
        for (int b = 0; (b + 1) * KvCache.BLOCK <= Math.min(prompt.length, capacity); b++) {
            long hb = KvCache.hash(h, prompt, b * KvCache.BLOCK);
            int found = cache.lookup(hb, parent, prompt, b * KvCache.BLOCK);
            if (found < 0) break;
            blocks[blockCount++] = found;
            hashes[b] = hb;
            hashed = b + 1;
            parent = found;
            h = hb;
        }
        int reused = Math.min(blockCount * KvCache.BLOCK, prompt.length - 1);
        System.arraycopy(prompt, 0, tokens, 0, blockCount * KvCache.BLOCK);
        length = reused;
        // the last token is computed again: its block is written, so leave it unhashed here (copy-on-write)
        if (hashed * KvCache.BLOCK > reused) hashed = reused / KvCache.BLOCK;
        return reused;
    }

    /**
     * A second sequence with the same cached positions, sharing every block (copy-on-write: the first
     * of the two to write into a shared block copies it).
     */
    public Sequence fork() {
        Sequence s = new Sequence(cache, capacity, logits.length);
        for (int i = 0; i < blockCount; i++) {
            cache.retain(blocks[i]);
            s.blocks[i] = blocks[i];
        }
        s.blockCount = blockCount;
        s.length = length;
        System.arraycopy(tokens, 0, s.tokens, 0, length);
        System.arraycopy(hashes, 0, s.hashes, 0, hashed);
        s.hashed = hashed;
        System.arraycopy(logits, 0, s.logits, 0, logits.length);
        return s;
    }

    /** Forgets every position from {@code n} on, giving back the blocks no longer needed. */
    public void truncate(int n) {
        if (n < 0 || n > length) throw new IllegalArgumentException("cannot truncate to " + n + " of " + length);
        int keep = KvCache.blocksFor(n);
        while (blockCount > keep) cache.release(blocks[--blockCount]);
        length = n;
        hashed = Math.min(hashed, n / KvCache.BLOCK);
    }

    /** Gives every block back to the pool (the sequence is empty afterwards). */
    public void release() {
        truncate(0);
    }

    /**
     * Makes position {@code pos} (length or the next one in the same step) writable: takes a new block
     * at a block start; copies a block that is shared (or unpublishes one only this sequence holds).
     * Throws {@link KvCache.Full} before changing anything visible when no block can be had.
     */
    void reserve(int pos) {
        if (pos >= capacity) {
            throw new Qwen4jException("context is full: " + capacity + " tokens (raise --ctx)");
        }
        int bi = pos / KvCache.BLOCK;
        if (bi == blockCount) {
            int b = cache.allocate(); // before the count moves: a full cache leaves the sequence as it was
            blocks[blockCount++] = b;
            return;
        }
        int b = blocks[bi];
        if (cache.refs(b) > 1) {
            int copy = cache.allocate();
            cache.copy(b, copy);
            cache.release(b);
            blocks[bi] = copy;
        } else if (cache.isPublished(b)) {
            cache.unpublish(b);
        }
        if (hashed > bi) hashed = bi;
    }

    /** The model wrote position {@code pos} with {@code token}; a block that fills up is published. */
    void wrote(int pos, int token) {
        tokens[pos] = token;
        if (pos + 1 > length) length = pos + 1;
        if ((pos + 1) % KvCache.BLOCK == 0) {
            int b = pos / KvCache.BLOCK;
            if (hashed == b) {
                long parentHash = b == 0 ? 0 : hashes[b - 1];
                long h = KvCache.hash(parentHash, tokens, b * KvCache.BLOCK);
                hashes[b] = h;
                hashed = b + 1;
                cache.publish(blocks[b], h, b == 0 ? -1 : blocks[b - 1], tokens, b * KvCache.BLOCK);
            }
        }
    }

    /** Byte offset of position {@code pos}'s key in layer {@code layer} (its value is BLOCK rows later). */
    long keyOffset(int layer, int pos) {
        return cache.keyOffset(layer, blocks[pos / KvCache.BLOCK]) + (pos % KvCache.BLOCK) * cache.rowBytes;
    }
}
