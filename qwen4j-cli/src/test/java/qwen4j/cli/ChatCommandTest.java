package qwen4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.jline.terminal.Terminal;
import org.junit.jupiter.api.Test;
import qwen4j.Fixtures;
import qwen4j.api.GenerationParams;
import qwen4j.api.LoadOptions;
import qwen4j.api.Qwen;

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
        try (Qwen qwen = Qwen.load(Fixtures.tiny().resolve("tiny-BF16.gguf"), LoadOptions.builder().threads(2).contextLength(512).build());
             Terminal terminal = dumb(input, bytes)) {
            ChatSession c = new ChatSession(qwen, GenerationParams.defaults(), null);
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
        try (Qwen qwen = Qwen.load(Fixtures.tiny().resolve("hf"), LoadOptions.builder().threads(2).contextLength(256).build());
             Terminal terminal = dumb(input, bytes)) {
            ChatSession c = new ChatSession(qwen, GenerationParams.defaults(), null);
            new ChatRepl(c, terminal, null, 4, List.of()).run();
            assertThat(c.messages().get(0).content()).isEqualTo("line one\nline two");
        }
    }

    /** Issue 18 item 15: the history file honours $HOME, is created 0600 and keeps the messages. */
    @Test
    void historyFileIsPrivateAndUnderHome(@org.junit.jupiter.api.io.TempDir java.nio.file.Path home) throws Exception {
        java.nio.file.Path h = ChatRepl.defaultHistory(java.util.Map.of("HOME", home.toString()));
        assertThat(h).isEqualTo(home.resolve(".qwen4j_history"));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (Qwen qwen = Qwen.load(Fixtures.tiny().resolve("hf"), LoadOptions.builder().threads(2).contextLength(256).build());
             Terminal terminal = dumb("remember me\n/quit\n", bytes)) {
            ChatSession c = new ChatSession(qwen, GenerationParams.defaults(), null);
            new ChatRepl(c, terminal, h, 2, List.of()).run();
        }
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(java.nio.file.Files.getPosixFilePermissions(h)))
                .isEqualTo("rw-------");
        assertThat(java.nio.file.Files.readString(h)).contains("remember me");
    }

    /** Item 15: an odd or unusable history path gives one warning line; the chat goes on (no OOM, no stack traces). */
    @Test
    @org.junit.jupiter.api.Timeout(60)
    void oddHistoryPathsGiveOneWarning(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        java.nio.file.Path file = java.nio.file.Files.writeString(tmp.resolve("plain"), "x");
        List<java.nio.file.Path> odd = new java.util.ArrayList<>(List.of(tmp, file.resolve("under-a-file")));
        if (java.nio.file.Files.exists(java.nio.file.Path.of("/dev/full"))) odd.add(java.nio.file.Path.of("/dev/full"));
        try (Qwen qwen = Qwen.load(Fixtures.tiny().resolve("hf"), LoadOptions.builder().threads(2).contextLength(256).build())) {
            for (java.nio.file.Path p : odd) {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                java.io.PrintStream savedErr = System.err;
                ByteArrayOutputStream err = new ByteArrayOutputStream();
                System.setErr(new java.io.PrintStream(err, true));
                try (Terminal terminal = dumb("one\ntwo\nthree\n/quit\n", bytes)) {
                    ChatSession c = new ChatSession(qwen, GenerationParams.defaults(), null);
                    new ChatRepl(c, terminal, p, 2, List.of()).run();
                    assertThat(c.messages()).as(p.toString()).hasSize(6);
                } finally {
                    System.setErr(savedErr);
                }
                String out = bytes.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
                assertThat(out.lines().filter(l -> l.contains("[warning: chat history")).count()).as(p + ": " + out).isEqualTo(1);
                assertThat(out).as(p.toString()).doesNotContain("Exception").doesNotContain("\tat ");
            }
        }
    }
}
