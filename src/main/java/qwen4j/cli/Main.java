package qwen4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import qwen4j.Qwen4jException;

/** Entry point of {@code bin/qwen4j}. User errors print one line and exit 2; no stack traces. */
@Command(name = "qwen4j", mixinStandardHelpOptions = true, version = "qwen4j 0.1.0",
        description = "Pure-Java inference for Qwen2.5 models (HF folders and GGUF files).",
        subcommands = {GenerateCommand.class, TokenizeCommand.class, PerplexityCommand.class,
                CommandLine.HelpCommand.class})
public final class Main {
    public static final int USER_ERROR = 2;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
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
        return cli.execute(args);
    }
}
