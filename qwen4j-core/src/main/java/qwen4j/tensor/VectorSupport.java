package qwen4j.tensor;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import jdk.incubator.vector.FloatVector;

/**
 * What the Vector API gives this JVM on this CPU, decided once at start-up: the float lanes of the
 * preferred species (16 with AVX-512, 8 with AVX2, 4 with NEON or SSE) and whether the SIMD kernels
 * can run well here. They are written for 4, 8 and 16 lanes; with fewer lanes, without the C2 JIT
 * (which is what turns Vector API calls into vector instructions) or without hardware FMA, the
 * Vector API still computes correctly but through its slow, allocating Java fallback, so
 * {@link Kernels#usable()} then picks the scalar kernels and says so once on stderr.
 */
public final class VectorSupport {
    private VectorSupport() {}

    /** Float lanes of the preferred species. */
    public static final int LANES = FloatVector.SPECIES_PREFERRED.length();
    /** Bits of the preferred species. */
    public static final int BITS = FloatVector.SPECIES_PREFERRED.vectorBitSize();

    /** Why the SIMD kernels cannot be used here, or null when they can. */
    private static final String UNUSABLE = unusableReason();

    private static final java.util.concurrent.atomic.AtomicBoolean TOLD = new java.util.concurrent.atomic.AtomicBoolean();

    /** Whether the Vector API kernels run as vector instructions here. */
    public static boolean usable() { return UNUSABLE == null; }

    /** Why not ({@link #usable()} false), else null. */
    public static String reason() { return UNUSABLE; }

    /** The kernels that run: e.g. "SIMD 512-bit, 16 float lanes (AVX-512)", or "scalar (why)". */
    public static String describe() {
        return usable() ? "SIMD " + BITS + "-bit, " + LANES + " float lanes" + isa() : "scalar (" + UNUSABLE + ")";
    }

    private static String isa() {
        String arch = System.getProperty("os.arch", "");
        if (arch.equals("aarch64")) return BITS == 128 ? " (NEON)" : " (SVE)";
        if (!arch.equals("amd64") && !arch.equals("x86_64")) return "";
        return switch (BITS) {
            case 512 -> " (AVX-512)";
            case 256 -> " (AVX2)";
            case 128 -> " (SSE/AVX)";
            default -> "";
        };
    }

    /** Prints the fallback note once per process (the first time SIMD kernels are asked for and cannot run). */
    static void tellOnce() {
        if (!TOLD.compareAndSet(false, true)) return;
        System.err.println("qwen4j: note: using the scalar kernels: " + UNUSABLE
                + " (results are the same, computed several times slower)");
    }

    private static String unusableReason() {
        if (LANES < 4) {
            return "the Vector API offers " + LANES + " float lanes here (" + BITS + "-bit vectors"
                    + flag("MaxVectorSize").map(v -> ", -XX:MaxVectorSize=" + v).orElse("") + "), at least 4 are needed";
        }
        if (LANES > 16) return "vectors of " + LANES + " float lanes are not supported (at most 16)";
        if ("false".equals(flag("UseCompiler").orElse("true"))) return "the JIT compiler is off (-Xint)";
        if ("true".equals(flag("TieredCompilation").orElse("true"))
                && Integer.parseInt(flag("TieredStopAtLevel").orElse("4")) < 4) {
            return "the C2 JIT compiler is off (-XX:TieredStopAtLevel=" + flag("TieredStopAtLevel").orElse("?") + ")";
        }
        if ("false".equals(flag("EnableVectorSupport").orElse("true"))) return "Vector API intrinsics are off (-XX:-EnableVectorSupport)";
        if ("false".equals(flag("UseFMA").orElse("true"))) return "the CPU (or -XX:-UseFMA) has no fused multiply-add";
        return null;
    }

    private static java.util.Optional<String> flag(String name) {
        try {
            return java.util.Optional.of(ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
                    .getVMOption(name).getValue());
        } catch (RuntimeException e) { // not a flag of this JVM (or not HotSpot)
            return java.util.Optional.empty();
        }
    }
}
