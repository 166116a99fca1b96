package qwen4j.generate;

/** One step of the sampler chain: narrows or reshapes the candidates in place. */
public interface SamplerStage {
    void apply(Candidates c);

    /** Keeps the k most likely candidates (sorted); {@code k <= 0} is off. */
    record TopK(int k) implements SamplerStage {
        @Override
        public void apply(Candidates c) { c.keepTopK(k); }
    }

    /**
     * Nucleus: sorts, then keeps the smallest prefix whose probability (softmax of the current logits)
     * reaches p; p >= 1 is off.
     */
    record TopP(float p) implements SamplerStage {
        @Override
        public void apply(Candidates c) {
            if (p >= 1f || c.size <= 1) return;
            if (c.sorted) {
                c.softmax();
                double cum = 0;
                for (int i = 0; i < c.size; i++) {
                    cum += c.probs[i];
                    if (cum >= p) {
                        c.size = i + 1;
                        return;
                    }
                }
                return;
            }
            // unsorted (no top-k before): select a growing best prefix until it holds mass p, so the
            // whole vocabulary is sorted only when the distribution is very flat
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < c.size; i++) max = Math.max(max, c.logits[i]);
            double sum = 0;
            for (int i = 0; i < c.size; i++) sum += Math.exp(c.logits[i] - max);
            for (int k = 64; ; k *= 4) {
                int n = c.selectTop(k);
                double cum = 0;
                for (int i = 0; i < n; i++) {
                    cum += Math.exp(Candidates.keyLogit(c.keyAt(i)) - max) / sum;
                    if (cum >= p) {
                        c.keepSelected(i + 1);
                        return;
                    }
                }
                if (n == c.size) {
                    c.keepSelected(n);
                    return;
                }
            }
        }
    }

    /** Keeps candidates whose probability is at least p times the largest one; {@code p <= 0} is off. */
    record MinP(float p) implements SamplerStage {
        @Override
        public void apply(Candidates c) {
            if (!(p > 0f) || c.size <= 1) return;
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < c.size; i++) max = Math.max(max, c.logits[i]);
            float threshold = max + (float) Math.log(p);
            c.keepAtLeast(threshold, 1);
        }
    }

    /** Divides the logits by t (t > 0). */
    record Temperature(float t) implements SamplerStage {
        @Override
        public void apply(Candidates c) {
            if (t == 1f) return;
            float inv = 1f / t;
            for (int i = 0; i < c.size; i++) c.logits[i] *= inv;
        }
    }

    /**
     * Repetition (llama.cpp/CTRL: positive logits divided, negative multiplied), presence and frequency
     * penalties over the last {@code lastN} accepted tokens. Must run first (candidates still in id order).
     */
    final class Penalties implements SamplerStage {
        private final float repeat, presence, frequency;
        private final int[] ring;
        private final int[] counts;
        private final int[] stamp;
        private int epoch, head, filled;

        public Penalties(float repeat, float presence, float frequency, int lastN, int vocab) {
            this.repeat = repeat;
            this.presence = presence;
            this.frequency = frequency;
            this.ring = new int[Math.max(0, lastN)];
            this.counts = new int[vocab];
            this.stamp = new int[vocab];
        }

        public void accept(int id) {
            if (ring.length == 0 || id < 0 || id >= counts.length) return;
            if (filled == ring.length) counts[ring[head]]--;
            else filled++;
            ring[head] = id;
            counts[id]++;
            head = head + 1 == ring.length ? 0 : head + 1;
        }

        public void reset() {
            for (int i = 0; i < filled; i++) counts[ring[i]] = 0;
            head = filled = 0;
        }

        /** How often {@code id} occurs in the window. */
        public int count(int id) { return counts[id]; }

        @Override
        public void apply(Candidates c) {
            if (c.sorted) throw new IllegalStateException("penalties must run before any reordering stage");
            if (++epoch == 0) {
                java.util.Arrays.fill(stamp, 0);
                epoch = 1;
            }
            for (int i = 0; i < filled; i++) {
                int id = ring[i];
                if (stamp[id] == epoch || id >= c.size) continue;
                stamp[id] = epoch;
                int n = counts[id];
                float l = c.logits[id];
                if (repeat != 1f) l = l <= 0 ? l * repeat : l / repeat;
                l -= n * frequency + (n > 0 ? presence : 0f);
                c.logits[id] = l;
            }
        }
    }
}
