package qwen4j.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The load test's verdict: a different or missing answer fails it; latencies come from the chunk times. */
class LoadBenchTest {
    @Test
    void aDifferentOrMissingAnswerIsReported() {
        long ms = 1_000_000;
        LoadBench.Answer a = new LoadBench.Answer("hello there", 3, "length", 0, new long[] {5 * ms, 7 * ms, 11 * ms});
        LoadBench.Answer other = new LoadBench.Answer("hello thera", 3, "length", 0, new long[] {2 * ms});
        LoadBench.Answer shorter = new LoadBench.Answer("hello there", 2, "length", 0, new long[] {3 * ms});
        LoadBench.Phase p = new LoadBench.Phase(4, 12, 1);
        LoadBench.Answer[] alone = {a, a, a, a};
        LoadBench.Report r = LoadBench.report(4, 2, p, alone, p, new LoadBench.Answer[] {a, other, shorter, null},
                List.of("request 3: HTTP 429"));
        assertThat(r.ok()).isFalse();
        assertThat(r.equal()).isEqualTo(1);
        assertThat(r.differing()).hasSize(2).anyMatch(s -> s.startsWith("request 1:")).anyMatch(s -> s.startsWith("request 2:"));
        assertThat(r.lost()).containsExactly("request 3: HTTP 429");
        // first chunks at 5, 2 and 3 ms after sending; gaps of 2 and 4 ms
        assertThat(r.timeToFirstToken().p50()).isEqualTo(3.0);
        assertThat(r.timeToFirstToken().p99()).isEqualTo(5.0);
        assertThat(r.interToken().p50()).isEqualTo(2.0);
        assertThat(r.interToken().p99()).isEqualTo(4.0);

        LoadBench.Report fine = LoadBench.report(4, 2, p, alone, p, alone, List.of());
        assertThat(fine.ok()).isTrue();
        assertThat(fine.equal()).isEqualTo(4);
    }
}
