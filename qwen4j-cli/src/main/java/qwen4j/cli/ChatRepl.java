package qwen4j.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.terminal.Terminal;
import qwen4j.Qwen4jException;
import qwen4j.api.Completion;

/**
 * The terminal chat loop: reads a message (a trailing backslash continues it on the next line; pasted
 * multi-line text arrives whole), streams the answer, prints its speed. Slash commands: /reset, /system,
 * /stats, /help, /quit. Ctrl-C during an answer stops that answer; at the prompt it clears the line; Ctrl-D quits.
 */
final class ChatRepl {
    static final String HELP = """
            /reset          forget the conversation (keeps the system prompt)
            /system TEXT    set the system prompt (no TEXT: show it)
            /stats          context use, cache reuse and speed
            /quit           leave (also /exit or Ctrl-D)
            End a line with \\ to continue the message on the next line. Ctrl-C stops an answer.""";

    private final ChatSession conversation;
    private final Terminal terminal;
    private final LineReader reader;
    private final PrintWriter out;
    private final int maxTokens;
    private final List<String> stops;

    ChatRepl(ChatSession conversation, Terminal terminal, Path historyFile, int maxTokens, List<String> stops) {
        this.conversation = conversation;
        this.terminal = terminal;
        this.out = terminal.writer();
        LineReaderBuilder b = LineReaderBuilder.builder().terminal(terminal).appName("qwen4j");
        historyFile = usableHistory(historyFile, out);
        if (historyFile != null) b.variable(LineReader.HISTORY_FILE, historyFile);
        this.reader = b.build();
        this.reader.setOpt(LineReader.Option.DISABLE_EVENT_EXPANSION); // "!" is ordinary text
        quietHistoryErrors(historyFile, out);
        this.maxTokens = maxTokens;
        this.stops = stops;
    }

    /** Runs until /quit or end of input. */
    void run() {
        out.println("qwen4j chat: " + conversation.capacity() + "-token context, sampling: " + conversation.params()
                + ". /help for commands.");
        out.flush();
        while (true) {
            String input;
            try {
                input = readMessage();
            } catch (EndOfFileException e) {
                break;
            }
            if (input == null) continue;
            String line = input.strip();
            if (line.isEmpty()) continue;
            if (line.startsWith("/")) {
                if (!command(line)) break;
                continue;
            }
            answer(input);
        }
        out.flush();
    }

    /** One message, joining lines that end with a backslash; null after Ctrl-C at the prompt. */
    private String readMessage() {
        StringBuilder message = new StringBuilder();
        String prompt = "> ";
        while (true) {
            String line;
            try {
                line = reader.readLine(prompt);
            } catch (UserInterruptException e) {
                return null;
            }
            if (line.endsWith("\\")) {
                message.append(line, 0, line.length() - 1).append('\n');
                prompt = ". ";
                continue;
            }
            message.append(line);
            return message.toString();
        }
    }

    /** Handles a slash command; false to quit. */
    private boolean command(String line) {
        String name = line.split("\\s+", 2)[0];
        String arg = line.length() > name.length() ? line.substring(name.length()).strip() : "";
        switch (name) {
            case "/quit", "/exit", "/q" -> {
                return false;
            }
            case "/reset" -> {
                conversation.reset();
                out.println("[conversation reset" + (conversation.system() != null ? "; system prompt kept" : "") + "]");
            }
            case "/system" -> {
                if (arg.isEmpty()) {
                    out.println(conversation.system() == null ? "[no system prompt: the template's default applies]"
                            : "[system: " + conversation.system() + "]");
                } else {
                    conversation.setSystem(arg);
                    out.println("[system prompt set]");
                }
            }
            case "/stats" -> {
                out.printf("[context %d / %d tokens | %d messages | prompt tokens reused from cache %d, prefilled %d | generated %d]%n",
                        conversation.contextTokens(), conversation.capacity(), conversation.messages().size(),
                        conversation.reusedTotal(), conversation.prefilledTotal(), conversation.generatedTotal());
                ChatSession.Turn t = conversation.lastTurn();
                if (t != null) {
                    out.printf("[last answer: %d tokens, %.2f tokens/s; prefill %d tokens at %.1f tokens/s]%n",
                            t.completion().tokenIds().length, t.completion().timings().decodeTokensPerSecond(), t.prefilledTokens(),
                            t.completion().timings().prefillTokensPerSecond());
                }
                out.println("[sampling: " + conversation.params() + "]");
            }
            case "/help", "/?" -> out.println(HELP);
            default -> out.println("[unknown command " + name + "; /help lists them]");
        }
        out.flush();
        return true;
    }

    private void answer(String message) {
        AtomicBoolean cancel = new AtomicBoolean();
        Terminal.SignalHandler previous = terminal.handle(Terminal.Signal.INT, s -> cancel.set(true));
        try {
            ChatSession.Turn t = conversation.send(message, maxTokens, stops, cancel::get, piece -> {
                out.print(piece);
                out.flush();
            });
            Completion c = t.completion();
            out.println();
            String why = switch (c.stopReason()) {
                case "cancelled" -> " | stopped";
                case "context" -> " | context full: answer cut; /reset to start over (keeps the system prompt)";
                case "length" -> " | token limit";
                default -> "";
            };
            out.printf("[%d tokens, %.2f tokens/s | prefill %d tokens (%d reused from cache), %.1f tokens/s | context %d/%d%s]%n",
                    c.tokenIds().length, c.timings().decodeTokensPerSecond(), t.prefilledTokens(), t.reusedTokens(),
                    c.timings().prefillTokensPerSecond(), t.contextTokens(), conversation.capacity(), why);
        } catch (ChatSession.ContextFullException e) {
            out.println("[context full: " + e.getMessage() + ". /reset to start over (keeps the system prompt)]");
        } catch (Qwen4jException e) {
            out.println("[error: " + e.getMessage() + "]");
        } finally {
            terminal.handle(Terminal.Signal.INT, previous);
            out.flush();
        }
    }

    /** Largest history file loaded: JLine reads it whole. */
    static final long MAX_HISTORY_BYTES = 16 << 20;

    /** $HOME/.qwen4j_history ($HOME as the shell has it, else the JVM's user.home); null without a home. */
    static Path defaultHistory() {
        return defaultHistory(System.getenv());
    }

    static Path defaultHistory(java.util.Map<String, String> env) {
        String home = env.get("HOME");
        if (home == null || home.isBlank()) home = System.getProperty("user.home");
        if (home == null || home.isBlank()) return null;
        return Path.of(home).resolve(".qwen4j_history");
    }

    /**
     * The history file if it can be used: a regular file of sane size, or a new one created 0600 (chats
     * are private). Otherwise one warning line and no history (an odd path such as /dev/full made JLine
     * read forever or print a stack trace per line).
     */
    static Path usableHistory(Path p, PrintWriter warn) {
        if (p == null) return null;
        try {
            if (Files.exists(p)) {
                if (!Files.isRegularFile(p)) return noHistory(warn, p, "not a regular file");
                if (!Files.isWritable(p)) return noHistory(warn, p, "not writable");
                if (Files.size(p) > MAX_HISTORY_BYTES) return noHistory(warn, p, "larger than " + (MAX_HISTORY_BYTES >> 20) + " MiB");
                return p;
            }
            Path dir = p.toAbsolutePath().getParent();
            if (dir == null || !Files.isDirectory(dir)) return noHistory(warn, p, "its folder does not exist");
            try {
                Files.createFile(p, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                        java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
            } catch (UnsupportedOperationException notPosix) {
                Files.createFile(p);
            }
            return p;
        } catch (java.io.IOException | RuntimeException e) {
            return noHistory(warn, p, Qwen4jException.shown(String.valueOf(e.getMessage())));
        }
    }

    private static Path noHistory(PrintWriter warn, Path p, String why) {
        warn.println("[warning: chat history is not kept: " + p + ": " + why + "]");
        warn.flush();
        return null;
    }

    /** A history file that fails later (disk full): one warning line, not JLine's stack trace per message. */
    private static void quietHistoryErrors(Path file, PrintWriter warn) {
        java.util.logging.Logger jline = java.util.logging.Logger.getLogger("org.jline");
        java.util.concurrent.atomic.AtomicBoolean warned = new java.util.concurrent.atomic.AtomicBoolean();
        jline.setFilter(r -> {
            String m = r.getMessage();
            if (m == null || !m.toLowerCase(java.util.Locale.ROOT).contains("history")) return true;
            if (r.getLevel().intValue() >= java.util.logging.Level.WARNING.intValue() && warned.compareAndSet(false, true)) {
                Throwable t = r.getThrown();
                warn.println("[warning: cannot save the chat history to " + file + (t == null ? "" : ": " + Qwen4jException.shown(String.valueOf(t.getMessage()))) + "]");
                warn.flush();
            }
            return false;
        });
    }
}
