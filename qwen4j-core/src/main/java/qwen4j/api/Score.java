package qwen4j.api;

import java.util.List;

/**
 * Teacher-forced score of a text: how likely the model finds each next token.
 *
 * @param tokenCount  tokens in the text
 * @param predictions tokens that were predicted ({@code tokenCount - 1}: the first has no context)
 * @param logprobSum  sum of the natural-log probabilities of the predicted tokens
 * @param perplexity  {@code exp(-logprobSum / predictions)} (NaN when nothing was predicted)
 * @param positions   one entry per token, in order
 */
public record Score(int tokenCount, int predictions, double logprobSum, double perplexity, List<Position> positions) {
    /**
     * What the model predicted after the token at {@code index}.
     *
     * @param index     position in the text
     * @param nextId    the text's next token, or -1 after the last token
     * @param logprob   the natural-log probability of {@code nextId} (NaN after the last token)
     * @param topIds    the ids of the largest logits, largest first (as many as asked for)
     * @param topLogits their logits
     */
    public record Position(int index, int nextId, double logprob, int[] topIds, float[] topLogits) {}
}
