package qwen4j.tokenizer;

/**
 * Byte-pair merging of one pre-token, HF style: repeatedly merge the adjacent pair with the lowest
 * merge rank, the leftmost one on ties, until no adjacent pair has a merge. Short words use a
 * simple scan (fast for the usual 1-20 symbols); long ones a priority queue, so that a pathological
 * 100 kB word costs O(n log n), not O(n^2). Both give identical results (tested).
 */
final class Bpe {
    static final int SCAN_LIMIT = 48;
    private static final int NONE = Integer.MAX_VALUE;

    private final MergeTable merges;

    Bpe(MergeTable merges) {
        this.merges = merges;
    }

    /** Merges ids[0, n) in place; returns the new length. */
    int merge(int[] ids, int n) {
        if (n < 2) return n;
        return n <= SCAN_LIMIT ? mergeByScan(ids, n) : mergeByHeap(ids, n);
    }

    int mergeByScan(int[] ids, int n) {
        int[] rank = new int[n];
        int[] result = new int[n];
        for (int i = 0; i + 1 < n; i++) pairAt(ids, i, rank, result);
        int m = n;
        while (m > 1) {
            int best = NONE, bi = -1;
            for (int i = 0; i + 1 < m; i++) {
                if (rank[i] < best) {
                    best = rank[i];
                    bi = i;
                }
            }
            if (bi < 0) break;
            ids[bi] = result[bi];
            // drop symbol bi+1 and the pair that started at it
            int tail = m - (bi + 2);
            if (tail > 0) {
                System.arraycopy(ids, bi + 2, ids, bi + 1, tail);
                System.arraycopy(rank, bi + 2, rank, bi + 1, tail);
                System.arraycopy(result, bi + 2, result, bi + 1, tail);
            }
            m--;
            if (bi + 1 < m) pairAt(ids, bi, rank, result);
            else rank[bi] = NONE;
            if (bi > 0) pairAt(ids, bi - 1, rank, result);
        }
        return m;
    }

    private void pairAt(int[] ids, int i, int[] rank, int[] result) {
        int slot = merges.find(ids[i], ids[i + 1]);
        if (slot < 0) {
            rank[i] = NONE;
        } else {
            rank[i] = merges.rankAt(slot);
            result[i] = merges.resultAt(slot);
        }
    }

    int mergeByHeap(int[] ids, int n) {
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1; // n means "none"
        }
        LongHeap heap = new LongHeap(n);
        for (int i = 0; i + 1 < n; i++) push(heap, ids, i, i + 1);
        while (!heap.isEmpty()) {
            long top = heap.pop();
            int rank = (int) (top >>> 32);
            int p = (int) top;
            if (ids[p] < 0) continue;
            int q = next[p];
            if (q >= n) continue;
            int slot = merges.find(ids[p], ids[q]);
            if (slot < 0 || merges.rankAt(slot) != rank) continue; // stale entry
            ids[p] = merges.resultAt(slot);
            ids[q] = -1;
            int r = next[q];
            next[p] = r;
            if (r < n) prev[r] = p;
            if (prev[p] >= 0) push(heap, ids, prev[p], p);
            if (r < n) push(heap, ids, p, r);
        }
        int m = 0;
        for (int i = 0; i < n; i = next[i]) ids[m++] = ids[i];
        return m;
    }

    private void push(LongHeap heap, int[] ids, int p, int q) {
        int slot = merges.find(ids[p], ids[q]);
        if (slot >= 0) heap.push(((long) merges.rankAt(slot) << 32) | p);
    }

    /** Binary min-heap of longs. */
    private static final class LongHeap {
        private long[] a;
        private int size;

        LongHeap(int capacity) {
            a = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        void push(long v) {
            if (size == a.length) a = java.util.Arrays.copyOf(a, size * 2);
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (a[parent] <= v) break;
                a[i] = a[parent];
                i = parent;
            }
            a[i] = v;
        }

        long pop() {
            long top = a[0];
            long v = a[--size];
            int i = 0;
            int half = size >>> 1;
            while (i < half) {
                int c = 2 * i + 1;
                if (c + 1 < size && a[c + 1] < a[c]) c++;
                if (v <= a[c]) break;
                a[i] = a[c];
                i = c;
            }
            a[i] = v;
            return top;
        }
    }
}
