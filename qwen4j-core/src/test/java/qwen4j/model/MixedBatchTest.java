package qwen4j.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import qwen4j.generate.Engine;
import qwen4j.tensor.Kernels;

/**
 * Many sequences in one forward pass: each sequence's logits in a mixed batch (prompt chunks of some
 * sequences next to decode tokens of others, different lengths and positions, sequences joining and
 * leaving, shared prompt prefixes taken from the prefix cache, a copy-on-write of a shared block)
 * equal that sequence run alone, and the golden cases still meet the independent reference, on every
 * fixture form of {@link GoldenLogitsTest}.
 */
class MixedBatchTest {
    static final int CHUNK = 5; // prompt tokens a prefilling sequence adds per step

    /** A sequence of the scenario: its prompt, the tokens fed after it, the step it joins at. */
    record Plan(String name, int[] prompt, int[] forced, int joinAt, Golden golden) {}

    static List<Plan> plans(List<Golden> cases) {
        Golden g3 = cases.get(0), g33 = cases.get(1), g53 = cases.get(2), g181 = cases.get(3);
        int[] first32 = Arrays.copyOf(g181.promptIds(), 32);
        return List.of(
                new Plan("181", g181.promptIds(), g181.greedyIds(), 0, g181),
                new Plan("3", g3.promptIds(), g3.greedyIds(), 0, g3),
                new Plan("53", g53.promptIds(), g53.greedyIds(), 3, g53),
                // the same prompt as the first, joining once its blocks are published: 176 tokens from the cache
                new Plan("181 again", g181.promptIds(), g181.greedyIds(), 40, g181),
                // a prompt entirely in the cache: its last token is computed again, in a copy of the shared block
                new Plan("first 32 of 181", first32, Arrays.copyOfRange(g181.promptIds(), 32, 44), 41, null),
                // joins after "3" has left (its blocks are reused)
                new Plan("33", g33.promptIds(), g33.greedyIds(), 30, g33));
    }

    @ParameterizedTest(name = "{0} {1} threads={2} ({3})")
    @MethodSource("qwen4j.model.GoldenLogitsTest#forms")
    void eachSequenceInAMixedBatchEqualsItselfAlone(Path model, Kernels kernels, int threads, String weights) {
        List<Golden> cases = GoldenLogitsTest.cases(weights);
        Options options = Options.defaults().withKernels(kernels).withThreads(threads);
        try (Engine engine = Engine.open(model, options, 512)) {
            Qwen2Model m = engine.model();
            List<Plan> plans = plans(cases);
            List<float[][]> alone = new ArrayList<>();
            for (Plan p : plans) alone.add(alone(m, p));

            // the batched run: a pool just large enough for the sequences alive at once, so freed blocks are reused
            int[] cachedTokens = new int[plans.size()];
            List<float[][]> batched = runMixed(m, plans, 40, cachedTokens);
            assertThat(cachedTokens[3]).as("'181 again' takes its prompt's full blocks from the cache").isEqualTo(176);
            assertThat(cachedTokens[4]).as("'first 32' takes both blocks, recomputes the last token").isEqualTo(31);

            for (int s = 0; s < plans.size(); s++) {
                Plan p = plans.get(s);
                float[][] a = alone.get(s), b = batched.get(s);
                int agree = 0;
                for (int step = 0; step < a.length; step++) {
                    if (argmax(a[step]) == argmax(b[step])) agree++;
                    assertThat(maxAbsDiff(a[step], b[step])).as("%s: step %d, batched vs alone", p.name(), step)
                            .isLessThanOrEqualTo(GoldenLogitsTest.TOLERANCE);
                }
                assertThat(agree).as("%s: greedy ids", p.name()).isEqualTo(a.length);
                if (p.golden() != null) meetsReference(p, b);
            }
        }
    }

    /** The plan's logits at every step with the sequence in a session of its own. */
    static float[][] alone(Qwen2Model m, Plan p) {
        Session s = m.newSession(m.maxContext());
        float[][] out = new float[p.forced().length][];
        out[0] = m.prefill(s, p.prompt()).clone();
        for (int step = 1; step < out.length; step++) out[step] = m.forward(s, p.forced()[step - 1]).clone();
        return out;
    }

    /**
     * Steps every plan's sequence through one shared cache: a sequence joins at its step (taking what
     * the prefix cache has of its prompt), feeds its prompt CHUNK tokens per step, then one teacher-forced
     * token per step, and leaves (giving its blocks back) after its last logits.
     */
    static List<float[][]> runMixed(Qwen2Model m, List<Plan> plans, int blocks, int[] cachedTokens) {
        KvCache cache = m.newCache(blocks, true);
        int n = plans.size();
        Sequence[] seqs = new Sequence[n];
        int[] fed = new int[n], steps = new int[n];
        boolean[] done = new boolean[n];
        List<float[][]> out = new ArrayList<>();
        for (Plan p : plans) out.add(new float[p.forced().length][]);
        Batch batch = new Batch(64);
        int[] owner = new int[64];
        for (int tick = 0; ; tick++) {
            batch.clear();
            boolean any = false;
            for (int s = 0; s < n; s++) {
                Plan p = plans.get(s);
                if (done[s] || tick < p.joinAt()) continue;
                any = true;
                if (seqs[s] == null) {
                    seqs[s] = m.newSequence(cache, m.maxContext());
                    cachedTokens[s] = fed[s] = seqs[s].reuseCachedPrefix(p.prompt());
                }
                if (fed[s] < p.prompt().length) {
                    int end = Math.min(p.prompt().length, fed[s] + CHUNK);
                    for (; fed[s] < end; fed[s]++) {
                        owner[batch.add(seqs[s], p.prompt()[fed[s]], fed[s] == p.prompt().length - 1)] = s;
                    }
                } else {
                    owner[batch.add(seqs[s], p.forced()[steps[s] - 1], true)] = s;
                }
            }
            if (!any && allDone(done)) break;
            if (batch.size() == 0) continue;
            m.forward(batch, (i, logits) -> {
                int s = owner[i];
                out.get(s)[steps[s]++] = logits.clone();
            });
            for (int s = 0; s < n; s++) {
                if (seqs[s] != null && !done[s] && steps[s] == out.get(s).length) {
                    seqs[s].release();
                    done[s] = true;
                }
            }
        }
        assertThat(cache.blocksUsed()).as("every block given back").isZero();
        cache.close();
        return out;
    }

    private static boolean allDone(boolean[] done) {
        for (boolean d : done) if (!d) return false;
        return true;
    }

    /** The batched logits of a golden case against the independent reference (the fixtures' rules). */
    private static void meetsReference(Plan p, float[][] logits) {
        Golden g = p.golden();
        int agree = 0;
        for (int step = 0; step < g.steps().size(); step++) {
            Golden.Step ref = g.steps().get(step);
            if (argmax(logits[step]) == ref.ids()[0]) agree++;
            for (int i = 0; i < ref.ids().length; i++) {
                assertThat((double) Math.abs(logits[step][ref.ids()[i]] - ref.logits()[i]))
                        .as("%s step %d id %d vs reference", p.name(), step, ref.ids()[i])
                        .isLessThanOrEqualTo(GoldenLogitsTest.TOLERANCE);
            }
        }
        assertThat(agree / (double) g.steps().size()).as("%s: top-1 agreement with the reference", p.name())
                .isGreaterThanOrEqualTo(0.9);
    }

    static int argmax(float[] a) {
        int best = 0;
        for (int i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
        return best;
    }

    static double maxAbsDiff(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
        return d;
    }
}
