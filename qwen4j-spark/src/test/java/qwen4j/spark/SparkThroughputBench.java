package qwen4j.spark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import qwen4j.Fixtures;
import qwen4j.generate.Engine;
import qwen4j.generate.SamplerSettings;
import qwen4j.model.Options;

/**
 * The measurement of issue 21, not a test (tag "bench", run by command; README, "Spark"): generated
 * tokens/s of the Spark job on one executor with 2 cores (local[2], engine threads 2) against the engine
 * loop the CLI's generate runs (2 threads, same prompts, same settings, load excluded from both), and
 * local[1] vs local[2] with one engine thread (1 vs 2 single-core executors). Median of RUNS after a
 * warm-up; prints a table and writes target/spark-bench.txt.
 */
@Tag("bench")
class SparkThroughputBench {
    static final int PROMPTS = Integer.getInteger("bench.prompts", 200), TOKENS = Integer.getInteger("bench.tokens", 16),
            RUNS = Integer.getInteger("bench.runs", 3);

    @Test
    void measure() throws Exception {
        Path model = Path.of(System.getProperty("bench.model", Fixtures.tiny().resolve("tiny-BF16.gguf").toString()));
        List<String> prompts = Qwen4jGenerateTest.prompts(PROMPTS);
        List<String> report = new ArrayList<>();
        SparkTests.stopLocal();

        double cli;
        try (Engine e = Engine.open(model, Options.defaults().withThreads(2), 4096)) {
            cli = median(() -> {
                long t0 = System.nanoTime(), tokens = 0;
                for (String p : prompts) tokens += Reference.generate(e, p, SamplerSettings.greedy(), TOKENS).ids().length;
                return tokens / ((System.nanoTime() - t0) / 1e9);
            });
        }
        report.add(String.format("engine loop as generate does it, 2 threads: %.1f tokens/s", cli));
        double two = spark("local[2]", 2, model, prompts);
        report.add(String.format("Spark local[2] (one executor, 2 cores, engine threads 2): %.1f tokens/s = %.0f%% of generate",
                two, 100 * two / cli));
        double one1 = spark("local[1]", 1, model, prompts);
        double two1 = spark("local[2]", 1, model, prompts);
        report.add(String.format("1 vs 2 single-core executors (engine threads 1): %.1f vs %.1f tokens/s (x%.2f)", one1, two1, two1 / one1));
        report.add(String.format("(%d prompts, %d tokens each, greedy, %s, median of %d runs after a warm-up, %d processors)",
                PROMPTS, TOKENS, model.getFileName(), RUNS, Runtime.getRuntime().availableProcessors()));
        report.forEach(System.out::println);
        Files.write(Path.of("target/spark-bench.txt"), report);
    }

    private static double spark(String master, int threads, Path model, List<String> prompts) throws Exception {
        SparkSession spark = SparkSession.builder().master(master).appName("qwen4j-bench").config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        try {
            int partitions = Integer.parseInt(master.replaceAll("\\D", "")) * 2;
            Dataset<Row> df = spark.createDataset(prompts, Encoders.STRING()).toDF("prompt").repartition(partitions).cache();
            df.count();
            Qwen4jGenerate stage = new Qwen4jGenerate().setMaxTokens(TOKENS);
            stage.setModelPath(model.toString()).setThreads(threads);
            return median(() -> {
                long t0 = System.nanoTime();
                long tokens = stage.transform(df).collectAsList().stream()
                        .mapToLong(r -> r.<Integer>getAs("completion_completion_tokens")).sum();
                return tokens / ((System.nanoTime() - t0) / 1e9);
            });
        } finally {
            spark.stop();
        }
    }

    interface Run { double tokensPerSecond() throws Exception; }

    private static double median(Run r) throws Exception {
        r.tokensPerSecond(); // warm-up: JIT, engine load
        double[] v = new double[RUNS];
        for (int i = 0; i < RUNS; i++) v[i] = r.tokensPerSecond();
        Arrays.sort(v);
        return v[RUNS / 2];
    }
}
