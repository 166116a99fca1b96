package qwen4j.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import qwen4j.Fixtures;
import qwen4j.generate.Engine;
import qwen4j.generate.SamplerSettings;

/**
 * A real Spark standalone cluster on this machine ({@link StandaloneCluster}: Spark's own Master and two
 * one-core Workers as separate JVMs on 127.0.0.1, qwen4j shipped with spark.jars). The job's outputs
 * equal the CLI's engine path; then one worker (and its executor) is killed while the job runs, after
 * its first generation task has finished: the job completes, every row exactly once, outputs unchanged.
 *
 * <p>Kept short for {@code ./mvnw verify}: a lost worker is noticed when its connection drops (no
 * timeout is waited for), the reference runs while the cluster starts, partitions come straight from
 * the list (no shuffle), and Spark SQL interprets its few expressions instead of compiling them (40 rows).
 */
class StandaloneClusterTest {
    static final int N = 40, MAX_TOKENS = 12;

    @Test
    void clusterOutputsEqualTheCli_andSurviveAWorkerKilledMidJob(@TempDir Path dir) throws Exception {
        SparkTests.stopLocal();
        Path model = Fixtures.tiny().resolve("tiny-BF16.gguf");
        List<String> prompts = Qwen4jGenerateTest.prompts(N);
        CompletableFuture<Map<String, int[]>> expected = CompletableFuture.supplyAsync(() -> {
            Map<String, int[]> m = new HashMap<>();
            try (Engine e = Reference.open(model)) {
                SamplerSettings d = SamplerSettings.forModel(e.files());
                for (String p : prompts) {
                    m.put(p, Reference.generate(e, p, d.withTemperature(0.9f).withTopK(40).withSeed(RowSeeds.of(3, p)), MAX_TOKENS).ids());
                }
            }
            return m;
        });
        try (StandaloneCluster cluster = StandaloneCluster.start(dir, 2, 1, "1g")) {
            SparkSession spark = cluster.session("qwen4j-cluster-test", "640m", 1)
                    .config("spark.task.maxFailures", "8")
                    .config("spark.sql.codegen.wholeStage", "false").config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
                    .getOrCreate();
            try {
                StandaloneCluster.awaitExecutors(spark, 2, 180);
                Qwen4jGenerate stage = new Qwen4jGenerate().setMaxTokens(MAX_TOKENS).setTemperature(0.9).setTopK(40).setSeed(3);
                stage.setModelPath(model.toString());
                Dataset<Row> df = spark.createDataset(
                        new JavaSparkContext(spark.sparkContext()).parallelize(prompts, 8).rdd(), Encoders.STRING()).toDF("prompt");
                check(stage.transform(df).collectAsList(), expected.get());

                // again, killing worker 2 (and its executor) once the first generation task has finished
                AtomicInteger done = new AtomicInteger();
                spark.sparkContext().addSparkListener(new SparkListener() {
                    @Override
                    public void onTaskEnd(SparkListenerTaskEnd e) {
                        if (e.taskType().equals("ResultTask")) done.incrementAndGet();
                    }
                });
                CompletableFuture<List<Row>> job = CompletableFuture.supplyAsync(() -> stage.transform(df).collectAsList());
                while (done.get() < 1 && !job.isDone()) Thread.sleep(20);
                cluster.killWorker(2);
                assertThat(job.isDone()).as("the worker died before the job ended").isFalse();
                check(job.get(300, TimeUnit.SECONDS), expected.get());
            } finally {
                spark.stop();
            }
        }
    }

    private static void check(List<Row> rows, Map<String, int[]> expected) {
        assertThat(rows).hasSize(expected.size());
        Map<String, Row> byPrompt = new HashMap<>();
        for (Row r : rows) assertThat(byPrompt.put(r.getAs("prompt"), r)).as("each row exactly once").isNull();
        for (var e : expected.entrySet()) {
            assertThat(Qwen4jGenerateTest.ids(byPrompt.get(e.getKey()))).as(e.getKey()).containsExactly(e.getValue());
        }
    }
}
