package qwen4j.generate.constraint;

/**
 * One sequence's progress through a {@link CompiledConstraint}. Per step: {@link #mask} the logits before
 * any sampler stage (disallowed tokens become -inf), then {@link #accept} the token picked. End-of-sequence
 * ids stay allowed exactly when {@link #isComplete()}; when nothing else may follow they are the only choice.
 */
public final class Constraint {
    private final CompiledConstraint compiled;
    private PushdownMatcher.State state;
    private int pending;
    private boolean ended;
    private final float[] eosLogits;

    Constraint(CompiledConstraint compiled) {
        this.compiled = compiled;
        this.state = compiled.pda.initial;
        this.eosLogits = new float[compiled.eosIds.length];
    }

    public CompiledConstraint compiled() { return compiled; }

    /** The output so far is a complete sentence of the language (no partial character pending). */
    public boolean isComplete() { return pending == 0 && state.accepting; }

    /** Sets every token that may not come next to -inf; eos ids only stay when {@link #isComplete()}. */
    public void mask(float[] logits) {
        long[] m = compiled.mask(state, pending);
        int limit = Math.min(logits.length, compiled.trie.vocabLimit);
        boolean complete = isComplete();
        int[] eos = compiled.eosIds;
        // eos ids are not in the trie: keep their logits aside, the mask clears them
        for (int i = 0; i < eos.length; i++) eosLogits[i] = eos[i] < logits.length ? logits[eos[i]] : 0f;
        for (int w = 0, base = 0; base < limit; w++, base += 64) {
            long bits = m[w];
            if (bits == -1L) continue;
            int end = Math.min(64, limit - base);
            for (int i = 0; i < end; i++) if ((bits & (1L << i)) == 0) logits[base + i] = Float.NEGATIVE_INFINITY;
        }
        for (int i = limit; i < logits.length; i++) logits[i] = Float.NEGATIVE_INFINITY;
        if (complete) for (int i = 0; i < eos.length; i++) if (eos[i] < logits.length) logits[eos[i]] = eosLogits[i];
    }

    /** Whether {@code token} may come next. */
    public boolean allows(int token) {
        for (int e : compiled.eosIds) if (e == token) return isComplete();
        if (token < 0 || token >= compiled.trie.vocabLimit) return false;
        long[] m = compiled.mask(state, pending);
        return (m[token >>> 6] & (1L << token)) != 0;
    }

    /**
     * Advances past {@code token}. A token the mask did not allow is a bug in the caller (it sampled
     * without masking), so that is an IllegalStateException, not a user error.
     */
    public void accept(int token) {
        if (ended) throw new IllegalStateException("token " + token + " after the end of constrained output");
        for (int e : compiled.eosIds) {
            if (e == token) {
                if (!isComplete()) throw new IllegalStateException("eos before the constrained output was complete");
                ended = true;
                return;
            }
        }
        synchronized (compiled) {
            int p = compiled.feed(state, pending, token);
            if (p == CompiledConstraint.DEAD) {
                throw new IllegalStateException("token " + token + " is not allowed here by " + compiled.description());
            }
            state = compiled.stepped();
            pending = p;
        }
    }

    /** Whether more output may follow (false once only the end can come). */
    public boolean canContinue() { return !ended && (pending != 0 || state.canContinue()); }
}
