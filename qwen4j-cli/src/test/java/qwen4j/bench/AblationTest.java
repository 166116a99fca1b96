package qwen4j.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import qwen4j.Fixtures;
import qwen4j.format.LoadedModel;
import qwen4j.format.ModelLoader;
import qwen4j.model.Options;
import qwen4j.model.Qwen2Config;
import qwen4j.model.Qwen2Model;
import qwen4j.model.Qwen2Weights;
import qwen4j.model.Session;
import qwen4j.tensor.Kernels;
import qwen4j.tokenizer.Tokenizer;

/**
 * The status column: when a row's tokens differ from the reference's, first_diff names the first
 * differing token and both logit margins there. Checked with a deliberately different model in
 * the place of the quantized copy (the tiny fixture with another output norm), and the margins
 * recomputed independently by teacher-forcing each model along its own tokens.
 */
class AblationTest {
    static final int N = 6;

    /** The tiny fixture, opened once per kernel choice; {@code outputNorm} replaces the model's if not null. */
    static final class TinySource implements Ablation.Source {
        final List<LoadedModel> open = new ArrayList<>();
        final LoadedModel scalar, simd;
        final float[] outputNorm;

        TinySource(float[] outputNorm) {
            Path hf = Fixtures.tiny().resolve("hf");
            scalar = ModelLoader.load(hf, Kernels.SCALAR);
            simd = ModelLoader.load(hf, Kernels.SIMD);
            this.outputNorm = outputNorm;
        }

        @Override
        public Qwen2Config config() { return scalar.config(); }

        @Override
        public Qwen2Weights weights(Kernels k) {
            Qwen2Weights w = (k == Kernels.SCALAR ? scalar : simd).weights();
            return outputNorm == null ? w : new Qwen2Weights(w.tokenEmbedding(), w.layers(), outputNorm, w.output());
        }

        @Override
        public String typeName() { return outputNorm == null ? "BF16" : "OTHER"; }

        @Override
        public void close() {
            scalar.close();
            simd.close();
        }
    }

    static float[] otherNorm(int n) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextDouble() * 2 - 0.5);
        return a;
    }

    @Test
    void firstDiffHasTheFirstDifferingTokenAndBothMargins() {
        Tokenizer tok = Tokenizer.fromHfFolder(Fixtures.tiny().resolve("hf"));
        TinySource base = new TinySource(null);
        int hidden = base.config().hiddenSize();
        Ablation.QuantizedSource other = new Ablation.QuantizedSource() {
            @Override
            public Ablation.Source open() { return new TinySource(otherNorm(hidden)); }

            @Override
            public String typeName() { return "OTHER"; }
        };
        Ablation.Result res = Ablation.run(base, other, tok, new Ablation.Spec(Ablation.DEFAULT_PROMPT, N, 1, 2), m -> {});
        Ablation.Row ref = res.rows().get(0);
        Ablation.Row row = res.rows().stream().filter(r -> r.variant().name().equals("+OTHER weights")).findFirst().orElseThrow();
        assertThat(row.identical()).as("a model with another output norm generates other tokens").isFalse();
        Ablation.FirstDiff d = row.firstDiff();
        int pos = 0;
        while (row.ids()[pos] == ref.ids()[pos]) pos++;
        assertThat(d.position()).isEqualTo(pos);
        assertThat(d.refId()).isEqualTo(ref.ids()[pos]);
        assertThat(d.id()).isEqualTo(row.ids()[pos]);

        // margins, recomputed: each model teacher-forced along its own tokens up to the difference
        float[] refLogits = logitsAt(new TinySource(null), res.promptIds(), ref.ids(), pos);
        float[] rowLogits = logitsAt(new TinySource(otherNorm(hidden)), res.promptIds(), row.ids(), pos);
        assertThat(d.refMargin()).isEqualTo((double) (refLogits[d.refId()] - refLogits[d.id()]));
        assertThat(d.margin()).isEqualTo((double) (rowLogits[d.id()] - rowLogits[d.refId()]));
        assertThat(d.refMargin()).isGreaterThanOrEqualTo(0);
        assertThat(d.margin()).isGreaterThanOrEqualTo(0);
        assertThat(d.refPiece()).isEqualTo(tok.decode(new int[] {d.refId()}));

        // the exact switches (same math as the baseline) keep the tokens
        for (Ablation.Row r : res.rows()) {
            String n = r.variant().name();
            if (n.contains("RoPE") || n.contains("mask") || n.contains("batched")) {
                assertThat(r.identical()).as(n).isTrue();
                assertThat(r.ids()).as(n).containsExactly(ref.ids());
            }
        }
        // the second source was opened only after the first was closed, and both rows on it differ
        assertThat(res.rows().get(res.rows().size() - 1).identical()).isFalse();
    }

    /** The logits predicting generated token pos: prompt prefilled, then ids[0..pos) fed one by one (baseline options). */
    private static float[] logitsAt(TinySource src, int[] prompt, int[] ids, int pos) {
        try (src; Qwen2Model m = new Qwen2Model(src.config(), src.weights(Kernels.SCALAR), Ablation.baseline(), 64)) {
            Session s = m.newSession(64);
            float[] logits = m.prefill(s, prompt);
            for (int i = 0; i < pos; i++) logits = m.forward(s, ids[i]);
            return logits.clone();
        }
    }

    @Test
    void baselineIsEverySwitchAtItsSimplest() {
        Options b = Ablation.baseline();
        assertThat(b.kernels()).isEqualTo(Kernels.SCALAR);
        assertThat(b.threads()).isEqualTo(1);
        assertThat(b.rope()).isEqualTo(qwen4j.model.Rope.Mode.DIRECT);
        assertThat(b.mask()).isEqualTo(qwen4j.model.Attention.Mask.PRECOMPUTED);
        assertThat(b.prompt()).isEqualTo(Options.Prompt.SEQUENTIAL);
        // every single-switch row differs from the baseline in exactly its one switch
        for (Ablation.Variant v : Ablation.variants(2, "Q8_0")) {
            if (v.name().startsWith("All") || v.name().startsWith("Baseline")) continue;
            int changes = (v.options().kernels() != b.kernels() ? 1 : 0) + (v.options().threads() != b.threads() ? 1 : 0)
                    + (v.options().rope() != b.rope() ? 1 : 0) + (v.options().mask() != b.mask() ? 1 : 0)
                    + (v.options().prompt() != b.prompt() ? 1 : 0) + (v.options().attention() != b.attention() ? 1 : 0)
                    + (v.options().kv() != b.kv() ? 1 : 0) + (v.quantized() ? 1 : 0);
            assertThat(changes).as(v.name()).isEqualTo(1);
        }
    }
}
