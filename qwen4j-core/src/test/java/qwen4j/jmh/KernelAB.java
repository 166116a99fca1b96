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
 * A matvec (or, with TOKENS, the few-token product {@code Matrix.matmul}) of two builds in one JVM,
 * call for call in turn: each build's classes load in a class loader of their own, both read the same
 * weights. On this shared machine whole runs move by
 * 20% (neighbours, the kernel's page scanning), so two builds timed in separate runs can swap places;
 * alternating in one process compares them under the same conditions. Prints best and mean thread-CPU
 * throughput per build after a few seconds, their ratio B/A, and the largest relative difference of
 * their outputs (0 where the change keeps every bit). Usage, with {@code @config/jvm.flags}:
 * {@code KernelAB TYPE ROWS COLS SECONDS CLASSPATH_A CLASSPATH_B [TOKENS]} (TYPE: F32, BF16, F16 or a
 * quantized type), e.g. the previous build's jar against {@code qwen4j-core/target/classes}; add
 * {@code -XX:UseAVX=2} for 8 lanes, {@code -XX:MaxVectorSize=16} for 4.
 */
public final class KernelAB {
    public static void main(String[] args) throws Throwable {
        if (args.length != 6 && args.length != 7) {
            System.err.println("usage: KernelAB TYPE ROWS COLS SECONDS CLASSPATH_A CLASSPATH_B [TOKENS]");
            System.exit(2);
        }
        String type = args[0];
        int rows = Integer.parseInt(args[1]), cols = Integer.parseInt(args[2]);
        double seconds = Double.parseDouble(args[3]);
        int tokens = args.length == 7 ? Integer.parseInt(args[6]) : 1;
        Build a = new Build(args[4], type), b = new Build(args[5], type);
        long rowBytes = a.rowBytes(cols);
        MemorySegment w = Arena.global().allocate(rowBytes * rows, 4096);
        SplittableRandom rnd = new SplittableRandom(1);
        // random bits, bit 14 of every 16-bit word cleared so that fp16 scales stay finite
        for (long i = 0; i + 8 <= w.byteSize(); i += 8) w.set(ValueLayout.JAVA_LONG_UNALIGNED, i, rnd.nextLong() & 0xBFFFBFFFBFFFBFFFL);
        float[] x = new float[tokens * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        MethodHandle[] matvec = {a.matvec(w, rows, cols, tokens), b.matvec(w, rows, cols, tokens)};
        float[][] out = {new float[tokens * rows], new float[tokens * rows]};
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
        for (int r = 0; r < out[0].length; r++) diff = Math.max(diff, Math.abs(out[0][r] - out[1][r]) / (1 + Math.abs(out[0][r])));
        double bytes = (double) rowBytes * rows;
        System.out.printf("%s %d x %d (%d MB)" + (tokens > 1 ? ", " + tokens + " tokens" : "") + ", one thread: A best %.1f GB/s, mean %.1f | B best %.1f GB/s, mean %.1f"
                        + " | B/A best %.2f, mean %.2f | largest relative difference %.1e%n",
                type, rows, cols, (long) bytes >> 20, bytes / best[0], bytes * counted / total[0], bytes / best[1],
                bytes * counted / total[1], (double) best[0] / best[1], (double) total[0] / total[1], diff);
    }

    /** One build's Matrix, reached by reflection through its own class loader. */
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

        /** {@code (x, out, from, to)}: the matvec, or the product of {@code tokens} tokens with its own scratch. */
        @SuppressWarnings({"unchecked", "rawtypes"})
        MethodHandle matvec(MemorySegment w, int rows, int cols, int tokens) throws Throwable {
            Class<?> dt = loader.loadClass("qwen4j.tensor.DType"), kernels = loader.loadClass("qwen4j.tensor.Kernels");
            Class<?> tensor = loader.loadClass("qwen4j.tensor.Tensor"), matrix = loader.loadClass("qwen4j.tensor.Matrix");
            Object simd = Enum.valueOf((Class) kernels, "SIMD");
            Object t = tensor.getConstructor(String.class, dt, long[].class, MemorySegment.class, String.class)
                    .newInstance("w", dtype, new long[] {rows, cols}, w, "KernelAB");
            Object m = loader.loadClass("qwen4j.tensor.Matrices").getMethod("of", tensor, kernels).invoke(null, t, simd);
            if (tokens == 1) {
                return MethodHandles.publicLookup().findVirtual(matrix, "matvec",
                        MethodType.methodType(void.class, float[].class, float[].class, int.class, int.class)).bindTo(m);
            }
            float[] scratch = new float[(int) matrix.getMethod("matmulScratch").invoke(m)];
            MethodHandle mm = MethodHandles.publicLookup().findVirtual(matrix, "matmul",
                    MethodType.methodType(void.class, float[].class, int.class, float[].class, int.class, int.class, float[].class)).bindTo(m);
            // (x, out, from, to) -> matmul(x, tokens, out, from, to, scratch)
            mm = MethodHandles.insertArguments(mm, 1, tokens);
            return MethodHandles.insertArguments(mm, 4, (Object) scratch);
        }
    }
}
