package qwen4j.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Finds added tokens in raw text, leftmost first and, at one position, longest first (HF's
 * leftmost-longest Aho-Corasick rule). Tokens are grouped by their first char; a bitmap of first
 * chars lets ordinary text be skipped quickly.
 */
final class AddedTokenMatcher {
    private final long[] firstChars = new long[1024]; // bitmap over char values
    private final String[][] byFirst; // per first-char bucket: contents, longest first
    private final int[][] idsByFirst;
    private final char[] bucketChar;
    private final boolean empty;

    AddedTokenMatcher(List<String> contents, List<Integer> ids) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < contents.size(); i++) if (!contents.get(i).isEmpty()) order.add(i);
        order.sort(Comparator.<Integer>comparingInt(i -> contents.get(i).charAt(0))
                .thenComparing(i -> -contents.get(i).length()));
        List<String[]> buckets = new ArrayList<>();
        List<int[]> bucketIds = new ArrayList<>();
        List<Character> chars = new ArrayList<>();
        int k = 0;
        while (k < order.size()) {
            char c = contents.get(order.get(k)).charAt(0);
            int e = k;
            while (e < order.size() && contents.get(order.get(e)).charAt(0) == c) e++;
            String[] b = new String[e - k];
            int[] bi = new int[e - k];
            for (int t = k; t < e; t++) {
                b[t - k] = contents.get(order.get(t));
                bi[t - k] = ids.get(order.get(t));
            }
            buckets.add(b);
            bucketIds.add(bi);
            chars.add(c);
            firstChars[c >>> 6] |= 1L << (c & 63);
            k = e;
        }
        byFirst = buckets.toArray(new String[0][]);
        idsByFirst = bucketIds.toArray(new int[0][]);
        bucketChar = new char[chars.size()];
        for (int i = 0; i < bucketChar.length; i++) bucketChar[i] = chars.get(i);
        empty = bucketChar.length == 0;
    }

    boolean isEmpty() {
        return empty;
    }

    /**
     * Looks for the first added token in {@code text[from, end)}. Returns its start, or -1; the
     * token's id is left in {@code match[0]} and its length in chars in {@code match[1]}.
     */
    int find(String text, int from, int end, int[] match) {
        if (empty) return -1;
        for (int i = from; i < end; i++) {
            char c = text.charAt(i);
            if ((firstChars[c >>> 6] & (1L << (c & 63))) == 0) continue;
            int b = Arrays.binarySearch(bucketChar, c);
            String[] cands = byFirst[b];
            for (int t = 0; t < cands.length; t++) {
                String s = cands[t];
                if (s.length() <= end - i && text.startsWith(s, i)) {
                    match[0] = idsByFirst[b][t];
                    match[1] = s.length();
                    return i;
                }
            }
        }
        return -1;
    }
}
