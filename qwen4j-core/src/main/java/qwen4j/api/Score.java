package qwen4j.api;

/**
 * Teacher-forced score of a text: how likely the model finds each next token.
 *
 * @param tokenCount  tokens in the text
 * @param predictions tokens that were predicted ({@code tokenCount - 1}: the first has no context)
 * @param logprobSum  sum of the natural-log probabilities of the predicted tokens
 * @param perplexity  {@code exp(-logprobSum / predictions)} (NaN when nothing was predicted)
 */
public record Score(int tokenCount, int predictions, double logprobSum, double perplexity) {}
