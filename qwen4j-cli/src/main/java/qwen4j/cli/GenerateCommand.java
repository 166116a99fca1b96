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
import qwen4j.generate.Engine;
import qwen4j.generate.Generation;
import qwen4j.generate.Generator;
import qwen4j.generate.Sampler;
import qwen4j.generate.SamplerSettings;
import qwen4j.model.Session;

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
            try (Engine engine = model.open(spec.commandLine().getErr())) {
                return new BatchFileRun().run(engine, prompt.batchFile, output, parallel, maxTokens, sampling, chat, !noParseSpecial,
                        spec.commandLine().getErr());
            }
        }
        if (output != null) throw new Qwen4jException("-o needs --batch-file (a single prompt's text goes to standard output)");
        try (Engine engine = model.open(spec.commandLine().getErr())) {
            int[] ids;
            if (system != null && !chat) throw new Qwen4jException("--system needs --chat");
            if (parseSpecialInMessages && !chat) throw new Qwen4jException("--parse-special-in-messages needs --chat");
            if (parseSpecialInMessages && noParseSpecial) {
                throw new Qwen4jException("--parse-special-in-messages and --no-parse-special contradict each other");
            }
            if (chat) {
                if (prompt.ids != null) throw new Qwen4jException("--chat needs a text prompt (-p or --prompt-file), not --prompt-ids");
                String text = prompt.text != null ? prompt.text : Inputs.readText(prompt.file);
                qwen4j.chat.ChatTemplate template = qwen4j.chat.ChatTemplate.forModel(engine.files(), engine.tokenizer());
                java.util.List<qwen4j.chat.Message> messages = new java.util.ArrayList<>();
                if (system != null) messages.add(qwen4j.chat.Message.system(system));
                messages.add(qwen4j.chat.Message.user(text));
                // message text is plain text (--no-parse-special is the default here) unless asked otherwise
                ids = template.encode(engine.tokenizer(), messages, null, true, parseSpecialInMessages);
            } else if (prompt.ids != null) {
                ids = Inputs.parseIds(prompt.ids, "--prompt-ids");
                Inputs.checkIds(ids, engine.vocabLimit(), "--prompt-ids");
            } else {
                String text = prompt.text != null ? prompt.text : Inputs.readText(prompt.file);
                ids = engine.tokenizer().encode(text, !noParseSpecial);
            }
            Session session = engine.newSession();
            SamplerSettings settings = sampling.resolve(SamplerSettings.forModel(engine.files()), chat);
            Sampler sampler = new Sampler(settings, engine.vocabLimit(), session.capacity());
            Generation g = engine.generator().generate(session, ids, sampler,
                    // stop generating once the output cannot be written (a closed pipe, a full disk)
                    new Generator.Params(maxTokens, sampling.stopStrings(), () -> !json && out.checkError())
                            .withConstraint(constraint.newSequence(engine)), piece -> {
                if (!json) {
                    out.print(piece);
                    out.flush();
                }
            });
            double loadMs = engine.loadNanos() / 1e6;
            if (json) {
                out.println(toJson(g, loadMs, settings));
            } else {
                out.println();
                spec.commandLine().getErr().printf("[prompt %d tokens, prefill %.1f tokens/s | decode %d tokens, %.3f s/token, %.2f tokens/s | load %.0f ms | stop: %s | %s]%n",
                        ids.length, g.prefillTokensPerSecond(), g.decodeNanos().length, g.decodeSecondsPerToken(),
                        g.decodeTokensPerSecond(), loadMs, g.stopReason(), settings);
            }
        }
        return 0;
    }

    static String toJson(Generation g, double loadMs, SamplerSettings settings) throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        ArrayNode p = root.putArray("prompt_ids");
        for (int id : g.promptIds()) p.add(id);
        ArrayNode ids = root.putArray("ids");
        for (int id : g.ids()) ids.add(id);
        root.put("text", g.text());
        root.put("stop_reason", g.stopReason());
        ObjectNode smp = root.putObject("sampling");
        smp.put("greedy", settings.isGreedy());
        smp.put("temperature", settings.temperature());
        smp.put("top_k", settings.topK());
        smp.put("top_p", settings.topP());
        smp.put("min_p", settings.minP());
        smp.put("repeat_penalty", settings.repeatPenalty());
        smp.put("repeat_last_n", settings.repeatLastN());
        smp.put("presence_penalty", settings.presencePenalty());
        smp.put("frequency_penalty", settings.frequencyPenalty());
        smp.put("seed", settings.seed());
        ObjectNode t = root.putObject("timings");
        t.put("load_ms", loadMs);
        t.put("prefill_ms", g.prefillNanos() / 1e6);
        t.put("prefill_tokens_per_s", g.prefillTokensPerSecond());
        ArrayNode d = t.putArray("decode_ms");
        for (long ns : g.decodeNanos()) d.add(ns / 1e6);
        t.put("decode_tokens_per_s", g.decodeTokensPerSecond());
        return mapper.writeValueAsString(root);
    }
}
