package qwen4j.server;

import java.util.List;
import qwen4j.api.GenerationParams;
import qwen4j.api.ResponseFormat;

/**
 * A validated request: what to generate and how to answer.
 *
 * @param params      sampling as the request asks (budget, stop strings, format and logprobs are set when it runs)
 * @param maxTokens   tokens to generate at most (the request's max_tokens, else the server's per-request limit)
 * @param explicitMax whether the request gave max_tokens
 * @param format      nullable: the language the output must be in (response_format, tool_choice, grammar, ...)
 * @param warnings    what of the format is not enforced (a non-strict JSON Schema's keywords)
 */
record Job(boolean chat, String model, int[] prompt, GenerationParams params, int maxTokens, boolean explicitMax,
           List<String> stop, boolean stream, boolean includeUsage, boolean tools, int logprobs, boolean echo,
           ResponseFormat format, List<String> warnings) {
    Job withFormat(ResponseFormat f, List<String> w) {
        return new Job(chat, model, prompt, params, maxTokens, explicitMax, stop, stream, includeUsage, tools, logprobs,
                echo, f, w);
    }
}
