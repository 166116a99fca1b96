package qwen4j.tensor;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.management.ObjectName;

/**
 * The JIT hints of {@code config/jvm.flags} (which kernel helpers C2 must inline and which it must not), given
 * to HotSpot at run time as compiler directives when the JVM was started without them, as an application that
 * uses qwen4j as a library is: without them the kernels' vectors are boxed and decoding allocates and slows.
 * Directives added now apply to the methods compiled from now on, so this runs before a model does.
 */
public final class JitDirectives {
    private static final String FLAGS = "/qwen4j/jvm.flags";
    private static boolean done;
    private static String outcome = "not tried";

    private JitDirectives() {}

    /** Installs the hints once per JVM, unless the JVM has them from its command line; says once on stderr if it cannot. */
    public static synchronized void install() {
        if (done) return;
        done = true;
        try {
            List<String> commands = compileCommands();
            if (commands.isEmpty()) {
                outcome = "no hints in " + FLAGS;
                return;
            }
            List<String> args = ManagementFactory.getRuntimeMXBean().getInputArguments();
            if (args.containsAll(commands.stream().map(c -> "-XX:CompileCommand=" + c).toList())) {
                outcome = "given on the command line";
                return;
            }
            Path file = Files.createTempFile("qwen4j-jit", ".json");
            try {
                Files.writeString(file, directives(commands));
                Object out = ManagementFactory.getPlatformMBeanServer().invoke(
                        new ObjectName("com.sun.management:type=DiagnosticCommand"), "compilerDirectivesAdd",
                        new Object[] {new String[] {file.toString()}}, new String[] {String[].class.getName()});
                String said = String.valueOf(out).strip();
                if (!said.contains("added")) throw new IllegalStateException(said);
                outcome = "installed as compiler directives";
            } finally {
                Files.deleteIfExists(file);
            }
        } catch (Exception | LinkageError e) {
            outcome = "failed: " + e;
            System.err.println("qwen4j: note: could not give the JIT qwen4j's hints (" + e.getMessage()
                    + "); decoding may allocate and run slower: start the JVM with the flags of qwen4j's config/jvm.flags");
        }
    }

    /** What {@link #install} did: installed, found on the command line, or why it failed. */
    public static synchronized String outcome() { return outcome; }

    /** The {@code inline} and {@code dontinline} CompileCommands of the packaged jvm.flags (e.g. {@code inline,a.B::c}). */
    static List<String> compileCommands() throws IOException {
        List<String> out = new ArrayList<>();
        try (InputStream in = JitDirectives.class.getResourceAsStream(FLAGS)) {
            if (in == null) return out;
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                line = line.strip();
                if (!line.startsWith("-XX:CompileCommand=")) continue;
                String c = line.substring("-XX:CompileCommand=".length());
                if (c.startsWith("inline,") || c.startsWith("dontinline,")) out.add(c);
            }
        }
        return out;
    }

    /**
     * The commands as one directive over every compilation. A directive's inline list is searched in order and
     * the first match decides, so the exclusions go first (on the command line a dontinline wins over an inline).
     */
    static String directives(List<String> commands) {
        List<String> patterns = new ArrayList<>();
        for (String minusFirst : new String[] {"dontinline,", "inline,"}) {
            for (String c : commands) {
                if (!c.startsWith(minusFirst)) continue;
                String method = c.substring(minusFirst.length()); // a.b.C::m
                patterns.add("\"" + (minusFirst.equals("inline,") ? "+" : "-")
                        + method.replace('.', '/').replace("::", ".") + "\"");
            }
        }
        return "[{ match: \"*.*\", inline: [" + String.join(", ", patterns) + "] }]\n";
    }
}
