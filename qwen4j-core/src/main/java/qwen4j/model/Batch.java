package qwen4j.model;

import qwen4j.Qwen4jException;

/**
 * The tokens of one model step, each tagged with its sequence and position: N sequences x 1 token
 * (decode), 1 sequence x N tokens (prefill) or any mix. A sequence's tokens in a batch take its next
 * positions in order. Reused from step to step (clear, add, run): a step allocates nothing.
 */
public final class Batch {
    int size;
    int[] tokens;
    Sequence[] sequences;
    int[] positions;
    boolean[] logits;

    public Batch(int capacity) {
        tokens = new int[capacity];
        sequences = new Sequence[capacity];
        positions = new int[capacity];
        logits = new boolean[capacity];
    }

    public int size() { return size; }

    public int capacity() { return tokens.length; }

    public Batch clear() {
        for (int i = 0; i < size; i++) sequences[i] = null;
        size = 0;
        return this;
    }

    /**
     * Adds {@code token} at the next position of {@code seq}; {@code wantLogits}: compute the logits
     * of this token (the last prompt token, a decode token). Returns the token's index in the batch.
     */
    public int add(Sequence seq, int token, boolean wantLogits) {
        if (size == tokens.length) throw new Qwen4jException("the batch is full: " + size + " tokens");
        int pos = seq.length;
        for (int i = size - 1; i >= 0; i--) {
            if (sequences[i] == seq) {
                pos = positions[i] + 1;
                break;
            }
        }
        tokens[size] = token;
        sequences[size] = seq;
        positions[size] = pos;
        logits[size] = wantLogits;
        return size++;
    }

    public Sequence sequence(int i) { return sequences[i]; }

    public int position(int i) { return positions[i]; }

    public int token(int i) { return tokens[i]; }
}
