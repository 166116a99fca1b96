package qwen4j.model;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import qwen4j.Qwen4jException;
import qwen4j.tensor.HugePageMemory;

/**
 * Keys and values of past positions, as a pool of fixed-size blocks of {@value #BLOCK} positions,
 * off-heap, shared by every {@link Sequence} that uses it (paged attention, as in vLLM). A sequence
 * holds a list of blocks; a block is reference-counted, so two sequences with the same prompt start
 * hold the same blocks, and a sequence that must write into a shared block copies it first.
 * Keys are stored after RoPE.
 *
 * <p>Prefix cache (when enabled): a block that fills up is published under a hash of its tokens and
 * of every token before it; a new sequence whose prompt starts with published blocks takes them
 * instead of computing them again. A published block nobody holds stays cached until its memory is
 * needed (least recently released goes first). A published block is never written: writing into it
 * copies it (or, when no one else holds it, unpublishes it).
 *
 * <p>Layout: [layer][block][keys: BLOCK x kvDim | values: BLOCK x kvDim], elements of {@link Type}.
 * The memory is mapped lazily: an unused block costs no RAM.
 *
 * <p>The element type is a switch: F32 keeps float32; F16 and BF16 keep 16-bit values, rounded when
 * stored and widened when attention reads them (half the memory and half the bytes attention streams,
 * at the cost of a rounding of every cached element).
 */
public final class KvCache implements AutoCloseable {
    /** Element type of the cache. */
    public enum Type { F32, F16, BF16 }

    /** Positions per block. */
    public static final int BLOCK = 16;

    /** A block was needed and every block is held by a running sequence. */
    public static final class Full extends Qwen4jException {
        Full(String message) {
            super(message);
        }
    }

    final Type type;
    final MemorySegment memory;
    final long rowBytes, blockBytes; // one position's keys (or values); one block of one layer (keys and values)
    private final int layers, kvDim, blocks;
    private final Arena arena;
    private final boolean closeable;
    private final boolean prefixCaching;

    private final int[] refs;
    private final int[] free;         // stack of never-published, unreferenced blocks
    private int freeCount;
    // published blocks: hash, parent block and tokens (verified on lookup), LRU list of the unreferenced ones
    private final long[] hashOf;
    private final int[] parentOf, tokensOf;
    private final boolean[] published;
    private final int[] lruPrev, lruNext; // intrusive list, sentinel = blocks
    private int cachedIdle;
    private final LongIntMap index;

    /** A pool freed by {@link #close()}. */
    public KvCache(int layers, int kvDim, Type type, int blocks, boolean prefixCaching) {
        this(layers, kvDim, type, blocks, prefixCaching, true);
    }

    /** {@code closeable} false: freed when it becomes unreachable (a session's own cache, whose owner may never close it). */
    KvCache(int layers, int kvDim, Type type, int blocks, boolean prefixCaching, boolean closeable) {
        this.arena = closeable ? Arena.ofShared() : Arena.ofAuto();
        this.closeable = closeable;
        if (blocks < 1) throw new Qwen4jException("the KV cache needs at least one block, got " + blocks);
        this.layers = layers;
        this.kvDim = kvDim;
        this.type = type;
        this.blocks = blocks;
        this.prefixCaching = prefixCaching;
        this.rowBytes = (long) kvDim * elementBytes(type);
        this.blockBytes = 2L * BLOCK * rowBytes;
        this.memory = HugePageMemory.lazy(bytes(layers, kvDim, type, blocks), arena);
        refs = new int[blocks];
        free = new int[blocks];
        for (int i = 0; i < blocks; i++) free[i] = blocks - 1 - i; // block 0 on top
        freeCount = blocks;
        hashOf = new long[blocks];
        parentOf = new int[blocks];
        tokensOf = prefixCaching ? new int[Math.multiplyExact(blocks, BLOCK)] : null;
        published = new boolean[blocks];
        lruPrev = new int[blocks + 1];
        lruNext = new int[blocks + 1];
        lruPrev[blocks] = lruNext[blocks] = blocks;
        index = prefixCaching ? new LongIntMap(blocks) : null;
    }

    /** Blocks needed to hold {@code tokens} positions. */
    public static int blocksFor(long tokens) {
        return (int) Math.min(Integer.MAX_VALUE, (tokens + BLOCK - 1) / BLOCK);
    }

    static long bytes(int layers, int kvDim, Type type, long blocks) {
        return 2L * layers * blocks * BLOCK * kvDim * elementBytes(type);
    }

    static int elementBytes(Type t) {
        return t == Type.F32 ? Float.BYTES : Short.BYTES;
    }

    public Type type() { return type; }

    /** Positions the pool holds in all. */
    public int capacity() { return blocks * BLOCK; }

    public int blocks() { return blocks; }

    /** Blocks held by at least one sequence. */
    public int blocksUsed() { return blocks - freeCount - cachedIdle; }

    /** Blocks a sequence can take now (free, or cached and held by nobody). */
    public int blocksFree() { return freeCount + cachedIdle; }

    /** Blocks kept for the prefix cache that no sequence holds. */
    public int blocksCachedIdle() { return cachedIdle; }

    /** Bytes the pool reserves (keys and values of every layer and block). */
    public long bytes() { return bytes(layers, kvDim, type, blocks); }

    int layers() { return layers; }

    int kvDim() { return kvDim; }

    int refs(int block) { return refs[block]; }

    boolean isPublished(int block) { return published[block]; }

    /** Byte offset of the first key of {@code block} in layer {@code layer}; its values follow BLOCK rows later. */
    long keyOffset(int layer, int block) {
        return ((long) layer * blocks + block) * blockBytes;
    }

    /** A block for one sequence (reference count 1): a free one, else the least recently released cached one. */
    int allocate() {
        int b;
        if (freeCount > 0) {
            b = free[--freeCount];
        } else if (cachedIdle > 0) {
            b = lruNext[blocks];
            unlink(b);
            unpublish(b);
        } else {
            throw new Full("the KV cache is full: all " + blocks + " blocks of " + BLOCK
                    + " positions are held by running sequences (raise --ctx, lower --parallel, or use --kv-cache f16)");
        }
        refs[b] = 1;
        return b;
    }

    void retain(int b) {
        if (refs[b]++ == 0 && published[b]) unlink(b);
    }

    void release(int b) {
        if (refs[b] <= 0) throw new IllegalStateException("KV block " + b + " released more often than taken (a bug)");
        if (--refs[b] > 0) return;
        if (published[b]) {
            int tail = lruPrev[blocks]; // append to the LRU list: evicted last
            lruPrev[b] = tail;
            lruNext[b] = blocks;
            lruNext[tail] = b;
            lruPrev[blocks] = b;
            cachedIdle++;
        } else {
            free[freeCount++] = b;
        }
    }

    private void unlink(int b) {
        lruNext[lruPrev[b]] = lruNext[b];
        lruPrev[lruNext[b]] = lruPrev[b];
        cachedIdle--;
    }

    /** Copies every layer's keys and values of block {@code from} to block {@code to} (copy-on-write). */
    void copy(int from, int to) {
        for (int l = 0; l < layers; l++) MemorySegment.copy(memory, keyOffset(l, from), memory, keyOffset(l, to), blockBytes);
    }

    /** Chained hash of one block of tokens after the block whose hash is {@code parent} (0 for the first). */
    static long hash(long parent, int[] tokens, int off) {
        long h = parent ^ 0x9E3779B97F4A7C15L;
        for (int i = 0; i < BLOCK; i++) {
            h = (h ^ tokens[off + i]) * 0x100000001B3L;
            h ^= h >>> 29;
        }
        return h == 0 ? 1 : h;
    }

    /**
     * The published block holding tokens[off .. off + BLOCK) after block {@code parent} (-1: at the
     * start), retained for the caller; -1 when there is none.
     */
    int lookup(long hash, int parent, int[] tokens, int off) {
        if (!prefixCaching) return -1;
        int b = index.get(hash);
        if (b < 0 || parentOf[b] != parent || !java.util.Arrays.equals(tokensOf, b * BLOCK, b * BLOCK + BLOCK, tokens, off, off + BLOCK)) {
            return -1;
        }
        retain(b);
        return b;
    }

    /** Publishes a full block (its contents final) so later prompts can reuse it. */
    void publish(int b, long hash, int parent, int[] tokens, int off) {
        if (!prefixCaching || published[b] || index.get(hash) >= 0) return; // an equal block is already published
        published[b] = true;
        hashOf[b] = hash;
        parentOf[b] = parent;
        System.arraycopy(tokens, off, tokensOf, b * BLOCK, BLOCK);
        index.put(hash, b);
    }

    /** Takes a block out of the prefix cache (it is about to be written, or reused for other tokens). */
    void unpublish(int b) {
        if (!published[b]) return;
        published[b] = false;
        index.remove(hashOf[b]);
    }

    /** Stores one position's keys and values (kvDim each, from k[kOff..], v[vOff..]) at a slot of a block. */
    void store(int layer, int block, int slot, float[] k, int kOff, float[] v, int vOff) {
        long at = keyOffset(layer, block) + slot * rowBytes;
        long vat = at + BLOCK * rowBytes;
        MemorySegment m = memory;
        switch (type) {
            case F32 -> {
                MemorySegment.copy(k, kOff, m, ValueLayout.JAVA_FLOAT, at, kvDim);
                MemorySegment.copy(v, vOff, m, ValueLayout.JAVA_FLOAT, vat, kvDim);
            }
            case F16 -> {
                for (int i = 0; i < kvDim; i++) {
                    m.set(ValueLayout.JAVA_SHORT, at + 2L * i, Float.floatToFloat16(k[kOff + i]));
                    m.set(ValueLayout.JAVA_SHORT, vat + 2L * i, Float.floatToFloat16(v[vOff + i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < kvDim; i++) {
                    m.set(ValueLayout.JAVA_SHORT, at + 2L * i, Half.toBf16(k[kOff + i]));
                    m.set(ValueLayout.JAVA_SHORT, vat + 2L * i, Half.toBf16(v[vOff + i]));
                }
            }
        }
    }

    @Override
    public void close() {
        if (closeable && memory.scope().isAlive()) arena.close();
    }

    /** long -> int open-addressing map (linear probing, backward-shift deletion): no boxing, no allocation after construction. */
    private static final class LongIntMap {
        private final long[] keys; // 0 = empty (hashes are never 0)
        private final int[] values;
        private final int mask;

        LongIntMap(int entries) {
            int cap = Integer.highestOneBit(Math.max(4, entries) * 2 - 1) << 1;
            keys = new long[cap];
            values = new int[cap];
            mask = cap - 1;
        }

        private int slot(long key) {
            return (int) (key ^ (key >>> 32)) * 0x9E3779B9 >>> 1 & mask;
        }

        int get(long key) {
            for (int i = slot(key); ; i = (i + 1) & mask) {
                if (keys[i] == 0) return -1;
                if (keys[i] == key) return values[i];
            }
        }

        void put(long key, int value) {
            int i = slot(key);
            while (keys[i] != 0 && keys[i] != key) i = (i + 1) & mask;
            keys[i] = key;
            values[i] = value;
        }

        void remove(long key) {
            int i = slot(key);
            while (keys[i] != key) {
                if (keys[i] == 0) return;
                i = (i + 1) & mask;
            }
            // shift later entries of the probe run back so lookups never stop at a hole
            for (int j = (i + 1) & mask; keys[j] != 0; j = (j + 1) & mask) {
                int home = slot(keys[j]);
                if (((j - home) & mask) >= ((j - i) & mask)) {
                    keys[i] = keys[j];
                    values[i] = values[j];
                    i = j;
                }
            }
            keys[i] = 0;
        }
    }
}
