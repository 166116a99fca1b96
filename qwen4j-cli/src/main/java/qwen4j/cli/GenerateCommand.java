package qwen4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import qwen4j.Qwen4jException;
import java.util.ArrayList;
import java.util.List;
import qwen4j.api.ChatMessage;
import qwen4j.api.Completion;
import qwen4j.api.GenerationParams;
import qwen4j.api.Qwen;
import qwen4j.api.QwenTokenizer;
import qwen4j.api.Timings;
import qwen4j.api.TokenListener;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Continue a prompt, streaming the text, then print timings.",
                "Without sampling flags this is deterministic greedy decoding. --temp T > 0 turns sampling on, with "
                        + "the other stages (top-k, top-p, repetition penalty) from the model's generation_config.json "
                        + "(HF folders; llama.cpp's defaults for GGUF) unless given. --chat wraps the prompt as a user "
                        + "message with the model's chat template and samples with those defaults (--temp 0 for greedy). "
                        + "Penalty flags also apply to greedy decoding."})
final class GenerateCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin ModelOptions model;

    @ArgGroup(multiplicity = "1")
    Prompt prompt;

    static final class Prompt {
        @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", description = "Prompt text.") String text;
        @Option(names = "--prompt-file", paramLabel = "FILE", description = "Read the prompt from a UTF-8 file (- for standard input; at most 64 MiB).") Path file;
        @Option(names = "--prompt-ids", paramLabel = "IDS", description = "Prompt as token ids: 1,2,3.") String ids;
        @Option(names = "--batch-file", paramLabel = "FILE", description = "Many prompts: one JSON object per line (prompt or "
                + "messages; optional id, max_tokens, temperature, top_k, top_p, min_p, seed, stop), results to -o.") Path batchFile;
    }

    @Option(names = {"-n", "--max-tokens"}, paramLabel = "N", defaultValue = "64",
            description = "Tokens to generate (default ${DEFAULT-VALUE}; -1 runs to eos or the context end).")
    int maxTokens;

    @Option(names = "--no-parse-special", description = "Treat <|im_start|> etc. in the prompt as plain text (always so for --chat message text).")
    boolean noParseSpecial;

    @Option(names = "--parse-special-in-messages",
            description = "With --chat: let <|im_start|> etc. in the prompt and --system act as special tokens (they can forge chat turns).")
    boolean parseSpecialInMessages;

    @Option(names = "--json", description = "Print one JSON object instead of streaming text.")
    boolean json;

    @Option(names = "--chat", description = "Wrap the prompt as a user message with the model's chat template.")
    boolean chat;

    @Option(names = "--system", paramLabel = "TEXT", description = "System prompt for --chat (default: the template's).")
    String system;

    @Mixin SamplingOptions sampling;

    @Mixin ConstraintOptions constraint;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE",
            description = "With --batch-file: results, one JSON line per prompt in input order; a rerun skips the ids it has.")
    Path output;

    @Option(names = "--parallel", paramLabel = "N", defaultValue = "4",
            description = "With --batch-file: prompts decoded together in one pass over the weights (default ${DEFAULT-VALUE}).")
    int parallel;

    @Override
    public Integer call() throws Exception {
        if (maxTokens < -1) throw new Qwen4jException("-n must be -1 or more, got " + maxTokens);
        PrintWriter out = spec.commandLine().getOut();
        if (prompt.batchFile != null) {
            if (output == null) throw new Qwen4jException("--batch-file needs -o FILE for the results");
            if (parallel < 1) throw new Qwen4jException("--parallel must be at least 1, got " + parallel);
            if (json || system != null) throw new Qwen4jException("--batch-file takes no --json or --system (give messages per line)");
            if (!java.nio.file.Files.isRegularFile(prompt.batchFile)) throw new Qwen4jException(prompt.batchFile + ": no such file");
            try (Qwen qwen = model.load(spec.commandLine().getErr(), parallel)) {
                return new BatchFileRun().run(qwen, prompt.batchFile, output, parallel, maxTokens, sampling, chat, !noParseSpecial,
                        spec.commandLine().getErr());
            }
        }
        if (output != null) throw new Qwen4jException("-o needs --batch-file (a single prompt's text goes to standard output)");
        if (system != null && !chat) throw new Qwen4jException("--system needs --chat");
        if (parseSpecialInMessages && !chat) throw new Qwen4jException("--parse-special-in-messages needs --chat");
        if (parseSpecialInMessages && noParseSpecial) {
            throw new Qwen4jException("--parse-special-in-messages and --no-parse-special contradict each other");
        }
        if (chat && prompt.ids != null) throw new Qwen4jException("--chat needs a text prompt (-p or --prompt-file), not --prompt-ids");
        try (Qwen qwen = model.load(spec.commandLine().getErr(), 1)) {
            QwenTokenizer tokenizer = qwen.tokenizer();
            int[] ids;
            if (chat) {
                String text = prompt.text != null ? prompt.text : Inputs.readText(prompt.file);
                List<ChatMessage> messages = new ArrayList<>();
                if (system != null) messages.add(ChatMessage.system(system));
                messages.add(ChatMessage.user(text));
                // message text is plain text (--no-parse-special is the default here) unless asked otherwise
                ids = parseSpecialInMessages ? tokenizer.encode(qwen.chatPrompt(messages, null), true)
                        : qwen.chatPromptIds(messages, null);
            } else if (prompt.ids != null) {
                ids = Inputs.parseIds(prompt.ids, "--prompt-ids");
                Inputs.checkIds(ids, tokenizer.vocabSize(), "--prompt-ids");
            } else {
                String text = prompt.text != null ? prompt.text : Inputs.readText(prompt.file);
                ids = tokenizer.encode(text, !noParseSpecial);
            }
            checkRoom(ids.length, qwen.contextLength());
            GenerationParams params = sampling.resolve(qwen.samplingDefaults(), chat).toBuilder().maxTokens(maxTokens)
                    .stop(sampling.stopStrings()).responseFormat(constraint.format()).build();
            Completion c = qwen.generate(ids, params, new TokenListener() {
                @Override
                public void onToken(String piece) {
                    if (!json) {
                        out.print(piece);
                        out.flush();
                    }
                }

                // stop generating once the output cannot be written (a closed pipe, a full disk)
                @Override
                public boolean cancelled() { return !json && out.checkError(); }
            });
            double loadMs = qwen.loadTime().toNanos() / 1e6;
            Timings t = c.timings();
            if (json) {
                out.println(toJson(ids, c, loadMs, params));
            } else {
                out.println();
                spec.commandLine().getErr().printf("[prompt %d tokens, prefill %.1f tokens/s | decode %d tokens, %.3f s/token, %.2f tokens/s | load %.0f ms | stop: %s | %s]%n",
                        ids.length, t.prefillTokensPerSecond(), t.decodeNanos().length, t.decodeSecondsPerToken(),
                        t.decodeTokensPerSecond(), loadMs, c.stopReason(), params);
            }
        }
        return 0;
    }

    /** The prompt and -n must fit the context (said in flags, before anything runs). */
    private void checkRoom(int promptTokens, int context) {
        if (promptTokens > context) {
            throw new Qwen4jException("the prompt has " + promptTokens + " tokens but the context has room for "
                    + context + " (raise --ctx)");
        }
        if (maxTokens >= 0 && promptTokens + maxTokens > context + 1) {
            throw new Qwen4jException("prompt (" + promptTokens + " tokens) + -n " + maxTokens
                    + " exceeds the context of " + context + " tokens (raise --ctx or lower -n)");
        }
    }

    static String toJson(int[] promptIds, Completion c, double loadMs, GenerationParams p) throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        ArrayNode pa = root.putArray("prompt_ids");
        for (int id : promptIds) pa.add(id);
        ArrayNode ids = root.putArray("ids");
        for (int id : c.tokenIds()) ids.add(id);
        root.put("text", c.text());
        root.put("stop_reason", c.stopReason());
        ObjectNode smp = root.putObject("sampling");
        smp.put("greedy", !(p.temperature() > 0));
        smp.put("temperature", p.temperature());
        smp.put("top_k", p.topK());
        smp.put("top_p", p.topP());
        smp.put("min_p", p.minP());
        smp.put("repeat_penalty", p.repeatPenalty());
        smp.put("repeat_last_n", p.repeatLastN());
        smp.put("presence_penalty", p.presencePenalty());
        smp.put("frequency_penalty", p.frequencyPenalty());
        smp.put("seed", p.seed());
        Timings tm = c.timings();
        ObjectNode t = root.putObject("timings");
        t.put("load_ms", loadMs);
        t.put("prefill_ms", tm.prefillNanos() / 1e6);
        t.put("prefill_tokens_per_s", tm.prefillTokensPerSecond());
        ArrayNode d = t.putArray("decode_ms");
        for (long ns : tm.decodeNanos()) d.add(ns / 1e6);
        t.put("decode_tokens_per_s", tm.decodeTokensPerSecond());
        return mapper.writeValueAsString(root);
    }
}
