package qwen4j.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import qwen4j.Fixtures;
import qwen4j.generate.Engine;
import qwen4j.generate.Generation;
import qwen4j.generate.Generator;
import qwen4j.tensor.Kernels;

/**
 * Batched prefill ({@link Qwen2Model#forwardBatch}) against token-by-token {@link Qwen2Model#forward}
 * on every float form and Q8_0/Q4_0 of the tiny model: every token's logits within the fixtures'
 * 1e-3, the same greedy continuation, and a prompt split into several blocks equal to one block.
 */
class BatchedPrefillTest {
    static final double TOLERANCE = 1e-3;

    static Stream<Arguments> forms() {
        Path tiny = Fixtures.tiny();
        return Stream.of(
                Arguments.of(tiny.resolve("hf"), Kernels.SIMD, 2),
                Arguments.of(tiny.resolve("hf"), Kernels.SCALAR, 1),
                Arguments.of(tiny.resolve("tiny-BF16.gguf"), Kernels.SIMD, 1),
                Arguments.of(tiny.resolve("tiny-BF16.gguf"), Kernels.SCALAR, 2),
                Arguments.of(tiny.resolve("tiny-Q8_0-split-00001-of-00003.gguf"), Kernels.SIMD, 2),
                Arguments.of(tiny.resolve("tiny-Q8_0-split-00001-of-00003.gguf"), Kernels.SCALAR, 1),
                Arguments.of(tiny.resolve("tiny-Q4_0.gguf"), Kernels.SIMD, 2),
                Arguments.of(tiny.resolve("tiny-Q4_0.gguf"), Kernels.SCALAR, 1));
    }

    static int[] prompt(Engine e, int n) {
        int vocab = e.vocabLimit();
        int[] ids = new int[n];
        java.util.SplittableRandom r = new java.util.SplittableRandom(n);
        for (int i = 0; i < n; i++) ids[i] = r.nextInt(vocab);
        return ids;
    }

    /** The engine's weights with other options (no second load). */
    static Qwen2Model model(Engine e, Options options) {
        Qwen2Model m = e.model();
        return new Qwen2Model(m.config(), m.weights(), options, m.maxContext());
    }

    /** Every token's logits, prefilled as {@code options} say. */
    static List<float[]> allLogits(Engine e, Options options, int[] ids) {
        List<float[]> out = new ArrayList<>();
        try (Qwen2Model m = model(e, options)) {
            m.prefill(m.newSession(m.maxContext()), ids, (i, l) -> {
                assertThat(i).isEqualTo(out.size());
                out.add(l.clone());
            });
        }
        return out;
    }

    @ParameterizedTest(name = "{0} {1} threads={2}")
    @MethodSource("forms")
    void everyTokensLogitsMatchTokenByToken(Path model, Kernels kernels, int threads) {
        Options base = Options.defaults().withKernels(kernels).withThreads(threads);
        int[] ids;
        List<float[]> seq, one, split;
        try (Engine e = Engine.open(model, base, 512)) {
            ids = prompt(e, 41);
            seq = allLogits(e, base.withPrompt(Options.Prompt.SEQUENTIAL), ids);
            one = allLogits(e, base.withPrompt(Options.Prompt.BATCHED).withUbatch(64), ids);
            split = allLogits(e, base.withPrompt(Options.Prompt.BATCHED).withUbatch(5), ids);
        }
        assertThat(seq).hasSize(ids.length);
        assertThat(one).hasSize(ids.length);
        assertThat(split).hasSize(ids.length);
        for (int i = 0; i < ids.length; i++) {
            for (int v = 0; v < seq.get(i).length; v++) {
                assertThat(one.get(i)[v]).as("token %d logit %d: one block vs sequential", i, v)
                        .isCloseTo(seq.get(i)[v], org.assertj.core.data.Offset.offset((float) TOLERANCE));
                assertThat(split.get(i)[v]).as("token %d logit %d: blocks of 5 vs one block", i, v)
                        .isCloseTo(one.get(i)[v], org.assertj.core.data.Offset.offset((float) TOLERANCE));
            }
        }
    }

    @ParameterizedTest(name = "{0} {1} threads={2}")
    @MethodSource("forms")
    void greedyOutputIsIdentical(Path model, Kernels kernels, int threads) {
        Options base = Options.defaults().withKernels(kernels).withThreads(threads);
        int[] seq, batched;
        int[] ids;
        try (Engine e = Engine.open(model, base, 512)) {
            ids = prompt(e, 23);
            seq = generate(e, model(e, base.withPrompt(Options.Prompt.SEQUENTIAL)), ids);
            batched = generate(e, model(e, base.withPrompt(Options.Prompt.BATCHED).withUbatch(7)), ids);
        }
        assertThat(batched).containsExactly(seq);
    }

    static int[] generate(Engine e, Qwen2Model m, int[] ids) {
        try (m) {
            Generation g = new Generator(m, e.tokenizer(), java.util.Set.of()).generate(m.newSession(m.maxContext()), ids, 12, s -> {});
            return g.ids();
        }
    }

    @org.junit.jupiter.api.Test
    void lastLogitsOfAPromptBlockEqualPrefillSink() {
        Path model = Fixtures.tiny().resolve("hf");
        try (Engine e = Engine.open(model, Options.defaults().withThreads(2), 512)) {
            int[] ids = prompt(e, 9);
            float[] last = e.model().prefill(e.newSession(), ids).clone();
            float[][] viaSink = new float[1][];
            e.model().prefill(e.newSession(), ids, (i, l) -> { if (i == ids.length - 1) viaSink[0] = l.clone(); });
            for (int v = 0; v < last.length; v++) {
                assertThat(viaSink[0][v]).isCloseTo(last[v], org.assertj.core.data.Offset.offset(1e-4f));
            }
            // and the session advanced: a second block continues at position 9
            Session s = e.newSession();
            e.model().prefill(s, java.util.Arrays.copyOfRange(ids, 0, 4));
            e.model().prefill(s, java.util.Arrays.copyOfRange(ids, 4, 9));
            assertThat(s.position()).isEqualTo(9);
        }
    }
}
