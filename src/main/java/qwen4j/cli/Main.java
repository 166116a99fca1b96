package qwen4j.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import qwen4j.Qwen4jException;

/** Entry point of {@code bin/qwen4j}. User errors print one line and exit 2; no stack traces. */
@Command(name = "qwen4j", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Pure-Java inference for Qwen2.5 models (HF folders and GGUF files).",
        subcommands = {GenerateCommand.class, ChatCommand.class, ServeCommand.class, TokenizeCommand.class, PerplexityCommand.class, BenchCommand.class, ConvertCommand.class,
                CommandLine.HelpCommand.class})
public final class Main {
    public static final int USER_ERROR = 2;

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
        return run(utf8(FileDescriptor.out), utf8(FileDescriptor.err), args);
    }

    /** Runs a command line with the given output streams (tests capture them); returns the exit code. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.getCommandSpec().usageMessage().header(new Version().getVersion());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            Throwable cause = e;
            while (!(cause instanceof Qwen4jException) && cause.getCause() != null) cause = cause.getCause();
            if (cause instanceof Qwen4jException q) {
                cmd.getErr().println("qwen4j: error: " + q.getMessage());
                cmd.getErr().flush();
                return USER_ERROR;
            }
            throw e;
        });
        cli.setExitCodeExceptionMapper(e -> USER_ERROR);
        try {
            return cli.execute(args);
        } finally {
            out.flush();
            err.flush();
        }
    }

    /** Stdout/stderr as UTF-8 whatever the platform encoding (generated text is UTF-8). */
    private static PrintWriter utf8(FileDescriptor fd) {
        return new PrintWriter(new OutputStreamWriter(new FileOutputStream(fd), StandardCharsets.UTF_8), true);
    }
}
