package qwen4j.server;

import java.util.List;
import qwen4j.generate.SamplerSettings;
import qwen4j.generate.constraint.CompiledConstraint;

/**
 * A validated request: what to generate and how to answer.
 *
 * @param maxTokens   tokens to generate at most (the request's max_tokens, else the server's per-request limit)
 * @param explicitMax whether the request gave max_tokens
 * @param constraint  nullable: the language the output must be in (response_format, tool_choice, grammar, ...)
 */
record Job(boolean chat, String model, int[] prompt, SamplerSettings settings, int maxTokens, boolean explicitMax,
           List<String> stop, boolean stream, boolean includeUsage, boolean tools, int logprobs, boolean echo,
           CompiledConstraint constraint) {
    Job withConstraint(CompiledConstraint c) {
        return new Job(chat, model, prompt, settings, maxTokens, explicitMax, stop, stream, includeUsage, tools, logprobs,
                echo, c);
    }
}
