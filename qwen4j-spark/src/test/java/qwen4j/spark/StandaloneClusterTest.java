package qwen4j.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.jar.JarOutputStream;
import java.util.zip.ZipEntry;
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
import qwen4j.generate.Engine;
import qwen4j.generate.SamplerSettings;

/**
 * A real Spark standalone cluster on this machine: Spark's own Master and two Workers started as
 * separate JVMs on 127.0.0.1 (one core each), the qwen4j classes shipped as a jar with spark.jars
 * (the workers' classpath holds Spark and third-party jars only). The job's outputs equal the CLI's
 * engine path; then one worker (and its executor) is killed mid-job and the job still completes,
 * every row exactly once, outputs unchanged. Tagged "cluster": slow under load, run by command
 * (README, "Spark").
 */
@Tag("cluster")
class StandaloneClusterTest {
    static final int N = 40, MAX_TOKENS = 12;

    @Test
    void clusterOutputsEqualTheCli_andSurviveAWorkerKilledMidJob(@TempDir Path dir) throws Exception {
        SparkTests.stopLocal();
        Path model = Fixtures.tiny().resolve("tiny-BF16.gguf");
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> dist = new ArrayList<>();
        List<Path> ours = new ArrayList<>();
        for (String e : cp.split(File.pathSeparator)) {
            // qwen4j's own classes go to the executors as the shipped jar, not on the workers' classpath
            if (e.contains("qwen4j-core" + File.separator + "target" + File.separator + "classes")
                    || e.contains("qwen4j-spark" + File.separator + "target" + File.separator + "classes")
                    || e.matches(".*qwen4j-(core|spark)-[^/]*\\.jar")) {
                ours.add(Path.of(e));
            } else if (!e.contains("test-classes") && !e.contains("qwen4j-cli") && !e.contains("qwen4j-server")) {
                dist.add(e);
            }
        }
        Path jar = jar(ours, dir.resolve("qwen4j-spark-job.jar"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String flags = Preflight.extraJavaOptions();
        int port = freePort();
        List<Process> procs = new ArrayList<>();
        try {
            procs.add(start(dir, "master", java, flags, String.join(File.pathSeparator, dist),
                    "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", "" + port, "--webui-port", "" + freePort()));
            waitForPort(port, 120);
            for (int w = 1; w <= 2; w++) {
                Path work = Files.createDirectories(dir.resolve("work" + w));
                procs.add(start(dir, "worker" + w, java, flags, String.join(File.pathSeparator, dist),
                        "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1", "--memory", "1g",
                        "--webui-port", "" + freePort(), "--work-dir", work.toString(), "spark://127.0.0.1:" + port));
            }
            SparkSession spark = SparkSession.builder().master("spark://127.0.0.1:" + port).appName("qwen4j-cluster-test")
                    .config("spark.ui.enabled", "false")
                    .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
                    .config("spark.jars", jar.toUri().toString())
                    .config("spark.executor.memory", "640m").config("spark.executor.cores", "1")
                    .config("spark.executor.extraJavaOptions", flags + " -XX:+UseParallelGC")
                    .config("spark.task.maxFailures", "8")
                    .getOrCreate();
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
                while (spark.sparkContext().statusTracker().getExecutorInfos().length < 3) { // the driver + 2 executors
                    assertThat(System.nanoTime()).as("two executors registered in 180 s").isLessThan(deadline);
                    Thread.sleep(500);
                }
                List<String> prompts = Qwen4jGenerateTest.prompts(N);
                Qwen4jGenerate stage = new Qwen4jGenerate().setMaxTokens(MAX_TOKENS).setTemperature(0.9).setTopK(40).setSeed(3);
                stage.setModelPath(model.toString());
                Dataset<Row> df = spark.createDataset(prompts, Encoders.STRING()).toDF("prompt").repartition(8);

                Map<String, int[]> expected = new HashMap<>();
                try (Engine e = Reference.open(model)) {
                    SamplerSettings d = SamplerSettings.forModel(e.files());
                    for (String p : prompts) {
                        expected.put(p, Reference.generate(e, p, d.withTemperature(0.9f).withTopK(40).withSeed(RowSeeds.of(3, p)), MAX_TOKENS).ids());
                    }
                }
                check(stage.transform(df).collectAsList(), expected);

                // again, killing worker 2 (and its executor) once the first task has finished
                AtomicInteger done = new AtomicInteger();
                SparkListener l = new SparkListener() {
                    @Override
                    public void onTaskEnd(SparkListenerTaskEnd e) { done.incrementAndGet(); }
                };
                spark.sparkContext().addSparkListener(l);
                CompletableFuture<List<Row>> job = CompletableFuture.supplyAsync(() -> stage.transform(df).collectAsList());
                while (done.get() < 1 && !job.isDone()) Thread.sleep(50);
                Process worker2 = procs.get(2);
                worker2.descendants().forEach(ProcessHandle::destroyForcibly);
                worker2.destroyForcibly();
                assertThat(job.isDone()).as("the worker died before the job ended").isFalse();
                check(job.get(300, TimeUnit.SECONDS), expected);
            } finally {
                spark.stop();
            }
        } finally {
            for (Process p : procs) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(30, TimeUnit.SECONDS);
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

    private static Process start(Path dir, String name, String java, String flags, String cp, String main, String... args)
            throws IOException {
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m"));
        cmd.addAll(List.of(flags.split(" ")));
        cmd.addAll(List.of("-cp", cp, main));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile());
        // a Worker builds its executors' command from SPARK_HOME's jars; with SPARK_TESTING it accepts
        // none and takes the classpath from SPARK_DIST_CLASSPATH (Spark's own test setup)
        Map<String, String> env = pb.environment();
        env.put("SPARK_HOME", Files.createDirectories(dir.resolve("spark-home")).toString());
        env.put("SPARK_TESTING", "1");
        env.put("SPARK_SCALA_VERSION", "2.13");
        env.put("SPARK_DIST_CLASSPATH", cp);
        env.put("SPARK_LOCAL_IP", "127.0.0.1");
        env.put("JAVA_HOME", System.getProperty("java.home"));
        return pb.start();
    }

    private static Path jar(List<Path> entries, Path out) throws IOException {
        try (JarOutputStream j = new JarOutputStream(Files.newOutputStream(out))) {
            for (Path e : entries) {
                if (!Files.isDirectory(e)) {
                    Files.copy(e, out.resolveSibling(e.getFileName()));
                    continue;
                }
                try (var files = Files.walk(e)) {
                    for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                        if (e.relativize(f).startsWith("META-INF")) continue; // each module has its own; none is needed
                        j.putNextEntry(new ZipEntry(e.relativize(f).toString().replace(File.separatorChar, '/')));
                        Files.copy(f, j);
                        j.closeEntry();
                    }
                }
            }
        }
        return out;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) { return s.getLocalPort(); }
    }

    private static void waitForPort(int port, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException e) {
                Thread.sleep(300);
            }
        }
        throw new AssertionError("the master did not listen on " + port + " in " + seconds + " s");
    }
}
