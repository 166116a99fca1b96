package qwen4j.generate.constraint;

import java.util.HashMap;
import java.util.Set;
import qwen4j.tokenizer.Tokenizer;

/**
 * A grammar bound to a vocabulary: computes which tokens keep the output a valid prefix, by walking the
 * vocabulary trie together with the parse state (a dead prefix prunes its whole subtree), and caches that
 * mask per parse state, so a state seen before costs one lookup. Thread-safe (one lock); shared by every
 * sequence using the same grammar. {@link #newSequence()} gives the per-sequence {@link Constraint}.
 */
public final class CompiledConstraint {
    /** Masks kept per grammar (each vocabulary/8 bytes, 19 KB for Qwen: 10 MB at most); past this, new states recompute theirs. */
    static final int MAX_CACHED_MASKS = 512;

    final PushdownMatcher pda;
    final VocabularyTrie trie;
    final int[] eosIds;
    final int words;
    private final String description;
    private final java.util.List<String> warnings;
    private final long compileNanos;
    private int cachedMasks;
    private long maskWalks;

    CompiledConstraint(Grammar grammar, Tokenizer tokenizer, int vocabLimit, Set<Integer> eosIds, String description,
                       java.util.List<String> warnings, long compileNanos) {
        this.warnings = java.util.List.copyOf(warnings);
        this.compileNanos = compileNanos;
        this.pda = new PushdownMatcher(grammar);
        this.trie = VocabularyTrie.of(tokenizer, vocabLimit);
        int[] eos = new int[eosIds.size()];
        int n = 0;
        for (int id : eosIds) if (id >= 0 && id < vocabLimit) eos[n++] = id;
        this.eosIds = java.util.Arrays.copyOf(eos, n);
        this.words = (vocabLimit + 63) >>> 6;
        this.description = description;
    }

    public Constraint newSequence() { return new Constraint(this); }

    public String description() { return description; }

    /** Schema keywords ignored (non-strict JSON Schema); empty otherwise. */
    public java.util.List<String> warnings() { return warnings; }

    /** How long compiling took (the first time; cached afterwards). */
    public long compileNanos() { return compileNanos; }

    public int vocabLimit() { return trie.vocabLimit; }

    /** How many trie walks ran (cache misses); for tests and the bench. */
    public synchronized long maskWalks() { return maskWalks; }

    /** The allowed-token bitset for (state, pending partial character); cached. Never modify the result. */
    synchronized long[] mask(PushdownMatcher.State s, int pending) {
        long[] m;
        if (pending == 0) {
            m = s.mask;
            if (m == null) {
                m = walk(s, pending);
                if (cachedMasks < MAX_CACHED_MASKS) {
                    s.mask = m;
                    cachedMasks++;
                }
            }
            return m;
        }
        if (s.partialMasks != null && (m = s.partialMasks.get(pending)) != null) return m;
        m = walk(s, pending);
        if (cachedMasks < MAX_CACHED_MASKS) {
            if (s.partialMasks == null) s.partialMasks = new HashMap<>();
            s.partialMasks.put(pending, m);
            cachedMasks++;
        }
        return m;
    }

    /** Depth-first over the trie, carrying the parse state; a node is visited only if its prefix is alive. */
    private long[] walk(PushdownMatcher.State s0, int pending0) {
        maskWalks++;
        VocabularyTrie t = trie;
        long[] mask = new long[words];
        int depthCap = t.maxDepth + 2;
        int[] node = new int[depthCap], cursor = new int[depthCap], pend = new int[depthCap];
        PushdownMatcher.State[] state = new PushdownMatcher.State[depthCap];
        int d = 0;
        node[0] = 0;
        cursor[0] = t.childStart[0];
        state[0] = s0;
        pend[0] = pending0;
        while (d >= 0) {
            int n = node[d];
            int c = cursor[d];
            if (c == t.childStart[n] + t.childCount[n]) {
                d--;
                continue;
            }
            cursor[d] = c + 1;
            PushdownMatcher.State s = state[d];
            int p = step(s, pend[d], t.edge[c] & 0xff);
            if (p == DEAD) continue;
            PushdownMatcher.State ns = stepped;
            for (int id = t.token[c]; id >= 0; id = t.sameBytes[id]) mask[id >>> 6] |= 1L << id;
            if (t.childCount[c] > 0) {
                d++;
                node[d] = c;
                cursor[d] = t.childStart[c];
                state[d] = ns;
                pend[d] = p;
            }
        }
        return mask;
    }

    static final int DEAD = -1;
    /** The state {@link #step} moved to (single-threaded under the lock). */
    private PushdownMatcher.State stepped;

    /**
     * Feeds one byte: returns the new pending partial character (0 when none) and sets {@link #stepped},
     * or {@link #DEAD}. Pending packs remaining continuation bytes (bits 24-25), the sequence length (26-28)
     * and the bits decoded so far (0-20).
     */
    int step(PushdownMatcher.State s, int pending, int b) {
        int need, len, val;
        if (pending == 0) {
            if (b < 0x80) {
                PushdownMatcher.State n = s.next(b);
                if (n == pda.dead) return DEAD;
                stepped = n;
                return 0;
            }
            if (b >= 0xC2 && b <= 0xDF) { need = 1; len = 2; val = b & 0x1F; }
            else if (b >= 0xE0 && b <= 0xEF) { need = 2; len = 3; val = b & 0x0F; }
            else if (b >= 0xF0 && b <= 0xF4) { need = 3; len = 4; val = b & 0x07; }
            else return DEAD;
        } else {
            if ((b & 0xC0) != 0x80) return DEAD;
            need = ((pending >>> 24) & 3) - 1;
            len = (pending >>> 26) & 7;
            val = ((pending & 0x1FFFFF) << 6) | (b & 0x3F);
            if (need == 0) {
                if (len == 3 && (val < 0x800 || (val >= 0xD800 && val <= 0xDFFF))) return DEAD;
                if (len == 4 && (val < 0x10000 || val > 0x10FFFF)) return DEAD;
                PushdownMatcher.State n = s.next(val);
                if (n == pda.dead) return DEAD;
                stepped = n;
                return 0;
            }
        }
        int lo = val << (6 * need), hi = lo | ((1 << (6 * need)) - 1);
        if (len == 3) lo = Math.max(lo, 0x800);
        if (len == 4) {
            lo = Math.max(lo, 0x10000);
            hi = Math.min(hi, 0x10FFFF);
        }
        if (lo > hi || !s.acceptsAnyOf(lo, hi)) return DEAD;
        stepped = s;
        return (need << 24) | (len << 26) | val;
    }

    /** Feeds a token's bytes; returns the new pending value and sets {@link #stepped}, or DEAD. */
    synchronized int feed(PushdownMatcher.State s, int pending, int token) {
        byte[] b = token >= 0 && token < trie.bytes.length ? trie.bytes[token] : null;
        if (b == null) return DEAD;
        for (byte x : b) {
            pending = step(s, pending, x & 0xff);
            if (pending == DEAD) return DEAD;
            s = stepped;
        }
        stepped = s;
        return pending;
    }

    synchronized PushdownMatcher.State stepped() { return stepped; }

    /** Feeds text (code points); the resulting state, or null if the text is not a valid prefix. For tests. */
    synchronized PushdownMatcher.State feedText(String text) {
        PushdownMatcher.State s = pda.initial;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            s = s.next(cp);
            if (s == pda.dead) return null;
        }
        return s;
    }

    @Override
    public String toString() { return description; }
}
