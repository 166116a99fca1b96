package qwen4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import qwen4j.generate.Engine;
import qwen4j.generate.Generation;
import qwen4j.generate.Scoring;

/**
 * Opt-in checks against a real Qwen2.5 model: set QWEN4J_MODEL (or -Dqwen4j.model) to an HF
 * folder or GGUF file. Skipped, with a message, when absent.
 */
class RealModelTest {
    static Path model() {
        String p = System.getProperty("qwen4j.model", System.getenv("QWEN4J_MODEL"));
        assumeTrue(p != null && !p.isBlank(), "QWEN4J_MODEL not set: real-model test skipped");
        Path path = Path.of(p);
        assumeTrue(Files.exists(path), "QWEN4J_MODEL=" + p + " does not exist: real-model test skipped");
        return path;
    }

    @Test
    void realModelIsFluentOnPlainEnglish() {
        try (Engine engine = Engine.open(model(), Options.defaults(), 512)) {
            String text = "The capital of France is Paris. The capital of Germany is Berlin. The capital of Italy is Rome.";
            int[] ids = engine.tokenizer().encode(text);
            Scoring.Result r = Scoring.score(engine.model(), engine.newSession(), ids, 1, engine.vocabLimit());
            // A trained model finds this easy text very predictable; random or broken weights give thousands.
            assertThat(r.perplexity()).isLessThan(20.0);
            // The last "Rome." continuation: greedy generation after "The capital of Spain is" names Madrid.
            int[] prompt = engine.tokenizer().encode(text + " The capital of Spain is");
            Generation g = engine.generator().generate(engine.newSession(), prompt, 3, piece -> {});
            assertThat(g.text()).contains("Madrid");
        }
    }
}
