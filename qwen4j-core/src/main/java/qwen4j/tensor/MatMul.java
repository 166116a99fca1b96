package qwen4j.tensor;

import static qwen4j.tensor.Simd.D;
import static qwen4j.tensor.Simd.F;
import static qwen4j.tensor.Simd.L;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The tiled, register-blocked matrix-matrix kernel behind the fast {@link Matrix#matmul}s
 * (prefill: n activation rows times the weight matrix).
 *
 * <p>Three ways, chosen by the number of tokens n:
 * <ul>
 * <li><b>Matrix-vector products</b> (n &lt;= {@link #matvecTokens}: 3, 8 for BF16): each token's
 * product is the matrix's own matvec kernel, run over chunks of rows small enough to stay in L2,
 * token after token, so the weights come from memory once and from cache for the other tokens.
 * Converting a tile to float32 and storing it costs more per weight than a whole fused matvec
 * reading from cache, so for a few tokens (decode of a few sequences) this is the fastest way, and
 * each token gets the values of its matvec alone. BF16 and F16 (finite) fuse 2 to {@link #FUSED_TOKENS_MAX}
 * tokens instead, and at 16 lanes Q4_0 and Q8_0 2 to {@link #FUSED_QUANT_TOKENS_MAX} ({@link #fused}): the
 * same steps per token, each weight decoded once per four tokens (two below 16 lanes).</li>
 * <li><b>Token vectors</b> (n >= {@link #TOKEN_VECTORS_MIN}, 13 at 16 lanes): x is packed once per dispatch
 * ({@link Tokens}: blocks of 32 tokens, k-major, so the 32 tokens' values of one column are 32 / L
 * vectors: 2 at 16 lanes, 4 at 8, 8 at 4). A tile of 16 weight rows is converted to float32 (a column
 * slice of at most {@link #SLICE}), then for every block of 32 tokens, pair of token vectors and group
 * of 8 rows: per column, 2 x loads and 8 broadcast weights feed 16 FMAs into 16 accumulators (8 rows
 * x 2L tokens), no lane sums; with 8 lanes (AVX2: 16 vector registers) as two 4-row calls. The
 * kernel alone runs at 95-99% of one core's FMA peak in L1 (GemmCpuTime); the x slice (32 tokens) and the
 * weight tile stay in L2. Each (row, token) result is one FMA chain in column order over all
 * columns: a later slice's call starts from the partial sums the previous slice left (kept per
 * thread, see {@link #PARTIALS}), and results are written to out once, after the last slice. At
 * 16 lanes a last block of at most 16 tokens goes in column pairs instead (see {@link #PAIRS}).</li>
 * <li><b>Dot products</b> (fewer tokens): every group of 4 tokens times every group of 4 rows of
 * the tile, vectors along the columns: 16 accumulators, 4 weight and 4 x loads per 16 FMAs, lane
 * sums once per (row, token) at the end. With full rows this streams x from L3 for every tile,
 * which is why it reached only ~50% of the FMA peak; it stays for short prompts, where 32-token
 * vectors would be mostly padding.</li>
 * </ul>
 * Either way weights are converted once per call whatever n is, so conversion costs 1/n of a
 * matvec's; a result does not depend on the row range or row group that computed it.
 */
public final class MatMul {
    private MatMul() {}

    /** Target floats of one converted weight tile (256 KB: fits L2 next to 4 x rows). */
    static final int TILE_FLOATS = 64 * 1024;

    /** What the kernel needs of a matrix: its shape and its rows as float32. */
    public interface Rows {
        int rows();

        int cols();

        /** Row r as float32 into dst[off .. off + cols()). */
        void decodeRow(int r, float[] dst, int off);

        /**
         * Columns [k0, k0 + n) of row r as float32 into dst[off ..]; k0 and n are multiples of
         * {@link #SLICE} (n may end at cols()).
         */
        void decodeRange(int r, int k0, int n, float[] dst, int off);

        /**
         * Reads one byte per cache line of what {@link #decodeRange}{@code (r, k0, n, ...)} will read,
         * so that the decode finds it in cache; returns something computed from them (so the reads
         * are kept). Default: nothing (types whose decode does not stall on memory).
         */
        default int touch(int r, int k0, int n) { return 0; }
    }

    /**
     * Where {@link Rows#touch} results go (a field write keeps the JIT from dropping the reads; the
     * workers' writes race, harmlessly: nothing reads it).
     */
    static int touched;

    /** {@link Rows#touch} for {@code bytes} bytes at {@code off} of {@code seg}: one byte per 64, and the last. */
    public static int touch(java.lang.foreign.MemorySegment seg, long off, long bytes) {
        if (bytes <= 0) return 0;
        int s = 0;
        for (long o = off, end = off + bytes; o < end; o += 64) s += seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, o);
        return s + seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, off + bytes - 1);
    }

    /**
     * Rows longer than {@link #LONG_ROW} are taken in column slices of this many (a multiple of
     * every block size), so a tile keeps 16 rows and the x slice of all tokens stays in L2: without
     * it the 18944-column down projection got 4-row tiles and streamed all of x from memory every
     * 4 rows (7B pp256 ran at half the speed of pp64).
     */
    public static final int SLICE = 2048;
    static final int LONG_ROW = 4096;

    /** Columns decoded at once for rows of {@code cols} floats. */
    static int sliceCols(int cols) {
        return cols <= LONG_ROW ? cols : SLICE;
    }

    /** Rows per converted tile for slices of {@code cols} floats: a multiple of 4 in [4, 16]. */
    public static int tileRows(int cols) {
        return Math.max(4, Math.min(16, TILE_FLOATS / Math.max(1, cols) / 4 * 4));
    }

    /** Scratch floats {@link #tiled} needs for rows of {@code cols} floats (either kernel). */
    public static int scratchFloats(int cols) {
        int kc = sliceCols(cols);
        return Math.max(tileRows(kc) * kc, TV_ROWS * Math.min(cols, SLICE)) + LANE_SUMS;
    }

    /** Floats at the end of the scratch where {@link #k4x4} parks its 16 accumulators for their lane sums. */
    static final int LANE_SUMS = 16 * L;

    /**
     * Fewest tokens for the token-vector kernel: one whole token vector at 16 lanes (k8x1), which
     * beats the dot-product kernel from there (batched decode of 16 sequences, a 16-token prompt).
     */
    public static final int TOKEN_VECTORS_MIN = 16;
    /**
     * The same where the tokens go in column pairs ({@link #PAIRS}, rows of even length): from 13
     * tokens the paired kernel beats the dot-product kernel (FewTokensCpuTime, 2048 x 3584, one core:
     * Q4_0 13 tokens 0.24 vs 0.30 ns per weight, BF16 0.29 vs 0.38; at 12 they are even).
     */
    public static final int PAIRED_TOKENS_MIN = 13;
    /**
     * Most tokens for matrix-vector products over cached row chunks (see the class comment): quantized,
     * F16 and F32 weights. FewTokensCpuTime, one core, ns per weight, matvecs against the dot-product
     * kernel over float tiles: F16 16384 x 896 2 tokens 0.13 vs 0.31, 3 tokens 0.19 vs 0.36, 4 tokens
     * 0.22 vs 0.28; F16 4096 x 3584 3 tokens 0.15 vs 0.28, 4 tokens 0.31 vs 0.26; F32 4096 x 3584 3 tokens
     * 0.28 vs 0.42.
     */
    public static final int MATVEC_TOKENS = 3;
    /**
     * The same for BF16, whose tile conversion and dot-product kernel cost more per weight than a
     * quantized type's against a matvec that is memory-bound (FewTokensCpuTime: 8 tokens 0.27 vs 0.33
     * ns/weight from memory). (BF16, finite F16, and at 16 lanes Q4_0 and Q8_0 take their fused tokens through
     * {@link #fused} instead.)
     */
    public static final int MATVEC_TOKENS_BF16 = 8;

    /** Most tokens that {@link #tiled} runs as matvecs over cached row chunks for this matrix (0: never). */
    static int matvecTokens(Rows m) {
        if (!(m instanceof Matrix mm)) return 0;
        return mm.type() == DType.BF16 ? MATVEC_TOKENS_BF16 : MATVEC_TOKENS;
    }
    /** Weight bytes per row chunk of those products: a fraction of L2, with room for x and the rest. */
    static final long MATVEC_CHUNK_BYTES = 256 * 1024;
    /**
     * Weight bytes per row chunk of {@link #fused} past one pass (5+ tokens; 3+ below 16 lanes): the later
     * passes read the chunk again from cache. One core, {@code FewTokensCpuTime BF16 16384 3584 6,8} (Zen 4,
     * 16 lanes), ns per weight: 256 KB 0.237-0.246, 0.267-0.287; 128 KB 0.192-0.201, 0.219-0.224 (64 KB
     * 0.216-0.220, 0.248; 512 KB 0.225, 0.252-0.258); Q4_0 and Q8_0 the same within 3%, and BF16 at 8 and
     * 4 lanes. The matvecs' chunks stay at 256 KB: Q4_K's 2-3 tokens were 8-11% slower at 128.
     */
    static final long FUSED_CHUNK_BYTES = 128 * 1024;
    /** Tokens per block of the token-vector kernel: a whole number of pairs of L-lane vectors for L in 4, 8, 16. */
    static final int TB = 32;

    static {
        // VectorSupport sends other widths to the scalar kernels; this states the layout's need.
        if (TB % (2 * L) != 0) throw new IllegalStateException("token blocks of " + TB + " need at most 16 float lanes, have " + L);
    }
    /** Weight rows converted per tile in the token-vector kernel. */
    static final int TV_ROWS = 16;
    /**
     * Whether 8-row groups run as two 4-row calls: with 8 float lanes (AVX2, 16 vector registers).
     * AVX-512 and NEON have 32 registers, enough for k8x2.
     */
    static final boolean FOUR_ROWS = L == 8;
    /** One 8-row x 32-token block of partial sums. */
    static final int TV_OUT = 8 * TB;
    /**
     * Whether a last block of at most 16 tokens is packed in column pairs (16 lanes only): a vector
     * holds 8 tokens' values of two columns, and each 8-byte broadcast of a row's two weights feeds
     * two FMAs ({@link #k8p}). As one token vector (k8x1), one 4-byte broadcast per FMA bounded the
     * kernel at ~60% of k8x2's rate per multiply-add (this CPU broadcasts one per cycle): batched
     * decode of 16 sequences and 16-token prompt chunks. Rows of odd length keep k8x1.
     */
    static final boolean PAIRS = L == 16;

    /**
     * Activation rows packed for the token-vector kernel: token block b (tokens 32b .. 32b + 31)
     * holds, for each column j, the 32 tokens' x[t][j] side by side at {@code (b * k + j) * 32};
     * tokens past n are zeros. Reused across dispatches (grows as needed), so packing allocates
     * nothing in steady state. Fewer than {@link #TOKEN_VECTORS_MIN} tokens are not packed.
     */
    public static final class Tokens {
        private float[] packed = new float[0];
        private float[] x;
        private int n, k;
        /** Whether the last block is packed in column pairs ({@link #PAIRS}). */
        private boolean pairedTail;

        /** Packs x (n rows of k floats) when n is large enough for the token-vector kernel. */
        public Tokens pack(float[] x, int n, int k) {
            prepare(x, n, k);
            if (packs()) packColumns(0, k);
            return this;
        }

        /**
         * Takes x and sizes the packed form without filling it: then {@link #packColumns} over
         * [0, k), which threads may share out by column ranges, when {@link #packs()}.
         */
        public void prepare(float[] x, int n, int k) {
            if (x.length < (long) n * k) throw new IllegalArgumentException("x has " + x.length + " floats, need " + n * k);
            this.x = x;
            this.n = n;
            this.k = k;
            this.pairedTail = PAIRS && k % 2 == 0 && n - (blocks() - 1) * TB <= 16;
            if (!packs()) return;
            long need = (long) blocks() * k * TB;
            if (need > Integer.MAX_VALUE - 16) throw new IllegalArgumentException(n + " x " + k + " activations are too many to pack");
            if (packed.length < need) packed = new float[(int) need];
        }

        /** Whether these tokens use the packed form (enough of them for the token-vector kernel). */
        public boolean packs() { return n >= TOKEN_VECTORS_MIN || n >= PAIRED_TOKENS_MIN && PAIRS && k % 2 == 0; }

        private int blocks() { return (n + TB - 1) / TB; }

        /** Packs columns [from, to) of every token (zeros for the padding tokens of the last block). */
        public void packColumns(int from, int to) {
            float[] p = packed, src = x;
            int blocks = blocks(), full = pairedTail ? blocks - 1 : blocks;
            if (pairedTail) {
                // column pair j / 2 at base + 16 j: tokens 0-7 then 8-15, each token's two columns side by side
                int b = blocks - 1, base = b * k * TB;
                for (int tt = 0; tt < 16; tt++) {
                    int t = b * TB + tt, q = base + (tt >> 3) * 16 + (tt & 7) * 2;
                    for (int j = from, xo = t * k; j < to; j++) p[q + (j >> 1) * 32 + (j & 1)] = t < n ? src[xo + j] : 0f;
                }
            }
            for (int b = 0; b < full; b++) {
                int base = b * k * TB;
                for (int tt = 0; tt < TB; tt++) {
                    int t = b * TB + tt;
                    if (t < n) {
                        for (int j = from, xo = t * k; j < to; j++) p[base + j * TB + tt] = src[xo + j];
                    } else {
                        for (int j = from; j < to; j++) p[base + j * TB + tt] = 0f;
                    }
                }
            }
        }

        /** A fresh packing (allocates; for direct calls outside a dispatch). */
        public static Tokens of(float[] x, int n, int k) { return new Tokens().pack(x, n, k); }

        public float[] x() { return x; }

        public int n() { return n; }

        public int k() { return k; }
    }

    /** out[t * rows + r] = dot(row r, x row t) for r in [from, to), t in [0, n). Packs x itself when needed. */
    public static void tiled(Rows m, float[] x, int n, float[] out, int from, int to, float[] w) {
        tiled(m, Tokens.of(x, n, m.cols()), out, from, to, w);
    }

    /** As {@link #tiled(Rows, float[], int, float[], int, int, float[])} with x already packed. */
    public static void tiled(Rows m, Tokens xs, float[] out, int from, int to, float[] w) {
        if (xs.k() != m.cols()) throw new IllegalArgumentException("x rows have " + xs.k() + " floats, need " + m.cols());
        if (xs.n() <= matvecTokens(m)) {
            matvecs((Matrix) m, xs.x(), xs.n(), out, from, to);
        } else if (xs.packs()) {
            tokenVectors(m, xs, out, from, to, w);
        } else {
            dotProducts(m, xs.x(), xs.n(), out, from, to, w);
        }
    }

    /**
     * Per-thread scratch of {@link #matvecs}: for token t >= 1, [2t] its x row in an array of its own (a
     * matvec reads x from index 0) and [2t + 1] its results indexed by row, as a matvec writes them.
     */
    private static final ThreadLocal<float[][]> MATVEC_SCRATCH = ThreadLocal.withInitial(() -> new float[0][]);

    /** out[t * rows + r] = dot(row r, x row t) as n matvecs over chunks of rows that stay in cache. */
    static void matvecs(Matrix m, float[] x, int n, float[] out, int from, int to) {
        int k = m.cols(), rows = m.rows();
        if (x.length < (long) n * k) throw new IllegalArgumentException("x has " + x.length + " floats, need " + n * k);
        if (out.length < (long) n * rows) throw new IllegalArgumentException("out has " + out.length + " floats, need " + n * rows);
        float[][] s = MATVEC_SCRATCH.get();
        if (s.length < 2 * n) MATVEC_SCRATCH.set(s = java.util.Arrays.copyOf(s, 2 * n));
        for (int t = 1; t < n; t++) {
            if (s[2 * t] == null || s[2 * t].length < k) s[2 * t] = new float[k];
            if (s[2 * t + 1] == null || s[2 * t + 1].length < rows) s[2 * t + 1] = new float[rows];
            System.arraycopy(x, t * k, s[2 * t], 0, k);
        }
        long rowBytes = Math.max(1, m.byteSize() / Math.max(1, rows));
        int chunk = (int) Math.max(4, MATVEC_CHUNK_BYTES / rowBytes / 4 * 4);
        for (int r0 = from; r0 < to; r0 += chunk) {
            int r1 = Math.min(to, r0 + chunk);
            m.matvec(x, out, r0, r1); // token 0: its x and out rows start at 0
            for (int t = 1; t < n; t++) m.matvec(s[2 * t], s[2 * t + 1], r0, r1);
        }
        for (int t = 1; t < n; t++) System.arraycopy(s[2 * t + 1], from, out, t * rows + from, to - from);
    }

    // The four-row schedule of every matvec with four-row kernels and of the fused passes: pass i takes
    // row i of each quarter of [from, to), four long memory streams each running on through consecutive
    // rows; 1-3 rows left take one more pass over the last four, consecutive (a row's values do not
    // depend on its pass), so the short kernels never run in a hot call.

    /** Passes of the four-row schedule over [from, to), at least 4 rows. */
    public static int quarterPasses(int from, int to) { return (to - from + 3) / 4; }

    /** First row of pass i of the four-row schedule. */
    public static int quarterRow(int from, int to, int i) { return i < (to - from) / 4 ? from + i : to - 4; }

    /** Rows between the four rows of pass i of the four-row schedule. */
    public static int quarterStep(int from, int to, int i) { return i < (to - from) / 4 ? (to - from) / 4 : 1; }

    /**
     * The fused kernels of a type for a few tokens (BF16, finite F16; Q4_0, Q8_0 at 16 lanes): rows r0 + k step
     * (k = 0..3; step 0 repeats one row) times g tokens (2 or 4) whose x rows start at xa, xb, xc, xd;
     * the result of token u and row k goes to o[4 u + k]. Each token must take its matvec's steps, so
     * that its values are its matvec's.
     */
    public interface FourRowPass {
        void pass(int g, int r0, int step, float[] x, int xa, int xb, int xc, int xd, float[] o);
    }

    /** Fewest tokens of {@link #fused}. */
    public static final int FUSED_TOKENS_MIN = 2;
    /**
     * Most tokens of {@link #fused} (BF16 and finite F16 use it up to here, the tile kernels past it): one
     * core, {@code FewTokensCpuTime BF16 16384 3584}, ns per weight, fused / tiles: 16 lanes 12 tokens
     * 0.304 / 0.437, 16 tokens 0.384 / 0.581 (F16 0.447 / 0.583); 8 lanes 12 tokens 0.504 / 0.671, 16
     * tokens 0.637 / 0.638, 24 tokens 0.915 / 0.845; 4 lanes 12 tokens 0.811 / 0.651.
     */
    public static final int FUSED_TOKENS_MAX = L >= 16 ? 16 : L == 8 ? 12 : 8;
    /**
     * Most tokens of the quantized fused kernels that keep each token's matvec bits (Q4_0, Q8_0 at 16 lanes):
     * 12 and 16 tokens ran within 3% of the tiles, and a perplexity run through 9-16-token Q8_0 passes gave
     * other bits with C2 only than with tiered compilation (ReproducibleScoringTest), so they stop at 8. Past
     * 8, Q4_0 (to 16) and Q8_0 (to 12) take fused kernels with each row's weights times d first
     * (QuantMatrix.scalesTokens; one core, 16384 x 3584, ns per weight: Q4_0 9 tokens 0.154 against float
     * tiles' 0.211, 12 0.164-0.171 against 0.230, 16 0.207-0.213 against the token vectors' 0.226-0.236;
     * Q8_0 9 0.18 against 0.26-0.28, 12 0.18 against 0.27-0.33).
     */
    public static final int FUSED_QUANT_TOKENS_MAX = 8;
    /**
     * Most tokens per pass: 4 at 16 lanes (16 accumulators of 32 registers); 2 below, where AVX2 has 16
     * vector registers and four rows x 4 tokens would spill (the passes then take tokens in pairs).
     */
    public static final int FUSED_GROUP = L >= 16 ? 4 : 2;
    /**
     * Smallest x of one fused pass (its tokens times the columns, as floats) for which {@link #fused} reads each
     * chunk first: below it x stays in L1 beside the four weight streams and the hardware's prefetch overlaps
     * their reads with the arithmetic.
     */
    static final long READ_FIRST_X_BYTES = 12 * 1024;

    /** Whether {@link #fused} reads each chunk first (given the weights' address) for n tokens of cols columns. */
    static boolean readsFirst(int n, int cols) {
        return (long) Math.min(n, FUSED_GROUP) * cols * Float.BYTES > READ_FIRST_X_BYTES;
    }
    /** Outputs of one fused pass, one buffer per thread. */
    private static final ThreadLocal<float[]> FUSED_OUT = ThreadLocal.withInitial(() -> new float[16]);

    /**
     * out[t * rows + r] for r in [from, to), t in [0, n) (n from FUSED_TOKENS_MIN to FUSED_TOKENS_MAX), x rows of cols
     * floats: four rows x 2
     * or 4 tokens per pass of k (past n, the last token again; 2 only below 16 lanes, {@link #FUSED_GROUP}),
     * so each weight is decoded once per 4 (2) tokens. Four rows in long streams, as the matvecs take
     * them (row i of each quarter of the range): one core's read rate grows with the memory streams in flight, and kernels of two rows x 4 or 8
     * tokens read memory at half the rate (one core, 16384 x 3584 from memory, ns per weight, Q4_0: 4
     * tokens 0.124 -> 0.076, 8 tokens 0.175 -> 0.155; Q8_0 0.134 -> 0.095, 0.276 -> 0.186). Past 4 tokens: per
     * chunk of rows that stays in L2 ({@link #FUSED_CHUNK_BYTES}), tokens 0-3 (weights from memory), then the
     * rest, 4 at a time (from cache); so too past 2 tokens below 16 lanes.
     *
     * <p>With {@code address} (the weights' absolute address; 0: none) every chunk's rows are first read once,
     * one long per cache line ({@link #touchLines}), and its passes then run on cached weights. Passes that
     * read memory themselves lost the overlap of reads and arithmetic once the tokens' x outgrew L1
     * ({@code StreamOverlapCpuTime}); reading first, then computing, costs the sum of the two at full speed
     * each. One core, BF16 16384 x 3584 from memory, ns per weight: 2 tokens 0.109-0.113 -> 0.071, 4
     * 0.120-0.125 -> 0.083, 8 0.157-0.163 -> 0.122-0.124, 16 0.220-0.230 -> 0.180-0.199 (F16 alike). Q4_0
     * gained nothing (its kernel is bound by its arithmetic), Q8_0 1.06-1.07x one core past 4 tokens but nothing
     * in the engine: they pass 0. Rows narrow enough that a pass's x stays in L1 ({@link #READ_FIRST_X_BYTES})
     * are not read first: there the streams' hardware prefetch overlaps reads and arithmetic (0.5B F16 file,
     * batched decode of 2 sequences 1.18x, 3 sequences 1.14x; a 1.5B BF16 model, 2 sequences, 1.26x).
     */
    public static void fused(FourRowPass k, long address, int rows, int cols, long rowBytes, float[] x, int n, float[] out, int from, int to) {
        java.util.Objects.checkFromToIndex(from, to, rows);
        if (n < FUSED_TOKENS_MIN || n > FUSED_TOKENS_MAX) {
            throw new IllegalArgumentException("fused products take " + FUSED_TOKENS_MIN + "-" + FUSED_TOKENS_MAX + " tokens, not " + n);
        }
        if (x.length < (long) n * cols) throw new IllegalArgumentException("x has " + x.length + " floats, need " + (long) n * cols);
        if (out.length < (long) n * rows) throw new IllegalArgumentException("out has " + out.length + " floats, need " + (long) n * rows);
        float[] o = FUSED_OUT.get();
        boolean touch = address != 0 && readsFirst(n, cols);
        int chunk = n <= FUSED_GROUP && !touch ? Math.max(1, to - from) : (int) Math.max(4, FUSED_CHUNK_BYTES / Math.max(1, rowBytes) / 4 * 4);
        long sink = 0;
        for (int c0 = from; c0 < to; c0 += chunk) {
            int c1 = Math.min(to, c0 + chunk);
            if (touch) sink += touchLines(address + c0 * rowBytes, (c1 - c0) * rowBytes);
            for (int t = 0; t < n; ) {
                int m = Math.min(FUSED_GROUP, n - t), g = m <= 2 ? 2 : 4;
                int xa = t * cols, xb = (t + Math.min(1, m - 1)) * cols, xc = (t + Math.min(2, m - 1)) * cols, xd = (t + m - 1) * cols;
                if (c1 - c0 < 4) {
                    for (int r = c0; r < c1; r++) { // 1-3 rows: each as all four rows of a pass
                        k.pass(g, r, 0, x, xa, xb, xc, xd, o);
                        for (int u = 0; u < m; u++) out[(t + u) * rows + r] = o[4 * u];
                    }
                } else {
                    for (int i = 0, passes = quarterPasses(c0, c1); i < passes; i++) {
                        int r0 = quarterRow(c0, c1, i), step = quarterStep(c0, c1, i);
                        k.pass(g, r0, step, x, xa, xb, xc, xd, o);
                        for (int u = 0; u < m; u++) {
                            for (int j = 0; j < 4; j++) out[(t + u) * rows + r0 + j * step] = o[4 * u + j];
                        }
                    }
                }
                t += m;
            }
        }
        if (touch) touched = (int) sink;
    }

    /**
     * Reads one long per 64 bytes of [addr, addr + bytes), none past its end: brings the lines into cache at
     * the speed of a plain read (a byte per line, as {@link #touch} reads the GEMM's next tile, ran at two thirds
     * of it). Returns their sum, for a sink.
     */
    static long touchLines(long addr, long bytes) {
        long s = 0;
        for (long o = addr, last = addr + bytes - 8; o <= last; o += 64) s += SimdHalfFused.ALL.get(ValueLayout.JAVA_LONG_UNALIGNED, o);
        return s;
    }

    static void dotProducts(Rows m, float[] x, int n, float[] out, int from, int to, float[] w) {
        int k = m.cols(), rows = m.rows();
        if (x.length < n * k) throw new IllegalArgumentException("x has " + x.length + " floats, need " + n * k);
        if (out.length < n * rows) throw new IllegalArgumentException("out has " + out.length + " floats, need " + n * rows);
        int kcMax = sliceCols(k);
        int tile = tileRows(kcMax);
        if (w.length < tile * kcMax + LANE_SUMS) throw new IllegalArgumentException("scratch has " + w.length + " floats, need " + (tile * kcMax + LANE_SUMS));
        for (int r0 = from; r0 < to; r0 += tile) {
            int rt = Math.min(tile, to - r0);
            for (int k0 = 0; k0 < k; k0 += kcMax) {
                int kc = Math.min(kcMax, k - k0);
                boolean add = k0 > 0; // later slices add their partial sums
                if (kc == k) {
                    for (int i = 0; i < rt; i++) m.decodeRow(r0 + i, w, i * kc);
                } else {
                    for (int i = 0; i < rt; i++) m.decodeRange(r0 + i, k0, kc, w, i * kc);
                }
                int t = 0;
                for (; t + 4 <= n; t += 4) {
                    int i = 0;
                    for (; i + 4 <= rt; i += 4) k4x4(w, i * kc, kc, x, t * k + k0, k, out, t * rows + r0 + i, rows, add);
                    for (; i < rt; i++) k1x4(w, i * kc, x, t * k + k0, k, kc, out, t * rows + r0 + i, rows, add);
                }
                for (; t < n; t++) {
                    int i = 0;
                    for (; i + 4 <= rt; i += 4) k4x1(w, i * kc, x, t * k + k0, kc, out, t * rows + r0 + i, add);
                    for (; i < rt; i++) {
                        float v = k1x1(w, i * kc, x, t * k + k0, kc);
                        int o = t * rows + r0 + i;
                        out[o] = add ? out[o] + v : v;
                    }
                }
            }
        }
    }

    /**
     * 4 weight rows (at w0, w0 + ws, ...) x 4 tokens (at x0, x0 + xs, ...), k columns; results go
     * to out[o + row + token * os] (added to it when {@code add}).
     */
    private static void k4x4(float[] w, int w0, int ws, float[] x, int x0, int xs, float[] out, int o, int os, boolean add) {
        int k = ws;
        int w1 = w0 + ws, w2 = w1 + ws, w3 = w2 + ws;
        int x1 = x0 + xs, x2 = x1 + xs, x3 = x2 + xs;
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int j = 0;
        for (int end = k / L * L; j < end; j += L) {
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + j);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + j);
            FloatVector v2 = FloatVector.fromArray(F, x, x2 + j);
            FloatVector v3 = FloatVector.fromArray(F, x, x3 + j);
            FloatVector u = FloatVector.fromArray(F, w, w0 + j);
            a00 = u.fma(v0, a00); a01 = u.fma(v1, a01); a02 = u.fma(v2, a02); a03 = u.fma(v3, a03);
            u = FloatVector.fromArray(F, w, w1 + j);
            a10 = u.fma(v0, a10); a11 = u.fma(v1, a11); a12 = u.fma(v2, a12); a13 = u.fma(v3, a13);
            u = FloatVector.fromArray(F, w, w2 + j);
            a20 = u.fma(v0, a20); a21 = u.fma(v1, a21); a22 = u.fma(v2, a22); a23 = u.fma(v3, a23);
            u = FloatVector.fromArray(F, w, w3 + j);
            a30 = u.fma(v0, a30); a31 = u.fma(v1, a31); a32 = u.fma(v2, a32); a33 = u.fma(v3, a33);
        }
        // Lane sums in Simd.sum's order (a result does not depend on the kernel that computed it), L at
        // a time out of line (LaneSums) through the scratch's end: sixteen Simd.sums here put C2 past
        // its node budget.
        int sb = w.length - LANE_SUMS;
        a00.intoArray(w, sb); a01.intoArray(w, sb + L); a02.intoArray(w, sb + 2 * L); a03.intoArray(w, sb + 3 * L);
        a10.intoArray(w, sb + 4 * L); a11.intoArray(w, sb + 5 * L); a12.intoArray(w, sb + 6 * L); a13.intoArray(w, sb + 7 * L);
        a20.intoArray(w, sb + 8 * L); a21.intoArray(w, sb + 9 * L); a22.intoArray(w, sb + 10 * L); a23.intoArray(w, sb + 11 * L);
        a30.intoArray(w, sb + 12 * L); a31.intoArray(w, sb + 13 * L); a32.intoArray(w, sb + 14 * L); a33.intoArray(w, sb + 15 * L);
        // group g's sums overwrite group 0's first vectors, already loaded
        for (int g = 0; g < 16 / L; g++) LaneSums.sums(w, sb + g * L * L, w, sb + g * L);
        float s00 = w[sb], s01 = w[sb + 1], s02 = w[sb + 2], s03 = w[sb + 3];
        float s10 = w[sb + 4], s11 = w[sb + 5], s12 = w[sb + 6], s13 = w[sb + 7];
        float s20 = w[sb + 8], s21 = w[sb + 9], s22 = w[sb + 10], s23 = w[sb + 11];
        float s30 = w[sb + 12], s31 = w[sb + 13], s32 = w[sb + 14], s33 = w[sb + 15];
        put(out, o, os, s00, s01, s02, s03, add, w, w0, x, x0, xs, j, k);
        put(out, o + 1, os, s10, s11, s12, s13, add, w, w1, x, x0, xs, j, k);
        put(out, o + 2, os, s20, s21, s22, s23, add, w, w2, x, x0, xs, j, k);
        put(out, o + 3, os, s30, s31, s32, s33, add, w, w3, x, x0, xs, j, k);
    }

    /** One weight row's results for 4 tokens: leftover columns [j, k), then store or add. */
    private static void put(float[] out, int o, int os, float s0, float s1, float s2, float s3, boolean add,
                            float[] w, int wr, float[] x, int x0, int xs, int j, int k) {
        s0 = tail(s0, w, wr, x, x0, j, k);
        s1 = tail(s1, w, wr, x, x0 + xs, j, k);
        s2 = tail(s2, w, wr, x, x0 + 2 * xs, j, k);
        s3 = tail(s3, w, wr, x, x0 + 3 * xs, j, k);
        if (add) {
            out[o] += s0; out[o + os] += s1; out[o + 2 * os] += s2; out[o + 3 * os] += s3;
        } else {
            out[o] = s0; out[o + os] = s1; out[o + 2 * os] = s2; out[o + 3 * os] = s3;
        }
    }

    /** 1 weight row x 4 tokens. */
    private static void k1x4(float[] w, int w0, float[] x, int x0, int xs, int k, float[] out, int o, int os, boolean add) {
        int x1 = x0 + xs, x2 = x1 + xs, x3 = x2 + xs;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int j = 0;
        for (int end = k / L * L; j < end; j += L) {
            FloatVector u = FloatVector.fromArray(F, w, w0 + j);
            a0 = u.fma(FloatVector.fromArray(F, x, x0 + j), a0);
            a1 = u.fma(FloatVector.fromArray(F, x, x1 + j), a1);
            a2 = u.fma(FloatVector.fromArray(F, x, x2 + j), a2);
            a3 = u.fma(FloatVector.fromArray(F, x, x3 + j), a3);
        }
        float s0 = sum(a0), s1 = sum(a1), s2 = sum(a2), s3 = sum(a3);
        put(out, o, os, s0, s1, s2, s3, add, w, w0, x, x0, xs, j, k);
    }

    /** 4 weight rows x 1 token. */
    private static void k4x1(float[] w, int w0, float[] x, int x0, int k, float[] out, int o, boolean add) {
        int w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int j = 0;
        for (int end = k / L * L; j < end; j += L) {
            FloatVector v = FloatVector.fromArray(F, x, x0 + j);
            a0 = FloatVector.fromArray(F, w, w0 + j).fma(v, a0);
            a1 = FloatVector.fromArray(F, w, w1 + j).fma(v, a1);
            a2 = FloatVector.fromArray(F, w, w2 + j).fma(v, a2);
            a3 = FloatVector.fromArray(F, w, w3 + j).fma(v, a3);
        }
        float s0 = sum(a0), s1 = sum(a1), s2 = sum(a2), s3 = sum(a3);
        s0 = tail(s0, w, w0, x, x0, j, k);
        s1 = tail(s1, w, w1, x, x0, j, k);
        s2 = tail(s2, w, w2, x, x0, j, k);
        s3 = tail(s3, w, w3, x, x0, j, k);
        if (add) {
            out[o] += s0; out[o + 1] += s1; out[o + 2] += s2; out[o + 3] += s3;
        } else {
            out[o] = s0; out[o + 1] = s1; out[o + 2] = s2; out[o + 3] = s3;
        }
    }

    private static float k1x1(float[] w, int w0, float[] x, int x0, int k) {
        FloatVector a = FloatVector.zero(F);
        int j = 0;
        for (int end = k / L * L; j < end; j += L) a = FloatVector.fromArray(F, w, w0 + j).fma(FloatVector.fromArray(F, x, x0 + j), a);
        return tail(sum(a), w, w0, x, x0, j, k);
    }

    // ---------------------------------------------------------------- token vectors

    /**
     * Per-thread partial sums of the token-vector kernel: for a call's rows [from, to) and all its
     * tokens, 8-row groups x 32-token blocks of 256 floats ({@code c[row * 32 + token]}). Column
     * slices after the first continue these sums in the kernel's registers, so each result is
     * scattered into out (a transposition, scalar) once, not once per slice (10 times for the 7B
     * down projection). Grown when needed; steady state allocates nothing.
     */
    private static final ThreadLocal<float[]> PARTIALS = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * The scratch tile as a memory segment, for {@link #k8p}'s 8-byte loads of two floats; made once
     * per scratch array (one made per call escaped into the kernel's calls and was allocated every time).
     */
    private static final class TileView {
        private float[] array;
        private MemorySegment segment;

        MemorySegment of(float[] w) {
            if (w != array) {
                array = w;
                segment = MemorySegment.ofArray(w);
            }
            return segment;
        }
    }

    private static final ThreadLocal<TileView> TILE_VIEW = ThreadLocal.withInitial(TileView::new);

    private static void tokenVectors(Rows m, Tokens xs, float[] out, int from, int to, float[] w) {
        int k = m.cols(), rows = m.rows(), n = xs.n();
        if (out.length < n * rows) throw new IllegalArgumentException("out has " + out.length + " floats, need " + n * rows);
        float[] xt = xs.packed;
        int blocks = (n + TB - 1) / TB, groups = (to - from + 7) / 8;
        long need = (long) groups * blocks * TV_OUT;
        if (need > Integer.MAX_VALUE - 16) throw new IllegalArgumentException((to - from) + " rows x " + n + " tokens are too many for one call");
        float[] c = PARTIALS.get();
        if (c.length < need) PARTIALS.set(c = new float[(int) need]);
        int sink = 0;
        MemorySegment ws = xs.pairedTail ? TILE_VIEW.get().of(w) : null;
        int kcMax = Math.min(k, SLICE);
        for (int k0 = 0; k0 < k; k0 += kcMax) {
            int kc = Math.min(kcMax, k - k0);
            boolean add = k0 > 0;
            for (int r0 = from; r0 < to; r0 += TV_ROWS) {
                int rt = Math.min(TV_ROWS, to - r0);
                for (int i = 0; i < rt; i++) m.decodeRange(r0 + i, k0, kc, w, i * kc);
                // the next tile's rows (the next slice's first tile after the last) are touched before
                // this tile's last 8-row kernel call: their misses overlap that call's arithmetic, and
                // the decode right after it finds the lines (spread over all of the tile's calls, the
                // earliest touches could be evicted by the calls' x and tile streams before the
                // decode came).
                int nr0 = r0 + TV_ROWS < to ? r0 + TV_ROWS : from, nk0 = r0 + TV_ROWS < to ? k0 : k0 + kcMax;
                int nkc = Math.min(kcMax, k - nk0), nrt = nk0 < k ? Math.min(TV_ROWS, to - nr0) : 0;
                int calls = blocks * (rt / 8), call = 0;
                for (int b = 0; b < blocks; b++) {
                    boolean paired = b == blocks - 1 && xs.pairedTail;
                    int x0 = paired ? b * k * TB + k0 * 16 : (b * k + k0) * TB, left = n - b * TB;
                    int i = 0;
                    for (; i + 8 <= rt; i += 8) {
                        if (++call == calls) for (int t = 0; t < nrt; t++) sink += m.touch(nr0 + t, nk0, nkc);
                        int c0 = partialsAt(r0 - from + i, b, blocks);
                        if (paired) {
                            k8p(ws, i * kc, kc, xt, x0, c, c0, add);
                            continue;
                        }
                        // a 32-token block is 32 / (2L) pairs of token vectors (1 at 16 lanes, 4 at 4)
                        for (int s = 0; s < left && s < TB; s += 2 * L) {
                            if (left - s <= L) {
                                k8x1(w, i * kc, kc, xt, x0 + s, c, c0 + s, add);
                            } else if (FOUR_ROWS) {
                                k4x2(w, i * kc, kc, xt, x0 + s, c, c0 + s, add);
                                k4x2(w, (i + 4) * kc, kc, xt, x0 + s, c, c0 + s + 4 * TB, add);
                            } else {
                                k8x2(w, i * kc, kc, xt, x0 + s, c, c0 + s, add);
                            }
                        }
                    }
                    for (; i < rt; i++) {
                        int c0 = partialsAt(r0 - from + i, b, blocks);
                        if (paired) k1p(ws, i * kc, kc, xt, x0, c, c0, add);
                        else for (int s = 0; s < left && s < TB; s += 2 * L) k1x2(w, i * kc, kc, xt, x0 + s, c, c0 + s, add);
                    }
                }
            }
        }
        for (int g = 0; g < groups; g++) {
            int r = from + 8 * g, nr = Math.min(8, to - r);
            for (int b = 0; b < blocks; b++) {
                int c0 = partialsAt(8 * g, b, blocks), nt = Math.min(TB, n - b * TB), o = b * TB * rows + r;
                if (b == blocks - 1 && xs.pairedTail) scatterPairs(c, c0, nr, nt, out, o, rows);
                else scatter(c, c0, nr, nt, out, o, rows);
            }
        }
        touched = sink;
    }

    /** Where row q (counted from the call's first row) of token block b starts in {@link #PARTIALS}. */
    private static int partialsAt(int q, int b, int blocks) {
        return ((q / 8) * blocks + b) * TV_OUT + (q % 8) * TB;
    }

    /**
     * 8 weight rows (w0, w0 + kc, ...) x 32 tokens (the packed block at x0), kc columns: each
     * column broadcasts the 8 weights against the two token vectors. Results to c[row * 32 + token],
     * continuing the sums already there when {@code add} (a later column slice), else from zero.
     */
    static void k8x2(float[] w, int w0, int kc, float[] xt, int x0, float[] c, int c0, boolean add) {
        FloatVector a00, a01, a10, a11, a20, a21, a30, a31, a40, a41, a50, a51, a60, a61, a70, a71;
        if (add) {
            a00 = FloatVector.fromArray(F, c, c0); a01 = FloatVector.fromArray(F, c, c0 + L);
            a10 = FloatVector.fromArray(F, c, c0 + 32); a11 = FloatVector.fromArray(F, c, c0 + 32 + L);
            a20 = FloatVector.fromArray(F, c, c0 + 64); a21 = FloatVector.fromArray(F, c, c0 + 64 + L);
            a30 = FloatVector.fromArray(F, c, c0 + 96); a31 = FloatVector.fromArray(F, c, c0 + 96 + L);
            a40 = FloatVector.fromArray(F, c, c0 + 128); a41 = FloatVector.fromArray(F, c, c0 + 128 + L);
            a50 = FloatVector.fromArray(F, c, c0 + 160); a51 = FloatVector.fromArray(F, c, c0 + 160 + L);
            a60 = FloatVector.fromArray(F, c, c0 + 192); a61 = FloatVector.fromArray(F, c, c0 + 192 + L);
            a70 = FloatVector.fromArray(F, c, c0 + 224); a71 = FloatVector.fromArray(F, c, c0 + 224 + L);
        } else {
            FloatVector z = FloatVector.zero(F);
            a00 = z; a01 = z; a10 = z; a11 = z; a20 = z; a21 = z; a30 = z; a31 = z;
            a40 = z; a41 = z; a50 = z; a51 = z; a60 = z; a61 = z; a70 = z; a71 = z;
        }
        int w1 = w0 + kc, w2 = w1 + kc, w3 = w2 + kc, w4 = w3 + kc, w5 = w4 + kc, w6 = w5 + kc, w7 = w6 + kc;
        for (int j = 0, xo = x0; j < kc; j++, xo += TB) {
            FloatVector v0 = FloatVector.fromArray(F, xt, xo), v1 = FloatVector.fromArray(F, xt, xo + L);
            FloatVector b = FloatVector.broadcast(F, w[w0 + j]);
            a00 = v0.fma(b, a00); a01 = v1.fma(b, a01);
            b = FloatVector.broadcast(F, w[w1 + j]);
            a10 = v0.fma(b, a10); a11 = v1.fma(b, a11);
            b = FloatVector.broadcast(F, w[w2 + j]);
            a20 = v0.fma(b, a20); a21 = v1.fma(b, a21);
            b = FloatVector.broadcast(F, w[w3 + j]);
            a30 = v0.fma(b, a30); a31 = v1.fma(b, a31);
            b = FloatVector.broadcast(F, w[w4 + j]);
            a40 = v0.fma(b, a40); a41 = v1.fma(b, a41);
            b = FloatVector.broadcast(F, w[w5 + j]);
            a50 = v0.fma(b, a50); a51 = v1.fma(b, a51);
            b = FloatVector.broadcast(F, w[w6 + j]);
            a60 = v0.fma(b, a60); a61 = v1.fma(b, a61);
            b = FloatVector.broadcast(F, w[w7 + j]);
            a70 = v0.fma(b, a70); a71 = v1.fma(b, a71);
        }
        a00.intoArray(c, c0); a01.intoArray(c, c0 + L); a10.intoArray(c, c0 + 32); a11.intoArray(c, c0 + 32 + L);
        a20.intoArray(c, c0 + 64); a21.intoArray(c, c0 + 64 + L); a30.intoArray(c, c0 + 96); a31.intoArray(c, c0 + 96 + L);
        a40.intoArray(c, c0 + 128); a41.intoArray(c, c0 + 128 + L); a50.intoArray(c, c0 + 160); a51.intoArray(c, c0 + 160 + L);
        a60.intoArray(c, c0 + 192); a61.intoArray(c, c0 + 192 + L); a70.intoArray(c, c0 + 224); a71.intoArray(c, c0 + 224 + L);
    }

    /**
     * k8x2 for 4 rows: 8 accumulators, for machines with 16 vector registers (AVX2), where k8x2's 16
     * accumulators plus its x and weight vectors do not fit and C2 spills. The same FMA chain per result.
     */
    static void k4x2(float[] w, int w0, int kc, float[] xt, int x0, float[] c, int c0, boolean add) {
        FloatVector a00, a01, a10, a11, a20, a21, a30, a31;
        if (add) {
            a00 = FloatVector.fromArray(F, c, c0); a01 = FloatVector.fromArray(F, c, c0 + L);
            a10 = FloatVector.fromArray(F, c, c0 + 32); a11 = FloatVector.fromArray(F, c, c0 + 32 + L);
            a20 = FloatVector.fromArray(F, c, c0 + 64); a21 = FloatVector.fromArray(F, c, c0 + 64 + L);
            a30 = FloatVector.fromArray(F, c, c0 + 96); a31 = FloatVector.fromArray(F, c, c0 + 96 + L);
        } else {
            FloatVector z = FloatVector.zero(F);
            a00 = z; a01 = z; a10 = z; a11 = z; a20 = z; a21 = z; a30 = z; a31 = z;
        }
        int w1 = w0 + kc, w2 = w1 + kc, w3 = w2 + kc;
        for (int j = 0, xo = x0; j < kc; j++, xo += TB) {
            FloatVector v0 = FloatVector.fromArray(F, xt, xo), v1 = FloatVector.fromArray(F, xt, xo + L);
            FloatVector b = FloatVector.broadcast(F, w[w0 + j]);
            a00 = v0.fma(b, a00); a01 = v1.fma(b, a01);
            b = FloatVector.broadcast(F, w[w1 + j]);
            a10 = v0.fma(b, a10); a11 = v1.fma(b, a11);
            b = FloatVector.broadcast(F, w[w2 + j]);
            a20 = v0.fma(b, a20); a21 = v1.fma(b, a21);
            b = FloatVector.broadcast(F, w[w3 + j]);
            a30 = v0.fma(b, a30); a31 = v1.fma(b, a31);
        }
        a00.intoArray(c, c0); a01.intoArray(c, c0 + L); a10.intoArray(c, c0 + 32); a11.intoArray(c, c0 + 32 + L);
        a20.intoArray(c, c0 + 64); a21.intoArray(c, c0 + 64 + L); a30.intoArray(c, c0 + 96); a31.intoArray(c, c0 + 96 + L);
    }

    /** k8x2 for a last block of at most 16 tokens: one token vector, the same FMA chain per result. */
    private static void k8x1(float[] w, int w0, int kc, float[] xt, int x0, float[] c, int c0, boolean add) {
        FloatVector a0, a1, a2, a3, a4, a5, a6, a7;
        if (add) {
            a0 = FloatVector.fromArray(F, c, c0); a1 = FloatVector.fromArray(F, c, c0 + 32);
            a2 = FloatVector.fromArray(F, c, c0 + 64); a3 = FloatVector.fromArray(F, c, c0 + 96);
            a4 = FloatVector.fromArray(F, c, c0 + 128); a5 = FloatVector.fromArray(F, c, c0 + 160);
            a6 = FloatVector.fromArray(F, c, c0 + 192); a7 = FloatVector.fromArray(F, c, c0 + 224);
        } else {
            FloatVector z = FloatVector.zero(F);
            a0 = z; a1 = z; a2 = z; a3 = z; a4 = z; a5 = z; a6 = z; a7 = z;
        }
        int w1 = w0 + kc, w2 = w1 + kc, w3 = w2 + kc, w4 = w3 + kc, w5 = w4 + kc, w6 = w5 + kc, w7 = w6 + kc;
        for (int j = 0, xo = x0; j < kc; j++, xo += TB) {
            FloatVector v = FloatVector.fromArray(F, xt, xo);
            a0 = v.fma(FloatVector.broadcast(F, w[w0 + j]), a0);
            a1 = v.fma(FloatVector.broadcast(F, w[w1 + j]), a1);
            a2 = v.fma(FloatVector.broadcast(F, w[w2 + j]), a2);
            a3 = v.fma(FloatVector.broadcast(F, w[w3 + j]), a3);
            a4 = v.fma(FloatVector.broadcast(F, w[w4 + j]), a4);
            a5 = v.fma(FloatVector.broadcast(F, w[w5 + j]), a5);
            a6 = v.fma(FloatVector.broadcast(F, w[w6 + j]), a6);
            a7 = v.fma(FloatVector.broadcast(F, w[w7 + j]), a7);
        }
        a0.intoArray(c, c0); a1.intoArray(c, c0 + 32); a2.intoArray(c, c0 + 64); a3.intoArray(c, c0 + 96);
        a4.intoArray(c, c0 + 128); a5.intoArray(c, c0 + 160); a6.intoArray(c, c0 + 192); a7.intoArray(c, c0 + 224);
    }

    /**
     * 8 weight rows x 16 tokens packed in column pairs (the block at x0, see {@link #PAIRS}), kc
     * (even) columns: per pair of columns, 2 x loads and 8 broadcast weight pairs feed 16 FMAs. Lane
     * 2t (2t + 1) of a row's accumulators sums token t's even (odd) columns; {@link #scatterPairs}
     * adds the two.
     */
    private static void k8p(MemorySegment ws, int w0, int kc, float[] xt, int x0, float[] c, int c0, boolean add) {
        FloatVector a00, a01, a10, a11, a20, a21, a30, a31, a40, a41, a50, a51, a60, a61, a70, a71;
        if (add) {
            a00 = FloatVector.fromArray(F, c, c0); a01 = FloatVector.fromArray(F, c, c0 + L);
            a10 = FloatVector.fromArray(F, c, c0 + 32); a11 = FloatVector.fromArray(F, c, c0 + 32 + L);
            a20 = FloatVector.fromArray(F, c, c0 + 64); a21 = FloatVector.fromArray(F, c, c0 + 64 + L);
            a30 = FloatVector.fromArray(F, c, c0 + 96); a31 = FloatVector.fromArray(F, c, c0 + 96 + L);
            a40 = FloatVector.fromArray(F, c, c0 + 128); a41 = FloatVector.fromArray(F, c, c0 + 128 + L);
            a50 = FloatVector.fromArray(F, c, c0 + 160); a51 = FloatVector.fromArray(F, c, c0 + 160 + L);
            a60 = FloatVector.fromArray(F, c, c0 + 192); a61 = FloatVector.fromArray(F, c, c0 + 192 + L);
            a70 = FloatVector.fromArray(F, c, c0 + 224); a71 = FloatVector.fromArray(F, c, c0 + 224 + L);
        } else {
            FloatVector z = FloatVector.zero(F);
            a00 = z; a01 = z; a10 = z; a11 = z; a20 = z; a21 = z; a30 = z; a31 = z;
            a40 = z; a41 = z; a50 = z; a51 = z; a60 = z; a61 = z; a70 = z; a71 = z;
        }
        long r0 = 4L * w0, r1 = r0 + 4L * kc, r2 = r1 + 4L * kc, r3 = r2 + 4L * kc, r4 = r3 + 4L * kc,
                r5 = r4 + 4L * kc, r6 = r5 + 4L * kc, r7 = r6 + 4L * kc;
        for (int j = 0, xo = x0; j < kc; j += 2, xo += 2 * L) {
            FloatVector v0 = FloatVector.fromArray(F, xt, xo), v1 = FloatVector.fromArray(F, xt, xo + L);
            long o = 4L * j;
            FloatVector b = (FloatVector) DoubleVector.broadcast(D, ws.get(ValueLayout.JAVA_DOUBLE_UNALIGNED, r0 + o)).reinterpretShape(F, 0);
            a00 = v0.fma(b, a00); a01 = v1.fma(b, a01);
            b = (FloatVector) DoubleVector.broadcast(D, ws.get(ValueLayout.JAVA_DOUBLE_UNALIGNED, r1 + o)).reinterpretShape(F, 0);
            a10 = v0.fma(b, a10); a11 = v1.fma(b, a11);
            b = (FloatVector) DoubleVector.broadcast(D, ws.get(ValueLayout.JAVA_DOUBLE_UNALIGNED, r2 + o)).reinterpretShape(F, 0);
            a20 = v0.fma(b, a20); a21 = v1.fma(b, a21);
            b = (FloatVector) DoubleVector.broadcast(D, ws.get(ValueLayout.JAVA_DOUBLE_UNALIGNED, r3 + o)).reinterpretShape(F, 0);
            a30 = v0.fma(b, a30); a31 = v1.fma(b, a31);
            b = (FloatVector) DoubleVector.broadcast(D, ws.get(ValueLayout.JAVA_DOUBLE_UNALIGNED, r4 + o)).reinterpretShape(F, 0);
            a40 = v0.fma(b, a40); a41 = v1.fma(b, a41);
            b = (FloatVector) DoubleVector.broadcast(D, ws.get(ValueLayout.JAVA_DOUBLE_UNALIGNED, r5 + o)).reinterpretShape(F, 0);
            a50 = v0.fma(b, a50); a51 = v1.fma(b, a51);
            b = (FloatVector) DoubleVector.broadcast(D, ws.get(ValueLayout.JAVA_DOUBLE_UNALIGNED, r6 + o)).reinterpretShape(F, 0);
            a60 = v0.fma(b, a60); a61 = v1.fma(b, a61);
            b = (FloatVector) DoubleVector.broadcast(D, ws.get(ValueLayout.JAVA_DOUBLE_UNALIGNED, r7 + o)).reinterpretShape(F, 0);
            a70 = v0.fma(b, a70); a71 = v1.fma(b, a71);
        }
        a00.intoArray(c, c0); a01.intoArray(c, c0 + L); a10.intoArray(c, c0 + 32); a11.intoArray(c, c0 + 32 + L);
        a20.intoArray(c, c0 + 64); a21.intoArray(c, c0 + 64 + L); a30.intoArray(c, c0 + 96); a31.intoArray(c, c0 + 96 + L);
        a40.intoArray(c, c0 + 128); a41.intoArray(c, c0 + 128 + L); a50.intoArray(c, c0 + 160); a51.intoArray(c, c0 + 160 + L);
        a60.intoArray(c, c0 + 192); a61.intoArray(c, c0 + 192 + L); a70.intoArray(c, c0 + 224); a71.intoArray(c, c0 + 224 + L);
    }

    /** k8p for one row (rows left over from groups of 8). */
    private static void k1p(MemorySegment ws, int w0, int kc, float[] xt, int x0, float[] c, int c0, boolean add) {
        FloatVector a0 = add ? FloatVector.fromArray(F, c, c0) : FloatVector.zero(F);
        FloatVector a1 = add ? FloatVector.fromArray(F, c, c0 + L) : FloatVector.zero(F);
        for (int j = 0, xo = x0; j < kc; j += 2, xo += 2 * L) {
            FloatVector b = (FloatVector) DoubleVector.broadcast(D, ws.get(ValueLayout.JAVA_DOUBLE_UNALIGNED, 4L * (w0 + j))).reinterpretShape(F, 0);
            a0 = FloatVector.fromArray(F, xt, xo).fma(b, a0);
            a1 = FloatVector.fromArray(F, xt, xo + L).fma(b, a1);
        }
        a0.intoArray(c, c0);
        a1.intoArray(c, c0 + L);
    }

    /** One weight row x 32 tokens (rows left over from groups of 8). */
    private static void k1x2(float[] w, int w0, int kc, float[] xt, int x0, float[] c, int c0, boolean add) {
        FloatVector a0 = add ? FloatVector.fromArray(F, c, c0) : FloatVector.zero(F);
        FloatVector a1 = add ? FloatVector.fromArray(F, c, c0 + L) : FloatVector.zero(F);
        for (int j = 0, xo = x0; j < kc; j++, xo += TB) {
            FloatVector b = FloatVector.broadcast(F, w[w0 + j]);
            a0 = FloatVector.fromArray(F, xt, xo).fma(b, a0);
            a1 = FloatVector.fromArray(F, xt, xo + L).fma(b, a1);
        }
        a0.intoArray(c, c0);
        a1.intoArray(c, c0 + L);
    }

    /** c[row * 32 + token] for rows [0, nr) and tokens [0, nt) to out[o + token * os + row]. */
    private static void scatter(float[] c, int c0, int nr, int nt, float[] out, int o, int os) {
        for (int t = 0; t < nt; t++) {
            int ot = o + t * os;
            for (int r = 0; r < nr; r++) out[ot + r] = c[c0 + r * TB + t];
        }
    }

    /** {@link #scatter} for a block packed in column pairs: token t's sum is lanes 2t and 2t + 1 of its 8-token half. */
    private static void scatterPairs(float[] c, int c0, int nr, int nt, float[] out, int o, int os) {
        for (int t = 0; t < nt; t++) {
            int ot = o + t * os, ct = c0 + (t >> 3) * 16 + (t & 7) * 2;
            for (int r = 0; r < nr; r++) out[ot + r] = c[ct + r * TB] + c[ct + r * TB + 1];
        }
    }

    private static float sum(FloatVector v) { return Simd.sum(v); }

    /** Adds columns [j, k) one at a time. */
    private static float tail(float s, float[] w, int w0, float[] x, int x0, int j, int k) {
        for (; j < k; j++) s = Math.fma(w[w0 + j], x[x0 + j], s);
        return s;
    }
}
