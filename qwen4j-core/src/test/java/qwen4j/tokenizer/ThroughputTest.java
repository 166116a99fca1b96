package qwen4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * A quick speed floor (the real measurement is qwen4j.jmh.TokenizerBenchmark) and a concurrency
 * check of the shared word cache.
 */
class ThroughputTest {

    static String englishText() throws Exception {
        Path shared = TokenizerFixtures.shared();
        StringBuilder sb = new StringBuilder();
        for (String f : new String[] {"DESIGN.md", "fixtures/README.md", "qwen-tokenizer/SOURCES.md"}) {
            Path p = shared.resolve(f);
            if (Files.exists(p)) sb.append(Files.readString(p)).append('\n');
        }
        sb.append(TokenizerFixtures.transformersCases().get(0).text());
        return sb.toString();
    }

    @Test
    void encodesEnglishFasterThanTwoMegabytesPerSecondWithColdCache() throws Exception {
        Tokenizer t = TokenizerFixtures.hfJson();
        String text = englishText();
        int bytes = text.getBytes(StandardCharsets.UTF_8).length;
        for (int i = 0; i < 30; i++) t.encode(text); // JIT warm-up
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 15; i++) {
            t.clearCache();
            long t0 = System.nanoTime();
            t.encode(text);
            best = Math.min(best, System.nanoTime() - t0);
        }
        double mbPerSec = bytes / (best / 1e9) / 1e6;
        System.out.printf("[tokenizer] encode, word cache cleared before each run: %.1f MB/s on %d bytes of English%n", mbPerSec, bytes);
        assertThat(mbPerSec).isGreaterThan(2.0);
    }

    @Test
    void concurrentEncodingGivesTheSameIds() throws Exception {
        Tokenizer t = TokenizerFixtures.hfJson();
        List<TokenizerFixtures.Case> cases = TokenizerFixtures.allCases();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int th = 0; th < 4; th++) {
                fs.add(pool.submit(() -> {
                    for (int r = 0; r < 50; r++) {
                        if (r % 10 == 0) t.clearCache();
                        for (TokenizerFixtures.Case c : cases) {
                            assertThat(t.encode(c.text())).as(c.name()).containsExactly(c.ids());
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) f.get();
        } finally {
            pool.shutdownNow();
        }
    }
}
