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
    private final boolean hugePages;

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

    /** @param hugePages build the weights in 2 MB-page memory (else ordinary 4 KB-page memory) */
    public SyntheticModel(String size, DType dtype, Kernels kernels, boolean hugePages) {
        this.hugePages = hugePages;
        if (dtype != DType.BF16 && dtype != DType.F16 && dtype != DType.F32) {
            throw new Qwen4jException("--dtype " + dtype + " is not available for synthetic models (use bf16, f16 or f32)");
        }
        this.config = shape(size);
        this.dtype = dtype;
        long need = weightBytes(config, dtype);
        long physical = physicalMemory();
        if (physical > 0 && need > physical * 0.85) {
            throw new Qwen4jException(String.format(Locale.ROOT,
                    "synthetic %s in %s needs %.1f GB of memory but this machine has %.1f GB", size, dtype,
                    need / 1e9, physical / 1e9));
        }
        int h = config.hiddenSize(), kv = config.kvDim(), f = config.intermediateSize();
        long seed = 42;
        LayerWeights[] layers = new LayerWeights[config.numLayers()];
        for (int l = 0; l < layers.length; l++) {
            layers[l] = new LayerWeights(
                    ones(h), matrix(h, h, seed++, kernels), small(h, seed++),
                    matrix(kv, h, seed++, kernels), small(kv, seed++),
                    matrix(kv, h, seed++, kernels), small(kv, seed++),
                    matrix(h, h, seed++, kernels),
                    ones(h), matrix(f, h, seed++, kernels), matrix(f, h, seed++, kernels), matrix(h, f, seed++, kernels));
        }
        Matrix embedding = matrix(config.vocabSize(), h, seed++, kernels);
        Matrix output = config.tieWordEmbeddings() ? embedding : matrix(config.vocabSize(), h, seed, kernels);
        this.weights = new Qwen2Weights(embedding, layers, ones(h), output);
    }

    public Qwen2Config config() { return config; }

    public Qwen2Weights weights() { return weights; }

    public DType dtype() { return dtype; }

    private Matrix matrix(int rows, int cols, long seed, Kernels kernels) {
        long bytes = dtype.bytesFor((long) rows * cols);
        MemorySegment seg = hugePages ? qwen4j.tensor.HugePageMemory.allocate(bytes, arena) : arena.allocate(bytes, 64);
        fill(seg, seed);
        return Matrices.of(new Tensor("synthetic", dtype, new long[] {rows, cols}, seg, "synthetic"), kernels);
    }

    /**
     * Fills with small random values of the element type (|w| around 2^-9..2^-6, random sign and
     * mantissa): realistic magnitudes so activations stay finite. xorshift, 64 bits at a time.
     */
    private void fill(MemorySegment seg, long seed) {
        long words = seg.byteSize() / 8;
        long chunk = 1 << 20; // 8 MB per task, filled in parallel
        java.util.stream.LongStream.range(0, (words + chunk - 1) / chunk).parallel().forEach(c -> {
            long x = (seed * 0x9E3779B97F4A7C15L) ^ (c * 0xD1B54A32D192ED03L) | 1;
            long end = Math.min(words, (c + 1) * chunk);
            for (long i = c * chunk; i < end; i++) {
                x ^= x << 13;
                x ^= x >>> 7;
                x ^= x << 17;
                seg.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, pattern(x));
            }
        });
    }

    private long pattern(long r) {
        return switch (dtype) {
            // per 16-bit lane: keep sign + 7 mantissa bits, force exponent 118..121 (bf16)
            case BF16 -> (r & 0x807F807F807F807FL) | 0x3B003B003B003B00L | ((r >>> 3) & 0x0180018001800180L);
            // f16: sign + 10 mantissa bits, exponent 6..9 (values ~2^-9..2^-6)
            case F16 -> (r & 0x83FF83FF83FF83FFL) | 0x1800180018001800L | ((r >>> 5) & 0x0C000C000C000C00L);
            // f32 pairs: sign + 23 mantissa bits, exponent 118..121
            default -> (r & 0x807FFFFF807FFFFFL) | 0x3B0000003B000000L | ((r >>> 7) & 0x0180000001800000L);
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

    static long physicalMemory() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return -1;
    }

    @Override
    public void close() {
        arena.close();
    }
}
