package qwen4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.jline.terminal.Terminal;
import org.junit.jupiter.api.Test;
import qwen4j.Fixtures;
import qwen4j.chat.ChatTemplate;
import qwen4j.chat.Conversation;
import qwen4j.generate.Engine;
import qwen4j.generate.SamplerSettings;
import qwen4j.model.Options;

class ChatCommandTest {
    /** A dumb terminal over fixed input, as when stdin is a pipe. */
    static Terminal dumb(String input, ByteArrayOutputStream out) throws java.io.IOException {
        return new org.jline.terminal.impl.DumbTerminal("test", Terminal.TYPE_DUMB,
                new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)), out, StandardCharsets.UTF_8);
    }

    @Test
    void replAnswersContinuesLinesAndHandlesCommands() throws Exception {
        String input = String.join("\n", "Hello\\", "there", "/stats", "Second question", "/system Be terse.",
                "/system", "/reset", "/bogus", "Third", "/quit", "never read") + "\n";
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (Engine engine = Engine.open(Fixtures.tiny().resolve("tiny-BF16.gguf"), Options.defaults().withThreads(2), 512);
             Terminal terminal = dumb(input, bytes)) {
            Conversation c = new Conversation(engine, ChatTemplate.forModel(engine.files(), engine.tokenizer()),
                    SamplerSettings.greedy(), null);
            new ChatRepl(c, terminal, null, 8, List.of()).run();
            String out = bytes.toString(StandardCharsets.UTF_8);
            assertThat(out.lines().filter(l -> l.matches("\\[\\d+ tokens, .* tokens/s \\| prefill .*")).count()).isEqualTo(3);
            assertThat(out).contains("[context ").contains("[system prompt set]").contains("[system: Be terse.]")
                    .contains("[conversation reset; system prompt kept]").contains("[unknown command /bogus");
            assertThat(c.messages()).hasSize(2);
            assertThat(c.messages().get(0).content()).isEqualTo("Third");
            assertThat(c.system()).isEqualTo("Be terse.");
            // turn two reused the first turn's cache
            assertThat(out).containsPattern("prefill \\d+ tokens \\([1-9]\\d* reused from cache\\)");
        }
    }

    @Test
    void firstMessageJoinsContinuedLines() throws Exception {
        String input = "line one\\\nline two\n";
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (Engine engine = Engine.open(Fixtures.tiny().resolve("hf"), Options.defaults().withThreads(2), 256);
             Terminal terminal = dumb(input, bytes)) {
            Conversation c = new Conversation(engine, ChatTemplate.forModel(engine.files(), engine.tokenizer()),
                    SamplerSettings.greedy(), null);
            new ChatRepl(c, terminal, null, 4, List.of()).run();
            assertThat(c.messages().get(0).content()).isEqualTo("line one\nline two");
        }
    }
}
