package qwen4j.spark;

import java.util.List;
import qwen4j.generate.SamplerSettings;

/**
 * Runs a partition's prompts (already tokenized) and returns one result per prompt, in order. The one
 * place the generation strategy lives: {@link BatchedRunner} (the continuous-batching generator,
 * several sequences per forward pass), or {@link SequentialRunner} (one at a time, as {@code generate}).
 */
interface PartitionRunner {
    /** One prompt: its ids, its sampling settings (seed already derived for the row) and its token budget. */
    record Request(int[] promptIds, SamplerSettings settings, int maxTokens) {}

    /** One outcome: generated text and ids, the finish reason ("eos", "length", "context"), or an error (text null). */
    record Result(String text, int[] ids, String finishReason, String error) {
        static Result failed(String error) { return new Result(null, null, null, error); }
    }

    /** Results for {@code requests}, same order; a row's user error ({@link qwen4j.Qwen4jException}) goes in its result. */
    List<Result> run(List<Request> requests);
}
