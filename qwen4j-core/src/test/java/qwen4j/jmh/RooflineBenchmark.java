package qwen4j.jmh;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import qwen4j.tensor.MemoryBandwidth;
import qwen4j.tensor.WorkerPool;

/**
 * The roofline for {@link MatvecBenchmark}: {@link MemoryBandwidth#measure} (1 GiB, best of 5)
 * per thread count. The GB/s figure is printed ("roofline threads=N: X GB/s"); the score is just
 * the time the measurement took.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(1)
public class RooflineBenchmark {
    @Param({"1", "2"})
    public int threads;

    @Benchmark
    public double roofline() {
        try (WorkerPool p = new WorkerPool(threads)) {
            double gbs = MemoryBandwidth.measure(p, 1L << 30);
            System.out.printf("%nroofline threads=%d: %.2f GB/s%n", threads, gbs);
            return gbs;
        }
    }
}
