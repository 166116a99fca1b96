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
 * implementations and 1 or 2 threads: teacher-forced logits within 1e-3 at every step for every
 * reference top-20 and probe id, and greedy generation reproducing the reference tokens.
 */
class GoldenLogitsTest {
    static final double TOLERANCE = 1e-3;

    static final String FLOAT = "F32/BF16";

    static Stream<Arguments> forms() {
        Path tiny = Fixtures.tiny();
        Path q8 = tiny.resolve("tiny-Q8_0-split-00001-of-00003.gguf");
        Path q4 = tiny.resolve("tiny-Q4_0.gguf");
        Stream<Arguments> forms = Stream.of(
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
        // every form with the prompt prefilled token by token and in batched blocks (of 3 tokens,
        // so prompts span several blocks)
        return forms.flatMap(a -> Stream.of(Options.Prompt.SEQUENTIAL, Options.Prompt.BATCHED)
                .map(p -> Arguments.of(a.get()[0], a.get()[1], a.get()[2], a.get()[3], p)));
    }

    static Options options(Kernels kernels, int threads, Options.Prompt prompt) {
        return Options.defaults().withKernels(kernels).withThreads(threads).withPrompt(prompt).withBatch(3);
    }

    static List<Golden> cases(String weights) {
        return Golden.load(Fixtures.tiny().resolve("golden.json")).stream()
                .filter(g -> g.weights().startsWith(weights))
                .toList();
    }

    @ParameterizedTest(name = "{0} {1} threads={2} ({3}) {4}")
    @MethodSource("forms")
    void teacherForcedLogitsMatchReference(Path model, Kernels kernels, int threads, String weights, Options.Prompt prompt) {
        List<Golden> cases = cases(weights);
        assertThat(cases).hasSize(4);
        Options options = options(kernels, threads, prompt);
        try (Engine engine = Engine.open(model, options, 512)) {
            for (Golden g : cases) {
                Session s = engine.newSession();
                float[] logits = engine.model().prefill(s, g.promptIds());
                double worst = 0;
                for (int step = 0; step < g.steps().size(); step++) {
                    Golden.Step ref = g.steps().get(step);
                    for (int i = 0; i < ref.ids().length; i++) {
                        double diff = Math.abs(logits[ref.ids()[i]] - ref.logits()[i]);
                        worst = Math.max(worst, diff);
                        assertThat(diff)
                                .as("%s case %s step %d id %d: logit %f vs reference %f", model.getFileName(),
                                        g.prompt(), step, ref.ids()[i], logits[ref.ids()[i]], ref.logits()[i])
                                .isLessThanOrEqualTo(TOLERANCE);
                    }
                    if (step + 1 < g.steps().size()) logits = engine.model().forward(s, g.greedyIds()[step]);
                }
                assertThat(worst).isLessThanOrEqualTo(TOLERANCE);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1} threads={2} ({3}) {4}")
    @MethodSource("forms")
    void greedyGenerationMatchesReference(Path model, Kernels kernels, int threads, String weights, Options.Prompt prompt) {
        Options options = options(kernels, threads, prompt);
        try (Engine engine = Engine.open(model, options, 512)) {
            for (Golden g : cases(weights)) {
                Generation gen = new qwen4j.generate.Generator(engine.model(), engine.tokenizer(), java.util.Set.of())
                        .generate(engine.newSession(), g.promptIds(), g.greedyIds().length, piece -> {});
                int check = g.greedyPrefixToCheck();
                assertThat(check).isGreaterThan(0);
                assertThat(java.util.Arrays.copyOf(gen.ids(), check))
                        .as("%s case %s: first %d greedy tokens", model.getFileName(), g.prompt(), check)
                        .containsExactly(java.util.Arrays.copyOf(g.greedyIds(), check));
            }
        }
    }
}
