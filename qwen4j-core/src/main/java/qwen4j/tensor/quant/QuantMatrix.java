package qwen4j.tensor.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import qwen4j.Qwen4jException;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;
import qwen4j.tensor.MatMul;
import qwen4j.tensor.Matrix;

/**
 * A ggml block-quantized weight matrix (GGUF layout: each row is {@code cols / QK} blocks back to back).
 *
 * <p>{@link #row} dequantizes bit-exactly as ggml's {@code to_float} does (same float32 operation order,
 * so even signed zeros match). The {@link Kernels#SCALAR} matvec is the reference: dequantize one block
 * to float32, then a sequential float32 dot with x. The {@link Kernels#SIMD} matvec decodes blocks in
 * vector registers and FMAs them with float32 x (activations stay float32; see {@code QuantSimd}).
 */
public abstract sealed class QuantMatrix implements Matrix, qwen4j.tensor.MatMul.Rows
        permits Q8_0Matrix, Q4_0Matrix, Q4_1Matrix, Q5_0Matrix, Q5_1Matrix,
                Q2_KMatrix, Q3_KMatrix, Q4_KMatrix, Q5_KMatrix, Q6_KMatrix {

    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;

    final MemorySegment data;
    /** Where data starts: the SIMD kernels take absolute addresses and read through {@link #ALL}. */
    final long address;
    final int rows, cols;
    final int blocksPerRow;
    final long rowBytes;
    final boolean simd;
    QuantMatrix(MemorySegment data, int rows, int cols, Kernels kernels) {
        DType t = type();
        if (rows < 0 || cols <= 0 || cols % t.blockSize() != 0) {
            throw new Qwen4jException(t + " matrix: cols " + cols + " is not a positive multiple of the block size "
                    + t.blockSize());
        }
        this.data = data.isNative() ? data : offHeap(data);
        this.address = this.data.address();
        this.rows = rows;
        this.cols = cols;
        this.blocksPerRow = cols / t.blockSize();
        this.rowBytes = (long) blocksPerRow * t.blockBytes();
        if (data.byteSize() < rowBytes * rows) {
            throw new Qwen4jException(t + " matrix [" + rows + ", " + cols + "] needs " + rowBytes * rows
                    + " bytes, has " + data.byteSize());
        }
        this.simd = kernels.usable() == Kernels.SIMD; // scalar where the Vector API cannot run (VectorSupport)
    }

    /**
     * All of memory as one segment. Every SIMD kernel here (and QuantDecode's) loads through it, naming it directly
     * (a constant: passed as a parameter it would be just another segment to C2), with absolute
     * offsets ({@code address} + offset) instead of the matrix's own segment. Why: a load
     * through a constant segment compiles to a plain vector load, while a load through a segment parameter
     * inlines JDK checks whose type profiles every caller shares, so the same kernel compiled to code
     * of half the speed depending on what the JVM had run before ({@code KernelProfileProbe}), and on
     * whether the weights were a file mapping or anonymous memory (two segment classes): Q4_0 decode
     * from a mapped file ran at a third of its speed before its kernels went through here. The
     * price: an access past the matrix would not throw but read other memory, so the kernels stay
     * within {@code rows * rowBytes}, which the constructor checks, and the weights' arena must
     * outlive the kernels (as it must anyway). Heap-backed matrices are copied off-heap (tests, small
     * tensors), so every matrix has an address.
     */
    static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private static MemorySegment offHeap(MemorySegment heap) {
        MemorySegment copy = java.lang.foreign.Arena.ofAuto().allocate(heap.byteSize(), 64);
        copy.copyFrom(heap);
        return copy;
    }

    /** The quantized types with kernels here. */
    public static boolean supports(DType type) {
        return switch (type) {
            case Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K -> true;
            default -> false;
        };
    }

    /** The kernel view of {@code rows x cols} weights of a quantized type stored in {@code data}. */
    public static QuantMatrix of(DType type, MemorySegment data, int rows, int cols, Kernels kernels) {
        return switch (type) {
            case Q8_0 -> new Q8_0Matrix(data, rows, cols, kernels);
            case Q4_0 -> new Q4_0Matrix(data, rows, cols, kernels);
            case Q4_1 -> new Q4_1Matrix(data, rows, cols, kernels);
            case Q5_0 -> new Q5_0Matrix(data, rows, cols, kernels);
            case Q5_1 -> new Q5_1Matrix(data, rows, cols, kernels);
            case Q2_K -> new Q2_KMatrix(data, rows, cols, kernels);
            case Q3_K -> new Q3_KMatrix(data, rows, cols, kernels);
            case Q4_K -> new Q4_KMatrix(data, rows, cols, kernels);
            case Q5_K -> new Q5_KMatrix(data, rows, cols, kernels);
            case Q6_K -> new Q6_KMatrix(data, rows, cols, kernels);
            default -> throw new Qwen4jException("no quantized kernels for type " + type);
        };
    }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public long byteSize() { return rowBytes * rows; }

    /** Whether this instance runs the Vector API kernels. */
    public boolean isSimd() { return simd; }

    @Override
    public final void row(int r, float[] dst, int dstOff) {
        java.util.Objects.checkIndex(r, rows);
        java.util.Objects.checkFromIndexSize(dstOff, cols, dst.length);
        int qk = type().blockSize(), bb = type().blockBytes();
        long base = r * rowBytes;
        for (int b = 0; b < blocksPerRow; b++) {
            dequantizeBlock(data, base + (long) b * bb, dst, dstOff + b * qk);
        }
    }

    @Override
    public final void matvec(float[] x, float[] out, int from, int to) {
        java.util.Objects.checkFromToIndex(from, to, rows);
        java.util.Objects.checkFromToIndex(from, to, out.length);
        if (x.length < cols) throw new IllegalArgumentException("x has " + x.length + " elements, need " + cols);
        if (simd) {
            int span = blockSumSpan();
            if (span > 0) fillBlockSums(x, cols / span, span);
            int r = from;
            if (to - from >= 4) {
                // Four long memory streams, MatMul's four-row schedule (the short kernels, compiled
                // here with a low call count, boxed vectors in a hot call); results come back through
                // a 4-float buffer because the kernels write four consecutive outputs. One call site,
                // so that the kernel is inlined once.
                float[] four = FOUR.get();
                for (int i = 0, passes = MatMul.quarterPasses(from, to); i < passes; i++) {
                    int r0 = MatMul.quarterRow(from, to, i), step = MatMul.quarterStep(from, to, i);
                    dotFourRowsSimd(address + r0 * rowBytes, step * rowBytes, x, blocksPerRow, four, 0);
                    out[r0] = four[0];
                    out[r0 + step] = four[1];
                    out[r0 + 2 * step] = four[2];
                    out[r0 + 3 * step] = four[3];
                }
                return;
            }
            for (; r + 1 < to; r += 2) dotTwoRowsSimd(address + r * rowBytes, rowBytes, x, blocksPerRow, out, r);
            if (r < to) out[r] = dotRowSimd(address + r * rowBytes, x, blocksPerRow);
        } else {
            matvecScalar(x, out, from, to);
        }
    }

    // Rows a quarter of the matrix apart: the K-quant kernels read memory slower the closer a pass's four rows
    // lie (one core, 16 lanes, Q6_K rows of 18944 columns: 4.4 GB/s with the four rows adjacent, 7-8 a few MB
    // apart, 10-12 a quarter of 400 MB apart), and the pool's 16 contiguous chunks put them a quarter chunk
    // apart. Handed out by quarters (WorkerPool), a pass's rows lie a quarter of the matrix apart whatever the
    // chunking. A row's bits do not depend on its group, so the results are those of a contiguous matvec.
    // The types that gain say so (spreadsRows); Q4_0 and Q8_0, rows in lockstep, read as fast either way.
    @Override
    public final void matvecQuarters(float[] x, float[] out, int from, int to, int quarter) {
        if (from < 0 || from > to || to > quarter || 4L * quarter > rows) {
            throw new IndexOutOfBoundsException("rows [" + from + ", " + to + ") in quarters of " + quarter + " of " + rows);
        }
        if (x.length < cols) throw new IllegalArgumentException("x has " + x.length + " elements, need " + cols);
        java.util.Objects.checkFromIndexSize(0, 4L * quarter, out.length);
        if (!simd) {
            for (int k = 0; k < 4; k++) matvecScalar(x, out, from + k * quarter, to + k * quarter);
            return;
        }
        int span = blockSumSpan();
        if (span > 0 && from < to) fillBlockSums(x, cols / span, span);
        float[] four = FOUR.get();
        for (int r = from; r < to; r++) {
            dotFourRowsSimd(address + r * rowBytes, quarter * rowBytes, x, blocksPerRow, four, 0);
            out[r] = four[0];
            out[r + quarter] = four[1];
            out[r + 2 * quarter] = four[2];
            out[r + 3 * quarter] = four[3];
        }
    }

    /**
     * Row r as float32 for the batched product: the same values as {@link #row} (bit-exact), decoded in
     * vector registers where {@link QuantDecode} has the type.
     */
    @Override
    public void decodeRow(int r, float[] dst, int off) {
        if (!QuantDecode.row(type(), address + r * rowBytes, blocksPerRow, dst, off)) row(r, dst, off);
    }

    @Override
    public void decodeRange(int r, int k0, int n, float[] dst, int off) {
        int qk = type().blockSize(), bb = type().blockBytes();
        if (k0 % qk != 0 || n % qk != 0) throw new IllegalArgumentException("columns " + k0 + "+" + n + " are not whole blocks");
        long base = r * rowBytes + (long) (k0 / qk) * bb;
        if (!QuantDecode.row(type(), address + base, n / qk, dst, off)) {
            for (int b = 0; b < n / qk; b++) dequantizeBlock(data, base + (long) b * bb, dst, off + b * qk);
        }
    }

    /** The blocks holding columns [k0, k0 + n) of row r. */
    @Override
    public int touch(int r, int k0, int n) {
        int qk = type().blockSize(), bb = type().blockBytes();
        return qwen4j.tensor.MatMul.touch(data, r * rowBytes + (long) (k0 / qk) * bb, (long) (n / qk) * bb);
    }

    @Override
    public int matmulScratch() { return simd ? qwen4j.tensor.MatMul.scratchFloats(cols) : cols; }

    /**
     * SIMD: the fused kernels or the tiled kernel over rows decoded once per tile; scalar: the reference default.
     * The fused passes read their weights from memory themselves (address 0 to {@link MatMul#fused}): reading
     * each chunk first paid for BF16 and F16, not in the engine for Q4_0 and Q8_0 (figures there).
     */
    @Override
    public void matmul(float[] x, int n, float[] out, int from, int to, float[] scratch) {
        java.util.Objects.checkFromToIndex(from, to, rows);
        if (simd && fusesTokens(n)) {
            MatMul.fused(fusedPass, 0, rows, cols, rowBytes, x, n, out, from, to);
        } else if (scalesTokens(n)) {
            MatMul.fused(scaledPass, 0, rows, cols, rowBytes, x, n, out, from, to);
        } else if (simd) {
            qwen4j.tensor.MatMul.tiled(this, x, n, out, from, to, scratch);
        } else {
            Matrix.super.matmul(x, n, out, from, to, scratch);
        }
    }

    @Override
    public void matmul(qwen4j.tensor.MatMul.Tokens x, float[] out, int from, int to, float[] scratch) {
        java.util.Objects.checkFromToIndex(from, to, rows);
        if (simd && fusesTokens(x.n())) {
            MatMul.fused(fusedPass, 0, rows, cols, rowBytes, x.x(), x.n(), out, from, to);
        } else if (scalesTokens(x.n())) {
            MatMul.fused(scaledPass, 0, rows, cols, rowBytes, x.x(), x.n(), out, from, to);
        } else if (simd) {
            qwen4j.tensor.MatMul.tiled(this, x, out, from, to, scratch);
        } else {
            Matrix.super.matmul(x.x(), x.n(), out, from, to, scratch);
        }
    }

    /** Reference: dequantize a block (bit-exact), then a sequential float32 dot. */
    final void matvecScalar(float[] x, float[] out, int from, int to) {
        int qk = type().blockSize(), bb = type().blockBytes();
        float[] w = new float[qk];
        for (int r = from; r < to; r++) {
            long base = r * rowBytes;
            float sum = 0f;
            for (int b = 0; b < blocksPerRow; b++) {
                dequantizeBlock(data, base + (long) b * bb, w, 0);
                int xo = b * qk;
                for (int i = 0; i < qk; i++) sum += w[i] * x[xo + i];
            }
            out[r] = sum;
        }
    }

    /** Writes the block at byte offset {@code off} as float32, bit-exactly as ggml's to_float. */
    abstract void dequantizeBlock(MemorySegment seg, long off, float[] dst, int dstOff);

    /** SIMD dot of the row at absolute address {@code base} (nb blocks) with x; the kernels read through {@link #ALL}. */
    abstract float dotRowSimd(long base, float[] x, int nb);

    /**
     * out[r] and out[r + 1] for the rows at base and base + stride. Types override this to stream two
     * rows at once (x loaded once for both, two independent memory streams in flight).
     */
    void dotTwoRowsSimd(long base, long stride, float[] x, int nb, float[] out, int r) {
        out[r] = dotRowSimd(base, x, nb);
        out[r + 1] = dotRowSimd(base + stride, x, nb);
    }

    // Two pairs below 16 lanes: the K-quant kernels at 8 and 4 lanes take a pass's rows in turn, a chunk or a
    // super-block at a time, their accumulators parked between turns. Four rows taken so read memory at a
    // fraction of the speed of two once the rows lie within a few MB of each other, as they always do in the
    // pool's 16 chunks per matvec (8 lanes, two threads: Q6_K 4.3 -> 15.3 GB/s, Q4_K 8.7 -> 13.8; commit 71aa161).
    // Q4_0 and Q8_0, rows in lockstep and nothing parked, are not affected.
    /**
     * out[r .. r + 4) for four consecutive rows. Types override this with a kernel that streams
     * all four at once; the default does two pairs.
     */
    void dotFourRowsSimd(long base, long stride, float[] x, int nb, float[] out, int r) {
        dotTwoRowsSimd(base, stride, x, nb, out, r);
        dotTwoRowsSimd(base + 2 * stride, stride, x, nb, out, r + 2);
    }

    /** Outputs of one four-row pass, one buffer per thread. */
    private static final ThreadLocal<float[]> FOUR = ThreadLocal.withInitial(() -> new float[4]);

    /**
     * Per-thread sums of x over each span of {@link #blockSumSpan} elements, for SIMD kernels that fold a
     * constant offset out of the per-lane work (Q4_0 below 16 lanes: sum (q - 8) x = sum q x - 8 sum x;
     * Q4_K and Q5_K: the sub-block mins; Q6_K: q - 32 per 16-element sub-block).
     * Filled once per matvec call by the calling thread, read by its kernels; grown when needed, so
     * steady state allocates nothing.
     */
    static final ThreadLocal<float[]> BLOCK_SUMS = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * Per-thread room for 16 accumulator vectors, where a kernel stores its accumulators for {@link
     * QuantSimd#laneSum}: lane sums in one fixed order in every JIT tier (reduceLanes(ADD) adds lane after lane
     * in the interpreter and C1, by halves in C2, so a row's last bits depended on when C2 compiled its kernel).
     */
    static final ThreadLocal<float[]> ACC = ThreadLocal.withInitial(() -> new float[16 * QuantSimd.L]);

    /** A one-float output, per thread, for types whose one-row kernel is their n-row kernel with n = 1. */
    static final ThreadLocal<float[]> ONE = ThreadLocal.withInitial(() -> new float[1]);

    /** Whether this matrix's kernels read its block scales from a float32 table ({@link #blockScales}). */
    boolean hasScaleTable() { return false; }

    /** Elements per sum in {@link #BLOCK_SUMS} that this type's SIMD kernels read (0: they read none). */
    int blockSumSpan() { return 0; }

    /** Whether this type, at this vector width, has the fused kernels below (Q4_0 and Q8_0 at 16 lanes). */
    boolean hasFusedKernels() { return false; }

    /**
     * Whether a product with n tokens (a few sequences' decode step) runs {@link MatMul#fused} with this
     * type's kernels: each block decoded in registers once for up to 4 tokens, instead of a float tile or
     * a matvec per token.
     */
    final boolean fusesTokens(int n) {
        return simd && hasFusedKernels() && n >= MatMul.FUSED_TOKENS_MIN && n <= MatMul.FUSED_QUANT_TOKENS_MAX;
    }

    /** {@link #pass} as made once (a method reference made per call would be an allocation per call). */
    private final MatMul.FourRowPass fusedPass = this::pass;

    /** Whether a product with n tokens runs {@link MatMul#fused} through {@link #scaledPass} (9 to {@link #scaledTokensMax()}). */
    final boolean scalesTokens(int n) {
        return simd && n > MatMul.FUSED_QUANT_TOKENS_MAX && n <= scaledTokensMax();
    }

    /** Most tokens this type multiplies with {@link #fourRowsFourTokensScaled} (0: it has none). */
    int scaledTokensMax() { return 0; }

    private final MatMul.FourRowPass scaledPass = this::scaledPass;

    /** Four rows x 4 tokens (for g = 2, tokens past the second repeat the last and their sums are dropped). */
    private void scaledPass(int g, int r0, int step, float[] x, int xa, int xb, int xc, int xd, float[] o) {
        float[] acc = ACC.get();
        fourRowsFourTokensScaled(address + r0 * rowBytes, step * rowBytes, x, xa, xb, xc, xd, blocksPerRow, acc);
        QuantSimd.laneSums(acc, 4 * g, o, 0);
    }

    /** Fused kernel for 9-16 tokens, weights times their scales first: accumulators as in {@link #fourRowsTwoTokens}. */
    void fourRowsFourTokensScaled(long base, long stride, float[] x, int x0, int x1, int x2, int x3, int nb, float[] acc) { throw noFusedKernels(); }

    /**
     * Four rows x 2 or 4 tokens for {@link MatMul#fused}: the kernel's accumulators, then their lane sums
     * here, out of the kernel (16 sums inlined into it would put it past C2's node budget).
     */
    private void pass(int g, int r0, int step, float[] x, int xa, int xb, int xc, int xd, float[] o) {
        float[] acc = ACC.get();
        if (g == 2) fourRowsTwoTokens(address + r0 * rowBytes, step * rowBytes, x, xa, xb, blocksPerRow, acc);
        else fourRowsFourTokens(address + r0 * rowBytes, step * rowBytes, x, xa, xb, xc, xd, blocksPerRow, acc);
        QuantSimd.laneSums(acc, 4 * g, o, 0);
    }

    /**
     * Fused kernel: rows at base + k stride (k = 0..3) times the tokens at x0 and x1; stores the accumulator of
     * token u and row k as the L floats at acc[(4 u + k) L].
     */
    void fourRowsTwoTokens(long base, long stride, float[] x, int x0, int x1, int nb, float[] acc) { throw noFusedKernels(); }

    /** Fused kernel: rows at base + k stride (k = 0..3) times the tokens at x0 .. x3: accumulators as above. */
    void fourRowsFourTokens(long base, long stride, float[] x, int x0, int x1, int x2, int x3, int nb, float[] acc) { throw noFusedKernels(); }

    private IllegalStateException noFusedKernels() {
        return new IllegalStateException("bug: " + type() + " has no fused multi-token kernel at " + QuantSimd.L + " lanes");
    }

    private static void fillBlockSums(float[] x, int blocks, int span) {
        float[] s = BLOCK_SUMS.get();
        if (s.length < blocks) {
            s = new float[blocks];
            BLOCK_SUMS.set(s);
        }
        for (int b = 0; b < blocks; b++) {
            float sum = 0f;
            for (int e = 0; e < span; e++) sum += x[b * span + e];
            s[b] = sum;
        }
    }

    /** Native-order float32 for the block-scale tables ({@link #blockScales}): written and read on this machine. */
    static final ValueLayout.OfFloat SCALE = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /**
     * Each block's fp16 scale (the first two bytes of every {@code bb}-byte block from {@code address}) as float32, row after row,
     * {@code blocksPerRow} per row, in memory of its own: the kernels broadcast a scale with one load
     * instead of converting it (see {@code Q4_0Matrix}). Exact: every fp16 value is a float32. Filled on all
     * cores into memory committed as it is written (zeroing it first took as long again); it reads every
     * cache line of the weights: the 7B Q4_0 file, 0.95 GB of scales, about 0.45 s at load. Null when the
     * tables of the live matrices would take more than {@link #SCALE_TABLE_ROOM} (the kernels then convert
     * each scale in the loop: the same values, so the same results, slower).
     */
    static MemorySegment blockScales(Object owner, long address, long blocks, int bb) {
        long bytes = Math.max(4, 4 * blocks);
        if (SCALE_TABLE_ROOM.addAndGet(-bytes) < 0) {
            SCALE_TABLE_ROOM.addAndGet(bytes);
            return null;
        }
        CLEANER.register(owner, () -> SCALE_TABLE_ROOM.addAndGet(bytes)); // the table goes with its matrix
        MemorySegment s = qwen4j.tensor.HugePageMemory.lazy(bytes, java.lang.foreign.Arena.ofAuto());
        long part = 1 << 20;
        java.util.stream.LongStream.range(0, (blocks + part - 1) / part).parallel().forEach(p -> {
            for (long b = p * part, end = Math.min(blocks, b + part); b < end; b++) {
                s.set(SCALE, 4 * b, Float.float16ToFloat(ALL.get(LE_SHORT, address + b * bb))); // ALL: any thread may read
            }
        });
        return s;
    }

    /**
     * Bytes the block-scale tables of all live matrices may still take: an eighth of the machine's memory
     * (a 7B Q4_0 model needs 0.95 GB, a 72B one 9 GB), or {@code -Dqwen4j.scaleTableBytes}.
     */
    static final java.util.concurrent.atomic.AtomicLong SCALE_TABLE_ROOM =
            new java.util.concurrent.atomic.AtomicLong(Long.getLong("qwen4j.scaleTableBytes", qwen4j.tensor.HugePageMemory.physicalMemory() / 8));

    private static final java.lang.ref.Cleaner CLEANER = java.lang.ref.Cleaner.create();

    static float f16(MemorySegment seg, long off) {
        return Float.float16ToFloat(seg.get(LE_SHORT, off));
    }

    static int u8(MemorySegment seg, long off) {
        return seg.get(BYTE, off) & 0xFF;
    }

    @Override
    public String toString() {
        return type() + " matrix [" + rows + ", " + cols + "]" + (simd ? " (SIMD)" : " (scalar)");
    }
}
