package qwen4j.format;

import static org.assertj.core.api.Assertions.assertThat;
import static qwen4j.format.TestFiles.assertError;
import static qwen4j.format.TestFiles.read;
import static qwen4j.format.TestFiles.write;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import qwen4j.model.LayerWeights;
import qwen4j.model.Qwen2Config;
import qwen4j.model.Qwen2Weights;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;
import qwen4j.tensor.Matrix;
import qwen4j.tensor.Tensor;

class ModelLoaderTest {
    private static final ObjectMapper M = new ObjectMapper();
    @TempDir Path tmp;

    // ---- the three F32/BF16 forms of the tiny model ----

    @Test
    void loadsHfShardedAndGgufWithIdenticalWeights() throws Exception {
        Path tiny = TestFiles.tiny();
        try (LoadedModel hf = ModelLoader.load(tiny.resolve("hf"), Kernels.SCALAR);
             LoadedModel sh = ModelLoader.load(tiny.resolve("hf-sharded"), Kernels.SCALAR);
             LoadedModel gg = ModelLoader.load(tiny.resolve("tiny-BF16.gguf"), Kernels.SCALAR)) {
            // config: from config.json, and the same hyper-parameters from GGUF metadata
            var j = M.readTree(tiny.resolve("hf/config.json").toFile());
            Qwen2Config c = hf.config();
            assertThat(c).isEqualTo(HfConfig.read(tiny.resolve("hf")));
            assertThat(c.hiddenSize()).isEqualTo(j.get("hidden_size").asInt());
            assertThat(c.numLayers()).isEqualTo(j.get("num_hidden_layers").asInt());
            assertThat(c.vocabSize()).isEqualTo(j.get("vocab_size").asInt());
            assertThat(c.tieWordEmbeddings()).isTrue();
            assertThat(sh.config()).isEqualTo(c);
            Qwen2Config g = gg.config();
            assertThat(List.of(g.hiddenSize(), g.numLayers(), g.numHeads(), g.numKvHeads(), g.intermediateSize(),
                    g.vocabSize(), g.maxPositionEmbeddings(), g.bosTokenId()))
                    .isEqualTo(List.of(c.hiddenSize(), c.numLayers(), c.numHeads(), c.numKvHeads(),
                            c.intermediateSize(), c.vocabSize(), c.maxPositionEmbeddings(), c.bosTokenId()));
            assertThat(g.ropeTheta()).isEqualTo(c.ropeTheta());
            assertThat(g.rmsNormEps()).isEqualTo(c.rmsNormEps());
            assertThat(g.tieWordEmbeddings()).isTrue();
            assertThat(g.eosTokenIds()).containsExactly(151645);

            // formats and side data
            assertThat(hf.format()).isEqualTo(ModelFormat.HF);
            assertThat(hf.hfFolder()).contains(tiny.resolve("hf"));
            assertThat(hf.ggufMetadata()).isEmpty();
            assertThat(gg.format()).isEqualTo(ModelFormat.GGUF);
            assertThat(gg.hfFolder()).isEmpty();
            assertThat(gg.path()).isEqualTo(tiny.resolve("tiny-BF16.gguf"));
            assertThat(gg.ggufMetadata().get("tokenizer.ggml.tokens")).asList().hasSize(151936);
            assertThat(gg.ggufMetadata().get("tokenizer.ggml.merges")).asList().hasSize(151387);
            assertThat(gg.ggufMetadata().get("tokenizer.ggml.token_type")).isInstanceOf(long[].class);
            assertThat(gg.ggufMetadata().get("tokenizer.ggml.eos_token_id")).isEqualTo(151645L);
            assertThat(gg.ggufMetadata().get("tokenizer.chat_template")).isInstanceOf(String.class);

            // every tensor, grouped by file
            assertThat(hf.tensors()).containsOnlyKeys("model.safetensors");
            assertThat(hf.tensors().get("model.safetensors")).hasSize(26);
            assertThat(sh.tensors()).containsOnlyKeys("model-00001-of-00002.safetensors",
                    "model-00002-of-00002.safetensors");
            assertThat(sh.tensors().values().stream().mapToInt(List::size).sum()).isEqualTo(26);
            assertThat(gg.tensors().get("tiny-BF16.gguf")).hasSize(26);

            // weights: same values everywhere (the fixture README promises identical numbers)
            for (LoadedModel m : List.of(hf, sh, gg)) {
                Qwen2Weights w = m.weights();
                assertThat(w.layers()).hasSize(2);
                assertThat(w.output()).isSameAs(w.tokenEmbedding()); // tied
                assertThat(w.tokenEmbedding().type()).isEqualTo(DType.BF16);
                long expectedBytes = 151936L * 64 * 2 + 2L * 2 * (64 * 64 * 2 + 32 * 64 * 2 + 3 * 128 * 64);
                assertThat(m.weightBytes()).isEqualTo(expectedBytes);
            }
            assertSameWeights(hf.weights(), sh.weights());
            assertSameWeights(hf.weights(), gg.weights());
        }
    }

    private static void assertSameWeights(Qwen2Weights a, Qwen2Weights b) {
        assertSameRows(a.tokenEmbedding(), b.tokenEmbedding(), "embed");
        assertThat(b.outputNorm()).containsExactly(a.outputNorm());
        for (int i = 0; i < a.layers().length; i++) {
            LayerWeights x = a.layers()[i], y = b.layers()[i];
            assertThat(y.attnNorm()).as("attnNorm").containsExactly(x.attnNorm());
            assertThat(y.ffnNorm()).as("ffnNorm").containsExactly(x.ffnNorm());
            assertThat(y.bq()).as("bq").containsExactly(x.bq());
            assertThat(y.bk()).as("bk").containsExactly(x.bk());
            assertThat(y.bv()).as("bv").containsExactly(x.bv());
            assertSameRows(x.wq(), y.wq(), "wq" + i);
            assertSameRows(x.wk(), y.wk(), "wk" + i);
            assertSameRows(x.wv(), y.wv(), "wv" + i);
            assertSameRows(x.wo(), y.wo(), "wo" + i);
            assertSameRows(x.wGate(), y.wGate(), "wGate" + i);
            assertSameRows(x.wUp(), y.wUp(), "wUp" + i);
            assertSameRows(x.wDown(), y.wDown(), "wDown" + i);
        }
        // and the matvec agrees (both BF16 with the same values)
        float[] x = new float[64];
        for (int i = 0; i < 64; i++) x[i] = (i % 7) - 3;
        float[] oa = new float[128], ob = new float[128];
        a.layers()[1].wUp().matvec(x, oa, 0, 128);
        b.layers()[1].wUp().matvec(x, ob, 0, 128);
        assertThat(ob).containsExactly(oa);
    }

    private static void assertSameRows(Matrix a, Matrix b, String what) {
        assertThat(b.rows()).as(what).isEqualTo(a.rows());
        assertThat(b.cols()).as(what).isEqualTo(a.cols());
        float[] ra = new float[a.cols()], rb = new float[b.cols()];
        for (int r : new int[] {0, 1, a.rows() / 2, a.rows() - 1}) {
            a.row(r, ra, 0);
            b.row(r, rb, 0);
            assertThat(rb).as(what + " row " + r).containsExactly(ra);
        }
        a.row(0, ra, 0); // (the embedding's padded rows past the real vocabulary are zero, row 0 is not)
        assertThat(ra).as(what + " row 0 is not all zero").isNotEqualTo(new float[a.cols()]);
    }

    @Test
    void acceptsAFileInsideTheHfFolder() {
        Path hf = TestFiles.tiny().resolve("hf");
        try (LoadedModel m = ModelLoader.load(hf.resolve("config.json"), Kernels.SCALAR)) {
            assertThat(m.format()).isEqualTo(ModelFormat.HF);
            assertThat(m.hfFolder()).contains(hf);
        }
    }

    @Test
    void closeUnmaps() {
        LoadedModel m = ModelLoader.load(TestFiles.tiny().resolve("hf"), Kernels.SCALAR);
        Tensor t = m.tensors().get("model.safetensors").getFirst();
        assertThat(t.data().scope().isAlive()).isTrue();
        m.close();
        m.close();
        assertThat(t.data().scope().isAlive()).isFalse();
    }

    @Test
    void untiedWhenLmHeadPresent() throws Exception {
        Path dir = hfCopy();
        // Append a copy of the embedding as lm_head.weight.
        Path st = dir.resolve("model.safetensors");
        byte[] all = read(st);
        long hlen = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        ObjectNode h = (ObjectNode) M.readTree(Arrays.copyOfRange(all, 8, 8 + (int) hlen));
        long dataLen = all.length - 8 - hlen;
        long embBytes = 151936L * 64 * 2;
        h.set("lm_head.weight", M.readTree("{\"dtype\":\"BF16\",\"shape\":[151936,64],\"data_offsets\":["
                + dataLen + "," + (dataLen + embBytes) + "]}"));
        byte[] data = new byte[(int) (dataLen + embBytes)];
        System.arraycopy(all, 8 + (int) hlen, data, 0, (int) dataLen);
        System.arraycopy(all, 8 + (int) hlen, data, (int) dataLen, (int) embBytes); // embed is first
        write(st, TestFiles.safetensors(h.toString(), data));
        try (LoadedModel m = ModelLoader.load(dir, Kernels.SCALAR)) {
            assertThat(m.config().tieWordEmbeddings()).isFalse();
            assertThat(m.weights().output()).isNotSameAs(m.weights().tokenEmbedding());
            assertSameRows(m.weights().tokenEmbedding(), m.weights().output(), "lm_head");
            assertThat(m.weightBytes()).isEqualTo(2 * embBytes + 2L * 2 * (64 * 64 * 2 + 32 * 64 * 2 + 3 * 128 * 64));
        }
    }

    // ---- quantized files load with their own kernels (any part of a split names the whole) ----

    @Test
    void quantizedFilesLoad() {
        Path tiny = TestFiles.tiny();
        try (LoadedModel m = ModelLoader.load(tiny.resolve("tiny-Q8_0-split-00002-of-00003.gguf"), Kernels.SIMD)) {
            assertThat(m.weights().layers()[1].wUp().type()).isEqualTo(qwen4j.tensor.DType.Q8_0);
            assertThat(m.weights().tokenEmbedding().type()).isEqualTo(qwen4j.tensor.DType.Q8_0);
        }
        try (LoadedModel m = ModelLoader.load(tiny.resolve("tiny-Q4_0.gguf"), Kernels.SCALAR)) {
            assertThat(m.weights().layers()[0].wq().type()).isEqualTo(qwen4j.tensor.DType.Q4_0);
            assertThat(m.weights().tokenEmbedding().type()).isEqualTo(qwen4j.tensor.DType.Q8_0);
        }
    }

    // ---- bad input ----

    @Test
    void missingPathOrNotAModel() throws Exception {
        assertError(() -> ModelLoader.load(tmp.resolve("nothing"), Kernels.SCALAR), "nothing", "no such file or folder");
        assertError(() -> ModelLoader.load(tmp, Kernels.SCALAR), tmp.toString(), "no config.json");
        Path txt = Files.writeString(tmp.resolve("notes.txt"), "hello");
        assertError(() -> ModelLoader.load(txt, Kernels.SCALAR), "notes.txt", "not a GGUF file or a Hugging Face");
        Path fake = Files.writeString(tmp.resolve("fake.gguf"), "hello world, not gguf");
        assertError(() -> ModelLoader.load(fake, Kernels.SCALAR), "fake.gguf", "not a GGUF file");
    }

    @Test
    void hfFolderWithoutWeights() throws Exception {
        Files.copy(TestFiles.tiny().resolve("hf/config.json"), tmp.resolve("config.json"));
        assertError(() -> ModelLoader.load(tmp, Kernels.SCALAR), "no model.safetensors or model.safetensors.index.json");
        Files.writeString(tmp.resolve("pytorch_model.bin"), "x");
        assertError(() -> ModelLoader.load(tmp, Kernels.SCALAR), "pytorch_model.bin is not supported");
    }

    @Test
    void missingTensor() throws Exception {
        Path dir = hfCopy();
        rewriteHeader(dir.resolve("model.safetensors"), h -> h.remove("model.layers.1.self_attn.v_proj.bias"));
        assertError(() -> ModelLoader.load(dir, Kernels.SCALAR),
                "model.safetensors: tensor model.layers.1.self_attn.v_proj.bias is missing");
    }

    @Test
    void shapeContradictsConfig() throws Exception {
        Path dir = hfCopy();
        ObjectNode cfg = (ObjectNode) M.readTree(dir.resolve("config.json").toFile());
        cfg.put("intermediate_size", 256);
        Files.writeString(dir.resolve("config.json"), cfg.toString());
        assertError(() -> ModelLoader.load(dir, Kernels.SCALAR),
                "model.safetensors: tensor model.layers.0.mlp.gate_proj.weight has shape [128, 64], "
                        + "config.json implies [256, 64]");
    }

    @Test
    void shardedShapeContradictsConfig() throws Exception {
        Path dir = shardedCopy();
        rewriteHeader(dir.resolve("model-00002-of-00002.safetensors"), h ->
                ((ObjectNode) h.get("model.layers.1.mlp.up_proj.weight")).set("shape", M.valueToTree(new int[] {64, 128})));
        assertError(() -> ModelLoader.load(dir, Kernels.SCALAR),
                "model-00002-of-00002.safetensors: tensor model.layers.1.mlp.up_proj.weight has shape [64, 128], "
                        + "config.json implies [128, 64]");
    }

    @Test
    void unknownDtypeInFixture() throws Exception {
        Path dir = hfCopy();
        rewriteHeader(dir.resolve("model.safetensors"), h ->
                ((ObjectNode) h.get("model.norm.weight")).put("dtype", "BF17"));
        assertError(() -> ModelLoader.load(dir, Kernels.SCALAR),
                "model.safetensors: tensor model.norm.weight: unknown dtype \"BF17\"");
    }

    @Test
    void unsupportedDtypeWhereUsed() throws Exception {
        Path dir = hfCopy();
        rewriteHeader(dir.resolve("model.safetensors"), h -> {
            ObjectNode n = (ObjectNode) h.get("model.norm.weight");
            n.put("dtype", "U8");
            n.set("shape", M.valueToTree(new int[] {128}));
        });
        assertError(() -> ModelLoader.load(dir, Kernels.SCALAR),
                "model.safetensors: tensor model.norm.weight has dtype U8, which qwen4j does not support");
    }

    @Test
    void malformedJsonFiles() throws Exception {
        Path dir = shardedCopy();
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\": {\"a\": ");
        assertError(() -> ModelLoader.load(dir, Kernels.SCALAR), "model.safetensors.index.json: malformed JSON");
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\": [1]}");
        assertError(() -> ModelLoader.load(dir, Kernels.SCALAR), "model.safetensors.index.json: field weight_map");
        Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"weight_map\": {\"model.norm.weight\": \"../../etc/passwd\"}}");
        assertError(() -> ModelLoader.load(dir, Kernels.SCALAR), "model.safetensors.index.json",
                "field weight_map.model.norm.weight", "same folder");
        Files.writeString(dir.resolve("config.json"), "{\"architectures\": ");
        assertError(() -> ModelLoader.load(dir, Kernels.SCALAR), "config.json: malformed JSON");
        Path hf = hfCopy();
        Path st = hf.resolve("model.safetensors");
        byte[] all = read(st);
        int brace = TestFiles.indexOf(all, "\"model.norm.weight\"".getBytes(StandardCharsets.UTF_8), 8);
        all[brace] = '\'';
        write(st, all);
        assertError(() -> ModelLoader.load(hf, Kernels.SCALAR), "model.safetensors header: malformed JSON", "byte");
    }

    @Test
    void indexPointsAtMissingShardOrTensor() throws Exception {
        Path dir = shardedCopy();
        Files.delete(dir.resolve("model-00001-of-00002.safetensors"));
        assertError(() -> ModelLoader.load(dir, Kernels.SCALAR), "model.safetensors.index.json",
                "shard model-00001-of-00002.safetensors", "not found");
        Path d2 = shardedCopy();
        ObjectNode idx = (ObjectNode) M.readTree(d2.resolve("model.safetensors.index.json").toFile());
        ((ObjectNode) idx.get("weight_map")).put("model.norm.weight", "model-00001-of-00002.safetensors");
        Files.writeString(d2.resolve("model.safetensors.index.json"), idx.toString());
        assertError(() -> ModelLoader.load(d2, Kernels.SCALAR),
                "model-00001-of-00002.safetensors: tensor model.norm.weight is missing",
                "model.safetensors.index.json");
        Path d3 = shardedCopy();
        ObjectNode idx3 = (ObjectNode) M.readTree(d3.resolve("model.safetensors.index.json").toFile());
        ((ObjectNode) idx3.get("weight_map")).remove("model.layers.0.mlp.up_proj.weight");
        Files.writeString(d3.resolve("model.safetensors.index.json"), idx3.toString());
        assertError(() -> ModelLoader.load(d3, Kernels.SCALAR),
                "model.safetensors.index.json: tensor model.layers.0.mlp.up_proj.weight is missing");
    }

    @Test
    void unsupportedHfArchitecture() throws Exception {
        Path dir = hfCopy();
        ObjectNode cfg = (ObjectNode) M.readTree(dir.resolve("config.json").toFile());
        cfg.putArray("architectures").add("MistralForCausalLM");
        Files.writeString(dir.resolve("config.json"), cfg.toString());
        assertError(() -> ModelLoader.load(dir, Kernels.SCALAR),
                "config.json: architecture MistralForCausalLM is not supported (qwen4j runs Qwen2ForCausalLM)");
    }

    @Test
    void ggufProblems() throws Exception {
        byte[] orig = read(TestFiles.tiny().resolve("tiny-BF16.gguf"));

        byte[] arch = orig.clone();
        int at = TestFiles.indexOf(arch, "general.architecture".getBytes(), 0) + 20 + 4 + 8;
        System.arraycopy("llama".getBytes(), 0, arch, at, 5);
        Path a = write(tmp.resolve("llama.gguf"), arch);
        assertError(() -> ModelLoader.load(a, Kernels.SCALAR),
                "llama.gguf: architecture llama is not supported (qwen4j runs qwen2)");

        byte[] key = patch(orig, "qwen2.block_count", "qwen2.block_cXunt");
        Path k = write(tmp.resolve("key.gguf"), key);
        assertError(() -> ModelLoader.load(k, Kernels.SCALAR), "key.gguf: metadata key qwen2.block_count is missing");

        byte[] ffn = orig.clone();
        int f = TestFiles.indexOf(ffn, "qwen2.feed_forward_length".getBytes(), 0) + 25 + 4;
        ffn[f] = 0; // 128 -> 256 (u32 little-endian)
        ffn[f + 1] = 1;
        Path s = write(tmp.resolve("ffn.gguf"), ffn);
        assertError(() -> ModelLoader.load(s, Kernels.SCALAR),
                "ffn.gguf: tensor blk.0.ffn_gate.weight has shape [128, 64], the qwen2.* metadata implies [256, 64]");

        byte[] name = patch(orig, "output_norm.weight", "output_norX.weight");
        Path n = write(tmp.resolve("name.gguf"), name);
        assertError(() -> ModelLoader.load(n, Kernels.SCALAR), "name.gguf: tensor output_norm.weight is missing");

        byte[] typ = orig.clone();
        int t = TestFiles.indexOf(typ, "blk.0.attn_q.weight".getBytes(), 0) + 19 + 4 + 16;
        typ[t] = 99;
        Path ty = write(tmp.resolve("type.gguf"), typ);
        assertError(() -> ModelLoader.load(ty, Kernels.SCALAR),
                "type.gguf: tensor blk.0.attn_q.weight has unknown ggml type id 99", "at byte " + t);
    }

    // ---- helpers ----

    private static byte[] patch(byte[] b, String from, String to) {
        byte[] out = b.clone();
        int i = TestFiles.indexOf(out, from.getBytes(StandardCharsets.UTF_8), 0);
        assertThat(i).as(from).isPositive();
        System.arraycopy(to.getBytes(StandardCharsets.UTF_8), 0, out, i, to.length());
        return out;
    }

    /** A writable copy of the hf fixture folder (config files and weights only). */
    private Path hfCopy() throws Exception {
        Path src = TestFiles.tiny().resolve("hf");
        Path dir = Files.createDirectories(tmp.resolve("hf-" + System.nanoTime()));
        for (String f : List.of("config.json", "generation_config.json", "model.safetensors")) {
            Files.copy(src.resolve(f), dir.resolve(f));
            dir.resolve(f).toFile().setWritable(true);
        }
        return dir;
    }

    private Path shardedCopy() throws Exception {
        Path src = TestFiles.tiny().resolve("hf-sharded");
        Path dir = Files.createDirectories(tmp.resolve("sh-" + System.nanoTime()));
        for (String f : List.of("config.json", "generation_config.json", "model.safetensors.index.json",
                "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")) {
            Files.copy(src.resolve(f), dir.resolve(f));
            dir.resolve(f).toFile().setWritable(true);
        }
        return dir;
    }

    /** Rewrites a safetensors file's JSON header, keeping its data region as is. */
    private static void rewriteHeader(Path file, Consumer<ObjectNode> edit) throws Exception {
        byte[] all = read(file);
        long hlen = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        ObjectNode h = (ObjectNode) M.readTree(Arrays.copyOfRange(all, 8, 8 + (int) hlen));
        edit.accept(h);
        write(file, TestFiles.safetensors(h.toString(), Arrays.copyOfRange(all, 8 + (int) hlen, all.length)));
    }
}
