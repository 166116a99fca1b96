package qwen4j.format;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import qwen4j.Fixtures;
import qwen4j.model.Golden;
import qwen4j.model.Options;
import qwen4j.model.Qwen2Model;
import qwen4j.model.Session;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;
import qwen4j.tensor.Tensor;
import qwen4j.tensor.quant.Quantize;
import qwen4j.tokenizer.Tokenizer;

/** HF folder / GGUF -> GGUF conversion: the written file reloads to the same tensors, logits and tokenizer. */
class GgufConverterTest {
    @TempDir Path tmp;

    static Path hf() { return Fixtures.tiny().resolve("hf"); }

    static float[][] logits(Path model, Kernels kernels, int[] ids) {
        try (LoadedModel lm = ModelLoader.load(model, kernels);
             Qwen2Model m = new Qwen2Model(lm.config(), lm.weights(), Options.defaults().withKernels(kernels).withThreads(1), 64)) {
            Session s = m.newSession(64);
            float[][] out = new float[ids.length][];
            for (int i = 0; i < ids.length; i++) out[i] = m.forward(s, ids[i]).clone();
            return out;
        }
    }

    static Golden golden(String prompt, String weights) {
        return Golden.load(Fixtures.tiny().resolve("golden.json")).stream()
                .filter(g -> g.prompt().equals(prompt) && g.weights().startsWith(weights)).findFirst().orElseThrow();
    }

    @Test
    void bf16FromHfGivesIdenticalTensorsAndLogits() {
        Path out = tmp.resolve("tiny-bf16.gguf");
        GgufConverter.convert(hf(), DType.BF16, out, false, Progress.NONE);
        try (GgufFile g = GgufFile.open(out)) {
            assertThat(g.version()).isEqualTo(3);
            assertThat(g.alignment()).isEqualTo(32);
            assertThat(g.metadata().get("general.architecture")).isEqualTo("qwen2");
            assertThat(((Number) g.metadata().get("general.file_type")).intValue()).isEqualTo(32);
            assertThat(g.tensor("token_embd.weight").type()).isEqualTo(DType.BF16);
            assertThat(g.tensor("blk.0.attn_norm.weight").type()).isEqualTo(DType.F32);
            assertThat(g.tensor("blk.1.attn_q.bias").type()).isEqualTo(DType.F32);
            assertThat(g.tensor("blk.1.ffn_down.weight").shape()).containsExactly(64, 128);
            for (GgufFile.TensorInfo ti : g.tensorInfos()) assertThat(ti.offset() % 32).isZero();
            // same bytes as the reference BF16 GGUF made by llama.cpp
            try (GgufFile ref = GgufFile.open(Fixtures.tiny().resolve("tiny-BF16.gguf"))) {
                for (Map.Entry<String, Tensor> e : ref.tensors().entrySet()) {
                    Tensor a = e.getValue(), b = g.tensor(e.getKey());
                    assertThat(b.type()).as(e.getKey()).isEqualTo(a.type());
                    assertThat(b.shape()).as(e.getKey()).containsExactly(a.shape());
                    assertThat(b.data().mismatch(a.data())).as(e.getKey()).isEqualTo(-1L);
                }
            }
        }
        int[] ids = golden("math", "F32/BF16").promptIds();
        float[][] a = logits(hf(), Kernels.SIMD, ids), b = logits(out, Kernels.SIMD, ids);
        for (int i = 0; i < ids.length; i++) assertClose(a[i], b[i], 1e-5, "step " + i);
    }

    @Test
    void q8_0FromHfIsByteIdenticalToQuantizeAndMeetsTheGolden() {
        Path out = tmp.resolve("tiny-q8_0.gguf");
        GgufConverter.convert(hf(), DType.Q8_0, out, false, Progress.NONE);
        try (GgufFile g = GgufFile.open(out); GgufFile src = GgufFile.open(Fixtures.tiny().resolve("tiny-BF16.gguf"));
             GgufFile ref = GgufFile.open(Fixtures.tiny().resolve("tiny-Q8_0-split-00001-of-00003.gguf"))) {
            for (Map.Entry<String, Tensor> e : src.tensors().entrySet()) {
                Tensor s = e.getValue(), q = g.tensor(e.getKey());
                if (s.rank() == 1) {
                    assertThat(q.type()).isEqualTo(DType.F32);
                    continue;
                }
                assertThat(q.type()).as(e.getKey()).isEqualTo(DType.Q8_0);
                float[] row = new float[(int) s.cols()];
                var m = qwen4j.tensor.Matrices.of(s, Kernels.SCALAR);
                long rb = DType.Q8_0.bytesFor(s.cols());
                for (int r = 0; r < s.rows(); r++) {
                    m.row(r, row, 0);
                    byte[] want = Quantize.quantize(DType.Q8_0, row);
                    assertThat(q.data().asSlice(r * rb, rb).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
                            .as("%s row %d", e.getKey(), r).containsExactly(want);
                }
                // llama-quantize made the same bytes from the same values
                assertThat(q.data().mismatch(ref.tensor(e.getKey()).data())).as(e.getKey()).isEqualTo(-1L);
            }
        }
        assertGolden(out, "Q8_0");
    }

    @Test
    void q4_0FromShardedHfMatchesLlamaQuantize() {
        Path out = tmp.resolve("tiny-q4_0.gguf");
        GgufConverter.convert(Fixtures.tiny().resolve("hf-sharded"), DType.Q4_0, out, false, Progress.NONE);
        try (GgufFile g = GgufFile.open(out); GgufFile ref = GgufFile.open(Fixtures.tiny().resolve("tiny-Q4_0.gguf"))) {
            assertThat(g.tensor("token_embd.weight").type()).isEqualTo(DType.Q8_0); // tied: it is the output too
            for (Map.Entry<String, Tensor> e : ref.tensors().entrySet()) {
                Tensor a = e.getValue(), b = g.tensor(e.getKey());
                assertThat(b.type()).as(e.getKey()).isEqualTo(a.type());
                assertThat(b.data().mismatch(a.data())).as(e.getKey()).isEqualTo(-1L);
            }
        }
        assertGolden(out, "Q4_0");
    }

    @Test
    void ggufToGgufRequantizes() {
        Path out = tmp.resolve("from-gguf-q8.gguf");
        GgufConverter.convert(Fixtures.tiny().resolve("tiny-BF16.gguf"), DType.Q8_0, out, false, Progress.NONE);
        assertGolden(out, "Q8_0");
        try (GgufFile g = GgufFile.open(out); GgufFile src = GgufFile.open(Fixtures.tiny().resolve("tiny-BF16.gguf"))) {
            assertThat(g.metadata().get("tokenizer.chat_template")).isEqualTo(src.metadata().get("tokenizer.chat_template"));
        }
    }

    /** Teacher-forced logits of the golden cases within 1e-3 (float activations, scalar reference kernels). */
    static void assertGolden(Path model, String weights) {
        for (String prompt : List.of("answer", "math")) {
            Golden gd = golden(prompt, weights);
            int[] ids = java.util.stream.IntStream.concat(java.util.Arrays.stream(gd.promptIds()),
                    java.util.Arrays.stream(gd.greedyIds())).toArray();
            float[][] l = logits(model, Kernels.SCALAR, java.util.Arrays.copyOf(ids, gd.promptIds().length + 4));
            for (int step = 0; step < 5; step++) {
                Golden.Step ref = gd.steps().get(step);
                float[] got = l[gd.promptIds().length - 1 + step];
                for (int i = 0; i < ref.ids().length; i++) {
                    assertThat((double) Math.abs(got[ref.ids()[i]] - ref.logits()[i]))
                            .as("%s %s step %d id %d", weights, prompt, step, ref.ids()[i]).isLessThanOrEqualTo(1e-3);
                }
            }
        }
    }

    @Test
    void quantizeOnLoadEqualsTheConvertedFile() {
        for (DType type : List.of(DType.Q8_0, DType.Q4_0)) {
            Path out = tmp.resolve("conv-" + type + ".gguf");
            GgufConverter.convert(hf(), type, out, false, Progress.NONE);
            long[] last = {0, 0};
            try (LoadedModel a = ModelLoader.load(hf(), Kernels.SIMD, WeightMemory.HUGE_PAGES, type,
                    (done, total) -> { last[0] = done; last[1] = total; });
                 LoadedModel b = ModelLoader.load(out, Kernels.SIMD)) {
                assertThat(last[0]).isEqualTo(last[1]).isPositive();
                assertThat(a.weightBytes()).isEqualTo(b.weightBytes());
                assertThat(a.weights().layers()[1].wDown().type()).isEqualTo(type);
                assertThat(a.weights().tokenEmbedding().type()).isEqualTo(b.weights().tokenEmbedding().type());
                var la = a.weights().layers()[0]; var lb = b.weights().layers()[0];
                var pairs = new java.util.ArrayList<List<qwen4j.tensor.Matrix>>();
                pairs.add(List.of(a.weights().tokenEmbedding(), b.weights().tokenEmbedding()));
                for (int l = 0; l < 2; l++) {
                    var x = a.weights().layers()[l]; var y = b.weights().layers()[l];
                    pairs.addAll(List.of(List.of(x.wq(), y.wq()), List.of(x.wk(), y.wk()), List.of(x.wv(), y.wv()),
                            List.of(x.wo(), y.wo()), List.of(x.wGate(), y.wGate()), List.of(x.wUp(), y.wUp()),
                            List.of(x.wDown(), y.wDown())));
                    assertSame(x.bk(), y.bk(), "bk"); assertSame(x.bv(), y.bv(), "bv"); assertSame(x.ffnNorm(), y.ffnNorm(), "fn");
                }
                assertSame(a.weights().outputNorm(), b.weights().outputNorm(), "outnorm");
                for (var pr : pairs) {
                    assertThat(pr.get(0).type()).isEqualTo(pr.get(1).type());
                    float[] ra = new float[pr.get(0).cols()], rb = new float[pr.get(0).cols()];
                    for (int r = 0; r < pr.get(0).rows(); r++) {
                        pr.get(0).row(r, ra, 0); pr.get(1).row(r, rb, 0);
                        assertSame(ra, rb, type + " " + pr.get(0) + " row " + r);
                    }
                }
                assertSame(la.bq(), lb.bq(), "bq");
                assertSame(la.attnNorm(), lb.attnNorm(), "attnNorm");
                int[] ids = golden("math", "F32/BF16").promptIds();
                try (Qwen2Model ma = new Qwen2Model(a.config(), a.weights(), Options.defaults().withThreads(2), 64);
                     Qwen2Model mb = new Qwen2Model(b.config(), b.weights(), Options.defaults().withThreads(2), 64)) {
                    Session sa = ma.newSession(64), sb = mb.newSession(64);
                    // 1e-4: the weights are equal (above); the logits differ only by lane-sum order
                    // between JIT states, which Q4_0's folded "- 8" (sum q*x*d - 8 * sum d*sum x)
                    // amplifies about 8x through cancellation (seen: 1e-5 apart).
                    for (int id : ids) assertClose(ma.forward(sa, id), mb.forward(sb, id), 1e-4, type + " id " + id);
                }
            }
        }
    }

    /** Same values (== per element: +0 and -0 are equal), reported compactly. */
    static void assertSame(float[] a, float[] b, String what) {
        assertClose(a, b, 0, what);
    }

    /**
     * Within tol. Logits of the same weights are compared with a tiny tolerance: two runs of the same
     * model differ in the last bits (Vector API lane reductions are ordered differently before and
     * after JIT compilation), so bit equality of logits is not a property of the engine. The tolerance
     * is relative for values above 1: for logits near 8 an absolute 1e-5 is only ~10 float ulps, and
     * runs differed by 1.07e-5 (seen twice in full-suite runs).
     */
    static void assertClose(float[] a, float[] b, double tol, String what) {
        assertThat(a.length).isEqualTo(b.length);
        for (int i = 0; i < a.length; i++) {
            double bound = tol * Math.max(1, Math.abs(a[i]));
            if (!(Math.abs(a[i] - b[i]) <= bound)) throw new AssertionError(what + ": index " + i + ": " + a[i] + " vs " + b[i]);
        }
    }

    static Stream<String> texts() {
        return Stream.of("The answer is", "Hello, world! 你好 123 4567 ...\n\n  spaces\ttabs",
                "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n",
                "émoji 🎉 and <tool_call> {\"a\": 1} </tool_call>", "x".repeat(300));
    }

    @Test
    void tokenizerMetadataReloadsToTheSameIds() {
        for (Path folder : List.of(hf(), Fixtures.tiny().resolve("hf-sharded"))) {
            Path out = tmp.resolve(folder.getFileName() + ".gguf");
            GgufConverter.convert(folder, DType.BF16, out, false, Progress.NONE);
            Tokenizer a = Tokenizer.fromHfFolder(folder);
            try (GgufFile g = GgufFile.open(out)) {
                Tokenizer b = Tokenizer.fromGgufMetadata(g.metadata(), out.getFileName().toString());
                texts().forEach(t -> {
                    assertThat(b.encode(t)).as(t).containsExactly(a.encode(t));
                    assertThat(b.encode(t, false)).as(t).containsExactly(a.encode(t, false));
                });
                assertThat(b.eosTokenId()).isEqualTo(a.eosTokenId());
                assertThat(b.padTokenId()).isEqualTo(a.padTokenId());
                assertThat(b.mergeCount()).isEqualTo(a.mergeCount());
                assertThat(g.metadata().get("tokenizer.chat_template")).isNotNull();
                // the same chat template string as the reference GGUF
                try (GgufFile ref = GgufFile.open(Fixtures.tiny().resolve("tiny-BF16.gguf"))) {
                    assertThat(g.metadata().get("tokenizer.chat_template")).isEqualTo(ref.metadata().get("tokenizer.chat_template"));
                    assertThat(g.metadata().get("tokenizer.ggml.tokens")).isEqualTo(ref.metadata().get("tokenizer.ggml.tokens"));
                }
            }
        }
    }

    @Test
    void refusesToOverwriteAndLeavesNoPartialFile() throws Exception {
        Path out = tmp.resolve("exists.gguf");
        Files.writeString(out, "keep me");
        var r = qwen4j.cli.CliTestAccess.run("convert", "-m", hf().toString(), "--quantize", "q8_0", "-o", out.toString());
        assertThat(r[0]).isEqualTo("2");
        assertThat(r[2].strip()).doesNotContain("\n").contains("already exists").contains("--force");
        assertThat(Files.readString(out)).isEqualTo("keep me");
        r = qwen4j.cli.CliTestAccess.run("convert", "-m", hf().toString(), "--quantize", "q8_0", "-o", out.toString(), "--force");
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        assertThat(r[2]).contains("100%");
        try (GgufFile g = GgufFile.open(out)) {
            assertThat(g.tensor("blk.0.attn_q.weight").type()).isEqualTo(DType.Q8_0);
        }
        // a failing conversion (bad type) leaves nothing behind
        r = qwen4j.cli.CliTestAccess.run("convert", "-m", hf().toString(), "--quantize", "q5_k", "-o", tmp.resolve("x.gguf").toString());
        assertThat(r[0]).isEqualTo("2");
        try (var files = Files.list(tmp)) {
            assertThat(files.map(p -> p.getFileName().toString()).filter(n -> n.contains("partial")).toList()).isEmpty();
        }
    }
}
