package qwen4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import qwen4j.Fixtures;
import qwen4j.api.LoadOptions;
import qwen4j.api.Qwen;
import qwen4j.api.Score;

/** The API's score equals the perplexity command's numbers on the same text. */
class ApiScoreTest {
    @Test
    void scoreEqualsThePerplexityCommand(@TempDir Path tmp) throws Exception {
        String text = "The answer is 42. Perplexity is the exponent of the mean negative log-likelihood.";
        Path file = tmp.resolve("text.txt");
        Files.writeString(file, text);
        Path model = Fixtures.tiny().resolve("tiny-BF16.gguf");
        CliTest.Run r = CliTest.run("perplexity", "-m", model.toString(), "-f", file.toString(), "--json", "-t", "2");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode json = CliTest.json(r.out());
        double sum = 0;
        int predictions = 0;
        for (JsonNode p : json.get("positions")) {
            if (p.get("logprob").isNull()) continue;
            sum += p.get("logprob").asDouble();
            predictions++;
        }
        try (Qwen qwen = Qwen.load(model, LoadOptions.builder().threads(2).build())) {
            Score s = qwen.score(text);
            assertThat(s.tokenCount()).isEqualTo(json.get("positions").size());
            assertThat(s.predictions()).isEqualTo(predictions);
            assertThat(s.perplexity()).isEqualTo(json.get("perplexity").asDouble());
            assertThat(s.logprobSum()).isCloseTo(sum, org.assertj.core.data.Offset.offset(1e-9));
        }
    }
}
