package qwen4j.jmh;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
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
import org.openjdk.jmh.infra.Blackhole;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;
import qwen4j.tensor.Matrices;
import qwen4j.tensor.Matrix;
import qwen4j.tensor.Tensor;
import qwen4j.tensor.WorkerPool;

/**
 * Matvec over a weight that streams from RAM (default 3584 x 18944, the Qwen2.5-7B MLP down
 * projection transposed: 136 MB in BF16). Reports ms/op; GB/s = byteSize / time, printed at
 * setup ("bytes=") so the division is easy. {@link RooflineBenchmark} gives the machine's
 * streaming-read rate ({@link qwen4j.tensor.MemoryBandwidth}) to compare with.
 *
 * <p>Run with {@code bin/jmh MatvecBenchmark} (see that script for options).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class MatvecBenchmark {
    @Param({"BF16", "F16", "F32"})
    public String type;

    @Param({"SIMD", "SCALAR"})
    public String kernels;

    @Param({"1", "2"})
    public int threads;

    @Param({"3584"})
    public int rows;

    @Param({"18944"})
    public int cols;

    private Arena arena;
    private WorkerPool pool;
    private Matrix matrix;
    private float[] x, out;

    @Setup(Level.Trial)
    public void setup() {
        DType t = DType.valueOf(type);
        int bytes = t == DType.F32 ? 4 : 2;
        arena = Arena.ofShared();
        MemorySegment seg = arena.allocate((long) rows * cols * bytes, 64);
        SplittableRandom rnd = new SplittableRandom(1);
        // Random weights of typical scale (|w| ~ 0.02): finite, normal values in every type.
        for (long i = 0; i < seg.byteSize(); i += 4) {
            float f = (float) (rnd.nextDouble(-1, 1) * 0.04);
            int v = switch (t) {
                case F32 -> Float.floatToRawIntBits(f);
                case BF16 -> (Float.floatToRawIntBits(f) >>> 16) | (Float.floatToRawIntBits(-f) & 0xFFFF0000);
                default -> (Float.floatToFloat16(f) & 0xFFFF) | (Float.floatToFloat16(-0.5f * f) << 16);
            };
            seg.set(ValueLayout.JAVA_INT_UNALIGNED, i, v);
        }
        matrix = Matrices.of(new Tensor("w", t, new long[] {rows, cols}, seg, "jmh"), Kernels.valueOf(kernels));
        pool = new WorkerPool(threads);
        x = new float[cols];
        for (int i = 0; i < cols; i++) x[i] = (float) rnd.nextDouble(-1, 1);
        out = new float[rows];
        System.out.println("\nbytes=" + matrix.byteSize());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    @Benchmark
    public void matvec(Blackhole bh) {
        pool.matvec(matrix, x, out);
        bh.consume(out);
    }
}
