package qwen4j;

/**
 * What the engine needs from the JVM it runs in, checked before any kernel class loads: without the
 * Vector API incubator module every kernel class fails to initialise, so a program started with a
 * bare {@code java -jar} or {@code java -cp} would die deep inside the first matrix with a
 * {@link NoClassDefFoundError}. This class itself uses no vector types.
 */
public final class JvmRequirements {
    private JvmRequirements() {}

    /** The JVM options the engine needs (what {@code bin/qwen4j} passes through {@code config/jvm.flags}). */
    public static final String JVM_OPTIONS = "--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED";

    /** Whether this JVM resolved the Vector API module. */
    public static boolean vectorModulePresent() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    }

    /** What is wrong, and what to add, when the Vector API module is missing (one line). */
    public static final String MISSING_VECTOR_MODULE = "this JVM was started without the Vector API module"
            + " (jdk.incubator.vector): start it with " + JVM_OPTIONS + " (bin/qwen4j does)";

    /** Throws {@link #MISSING_VECTOR_MODULE} as a {@link Qwen4jException} when the Vector API module is missing. */
    public static void requireVectorModule() {
        if (!vectorModulePresent()) throw new Qwen4jException(MISSING_VECTOR_MODULE);
    }
}
