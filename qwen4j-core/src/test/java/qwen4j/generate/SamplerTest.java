package qwen4j.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static final SamplerSettings SAMPLE = new SamplerSettings(1f, 0, 1f, 0f, 1f, 64, 0f, 0f, 42);

    /** Logits whose softmax is exactly {@code probs}. */
    private static float[] logitsOf(double... probs) {
        float[] l = new float[probs.length];
        for (int i = 0; i < probs.length; i++) l[i] = (float) Math.log(probs[i]);
        return l;
    }

    private static Set<Integer> ids(Candidates c) {
        Set<Integer> s = new HashSet<>();
        for (int i = 0; i < c.size(); i++) s.add(c.id(i));
        return s;
    }

    @Test
    void keyOrderingRoundTrips() {
        float[] values = {3f, -1f, 0f, -0f, 1e-30f, -1e30f, Float.NEGATIVE_INFINITY, 7.5f, 7.5f};
        for (int i = 0; i < values.length; i++) {
            long k = Candidates.key(values[i], i);
            assertThat(Candidates.keyId(k)).isEqualTo(i);
            assertThat(Candidates.keyLogit(k)).isEqualTo(values[i] == 0f ? 0f : values[i]);
            assertThat(k).isPositive();
        }
        assertThat(Candidates.key(3f, 5)).isLessThan(Candidates.key(2f, 1));
        assertThat(Candidates.key(-2f, 5)).isLessThan(Candidates.key(-3f, 1));
        assertThat(Candidates.key(2f, 1)).isLessThan(Candidates.key(2f, 5));
    }

    @Test
    void topKKeepsExactlyKLargestSorted() {
        float[] logits = new float[1000];
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < logits.length; i++) logits[i] = (float) r.nextGaussian();
        for (int k : new int[] {1, 2, 20, 999}) {
            Sampler s = new Sampler(SAMPLE.withTopK(k), logits.length, 100);
            Candidates c = s.apply(logits);
            assertThat(c.size()).isEqualTo(k);
            Integer[] order = new Integer[logits.length];
            for (int i = 0; i < order.length; i++) order[i] = i;
            Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));
            for (int i = 0; i < k; i++) {
                assertThat(c.id(i)).isEqualTo(order[i]);
                assertThat(c.logit(i)).isEqualTo(logits[order[i]]);
            }
        }
        // ties: exactly k survive, smaller ids first
        float[] flat = new float[10];
        Candidates c = new Sampler(SAMPLE.withTopK(3), 10, 10).apply(flat);
        assertThat(c.size()).isEqualTo(3);
        assertThat(new int[] {c.id(0), c.id(1), c.id(2)}).containsExactly(0, 1, 2);
    }

    @Test
    void topPKeepsSmallestPrefixReachingP() {
        float[] logits = logitsOf(0.05, 0.5, 0.15, 0.3);
        assertThat(ids(new Sampler(SAMPLE.withTopP(0.4f), 4, 10).apply(logits))).containsExactlyInAnyOrder(1);
        assertThat(ids(new Sampler(SAMPLE.withTopP(0.75f), 4, 10).apply(logits))).containsExactlyInAnyOrder(1, 3);
        assertThat(ids(new Sampler(SAMPLE.withTopP(0.85f), 4, 10).apply(logits))).containsExactlyInAnyOrder(1, 3, 2);
        assertThat(ids(new Sampler(SAMPLE.withTopP(0.99f), 4, 10).apply(logits))).containsExactlyInAnyOrder(0, 1, 2, 3);
        assertThat(ids(new Sampler(SAMPLE.withTopP(1f), 4, 10).apply(logits))).hasSize(4);
    }

    @Test
    void minPKeepsIdsAtLeastPTimesTheTop() {
        float[] logits = logitsOf(0.05, 0.5, 0.15, 0.3);
        assertThat(ids(new Sampler(SAMPLE.withMinP(0.25f), 4, 10).apply(logits))).containsExactlyInAnyOrder(1, 3, 2);
        assertThat(ids(new Sampler(SAMPLE.withMinP(0.5f), 4, 10).apply(logits))).containsExactlyInAnyOrder(1, 3);
        assertThat(ids(new Sampler(SAMPLE.withMinP(0.9f), 4, 10).apply(logits))).containsExactlyInAnyOrder(1);
        assertThat(ids(new Sampler(SAMPLE.withMinP(0.05f), 4, 10).apply(logits))).hasSize(4);
    }

    @Test
    void topPOverALargeFlatVocabularyMatchesAFullSort() {
        float[] logits = new float[5000];
        java.util.Random r = new java.util.Random(5);
        for (int i = 0; i < logits.length; i++) logits[i] = (float) r.nextGaussian() * 0.3f;
        for (float p : new float[] {0.1f, 0.5f, 0.95f}) {
            Candidates c = new Sampler(SAMPLE.withTopP(p), logits.length, 10).apply(logits);
            Integer[] order = new Integer[logits.length];
            for (int i = 0; i < order.length; i++) order[i] = i;
            Arrays.sort(order, (a, b) -> logits[b] != logits[a] ? Float.compare(logits[b], logits[a]) : Integer.compare(a, b));
            double max = logits[order[0]], sum = 0;
            for (float l : logits) sum += Math.exp(l - max);
            double cum = 0;
            int keep = 0;
            while (cum < p) cum += Math.exp(logits[order[keep++]] - max) / sum;
            assertThat(c.size()).as("p=%s", p).isEqualTo(keep);
            for (int i = 0; i < keep; i++) assertThat(c.id(i)).isEqualTo(order[i]);
        }
    }

    @Test
    void temperatureScalesLogits() {
        float[] logits = {2f, -1f, 0.5f};
        Candidates c = new Sampler(SAMPLE.withTemperature(0.5f), 3, 10).apply(logits);
        for (int i = 0; i < 3; i++) assertThat(c.logit(i)).isCloseTo(logits[c.id(i)] / 0.5f, within(1e-6f));
    }

    @Test
    void penaltiesChangeExactlyTheSeenIdsWithLlamaCppFormulas() {
        float[] logits = {2f, -2f, 1f, 0.5f, -0.5f, 3f};
        SamplerSettings s = SAMPLE.withRepeatPenalty(1.5f).withPresencePenalty(0.25f).withFrequencyPenalty(0.1f)
                .withRepeatLastN(4);
        Sampler sampler = new Sampler(s, 6, 100);
        // window of 4: the first 5 is pushed out; then 0, 1, 1, 4 remain
        sampler.acceptAll(new int[] {5, 0, 1, 1, 4});
        Candidates c = sampler.apply(logits);
        float[] got = new float[6];
        for (int i = 0; i < c.size(); i++) got[c.id(i)] = c.logit(i);
        assertThat(got[0]).isCloseTo(2f / 1.5f - 0.1f - 0.25f, within(1e-6f));
        assertThat(got[1]).isCloseTo(-2f * 1.5f - 2 * 0.1f - 0.25f, within(1e-6f));
        assertThat(got[4]).isCloseTo(-0.5f * 1.5f - 0.1f - 0.25f, within(1e-6f));
        assertThat(got[2]).isEqualTo(1f);
        assertThat(got[3]).isEqualTo(0.5f);
        assertThat(got[5]).isEqualTo(3f);
        sampler.resetHistory();
        Candidates d = sampler.apply(logits);
        for (int i = 0; i < d.size(); i++) assertThat(d.logit(i)).isEqualTo(logits[d.id(i)]);
    }

    @Test
    void greedyIsArgmaxAndPaddingIsNeverPicked() {
        float[] logits = {0.1f, 5f, 2f, 100f};
        Sampler greedy = new Sampler(SamplerSettings.greedy(), 3, 10);
        assertThat(greedy.sample(logits)).isEqualTo(1).isEqualTo(Greedy.argmax(logits, 3));
        Sampler hot = new Sampler(SAMPLE.withTemperature(5f), 3, 10);
        for (int i = 0; i < 2000; i++) assertThat(hot.sample(logits)).isLessThan(3);
        // greedy with a repetition penalty: the penalized favourite loses
        Sampler penalized = new Sampler(SamplerSettings.greedy().withRepeatPenalty(3f), 3, 10);
        penalized.accept(1);
        assertThat(penalized.sample(logits)).isEqualTo(2);
    }

    @Test
    void sameSeedSameDrawsDifferentSeedDifferentDraws() {
        float[] logits = new float[500];
        for (int i = 0; i < logits.length; i++) logits[i] = (float) Math.sin(i);
        int[] a = draws(SAMPLE.withSeed(7), logits), b = draws(SAMPLE.withSeed(7), logits), c = draws(SAMPLE.withSeed(8), logits);
        assertThat(a).isEqualTo(b);
        assertThat(a).isNotEqualTo(c);
    }

    private static int[] draws(SamplerSettings s, float[] logits) {
        Sampler sampler = new Sampler(s, logits.length, 10);
        int[] out = new int[200];
        for (int i = 0; i < out.length; i++) out[i] = sampler.sample(logits);
        return out;
    }

    @Test
    void frequenciesMatchProbabilitiesAfterTheChain() {
        // probs 0.4 0.25 0.2 0.1 0.05; top-k 4 drops id 4, temperature 0.8 reshapes the rest
        double[] p = {0.4, 0.25, 0.2, 0.1, 0.05};
        float[] logits = logitsOf(p);
        float t = 0.8f;
        Sampler sampler = new Sampler(SAMPLE.withTopK(4).withTemperature(t).withSeed(12345), 5, 10);
        double[] expected = new double[5];
        double z = 0;
        for (int i = 0; i < 4; i++) z += Math.exp(logits[i] / t);
        for (int i = 0; i < 4; i++) expected[i] = Math.exp(logits[i] / t) / z;
        int n = 200_000;
        int[] counts = new int[5];
        for (int i = 0; i < n; i++) counts[sampler.sample(logits)]++;
        assertThat(counts[4]).isZero();
        double chi2 = 0;
        for (int i = 0; i < 4; i++) {
            double e = expected[i] * n;
            chi2 += (counts[i] - e) * (counts[i] - e) / e;
        }
        // 3 degrees of freedom: P(chi2 > 21.1) = 1e-4
        assertThat(chi2).isLessThan(21.1);
    }

    @Test
    void samplingAllocatesNothingPerToken() {
        float[] logits = new float[151_000];
        java.util.Random r = new java.util.Random(3);
        for (int i = 0; i < logits.length; i++) logits[i] = (float) r.nextGaussian() * 3;
        SamplerSettings s = new SamplerSettings(0.7f, 20, 0.8f, 0.05f, 1.05f, 64, 0.1f, 0.1f, 1);
        Sampler sampler = new Sampler(s, logits.length, 4096);
        for (int i = 0; i < 200; i++) sampler.accept(sampler.sample(logits));
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = mx.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 200; i++) sampler.accept(sampler.sample(logits));
        long allocated = mx.getCurrentThreadAllocatedBytes() - before;
        assertThat(allocated).isLessThan(10_000);
        // nucleus without top-k over the whole vocabulary: no allocation either
        Sampler nucleus = new Sampler(s.withTopK(0), logits.length, 4096);
        for (int i = 0; i < 20; i++) nucleus.accept(nucleus.sample(logits));
        long before2 = mx.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 20; i++) nucleus.accept(nucleus.sample(logits));
        assertThat(mx.getCurrentThreadAllocatedBytes() - before2).isLessThan(10_000);
    }
}
