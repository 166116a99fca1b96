package qwen4j.jmh;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;
import qwen4j.tensor.Matrix;
import qwen4j.tensor.quant.QuantMatrix;

/**
 * Quantized matvec on a 7B-shape matrix (rows x 18944, about 128 MB of weights, off-heap), 1 and 2
 * threads. GB/s = {@code bytes} (printed at setup) / score. Run, e.g.:
 * {@code java --add-modules jdk.incubator.vector -cp target/test-classes:target/classes:$(deps) org.openjdk.jmh.Main QuantMatvec -p type=Q4_0}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class QuantMatvecBenchmark {
    @Param({"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    public String type;

    @Param({"SIMD"})
    public String kernels;

    @Param({"18944"})
    public int cols;

    @Param({"128"})
    public int megabytes;

    private Arena arena;
    private Matrix m;
    private float[] x, out;
    private ExecutorService pool;

    @Setup(Level.Trial)
    public void setup() {
        DType t = DType.valueOf(type);
        long rowBytes = t.bytesFor(cols);
        int rows = (int) (megabytes * 1_000_000L / rowBytes);
        arena = Arena.ofShared();
        MemorySegment seg = arena.allocate(rowBytes * rows, 4096);
        SplittableRandom rnd = new SplittableRandom(1);
        for (long i = 0; i + 8 <= seg.byteSize(); i += 8) seg.set(ValueLayout.JAVA_LONG_UNALIGNED, i, rnd.nextLong());
        // keep every fp16 field finite: clear bit 14 of every 16-bit word (exponent < 0x10)
        for (long i = 0; i + 8 <= seg.byteSize(); i += 8) {
            seg.set(ValueLayout.JAVA_LONG_UNALIGNED, i, seg.get(ValueLayout.JAVA_LONG_UNALIGNED, i) & 0xBFFFBFFFBFFFBFFFL);
        }
        m = QuantMatrix.of(t, seg, rows, cols, Kernels.valueOf(kernels));
        x = new float[cols];
        for (int i = 0; i < cols; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        out = new float[rows];
        pool = Executors.newFixedThreadPool(2);
        System.out.printf("%n%s: %d x %d, %d bytes%n", t, rows, cols, m.byteSize());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.shutdown();
        arena.close();
    }

    @Benchmark
    public float[] oneThread() {
        m.matvec(x, out, 0, m.rows());
        return out;
    }

    @Benchmark
    public float[] twoThreads() throws Exception {
        int half = m.rows() / 2;
        Future<?> f = pool.submit(() -> m.matvec(x, out, half, m.rows()));
        m.matvec(x, out, 0, half);
        f.get();
        return out;
    }
}
