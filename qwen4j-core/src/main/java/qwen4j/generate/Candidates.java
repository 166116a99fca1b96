package qwen4j.generate;

/**
 * The candidate list the sampler stages narrow down: parallel arrays of ids and logits (the first
 * {@link #size} entries are live), sorted by logit, largest first, once {@link #sorted} is set. All buffers are
 * allocated once for the vocabulary; stages work in place.
 */
public final class Candidates {
    final int[] ids;
    final float[] logits;
    final float[] probs;
    private final long[] keys;
    int size;
    boolean sorted;

    public Candidates(int vocab) {
        ids = new int[vocab];
        logits = new float[vocab];
        probs = new float[vocab];
        keys = new long[vocab];
    }

    /** Loads {@code src[0..n)} as candidates in id order. */
    void reset(float[] src, int n) {
        System.arraycopy(src, 0, logits, 0, n);
        for (int i = 0; i < n; i++) ids[i] = i;
        size = n;
        sorted = false;
    }

    /**
     * As {@link #reset} but leaves out ids whose logit is -inf (masked by a constraint: probability 0), so
     * the stages work on the allowed tokens only. Keeps them all if every logit is -inf.
     */
    void resetFinite(float[] src, int n) {
        int m = 0;
        for (int i = 0; i < n; i++) {
            float l = src[i];
            if (l != Float.NEGATIVE_INFINITY) {
                logits[m] = l;
                ids[m++] = i;
            }
        }
        if (m == 0) {
            reset(src, n);
            return;
        }
        size = m;
        sorted = false;
    }

    public int size() { return size; }

    public int id(int i) { return ids[i]; }

    public float logit(int i) { return logits[i]; }

    public float prob(int i) { return probs[i]; }

    public boolean isSorted() { return sorted; }

    /** A positive long that orders like (logit descending, id ascending) when sorted ascending. */
    static long key(float logit, int id) {
        int bits = Float.floatToIntBits(logit == 0f ? 0f : logit); // -0 == 0
        int ordered = bits ^ ((bits >> 31) & 0x7fffffff);          // signed, monotone in the value
        long unsigned = (ordered ^ 0x80000000) & 0xffffffffL;      // unsigned, monotone
        long desc = 0xffffffffL - unsigned;                         // larger logit -> smaller
        return (desc << 31) | id;
    }

    static int keyId(long key) { return (int) (key & 0x7fffffffL); }

    static float keyLogit(long key) {
        long unsigned = 0xffffffffL - (key >>> 31);
        int ordered = (int) unsigned ^ 0x80000000;
        return Float.intBitsToFloat(ordered ^ ((ordered >> 31) & 0x7fffffff));
    }

    private void fromKeys(int n) {
        for (int i = 0; i < n; i++) {
            ids[i] = keyId(keys[i]);
            logits[i] = keyLogit(keys[i]);
        }
    }

    /** Sorts all live candidates, largest logit first (ties: smaller id first). */
    void sort() {
        if (sorted) return;
        int n = selectTop(size);
        fromKeys(n);
        size = n;
        sorted = true;
    }

    /** Keeps the k largest (sorted); no-op when k <= 0 or k >= size. */
    void keepTopK(int k) {
        if (k <= 0 || k >= size) return;
        int n = selectTop(k);
        fromKeys(n);
        size = n;
        sorted = true;
    }

    /**
     * Puts the keys of the {@code k} best live candidates into {@code keys[0..k)}, best first, leaving the
     * candidates themselves untouched. A bounded heap plus an in-place heapsort: no allocation, and no
     * JDK sort (whose vectorized paths are not needed for at most a vocabulary of keys).
     */
    int selectTop(int k) {
        k = Math.min(k, size);
        if (k <= 0) return 0;
        // max-heap on key: keys[0] is the worst of the k best so far
        int h = 0;
        for (int i = 0; i < size; i++) {
            long key = key(logits[i], ids[i]);
            if (h < k) {
                int j = h++;
                keys[j] = key;
                while (j > 0) {
                    int p = (j - 1) >>> 1;
                    if (keys[p] >= keys[j]) break;
                    long t = keys[p]; keys[p] = keys[j]; keys[j] = t;
                    j = p;
                }
            } else if (key < keys[0]) {
                keys[0] = key;
                siftDown(0, k);
            }
        }
        // heapsort: repeatedly move the largest key (worst candidate) to the end
        for (int end = k - 1; end > 0; end--) {
            long t = keys[0]; keys[0] = keys[end]; keys[end] = t;
            siftDown(0, end);
        }
        return k;
    }

    private void siftDown(int j, int n) {
        while (true) {
            int l = 2 * j + 1, r = l + 1, m = j;
            if (l < n && keys[l] > keys[m]) m = l;
            if (r < n && keys[r] > keys[m]) m = r;
            if (m == j) return;
            long t = keys[m]; keys[m] = keys[j]; keys[j] = t;
            j = m;
        }
    }

    long keyAt(int i) { return keys[i]; }

    /** Keeps the first {@code n} candidates of the last {@link #selectTop} (sorted). */
    void keepSelected(int n) {
        fromKeys(n);
        size = n;
        sorted = true;
    }

    /** probs[i] = softmax(logits)[i] over the live candidates; returns the largest logit. */
    float softmax() {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < size; i++) max = Math.max(max, logits[i]);
        double sum = 0;
        for (int i = 0; i < size; i++) {
            float e = (float) Math.exp(logits[i] - max);
            probs[i] = e;
            sum += e;
        }
        float inv = (float) (1 / sum);
        for (int i = 0; i < size; i++) probs[i] *= inv;
        return max;
    }

    /** Drops candidates whose logit is below {@code threshold} (keeps order, at least {@code minKeep}). */
    void keepAtLeast(float threshold, int minKeep) {
        if (sorted) {
            int n = 0;
            while (n < size && logits[n] >= threshold) n++;
            size = Math.max(n, Math.min(minKeep, size));
            return;
        }
        int n = 0;
        for (int i = 0; i < size; i++) {
            if (logits[i] >= threshold) {
                ids[n] = ids[i];
                logits[n] = logits[i];
                n++;
            }
        }
        size = n; // callers pass a threshold <= the largest logit, so n >= 1
    }
}
