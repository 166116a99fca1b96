package qwen4j.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import qwen4j.Fixtures;
import qwen4j.generate.Engine;
import qwen4j.generate.Generation;
import qwen4j.model.Session;
import qwen4j.tensor.Kernels;

/**
 * The engine against the independent numpy reference (fixtures/tiny/golden.json), for every
 * float form of the tiny model (HF folder, sharded HF folder, BF16 GGUF), both kernel
 * implementations, 1 or 2 threads, and the prompt prefilled token by token or in batched blocks: teacher-forced logits within 1e-3 at every step for every
 * reference top-20 and probe id, and greedy generation reproducing the reference tokens.
 */
class GoldenLogitsTest {
    static final double TOLERANCE = 1e-3;

    static final String FLOAT = "F32/BF16";

    static Stream<Arguments> forms() {
        Path tiny = Fixtures.tiny();
        Path q8 = tiny.resolve("tiny-Q8_0-split-00001-of-00003.gguf");
        Path q4 = tiny.resolve("tiny-Q4_0.gguf");
        return Stream.of(
                Arguments.of(tiny.resolve("hf"), Kernels.SIMD, 2, FLOAT),
                Arguments.of(tiny.resolve("hf"), Kernels.SCALAR, 1, FLOAT),
                Arguments.of(tiny.resolve("hf-sharded"), Kernels.SIMD, 1, FLOAT),
                Arguments.of(tiny.resolve("tiny-BF16.gguf"), Kernels.SIMD, 2, FLOAT),
                Arguments.of(tiny.resolve("tiny-BF16.gguf"), Kernels.SCALAR, 2, FLOAT),
                // quantized files are judged against the reference run on their own dequantized weights
                Arguments.of(q8, Kernels.SIMD, 2, "Q8_0"),
                Arguments.of(q8, Kernels.SCALAR, 1, "Q8_0"),
                Arguments.of(q4, Kernels.SIMD, 2, "Q4_0"),
                Arguments.of(q4, Kernels.SCALAR, 1, "Q4_0"));
    }

    static List<Golden> cases(String weights) {
        return Golden.load(Fixtures.tiny().resolve("golden.json")).stream()
                .filter(g -> g.weights().startsWith(weights))
                .toList();
    }

    /**
     * The engine's model with the prompt prefilled token by token, one (on the same weights) that
     * prefills in batched blocks of 3 tokens, so prompts span several blocks, and one with whole
     * prompts in a block (24+ tokens: the token-vector matrix kernel): all must meet the reference.
     */
    static List<Qwen2Model> promptModes(Engine engine) {
        Qwen2Model m = engine.model();
        Options o = m.options().withUbatch(3);
        return List.of(new Qwen2Model(m.config(), m.weights(), o.withPrompt(Options.Prompt.SEQUENTIAL), m.maxContext()),
                new Qwen2Model(m.config(), m.weights(), o.withPrompt(Options.Prompt.BATCHED), m.maxContext()),
                new Qwen2Model(m.config(), m.weights(), o.withPrompt(Options.Prompt.BATCHED).withUbatch(Options.DEFAULT_UBATCH),
                        m.maxContext()));
    }

    @ParameterizedTest(name = "{0} {1} threads={2} ({3})")
    @MethodSource("forms")
    void teacherForcedLogitsMatchReference(Path model, Kernels kernels, int threads, String weights) {
        List<Golden> cases = cases(weights);
        assertThat(cases).hasSize(4);
        Options options = Options.defaults().withKernels(kernels).withThreads(threads);
        try (Engine engine = Engine.open(model, options, 512)) {
            for (Qwen2Model m : promptModes(engine)) {
                try (m) {
                    teacherForced(m, cases, model);
                }
            }
        }
    }

    private static void teacherForced(Qwen2Model m, List<Golden> cases, Path model) {
        for (Golden g : cases) {
            Session s = m.newSession(m.maxContext());
            float[] logits = m.prefill(s, g.promptIds());
            double worst = 0;
            for (int step = 0; step < g.steps().size(); step++) {
                Golden.Step ref = g.steps().get(step);
                for (int i = 0; i < ref.ids().length; i++) {
                    double diff = Math.abs(logits[ref.ids()[i]] - ref.logits()[i]);
                    worst = Math.max(worst, diff);
                    assertThat(diff)
                            .as("%s %s case %s step %d id %d: logit %f vs reference %f", model.getFileName(), m.options().prompt(),
                                    g.prompt(), step, ref.ids()[i], logits[ref.ids()[i]], ref.logits()[i])
                            .isLessThanOrEqualTo(TOLERANCE);
                }
                if (step + 1 < g.steps().size()) logits = m.forward(s, g.greedyIds()[step]);
            }
            assertThat(worst).isLessThanOrEqualTo(TOLERANCE);
        }
    }

    @ParameterizedTest(name = "{0} {1} threads={2} ({3})")
    @MethodSource("forms")
    void greedyGenerationMatchesReference(Path model, Kernels kernels, int threads, String weights) {
        Options options = Options.defaults().withKernels(kernels).withThreads(threads);
        try (Engine engine = Engine.open(model, options, 512)) {
            for (Qwen2Model m : promptModes(engine)) {
                try (m) {
                    for (Golden g : cases(weights)) {
                        Generation gen = new qwen4j.generate.Generator(m, engine.tokenizer(), java.util.Set.of())
                                .generate(m.newSession(m.maxContext()), g.promptIds(), g.greedyIds().length, piece -> {});
                        int check = g.greedyPrefixToCheck();
                        assertThat(check).isGreaterThan(0);
                        assertThat(java.util.Arrays.copyOf(gen.ids(), check))
                                .as("%s %s case %s: first %d greedy tokens", model.getFileName(), m.options().prompt(),
                                        g.prompt(), check)
                                .containsExactly(java.util.Arrays.copyOf(g.greedyIds(), check));
                    }
                }
            }
        }
    }
}
