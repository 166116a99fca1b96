package qwen4j.format;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import qwen4j.Qwen4jException;
import qwen4j.model.LayerWeights;
import qwen4j.model.Qwen2Config;
import qwen4j.model.Qwen2Weights;
import qwen4j.tensor.DType;
import qwen4j.tensor.HugePageMemory;
import qwen4j.tensor.Kernels;
import qwen4j.tensor.quant.Requantize;
import qwen4j.tensor.Matrices;
import qwen4j.tensor.Matrix;
import qwen4j.tensor.Tensor;

/**
 * Opens a Qwen2 model from a Hugging Face folder (config.json + safetensors) or a GGUF file,
 * checks every tensor against the config, and builds the weights.
 */
public final class ModelLoader {
    private ModelLoader() {}

    /** Per-layer tensor names, in {@link LayerWeights} order. */
    static final String[] HF_LAYER = {
            "input_layernorm.weight",
            "self_attn.q_proj.weight", "self_attn.q_proj.bias",
            "self_attn.k_proj.weight", "self_attn.k_proj.bias",
            "self_attn.v_proj.weight", "self_attn.v_proj.bias",
            "self_attn.o_proj.weight",
            "post_attention_layernorm.weight",
            "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"};
    static final String[] GGUF_LAYER = {
            "attn_norm.weight",
            "attn_q.weight", "attn_q.bias",
            "attn_k.weight", "attn_k.bias",
            "attn_v.weight", "attn_v.bias",
            "attn_output.weight",
            "ffn_norm.weight",
            "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight"};

    /** Tensor names of one format. */
    record Names(String embed, String layerPrefix, String[] layer, String norm, String output) {
        String layer(int i, int part) { return layerPrefix + i + "." + layer[part]; }
    }

    static final Names HF = new Names("model.embed_tokens.weight", "model.layers.", HF_LAYER,
            "model.norm.weight", "lm_head.weight");
    static final Names GGUF = new Names("token_embd.weight", "blk.", GGUF_LAYER,
            "output_norm.weight", "output.weight");

    /**
     * Loads the model at {@code path}: a folder with config.json (or a file inside one), or a
     * GGUF file (any part of a split GGUF).
     */
    public static LoadedModel load(Path path, Kernels kernels) {
        return load(path, kernels, WeightMemory.MMAP);
    }

    /**
     * Loads as {@link #load(Path, Kernels)}; {@code memory} says whether matrices are used straight
     * from the file mapping or copied into huge-page memory first.
     */
    public static LoadedModel load(Path path, Kernels kernels, WeightMemory memory) {
        return load(path, kernels, memory, null, Progress.NONE);
    }

    /**
     * Loads as {@link #load(Path, Kernels, WeightMemory)}, converting float (BF16/F16/F32) matrices to
     * {@code quantize} (Q8_0, Q4_0, or a float type; null: keep the stored types) while loading, tensor by
     * tensor, into off-heap memory (huge pages with {@link WeightMemory#HUGE_PAGES}). Which matrix gets
     * which type follows {@link QuantPlan}. Matrices already quantized in the file are kept as they are.
     * {@code progress} receives converted bytes.
     */
    public static LoadedModel load(Path path, Kernels kernels, WeightMemory memory, DType quantize, Progress progress) {
        Conversion conv = new Conversion(quantize, progress);
        if (!Files.exists(path)) {
            throw new Qwen4jException(path + ": no such file or folder");
        }
        if (Files.isDirectory(path)) return loadHf(path, path, kernels, memory, conv);
        String name = MappedFiles.displayName(path).toLowerCase(Locale.ROOT);
        if (name.endsWith(".gguf") || startsWithGgufMagic(path)) return loadGguf(path, kernels, memory, conv);
        Path parent = path.toAbsolutePath().getParent();
        if ((name.equals(HfConfig.CONFIG) || name.endsWith(".safetensors") || name.endsWith(".json"))
                && parent != null && Files.isRegularFile(parent.resolve(HfConfig.CONFIG))) {
            return loadHf(path, parent, kernels, memory, conv);
        }
        throw new Qwen4jException(path + ": not a GGUF file or a Hugging Face model folder (a folder with config.json)");
    }

    private static boolean startsWithGgufMagic(Path p) {
        try (InputStream in = Files.newInputStream(p)) {
            byte[] b = in.readNBytes(4);
            return b.length == 4 && b[0] == 'G' && b[1] == 'G' && b[2] == 'U' && b[3] == 'F';
        } catch (IOException e) {
            return false;
        }
    }

    private static LoadedModel loadHf(Path given, Path folder, Kernels kernels, WeightMemory memory, Conversion conv) {
        Qwen2Config cfg = HfConfig.read(folder);
        Arena arena = Arena.ofShared();
        try {
            SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(folder, arena);
            boolean tied = ckpt.find(HF.output).isEmpty();
            if (tied != cfg.tieWordEmbeddings()) cfg = withTied(cfg, tied);
            Function<String, Tensor> get = ckpt::tensor;
            if (memory == WeightMemory.MMAP) ckpt.files().forEach(f -> PageCache.prepare(f.path()));
            Built b = build(cfg, HF, get, ckpt::find, HfConfig.CONFIG, kernels, memory, arena, conv);
            return new LoadedModel(given, ModelFormat.HF, cfg, b.weights, Map.of(), Optional.of(folder),
                    ckpt.tensorsByFile(), b.bytes, arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static LoadedModel loadGguf(Path file, Kernels kernels, WeightMemory memory, Conversion conv) {
        Arena arena = Arena.ofShared();
        try {
            GgufFile gguf = GgufFile.open(file, arena);
            GgufConfig.checkArchitecture(gguf.metadata(), gguf.name());
            Tensor embd = gguf.tensor(GGUF.embed);
            if (embd.rank() != 2) {
                throw new Qwen4jException(embd.source() + ": tensor " + embd.name() + " has shape "
                        + embd.shapeString() + ", expected a matrix [vocab, hidden]");
            }
            if (embd.shape()[0] > Integer.MAX_VALUE) {
                throw new Qwen4jException(embd.source() + ": tensor " + embd.name() + " has " + embd.shape()[0] + " rows, too many");
            }
            boolean hasOutput = gguf.find(GGUF.output).isPresent();
            Qwen2Config cfg = GgufConfig.parse(gguf.metadata(), gguf.name(), (int) embd.shape()[0], hasOutput);
            if (memory == WeightMemory.MMAP) gguf.parts().forEach(PageCache::prepare);
            Built b = build(cfg, GGUF, gguf::tensor, gguf::find, "the " + GgufConfig.ARCH + ".* metadata", kernels,
                    memory, arena, conv);
            return new LoadedModel(file, ModelFormat.GGUF, cfg, b.weights, gguf.metadata(), Optional.empty(),
                    gguf.tensorsByFile(), b.bytes, arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static Qwen2Config withTied(Qwen2Config c, boolean tied) {
        return new Qwen2Config(c.hiddenSize(), c.numLayers(), c.numHeads(), c.numKvHeads(), c.intermediateSize(),
                c.vocabSize(), c.ropeTheta(), c.rmsNormEps(), tied, c.maxPositionEmbeddings(), c.eosTokenIds(),
                c.bosTokenId());
    }

    private record Built(Qwen2Weights weights, long bytes) {}

    private static Built build(Qwen2Config cfg, Names n, Function<String, Tensor> get,
                               Function<String, Optional<Tensor>> find, String implier, Kernels kernels,
                               WeightMemory memory, Arena arena, Conversion conv) {
        long h = cfg.hiddenSize(), kv = cfg.kvDim(), inter = cfg.intermediateSize(), vocab = cfg.vocabSize();
        long[][] layerShapes = {
                {h}, {h, h}, {h}, {kv, h}, {kv}, {kv, h}, {kv}, {h, h}, {h}, {inter, h}, {inter, h}, {h, inter}};
        // Pass 1: every tensor present, with the shape the config implies.
        Tensor embed = checked(get.apply(n.embed), new long[] {vocab, h}, implier);
        Tensor[][] layerT = new Tensor[cfg.numLayers()][];
        for (int i = 0; i < cfg.numLayers(); i++) {
            layerT[i] = new Tensor[n.layer.length];
            for (int p = 0; p < n.layer.length; p++) {
                layerT[i][p] = checked(get.apply(n.layer(i, p)), layerShapes[p], implier);
            }
        }
        Tensor norm = checked(get.apply(n.norm), new long[] {h}, implier);
        Optional<Tensor> out = find.apply(n.output);
        if (out.isPresent()) checked(out.get(), new long[] {vocab, h}, implier);

        // Pass 2: kernel views (fails clearly for types without kernels) and float copies of small tensors.
        boolean tied = out.isEmpty();
        conv.plan(embed, tied);
        for (Tensor[] t : layerT) for (int p : MATRIX_PARTS) conv.plan(t[p], false);
        if (out.isPresent()) conv.plan(out.get(), true);
        Function<Tensor, Matrix> matrix = t -> Matrices.of(conv.apply(t, memory, arena), kernels);
        Matrix embedM = matrix.apply(embed);
        LayerWeights[] layers = new LayerWeights[cfg.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            Tensor[] t = layerT[i];
            layers[i] = new LayerWeights(
                    Matrices.toFloatArray(t[0]),
                    matrix.apply(t[1]), Matrices.toFloatArray(t[2]),
                    matrix.apply(t[3]), Matrices.toFloatArray(t[4]),
                    matrix.apply(t[5]), Matrices.toFloatArray(t[6]),
                    matrix.apply(t[7]),
                    Matrices.toFloatArray(t[8]),
                    matrix.apply(t[9]), matrix.apply(t[10]), matrix.apply(t[11]));
        }
        Matrix output = out.isPresent() ? matrix.apply(out.get()) : embedM;
        Qwen2Weights w = new Qwen2Weights(embedM, layers, Matrices.toFloatArray(norm), output);

        Set<Matrix> distinct = Collections.newSetFromMap(new IdentityHashMap<>());
        distinct.add(embedM);
        distinct.add(output);
        for (LayerWeights l : layers) {
            distinct.addAll(List.of(l.wq(), l.wk(), l.wv(), l.wo(), l.wGate(), l.wUp(), l.wDown()));
        }
        long bytes = 0;
        for (Matrix m : distinct) bytes += m.byteSize();
        return new Built(w, bytes);
    }

    private static final int[] MATRIX_PARTS = {1, 3, 5, 7, 9, 10, 11};

    /** Quantize-on-load: which matrices change type, and the progress over all of them. */
    private static final class Conversion {
        private final DType target;
        private final Progress progress;
        private final Map<Tensor, DType> types = new IdentityHashMap<>();
        private long total, done;

        Conversion(DType target, Progress progress) {
            this.target = target;
            this.progress = progress;
        }

        void plan(Tensor t, boolean outputLike) {
            if (target == null || !isFloat(t.type())) return;
            DType want = QuantPlan.typeFor(target, t.rank(), outputLike);
            if (t.cols() % want.blockSize() != 0 || want == t.type()) return;
            types.put(t, want);
            total += want.bytesFor(t.elementCount());
        }

        Tensor apply(Tensor t, WeightMemory memory, Arena arena) {
            DType want = types.get(t);
            if (want == null) return memory.place(t, arena);
            long bytes = want.bytesFor(t.elementCount());
            MemorySegment seg = memory == WeightMemory.HUGE_PAGES ? HugePageMemory.allocate(bytes, arena)
                    : arena.allocate(bytes, 64);
            long rowBytes = want.bytesFor(t.cols());
            int rows = Math.toIntExact(t.rows());
            int band = (int) Math.max(1, (16L << 20) / rowBytes);
            for (int r = 0; r < rows; r += band) {
                int to = Math.min(rows, r + band);
                Requantize.rows(t, r, to, want, seg.asSlice(r * rowBytes, (to - r) * rowBytes));
                done += (to - r) * rowBytes;
                progress.update(done, total);
            }
            return new Tensor(t.name(), want, t.shape(), seg, t.source() + " (" + want + " on load)");
        }

        private static boolean isFloat(DType t) {
            return t == DType.BF16 || t == DType.F16 || t == DType.F32;
        }
    }

    private static Tensor checked(Tensor t, long[] expected, String implier) {
        if (!Arrays.equals(t.shape(), expected)) {
            throw new Qwen4jException(t.source() + ": tensor " + t.name() + " has shape " + t.shapeString() + ", "
                    + implier + " implies " + Arrays.toString(expected));
        }
        return t;
    }
}
