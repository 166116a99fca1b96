package qwen4j.spark;

import qwen4j.Qwen4jException;

/**
 * Checks that this JVM (driver or executor) runs with what the engine needs: the Vector API
 * incubator module and native access for the memory-mapped weights. Spark starts executors with its
 * own flags, so a job that forgets them would otherwise fail deep inside the first matrix product.
 */
public final class Preflight {
    private Preflight() {}

    /** What the engine needs on every Spark JVM, on top of Spark's own flags. */
    public static final String ENGINE_OPTIONS = qwen4j.JvmRequirements.JVM_OPTIONS;

    /** The {@code --add-opens} list Spark's launcher adds on JDK 17+ (what a JVM started without spark-submit lacks). */
    public static String sparkModuleOptions() {
        try {
            return org.apache.spark.launcher.JavaModuleOptions.defaultModuleOptions();
        } catch (LinkageError e) {
            return "";
        }
    }

    /** The full value to give {@code spark.driver.extraJavaOptions} and {@code spark.executor.extraJavaOptions}. */
    public static String extraJavaOptions() {
        String spark = sparkModuleOptions();
        return spark.isEmpty() ? ENGINE_OPTIONS : ENGINE_OPTIONS + " " + spark;
    }

    /** Throws a one-line error naming the settings to add when this JVM lacks the Vector API or native access. */
    public static void check(String where) {
        boolean vector = qwen4j.JvmRequirements.vectorModulePresent();
        boolean nativeAccess = Preflight.class.getModule().isNativeAccessEnabled();
        if (vector && nativeAccess) return;
        String missing = !vector && !nativeAccess ? "the Vector API module and native access"
                : !vector ? "the Vector API module (jdk.incubator.vector)" : "native access (--enable-native-access)";
        throw new Qwen4jException("qwen4j on the Spark " + where + " needs " + missing + ": set spark.driver.extraJavaOptions"
                + " and spark.executor.extraJavaOptions to \"" + extraJavaOptions() + "\"");
    }
}
