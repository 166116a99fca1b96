package qwen4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import qwen4j.Fixtures;

/** {@code bench-load} on the tiny fixture: every concurrent answer equals the same request alone, and the report adds up. */
class LoadBenchCliTest {
    @Test
    void concurrentAnswersEqualTheRequestsAlone() throws Exception {
        CliTest.Run r = CliTest.run("bench-load", "-m", Fixtures.tiny().resolve("hf").toString(), "--ctx", "512", "-t", "2",
                "--clients", "4", "--requests", "10", "--parallel", "3", "-n", "6", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode j = CliTest.json(r.out());
        assertThat(j.get("requests").asInt()).isEqualTo(10);
        assertThat(j.get("equal").asInt()).isEqualTo(10);
        assertThat(j.get("differing")).isEmpty();
        assertThat(j.get("lost")).isEmpty();
        assertThat(j.get("alone").get("answers").asInt()).isEqualTo(10);
        assertThat(j.get("together").get("answers").asInt()).isEqualTo(10);
        assertThat(j.get("together").get("tokens").asLong()).isEqualTo(j.get("alone").get("tokens").asLong()).isPositive();
        assertThat(j.get("together").get("tokens_per_s").asDouble()).isPositive();
        JsonNode ttft = j.get("time_to_first_token_ms"), itl = j.get("inter_token_latency_ms");
        assertThat(ttft.get("p50").asDouble()).isPositive().isLessThanOrEqualTo(ttft.get("p99").asDouble());
        assertThat(itl.get("p50").asDouble()).isLessThanOrEqualTo(itl.get("p99").asDouble());
    }

    @Test
    void badCountsAreUserErrors() {
        for (String opt : new String[] {"--clients", "--requests", "--parallel", "-n"}) {
            CliTest.Run r = CliTest.run("bench-load", "-m", Fixtures.tiny().resolve("hf").toString(), opt, "0");
            assertThat(r.exit()).as(opt).isEqualTo(2);
            assertThat(r.err()).as(opt).startsWith("qwen4j: error: ").doesNotContain("Exception");
        }
    }
}
