package qwen4j.generate.constraint;

import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import qwen4j.tokenizer.Tokenizer;

/**
 * The vocabulary as a byte trie: every token that may appear in constrained output (all but special
 * tokens), by the bytes it decodes to. Children of a node are contiguous (built breadth-first), so a mask
 * walk is a loop over flat arrays. Built once per tokenizer and vocabulary size.
 */
final class VocabularyTrie {
    private static final Map<Tokenizer, VocabularyTrie> CACHE = Collections.synchronizedMap(new WeakHashMap<>());

    final int vocabLimit;
    final byte[][] bytes;
    final int[] childStart;
    final int[] childCount;
    final byte[] edge;
    /** First token ending at a node, -1 if none; further tokens with the same bytes chain through {@link #sameBytes}. */
    final int[] token;
    final int[] sameBytes;
    final int maxDepth;

    static VocabularyTrie of(Tokenizer tokenizer, int vocabLimit) {
        synchronized (CACHE) {
            VocabularyTrie t = CACHE.get(tokenizer);
            if (t == null || t.vocabLimit != vocabLimit) CACHE.put(tokenizer, t = new VocabularyTrie(tokenizer, vocabLimit));
            return t;
        }
    }

    private VocabularyTrie(Tokenizer tokenizer, int vocabLimit) {
        this.vocabLimit = vocabLimit;
        bytes = new byte[vocabLimit][];
        int n = 0;
        Integer[] order = new Integer[vocabLimit];
        int longest = 0;
        for (int id = 0; id < vocabLimit; id++) {
            if (!tokenizer.hasToken(id) || tokenizer.isSpecial(id)) continue;
            byte[] b = tokenizer.tokenBytes(id);
            if (b.length == 0) continue;
            bytes[id] = b;
            order[n++] = id;
            longest = Math.max(longest, b.length);
        }
        Integer[] sorted = Arrays.copyOf(order, n);
        Arrays.sort(sorted, (a, b) -> Arrays.compareUnsigned(bytes[a], bytes[b]));
        maxDepth = longest;

        int cap = n * 2 + 16;
        int[] start = new int[cap], end = new int[cap], depth = new int[cap], cs = new int[cap], cc = new int[cap], tok = new int[cap];
        byte[] e = new byte[cap];
        sameBytes = new int[vocabLimit];
        Arrays.fill(sameBytes, -1);
        int count = 1;
        start[0] = 0;
        end[0] = n;
        for (int node = 0; node < count; node++) {
            int s = start[node], t = end[node], d = depth[node];
            tok[node] = -1;
            int last = -1;
            while (s < t && bytes[sorted[s]].length == d) {
                if (last < 0) tok[node] = sorted[s];
                else sameBytes[last] = sorted[s];
                last = sorted[s++];
            }
            cs[node] = count;
            while (s < t) {
                byte b = bytes[sorted[s]][d];
                int u = s;
                while (u < t && bytes[sorted[u]][d] == b) u++;
                if (count == start.length) {
                    int c2 = count * 2;
                    start = Arrays.copyOf(start, c2); end = Arrays.copyOf(end, c2); depth = Arrays.copyOf(depth, c2);
                    cs = Arrays.copyOf(cs, c2); cc = Arrays.copyOf(cc, c2); tok = Arrays.copyOf(tok, c2);
                    e = Arrays.copyOf(e, c2);
                }
                start[count] = s;
                end[count] = u;
                depth[count] = d + 1;
                e[count] = b;
                count++;
                s = u;
            }
            cc[node] = count - cs[node];
        }
        childStart = Arrays.copyOf(cs, count);
        childCount = Arrays.copyOf(cc, count);
        token = Arrays.copyOf(tok, count);
        edge = Arrays.copyOf(e, count);
    }

    int nodeCount() { return token.length; }
}
