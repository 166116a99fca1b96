package qwen4j.jmh;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.management.ManagementFactory;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * A quantized matvec of two builds in one JVM, call for call in turn: each build's classes load in a
 * class loader of their own, both read the same weights. On this shared machine whole runs move by
 * 20% (neighbours, the kernel's page scanning), so two builds timed in separate runs can swap places;
 * alternating in one process compares them under the same conditions. Prints best and mean thread-CPU
 * throughput per build after a few seconds, their ratio B/A, and the largest relative difference of
 * their outputs (0 where the change keeps every bit). Usage, with {@code @config/jvm.flags}:
 * {@code KernelAB TYPE ROWS COLS SECONDS CLASSPATH_A CLASSPATH_B}, e.g. the previous build's jar
 * against {@code qwen4j-core/target/classes}; add {@code -XX:UseAVX=2} for 8 lanes.
 */
public final class KernelAB {
    public static void main(String[] args) throws Throwable {
        if (args.length != 6) {
            System.err.println("usage: KernelAB TYPE ROWS COLS SECONDS CLASSPATH_A CLASSPATH_B");
            System.exit(2);
        }
        String type = args[0];
        int rows = Integer.parseInt(args[1]), cols = Integer.parseInt(args[2]);
        double seconds = Double.parseDouble(args[3]);
        Build a = new Build(args[4], type), b = new Build(args[5], type);
        long rowBytes = a.rowBytes(cols);
        MemorySegment w = Arena.global().allocate(rowBytes * rows, 4096);
        SplittableRandom rnd = new SplittableRandom(1);
        // random bits, bit 14 of every 16-bit word cleared so that fp16 scales stay finite
        for (long i = 0; i + 8 <= w.byteSize(); i += 8) w.set(ValueLayout.JAVA_LONG_UNALIGNED, i, rnd.nextLong() & 0xBFFFBFFFBFFFBFFFL);
        float[] x = new float[cols];
        for (int i = 0; i < cols; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        MethodHandle[] matvec = {a.matvec(w, rows, cols), b.matvec(w, rows, cols)};
        float[][] out = {new float[rows], new float[rows]};
        var mx = ManagementFactory.getThreadMXBean();
        long[] best = {Long.MAX_VALUE, Long.MAX_VALUE}, total = new long[2];
        int counted = 0;
        long end = System.nanoTime() + (long) (seconds * 1e9);
        for (int it = 0; System.nanoTime() < end || it < 40; it++) {
            for (int v = 0; v < 2; v++) {
                long t0 = mx.getCurrentThreadCpuTime();
                matvec[v].invokeExact(x, out[v], 0, rows);
                long t = mx.getCurrentThreadCpuTime() - t0;
                if (it >= 20) { // the first calls compile
                    best[v] = Math.min(best[v], t);
                    total[v] += t;
                }
            }
            if (it >= 20) counted++;
        }
        double diff = 0;
        for (int r = 0; r < rows; r++) diff = Math.max(diff, Math.abs(out[0][r] - out[1][r]) / (1 + Math.abs(out[0][r])));
        double bytes = (double) rowBytes * rows;
        System.out.printf("%s %d x %d (%d MB), one thread: A best %.1f GB/s, mean %.1f | B best %.1f GB/s, mean %.1f"
                        + " | B/A best %.2f, mean %.2f | largest relative difference %.1e%n",
                type, rows, cols, (long) bytes >> 20, bytes / best[0], bytes * counted / total[0], bytes / best[1],
                bytes * counted / total[1], (double) best[0] / best[1], (double) total[0] / total[1], diff);
    }

    /** One build's QuantMatrix, reached by reflection through its own class loader. */
    private static final class Build {
        private final ClassLoader loader;
        private final Object dtype;

        @SuppressWarnings({"unchecked", "rawtypes"})
        Build(String classPath, String type) throws Exception {
            URL[] urls = new URL[classPath.split(":").length];
            for (int i = 0; i < urls.length; i++) urls[i] = Path.of(classPath.split(":")[i]).toUri().toURL();
            loader = new URLClassLoader(urls, ClassLoader.getPlatformClassLoader());
            dtype = Enum.valueOf((Class) loader.loadClass("qwen4j.tensor.DType"), type);
        }

        long rowBytes(int cols) throws Exception {
            return (long) dtype.getClass().getMethod("bytesFor", long.class).invoke(dtype, (long) cols);
        }

        @SuppressWarnings({"unchecked", "rawtypes"})
        MethodHandle matvec(MemorySegment w, int rows, int cols) throws Throwable {
            Class<?> dt = loader.loadClass("qwen4j.tensor.DType"), kernels = loader.loadClass("qwen4j.tensor.Kernels");
            Object m = loader.loadClass("qwen4j.tensor.quant.QuantMatrix").getMethod("of", dt, MemorySegment.class, int.class, int.class, kernels)
                    .invoke(null, dtype, w, rows, cols, Enum.valueOf((Class) kernels, "SIMD"));
            return MethodHandles.publicLookup().findVirtual(loader.loadClass("qwen4j.tensor.Matrix"), "matvec",
                    MethodType.methodType(void.class, float[].class, float[].class, int.class, int.class)).bindTo(m);
        }
    }
}
