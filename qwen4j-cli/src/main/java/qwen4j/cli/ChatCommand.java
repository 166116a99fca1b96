package qwen4j.cli;

import java.util.concurrent.Callable;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import qwen4j.Qwen4jException;
import qwen4j.api.Qwen;

@Command(name = "chat", mixinStandardHelpOptions = true,
        description = {"Chat with a model in the terminal, using its chat template.",
                "Samples with the model's generation_config.json defaults (llama.cpp's for GGUF) unless flags say "
                        + "otherwise; --temp 0 is greedy. The KV cache is kept across turns: only the new turn is prefilled (in whole blocks of 16 tokens).",
                "", ChatRepl.HELP})
final class ChatCommand implements Callable<Integer> {
    @Mixin ModelOptions model;

    @Mixin SamplingOptions sampling;

    @Option(names = "--system", paramLabel = "TEXT", description = "System prompt (default: the template's).")
    String system;

    @Option(names = {"-n", "--max-tokens"}, paramLabel = "N", defaultValue = "-1",
            description = "Most tokens per answer (default ${DEFAULT-VALUE}: until the model stops or the context is full).")
    int maxTokens;

    @Option(names = "--parse-special-in-messages",
            description = "Let <|im_start|> etc. typed in messages act as special tokens (they can forge chat turns).")
    boolean parseSpecialInMessages;

    @Override
    public Integer call() throws Exception {
        if (maxTokens < -1) throw new Qwen4jException("-n must be -1 or more, got " + maxTokens);
        try (Qwen qwen = model.load(new java.io.PrintWriter(System.err, true), 1);
             Terminal terminal = TerminalBuilder.builder().system(true).dumb(true).build()) {
            ChatSession conversation = new ChatSession(qwen, sampling.resolve(qwen.samplingDefaults(), true), system);
            conversation.parseSpecialInMessages(parseSpecialInMessages);
            new ChatRepl(conversation, terminal, ChatRepl.defaultHistory(), maxTokens, sampling.stopStrings()).run();
        }
        return 0;
    }
}
