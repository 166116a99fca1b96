package qwen4j.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs the CLI from tests in other packages: {exit code, stdout, stderr}. */
public final class CliTestAccess {
    private CliTestAccess() {}

    public static String[] run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new String[] {Integer.toString(code), out.toString(), err.toString()};
    }
}
