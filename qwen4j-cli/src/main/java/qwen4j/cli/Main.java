package qwen4j.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import qwen4j.Qwen4jException;

/**
 * Entry point of {@code bin/qwen4j}. A user error (bad option, bad file) prints one line and exits 2;
 * a bug prints one line naming the exception, writes the stack trace to a file it names and exits 70;
 * output that cannot be written (a full disk, a closed pipe) gives one line and exit 74.
 */
@Command(name = "qwen4j", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Pure-Java inference for Qwen2.5 models (HF folders and GGUF files).",
        subcommands = {GenerateCommand.class, ChatCommand.class, ServeCommand.class, TokenizeCommand.class, PerplexityCommand.class, BenchCommand.class, ConvertCommand.class,
                PullCommand.class, ConstraintBenchCommand.class, LoadBenchCommand.class, CommandLine.HelpCommand.class})
public final class Main {
    public static final int USER_ERROR = 2;
    /** A bug (sysexits EX_SOFTWARE): scripts can tell a crash from a user error. */
    public static final int INTERNAL_ERROR = 70;
    /** Standard output could not be written (sysexits EX_IOERR). */
    public static final int OUTPUT_ERROR = 74;

    /** {@code --version}: the release, the JVM and the vector width the kernels run at on this machine. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            Runtime.Version v = Runtime.version();
            return new String[] {"qwen4j 0.1.0 (Java " + v.feature() + "." + v.interim() + "." + v.update() + "), kernels: "
                    + qwen4j.tensor.VectorSupport.describe()};
        }
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String... args) {
        return run(utf8(new FileOutputStream(FileDescriptor.out)), utf8(new FileOutputStream(FileDescriptor.err)), args);
    }

    /** Runs a command line with the given output streams (tests capture them); returns the exit code. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        if (!qwen4j.JvmRequirements.vectorModulePresent()) { // every command (and --version) needs it
            err.println("qwen4j: error: " + qwen4j.JvmRequirements.MISSING_VECTOR_MODULE);
            err.flush();
            return USER_ERROR;
        }
        return execute(commandLine(out, err), args);
    }

    /** The command tree with this program's error handling (tests may add subcommands). */
    static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new Main());
        cli.getCommandSpec().usageMessage().header(new Version().getVersion());
        cli.setOut(out);
        cli.setErr(err);
        cli.setParameterExceptionHandler((e, args) -> {
            // picocli's own errors (unknown option, -n abc, missing -p, conflicting options): one line, not the usage
            String text = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            StringBuilder m = new StringBuilder(text.startsWith("Error: ") ? text.substring(7) : text);
            if (e instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
                m.append("; did you mean ").append(String.join(" or ", u.getSuggestions().subList(0, Math.min(3, u.getSuggestions().size())))).append('?');
            }
            userError(err, e.getCommandLine(), m.toString(), null);
            return USER_ERROR;
        });
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            Throwable cause = e;
            while (!(cause instanceof Qwen4jException) && cause.getCause() != null) cause = cause.getCause();
            if (cause instanceof Qwen4jException q) {
                userError(err, cmd, q.getMessage(), q.details());
                return USER_ERROR;
            }
            return internalError(e, err);
        });
        cli.setExitCodeExceptionMapper(e -> USER_ERROR);
        return cli;
    }

    /** Runs {@code args} on {@code cli}; whatever escapes is a bug (70), unwritable output is 74. */
    static int execute(CommandLine cli, String... args) {
        PrintWriter out = cli.getOut(), err = cli.getErr();
        int code;
        try {
            code = cli.execute(args);
        } catch (Throwable e) { // errors picocli lets through (OutOfMemoryError, StackOverflowError)
            code = internalError(e, err);
        }
        out.flush();
        if (out.checkError()) {
            IOException why = out instanceof OutputWriter w ? w.failure() : null;
            err.println("qwen4j: error: cannot write the output" + (why == null || why.getMessage() == null ? ""
                    : " (" + Qwen4jException.shown(why.getMessage()) + ")"));
            code = code == 0 ? OUTPUT_ERROR : code;
        }
        err.flush();
        return code;
    }

    /** {@code qwen4j: error: MESSAGE (try 'qwen4j CMD --help')}, then the error's explanation lines, if any. */
    private static void userError(PrintWriter err, CommandLine cmd, String message, String details) {
        String oneLine = message.replace("\r", "").replace("\n", "; ");
        err.println("qwen4j: error: " + oneLine + " (try '" + cmd.getCommandSpec().qualifiedName() + " --help')");
        if (details != null) details.lines().forEach(l -> err.println("  " + l));
        err.flush();
    }

    /**
     * A bug: one line with the exception's type, the stack trace in a file named there (a temp file),
     * so a user can attach it to a report without scrolling through it.
     */
    static int internalError(Throwable e, PrintWriter err) {
        String what = e.getClass().getName() + (e.getMessage() == null ? "" : ": " + Qwen4jException.shown(e.getMessage(), 200));
        String where;
        try {
            Path f = Files.createTempFile("qwen4j-crash-", ".txt");
            java.io.StringWriter trace = new java.io.StringWriter();
            e.printStackTrace(new PrintWriter(trace));
            Files.writeString(f, "qwen4j internal error (" + new Version().getVersion()[0] + ")\n" + trace);
            where = "; stack trace in " + f;
        } catch (IOException | RuntimeException io) {
            where = "; could not write the stack trace (" + io.getMessage() + ")";
        }
        String heap = e instanceof OutOfMemoryError
                ? " (the Java heap is " + (Runtime.getRuntime().maxMemory() >> 20) + " MB; QWEN4J_HEAP=8g raises it)" : "";
        err.println("qwen4j: internal error (a bug, please report it): " + what + heap + where);
        err.flush();
        return INTERNAL_ERROR;
    }

    /** Output as UTF-8 whatever the platform encoding (generated text is UTF-8), remembering why a write failed. */
    static PrintWriter utf8(OutputStream stream) {
        Recorder r = new Recorder(stream);
        return new OutputWriter(r);
    }

    /** A PrintWriter that can say why it failed (PrintWriter itself keeps only a flag). */
    static final class OutputWriter extends PrintWriter {
        private final Recorder recorder;

        OutputWriter(Recorder r) {
            super(new OutputStreamWriter(r, StandardCharsets.UTF_8), true);
            this.recorder = r;
        }

        IOException failure() { return recorder.first; }
    }

    private static final class Recorder extends FilterOutputStream {
        volatile IOException first;

        Recorder(OutputStream out) { super(out); }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            try {
                out.write(b, off, len);
            } catch (IOException e) {
                if (first == null) first = e;
                throw e;
            }
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void flush() throws IOException {
            try {
                out.flush();
            } catch (IOException e) {
                if (first == null) first = e;
                throw e;
            }
        }
    }
}
