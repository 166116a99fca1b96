package qwen4j.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Locale;
import qwen4j.Qwen4jException;
import qwen4j.model.LayerWeights;
import qwen4j.model.Qwen2Config;
import qwen4j.model.Qwen2Weights;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;
import qwen4j.tensor.Matrices;
import qwen4j.tensor.Matrix;
import qwen4j.tensor.Tensor;

/**
 * A model of a real Qwen2.5 shape with deterministic random weights, built directly in off-heap
 * memory: no file, no download. It reads exactly as many weight bytes per token as the real
 * model of that size and type, so it measures speed; its output text is meaningless.
 */
public final class SyntheticModel implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final Qwen2Config config;
    private final Qwen2Weights weights;
    private final DType dtype;
    private final String recipe;
    private final boolean hugePages;
    private final DType quantizeTo; // null: matrices in the recipe's types
    /** The stored tensor behind each matrix, so the same memory can be viewed with other kernels. */
    private final java.util.Map<Matrix, Tensor> tensors = new java.util.IdentityHashMap<>();

    /** The real Qwen2.5 shapes (from the models' config.json). */
    public static Qwen2Config shape(String size) {
        return switch (size.toLowerCase(Locale.ROOT)) {
            case "0.5b" -> config(896, 24, 14, 2, 4864, 151936, true);
            case "1.5b" -> config(1536, 28, 12, 2, 8960, 151936, true);
            case "3b" -> config(2048, 36, 16, 2, 11008, 151936, true);
            case "7b" -> config(3584, 28, 28, 4, 18944, 152064, false);
            default -> throw new Qwen4jException("--synthetic: unknown size '" + size + "' (use 0.5b, 1.5b, 3b or 7b)");
        };
    }

    private static Qwen2Config config(int hidden, int layers, int heads, int kvHeads, int inter, int vocab, boolean tied) {
        return new Qwen2Config(hidden, layers, heads, kvHeads, inter, vocab, 1_000_000.0, 1e-6f, tied, 32768,
                List.of(151645, 151643), 151643);
    }

    /** Bytes the weights of this shape take in {@code dtype}. */
    public static long weightBytes(Qwen2Config c, DType dtype) {
        long h = c.hiddenSize(), kv = c.kvDim(), f = c.intermediateSize(), v = c.vocabSize();
        long perLayer = h * h + 2 * h * kv + h * h + 3 * h * f;
        long matrices = c.numLayers() * perLayer + (c.tieWordEmbeddings() ? 1 : 2) * v * h;
        return dtype.bytesFor(matrices);
    }

    /** Roles of the matrices, for the per-tensor type choice of a quantization recipe. */
    enum Role { Q, K, V, O, GATE, UP, DOWN, TOKEN_EMBD, OUTPUT }

    /**
     * The weight type names accepted by {@code --dtype}: bf16, f16, f32, q8_0, q4_0, q4_k_m.
     * Quantized recipes choose a type per tensor as llama.cpp's llama-quantize does (see {@link #typeFor}).
     */
    public static final java.util.List<String> TYPES = List.of("bf16", "f16", "f32", "q8_0", "q4_0", "q4_k_m");

    /**
     * @param type one of {@link #TYPES}
     * @param hugePages build the weights in 2 MB-page memory (else ordinary 4 KB-page memory)
     */
    public SyntheticModel(String size, String type, Kernels kernels, boolean hugePages) {
        this(size, type, kernels, hugePages, null);
    }

    /**
     * As {@link #SyntheticModel(String, String, Kernels, boolean)}, but with every matrix quantized to
     * {@code quantizeTo} (Q8_0 or Q4_0) as it is built: each matrix is first made exactly as the float
     * recipe makes it (same seed, same values), then quantized, and the float copy freed. So this is
     * the float model quantized in memory, as {@code --quantize} does for a file, not another random
     * model; it never holds both copies of the weights.
     */
    public SyntheticModel(String size, String type, Kernels kernels, boolean hugePages, DType quantizeTo) {
        this.hugePages = hugePages;
        this.quantizeTo = quantizeTo;
        this.recipe = type.toLowerCase(Locale.ROOT);
        this.dtype = switch (recipe) {
            case "bf16" -> DType.BF16;
            case "f16" -> DType.F16;
            case "f32" -> DType.F32;
            case "q8_0" -> DType.Q8_0;
            case "q4_0" -> DType.Q4_0;
            case "q4_k_m" -> DType.Q4_K;
            default -> throw new Qwen4jException("--dtype " + type + " is not available for synthetic models (use "
                    + String.join(", ", TYPES) + ")");
        };
        this.config = shape(size);
        int h = config.hiddenSize(), kv = config.kvDim(), f = config.intermediateSize(), v = config.vocabSize();
        int n = config.numLayers();
        long need = 0;
        for (int l = 0; l < n; l++) {
            need += typeFor(Role.Q, l, h).bytesFor((long) h * h) + 2 * typeFor(Role.K, l, h).bytesFor((long) kv * h)
                    + typeFor(Role.O, l, h).bytesFor((long) h * h) + 2 * typeFor(Role.GATE, l, h).bytesFor((long) f * h)
                    + typeFor(Role.DOWN, l, f).bytesFor((long) h * f);
        }
        need += typeFor(Role.OUTPUT, 0, h).bytesFor((long) v * h);
        if (!config.tieWordEmbeddings()) need += typeFor(Role.TOKEN_EMBD, 0, h).bytesFor((long) v * h);
        long physical = qwen4j.tensor.HugePageMemory.physicalMemory(); // Long.MAX_VALUE when unknown: no check
        if (need > physical * 0.85) {
            throw new Qwen4jException(String.format(Locale.ROOT,
                    "synthetic %s in %s needs %.1f GB of memory but this machine has %.1f GB", size, type,
                    need / 1e9, physical / 1e9));
        }
        long seed = 42;
        LayerWeights[] layers = new LayerWeights[n];
        for (int l = 0; l < layers.length; l++) {
            layers[l] = new LayerWeights(
                    ones(h), matrix(Role.Q, l, h, h, seed++, kernels), small(h, seed++),
                    matrix(Role.K, l, kv, h, seed++, kernels), small(kv, seed++),
                    matrix(Role.V, l, kv, h, seed++, kernels), small(kv, seed++),
                    matrix(Role.O, l, h, h, seed++, kernels),
                    ones(h), matrix(Role.GATE, l, f, h, seed++, kernels), matrix(Role.UP, l, f, h, seed++, kernels),
                    matrix(Role.DOWN, l, h, f, seed++, kernels));
        }
        Matrix embedding = matrix(config.tieWordEmbeddings() ? Role.OUTPUT : Role.TOKEN_EMBD, 0, v, h, seed++, kernels);
        Matrix output = config.tieWordEmbeddings() ? embedding : matrix(Role.OUTPUT, 0, v, h, seed, kernels);
        this.weights = new Qwen2Weights(embedding, layers, ones(h), output);
    }

    /**
     * The type of one matrix ({@code cols} its row length) under this model's recipe, following llama.cpp's
     * {@code llama_tensor_get_type} (llama-quantize, no importance matrix):
     * <ul>
     * <li>q8_0: Q8_0 everywhere.
     * <li>q4_0: Q4_0, except the output projection (lm_head, or the token embedding when tied): Q6_K.
     * <li>q4_k_m: Q4_K, except the output projection: Q6_K; attn_v and ffn_down: Q6_K in the layers where
     *     {@code use_more_bits(i, n)} holds (the first n/8 layers, the last n/8, and every third layer in
     *     between: {@code i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2}), Q4_K elsewhere. An untied
     *     token_embd stays Q4_K.
     * <li>Rows that are not a multiple of 256 cannot hold K-quant super-blocks; llama.cpp then falls back
     *     (Q6_K to Q8_0, Q4_K to Q5_0), as here (this concerns 0.5B, hidden 896).
     * </ul>
     */
    DType typeFor(Role role, int layer, int cols) {
        return typeFor(recipe, role, layer, config.numLayers(), cols);
    }

    /** {@link #typeFor(Role, int, int)} for a recipe name and a model of n layers. */
    static DType typeFor(String recipe, Role role, int layer, int n, int cols) {
        DType t = switch (recipe) {
            case "q4_0" -> role == Role.OUTPUT ? DType.Q6_K : DType.Q4_0;
            case "q4_k_m" -> {
                if (role == Role.OUTPUT) yield DType.Q6_K;
                if ((role == Role.V || role == Role.DOWN) && useMoreBits(layer, n)) yield DType.Q6_K;
                yield DType.Q4_K;
            }
            case "q8_0" -> DType.Q8_0;
            case "bf16" -> DType.BF16;
            case "f16" -> DType.F16;
            default -> DType.F32;
        };
        if (t.blockSize() == 256 && cols % 256 != 0) t = t == DType.Q6_K ? DType.Q8_0 : DType.Q5_0;
        return t;
    }

    static boolean useMoreBits(int i, int n) {
        return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
    }

    public Qwen2Config config() { return config; }

    public Qwen2Weights weights() { return weights; }

    public DType dtype() { return dtype; }

    /** The --dtype name this model was built with (q4_k_m mixes types per tensor). */
    public String typeName() { return recipe; }

    private Matrix matrix(Role role, int layer, int rows, int cols, long seed, Kernels kernels) {
        DType type = typeFor(role, layer, cols);
        Tensor t;
        if (quantizeTo != null && type.blockSize() == 1 && cols % quantizeTo.blockSize() == 0) {
            try (Arena temp = Arena.ofShared()) {
                MemorySegment src = temp.allocate(type.bytesFor((long) rows * cols), 64);
                fill(src, seed, type);
                long bytes = quantizeTo.bytesFor((long) rows * cols);
                MemorySegment seg = hugePages ? qwen4j.tensor.HugePageMemory.allocate(bytes, arena) : arena.allocate(bytes, 64);
                qwen4j.tensor.quant.Requantize.rows(new Tensor("synthetic", type, new long[] {rows, cols}, src, "synthetic"),
                        0, rows, quantizeTo, seg);
                t = new Tensor("synthetic", quantizeTo, new long[] {rows, cols}, seg, "synthetic (" + quantizeTo + " in memory)");
            }
        } else {
            long bytes = type.bytesFor((long) rows * cols);
            MemorySegment seg = hugePages ? qwen4j.tensor.HugePageMemory.allocate(bytes, arena) : arena.allocate(bytes, 64);
            fill(seg, seed, type);
            t = new Tensor("synthetic", type, new long[] {rows, cols}, seg, "synthetic");
        }
        Matrix m = Matrices.of(t, kernels);
        tensors.put(m, t);
        return m;
    }

    /** The same weights (same memory, no copy) seen through the other kernels. */
    public Qwen2Weights weights(Kernels kernels) {
        java.util.function.Function<Matrix, Matrix> k = m -> Matrices.of(tensors.get(m), kernels);
        LayerWeights[] layers = new LayerWeights[weights.layers().length];
        for (int l = 0; l < layers.length; l++) {
            LayerWeights w = weights.layers()[l];
            layers[l] = new LayerWeights(w.attnNorm(), k.apply(w.wq()), w.bq(), k.apply(w.wk()), w.bk(),
                    k.apply(w.wv()), w.bv(), k.apply(w.wo()), w.ffnNorm(), k.apply(w.wGate()), k.apply(w.wUp()),
                    k.apply(w.wDown()));
        }
        Matrix emb = k.apply(weights.tokenEmbedding());
        Matrix out = weights.output() == weights.tokenEmbedding() ? emb : k.apply(weights.output());
        return new Qwen2Weights(emb, layers, weights.outputNorm(), out);
    }

    /**
     * Fills with random values of the element type. Floats: small values (|w| around 2^-9..2^-6, random
     * sign and mantissa). Quantized blocks: random quants and scales, then every fp16 scale field is set
     * to a valid value of realistic magnitude (weights of std around 0.01 to 0.03), so activations stay
     * finite. xorshift, 64 bits at a time, 8 MB per parallel task; no float32 intermediate.
     */
    private static void fill(MemorySegment seg, long seed, DType type) {
        long words = seg.byteSize() / 8;
        long chunk = 1 << 20; // 8 MB per task, filled in parallel
        int bb = type.blockBytes();
        java.util.stream.LongStream.range(0, (words + chunk - 1) / chunk).parallel().forEach(c -> {
            long x = (seed * 0x9E3779B97F4A7C15L) ^ (c * 0xD1B54A32D192ED03L) | 1;
            long end = Math.min(words, (c + 1) * chunk);
            for (long i = c * chunk; i < end; i++) {
                x ^= x << 13;
                x ^= x >>> 7;
                x ^= x << 17;
                seg.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, pattern(type, x));
            }
        });
        if (type.blockSize() == 1) return;
        // then the scales, once all random bytes are in place (a block may straddle two fill tasks)
        long blocks = seg.byteSize() / bb, per = 1 << 16;
        java.util.stream.LongStream.range(0, (blocks + per - 1) / per).parallel().forEach(c -> {
            long x = (seed * 0xD1B54A32D192ED03L) ^ (c * 0x9E3779B97F4A7C15L) | 1;
            for (long b = c * per, end = Math.min(blocks, (c + 1) * per); b < end; b++) {
                x ^= x << 13;
                x ^= x >>> 7;
                x ^= x << 17;
                setScales(seg, b * bb, type, x);
            }
        });
    }

    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    /** fp16 with biased exponent e (value about 2^(e-15)), random mantissa, sign bit s. */
    private static short f16(int e, long r, int s) {
        return (short) ((s << 15) | (e << 10) | (int) (r & 0x3FF));
    }

    private static void setScales(MemorySegment seg, long off, DType type, long r) {
        switch (type) {
            // Q8_0: y = q*d, q uniform int8: d ~ 2^-12 gives std ~ 0.02
            case Q8_0 -> seg.set(LE_SHORT, off, f16(3, r, (int) (r >>> 63)));
            // Q4_0: y = (q-8)*d: d ~ 2^-8
            case Q4_0 -> seg.set(LE_SHORT, off, f16(7, r, (int) (r >>> 63)));
            // Q5_0: y = (q-16)*d: d ~ 2^-9
            case Q5_0 -> seg.set(LE_SHORT, off, f16(6, r, (int) (r >>> 63)));
            // Q4_K: y = d*sc*q - dmin*m with 6-bit sc, m: d, dmin ~ 2^-13, positive
            case Q4_K -> {
                seg.set(LE_SHORT, off, f16(2, r, 0));
                seg.set(LE_SHORT, off + 2, f16(2, r >>> 10, 0));
            }
            // Q6_K: y = d*sc*(q-32) with int8 sc: d ~ 2^-14 (d at byte 208), positive
            case Q6_K -> seg.set(LE_SHORT, off + 208, f16(1, r, 0));
            default -> throw new IllegalStateException("no synthetic blocks for " + type);
        }
    }

    private static long pattern(DType dtype, long r) {
        return switch (dtype) {
            // per 16-bit lane: keep sign + 7 mantissa bits, force exponent 118..121 (bf16)
            case BF16 -> (r & 0x807F807F807F807FL) | 0x3B003B003B003B00L | ((r >>> 3) & 0x0180018001800180L);
            // f16: sign + 10 mantissa bits, exponent 6..9 (values ~2^-9..2^-6)
            case F16 -> (r & 0x83FF83FF83FF83FFL) | 0x1800180018001800L | ((r >>> 5) & 0x0C000C000C000C00L);
            // f32 pairs: sign + 23 mantissa bits, exponent 118..121
            case F32 -> (r & 0x807FFFFF807FFFFFL) | 0x3B0000003B000000L | ((r >>> 7) & 0x0180000001800000L);
            default -> r; // quantized: random quants (scales are set per block afterwards)
        };
    }

    private static float[] ones(int n) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, 1f);
        return a;
    }

    private static float[] small(int n, long seed) {
        java.util.Random r = new java.util.Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * 0.1);
        return a;
    }

    @Override
    public void close() {
        arena.close();
    }
}
