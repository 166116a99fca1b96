package qwen4j.spark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import qwen4j.Fixtures;

/**
 * The measurement of issue 21, not a test (tag "bench", run by command; docs/SPARK.md). Generated
 * tokens/s, load excluded from all:
 * <ol>
 *   <li>{@code generate --batch-file} (the CLI in-process, 2 threads, {@code --parallel} as the stage) against the
 *       Spark job on one executor with 2 cores (local[2], engine threads 2), same prompts and settings, runs
 *       alternating, median of RUNS after a warm-up of each; the ratio is the "at least 90%";</li>
 *   <li>1 vs 2 single-core executors: a standalone cluster of two one-core workers ({@link StandaloneCluster}),
 *       the job with spark.cores.max 1, then 2 (one application each), median of RUNS after a warm-up.</li>
 * </ol>
 * Prints a table and writes target/spark-bench.txt. System properties: bench.model (default the tiny
 * fixture), bench.prompts (200), bench.tokens (16), bench.runs (3).
 */
@Tag("bench")
class SparkThroughputBench {
    static final int PROMPTS = Integer.getInteger("bench.prompts", 200), TOKENS = Integer.getInteger("bench.tokens", 16),
            RUNS = Integer.getInteger("bench.runs", 3);

    @Test
    void measure(@TempDir Path dir) throws Exception {
        Path model = Path.of(System.getProperty("bench.model", Fixtures.tiny().resolve("tiny-BF16.gguf").toString()));
        List<String> prompts = Qwen4jGenerateTest.prompts(PROMPTS);
        List<String> report = new ArrayList<>();
        SparkTests.stopLocal();

        double[] cli = new double[RUNS], local = new double[RUNS];
        SparkSession spark = SparkSession.builder().master("local[2]").appName("qwen4j-bench").config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        try {
            Dataset<Row> df = cached(spark, prompts, 2);
            batchFile(dir, model, prompts); // warm-ups: JIT, engine load
            job(df, model, 2);
            for (int i = 0; i < RUNS; i++) {
                cli[i] = batchFile(dir, model, prompts);
                local[i] = job(df, model, 2);
            }
        } finally {
            spark.stop();
        }
        double c = median(cli), l = median(local);
        report.add(String.format("generate --batch-file (2 threads, --parallel %d): %.1f tokens/s", BatchedRunner.PARALLEL, c));
        report.add(String.format("Spark, one executor with 2 cores (local[2], engine threads 2): %.1f tokens/s = %.0f%% of generate"
                + " --batch-file (issue: at least 90%%)", l, 100 * l / c));

        double[] executors = new double[2];
        try (StandaloneCluster cluster = StandaloneCluster.start(dir, 2, 1, "2g")) {
            for (int n = 1; n <= 2; n++) {
                SparkSession s = cluster.session("qwen4j-bench-" + n, "1g", 1).config("spark.cores.max", "" + n)
                        .config("spark.locality.wait", "0").getOrCreate(); // a free executor takes any task, cached or not
                try {
                    StandaloneCluster.awaitExecutors(s, n, 300);
                    Dataset<Row> df = cached(s, prompts, 8);
                    // two warm-ups, more until every executor has run the stage (loaded the engine, compiled the kernels)
                    Set<String> warm = ConcurrentHashMap.newKeySet();
                    s.sparkContext().addSparkListener(new SparkListener() {
                        @Override
                        public void onTaskEnd(SparkListenerTaskEnd e) { warm.add(e.taskInfo().executorId()); }
                    });
                    for (int i = 0; i < 5 && (i < 2 || warm.size() < n); i++) {
                        warm.clear();
                        job(df, model, 1);
                    }
                    double[] v = new double[RUNS];
                    for (int i = 0; i < RUNS; i++) v[i] = job(df, model, 1);
                    executors[n - 1] = median(v);
                } finally {
                    s.stop();
                }
            }
        }
        report.add(String.format("Spark standalone, 1 vs 2 single-core executors (engine threads 1): %.1f vs %.1f tokens/s (x%.2f)",
                executors[0], executors[1], executors[1] / executors[0]));
        report.add(String.format("(%d prompts, %d tokens each, greedy, %s, median of %d runs after a warm-up, %d processors)",
                PROMPTS, TOKENS, model.getFileName(), RUNS, Runtime.getRuntime().availableProcessors()));
        report.forEach(System.out::println);
        Files.write(Path.of("target/spark-bench.txt"), report);
    }

    private static Dataset<Row> cached(SparkSession spark, List<String> prompts, int partitions) {
        Dataset<Row> df = spark.createDataset(prompts, Encoders.STRING()).toDF("prompt").repartition(partitions).cache();
        df.count();
        return df;
    }

    /** One run of the stage over {@code df}: generated tokens per second of the job's wall time. */
    private static double job(Dataset<Row> df, Path model, int threads) {
        Qwen4jGenerate stage = new Qwen4jGenerate().setMaxTokens(TOKENS);
        stage.setModelPath(model.toString()).setThreads(threads);
        long t0 = System.nanoTime();
        long tokens = stage.transform(df).collectAsList().stream().mapToLong(r -> r.<Integer>getAs("completion_completion_tokens")).sum();
        return tokens / ((System.nanoTime() - t0) / 1e9);
    }

    /** One {@code generate --batch-file} run: the tokens/s it reports itself (load excluded). */
    private static double batchFile(Path dir, Path model, List<String> prompts) throws Exception {
        Reference.BatchRun run = Reference.cliBatch(dir, model, prompts, TOKENS, p -> Map.of(), List.of());
        String progress = run.stderr();
        String last = progress.substring(progress.lastIndexOf('\r') + 1).trim(); // "[200/200 prompts] 123.4 tokens/s"
        if (run.byPrompt().size() != prompts.size() || !last.startsWith("[" + prompts.size() + "/")) throw new AssertionError("batch-file said: " + last);
        return Double.parseDouble(last.substring(last.indexOf(']') + 1, last.indexOf(" tokens/s")).trim());
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
