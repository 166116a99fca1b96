package qwen4j.server;

import java.util.List;
import qwen4j.generate.SamplerSettings;

/**
 * A validated request: what to generate and how to answer.
 *
 * @param maxTokens   tokens to generate at most (the request's max_tokens, else the server's per-request limit)
 * @param explicitMax whether the request gave max_tokens
 */
record Job(boolean chat, String model, int[] prompt, SamplerSettings settings, int maxTokens, boolean explicitMax,
           List<String> stop, boolean stream, boolean includeUsage, boolean tools, int logprobs, boolean echo) {}
