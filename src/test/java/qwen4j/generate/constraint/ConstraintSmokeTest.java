package qwen4j.generate.constraint;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import qwen4j.Fixtures;
import qwen4j.generate.Engine;
import qwen4j.generate.Generation;
import qwen4j.generate.Generator;
import qwen4j.generate.Sampler;
import qwen4j.generate.SamplerSettings;
import qwen4j.model.Options;
import qwen4j.model.Session;

class ConstraintSmokeTest {
    @Test
    void smoke() {
        try (Engine e = Engine.open(Fixtures.tiny().resolve("hf"), Options.defaults().withThreads(1), 512)) {
            long t0 = System.nanoTime();
            CompiledConstraint c = Constraints.jsonObject(e.tokenizer(), e.vocabLimit(), e.eosIds());
            System.out.printf("compile+trie %.1f ms, nodes %d%n", (System.nanoTime() - t0) / 1e6, c.trie.nodeCount());
            Constraint k = c.newSequence();
            float[] logits = new float[e.model().config().vocabSize()];
            t0 = System.nanoTime();
            k.mask(logits);
            System.out.printf("first mask %.1f ms%n", (System.nanoTime() - t0) / 1e6);
            int[] prompt = e.tokenizer().encode("The answer is");
            Generator g = e.generator();
            for (int seed = 0; seed < 5; seed++) {
                Session s = e.newSession();
                Sampler sampler = new Sampler(SamplerSettings.greedy().withTemperature(1f).withSeed(seed), e.vocabLimit(), 512);
                t0 = System.nanoTime();
                Generation out = g.generate(s, prompt, sampler,
                        new Generator.Params(60, null, null).withConstraint(c.newSequence()), x -> { });
                System.out.printf("%.1f ms walks=%d states=%d %s |%s|%n", (System.nanoTime() - t0) / 1e6, c.maskWalks(),
                        c.pda.stateCount(), out.stopReason(), out.text());
            }
            assertThat(c.maskWalks()).isPositive();
            Session s = e.newSession();
            float[] l = e.model().prefill(s, prompt);
            Sampler sampler = new Sampler(SamplerSettings.greedy().withTemperature(1f).withSeed(1), e.vocabLimit(), 512);
            Constraint k2 = c.newSequence();
            for (int rep = 0; rep < 3; rep++) {
                long a = System.nanoTime();
                for (int i = 0; i < 100; i++) { s.truncate(3); e.model().forward(s, 5); }
                long b = System.nanoTime();
                for (int i = 0; i < 100; i++) k2.mask(logits);
                long d = System.nanoTime();
                for (int i = 0; i < 100; i++) sampler.sample(logits);
                long f = System.nanoTime();
                for (int i = 0; i < 100; i++) sampler.sample(l);
                long h = System.nanoTime();
                System.out.printf("forward %.2f ms, mask %.2f ms, sample(masked) %.2f ms, sample(raw) %.2f%n", (b - a) / 1e8, (d - b) / 1e8, (f - d) / 1e8, (h - f) / 1e8);
            }
        }
    }
}
