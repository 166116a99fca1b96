package qwen4j.format;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import qwen4j.Qwen4jException;
import qwen4j.model.Qwen2Config;
import qwen4j.tensor.DType;
import qwen4j.tensor.Tensor;
import qwen4j.tensor.quant.Requantize;
import qwen4j.tokenizer.Tokenizer;

/**
 * Converts a Qwen2 model (Hugging Face folder with BF16/F16/F32 safetensors, or a GGUF file) into one
 * GGUF v3 file of a target type ({@link QuantPlan} says which tensor gets which type). Tensor by tensor,
 * a band of rows at a time: at no point is a float32 copy of the model (or of one whole tensor) held.
 */
public final class GgufConverter {
    private GgufConverter() {}

    /** What was written. */
    public record Result(Path out, int tensors, long dataBytes) {}

    public static Result convert(Path source, DType target, Path out, boolean force, Progress progress) {
        return convert(source, target, out, force, false, progress);
    }

    /**
     * As above; a source whose matrices are already quantized is refused unless {@code allowRequantize}
     * (as llama-quantize does: quantizing twice compounds the errors).
     */
    public static Result convert(Path source, DType target, Path out, boolean force, boolean allowRequantize, Progress progress) {
        if (!Requantize.canWrite(target)) throw new Qwen4jException("cannot write tensors of type " + target);
        if (!Files.exists(source)) throw new Qwen4jException(source + ": no such file or folder");
        GgufWriter.checkTarget(out, force); // before the work: -o naming a folder, an existing file without --force
        try (Arena arena = Arena.ofShared()) {
            GgufWriter w = new GgufWriter();
            Qwen2Config cfg;
            Function<String, Tensor> get;
            Function<String, Optional<Tensor>> find;
            ModelLoader.Names names;
            String name;
            Map<String, Object> sourceMetadata = Map.of();
            if (Files.isDirectory(source)) {
                cfg = HfConfig.read(source);
                SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(source, arena);
                get = ckpt::tensor;
                find = ckpt::find;
                names = ModelLoader.HF;
                String repo = qwen4j.hub.ModelResolver.repoIdOf(source); // a cache snapshot's folder name is a hash
                name = repo != null ? repo.substring(repo.indexOf('/') + 1) : source.toAbsolutePath().normalize().getFileName().toString();
            } else {
                GgufFile gguf = GgufFile.open(source, arena);
                GgufConfig.checkArchitecture(gguf.metadata(), gguf.name());
                if (!allowRequantize) {
                    for (GgufFile.TensorInfo ti : gguf.tensorInfos()) {
                        DType t = ti.type();
                        if (t != DType.F32 && t != DType.F16 && t != DType.BF16) {
                            throw new Qwen4jException(source + " is already quantized (" + ti.name() + " is " + t
                                    + "): converting it again compounds the error; convert the float model, or pass --allow-requantize");
                        }
                    }
                }
                Tensor embd = gguf.tensor(ModelLoader.GGUF.embed());
                cfg = GgufConfig.parse(gguf.metadata(), gguf.name(), Math.toIntExact(embd.shape()[0]),
                        gguf.find(ModelLoader.GGUF.output()).isPresent());
                get = gguf::tensor;
                find = gguf::find;
                names = ModelLoader.GGUF;
                sourceMetadata = gguf.metadata();
                name = sourceMetadata.get("general.name") instanceof String s ? s : gguf.name();
            }
            boolean hasOutput = find.apply(names.output()).isPresent();

            String a = GgufConfig.ARCH;
            w.putString("general.architecture", a);
            w.putString("general.type", "model");
            w.putString("general.name", name);
            w.putU32(a + ".block_count", cfg.numLayers());
            w.putU32(a + ".context_length", cfg.maxPositionEmbeddings());
            w.putU32(a + ".embedding_length", cfg.hiddenSize());
            w.putU32(a + ".feed_forward_length", cfg.intermediateSize());
            w.putU32(a + ".attention.head_count", cfg.numHeads());
            w.putU32(a + ".attention.head_count_kv", cfg.numKvHeads());
            w.putF32(a + ".rope.freq_base", (float) cfg.ropeTheta());
            w.putF32(a + ".attention.layer_norm_rms_epsilon", cfg.rmsNormEps());
            w.putU32("general.file_type", QuantPlan.fileType(target));
            w.putU32("general.quantization_version", 2);
            w.putU32("general.alignment", GgufWriter.ALIGNMENT);
            if (Files.isDirectory(source)) {
                hfTokenizerMetadata(source, cfg, w);
            } else {
                for (Map.Entry<String, Object> e : sourceMetadata.entrySet()) {
                    if (e.getKey().startsWith("tokenizer.")) w.putRead(e.getKey(), e.getValue());
                }
            }

            List<String[]> order = new ArrayList<>(); // {source name, gguf name}
            order.add(new String[] {names.embed(), ModelLoader.GGUF.embed()});
            for (int i = 0; i < cfg.numLayers(); i++) {
                for (int p = 0; p < names.layer().length; p++) {
                    order.add(new String[] {names.layer(i, p), ModelLoader.GGUF.layer(i, p)});
                }
            }
            order.add(new String[] {names.norm(), ModelLoader.GGUF.norm()});
            if (hasOutput) order.add(new String[] {names.output(), ModelLoader.GGUF.output()});
            for (String[] o : order) {
                Tensor t = get.apply(o[0]);
                boolean outputLike = o[1].equals(ModelLoader.GGUF.output())
                        || (!hasOutput && o[1].equals(ModelLoader.GGUF.embed()));
                DType type = QuantPlan.typeFor(target, t.rank(), outputLike);
                if (t.cols() % type.blockSize() != 0) type = DType.F32; // rows that do not fit whole blocks
                DType ty = type;
                w.addTensor(o[1], ty, t.shape(), (from, to, dst) -> Requantize.rows(t, from, to, ty, dst));
            }
            long total = w.dataBytes();
            w.write(out, force, done -> progress.update(done, total));
            return new Result(out, order.size(), total);
        }
    }

    /** tokenizer.ggml.* and tokenizer.chat_template from an HF folder, as llama.cpp's converter writes them. */
    static void hfTokenizerMetadata(Path folder, Qwen2Config cfg, GgufWriter w) {
        Tokenizer tok = Tokenizer.fromHfFolder(folder);
        int n = Math.max(cfg.vocabSize(), tok.size());
        List<String> tokens = new ArrayList<>(n);
        int[] types = new int[n];
        for (int id = 0; id < n; id++) {
            if (id < tok.size() && tok.hasToken(id)) {
                tokens.add(tok.tokenString(id));
                types[id] = tok.isAdded(id) ? (tok.isSpecial(id) ? 3 : 4) : 1;
            } else {
                tokens.add("[PAD" + id + "]");
                types[id] = 5;
            }
        }
        w.putString("tokenizer.ggml.model", "gpt2");
        w.putString("tokenizer.ggml.pre", "qwen2");
        w.putStrings("tokenizer.ggml.tokens", tokens);
        w.putI32s("tokenizer.ggml.token_type", types);
        w.putStrings("tokenizer.ggml.merges", merges(folder));
        int eos = tok.eosTokenId().orElse(cfg.eosTokenIds().isEmpty() ? -1 : cfg.eosTokenIds().getFirst());
        if (eos >= 0) w.putU32("tokenizer.ggml.eos_token_id", eos);
        int pad = tok.padTokenId().orElse(-1);
        if (pad >= 0) w.putU32("tokenizer.ggml.padding_token_id", pad);
        int bos = tok.bosTokenId().orElse(cfg.bosTokenId());
        if (bos >= 0) w.putU32("tokenizer.ggml.bos_token_id", bos);
        w.putBool("tokenizer.ggml.add_bos_token", false);
        chatTemplate(folder).ifPresent(t -> w.putString("tokenizer.chat_template", t));
    }

    /** The BPE merges as "left right" lines: tokenizer.json's model.merges, else merges.txt. */
    static List<String> merges(Path folder) {
        Path json = folder.resolve("tokenizer.json");
        List<String> out = new ArrayList<>();
        if (Files.isRegularFile(json)) {
            JsonNode m = Json.readFile(json).path("model").path("merges");
            for (JsonNode e : m) {
                if (e.isTextual()) out.add(e.textValue());
                else if (e.isArray() && e.size() == 2) out.add(e.get(0).asText() + " " + e.get(1).asText());
                else throw new Qwen4jException(json + ": model.merges holds an entry that is not a merge");
            }
            return out;
        }
        Path txt = folder.resolve("merges.txt");
        try {
            for (String line : Files.readAllLines(txt, StandardCharsets.UTF_8)) {
                if (line.startsWith("#version") || line.isEmpty()) continue;
                out.add(line);
            }
        } catch (IOException e) {
            throw new Qwen4jException(txt + ": cannot read (" + e.getMessage() + ")", e);
        }
        return out;
    }

    static Optional<String> chatTemplate(Path folder) {
        Path cfg = folder.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(cfg)) return Optional.empty();
        JsonNode t = Json.readFile(cfg).get("chat_template");
        if (t == null || t.isNull()) return Optional.empty();
        if (t.isTextual()) return Optional.of(t.textValue());
        if (t.isArray()) {
            for (JsonNode e : t) {
                if ("default".equals(e.path("name").asText())) return Optional.of(e.path("template").asText());
            }
            if (!t.isEmpty()) return Optional.of(t.get(0).path("template").asText());
        }
        return Optional.empty();
    }
}
