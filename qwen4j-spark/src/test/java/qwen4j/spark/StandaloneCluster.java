package qwen4j.spark;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URISyntaxException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarOutputStream;
import java.util.zip.ZipEntry;
import org.apache.spark.sql.SparkSession;
import qwen4j.generate.Engine;

/**
 * A Spark standalone cluster on this machine: Spark's own Master and Workers started as separate JVMs
 * on 127.0.0.1, the workers' classpath holding Spark and third-party jars only; qwen4j goes to the
 * executors as a jar shipped with spark.jars, as a user's job ships it.
 */
final class StandaloneCluster implements AutoCloseable {
    private final Path dir;
    private final int port;
    private final Path jar;
    private final List<Process> workers = new ArrayList<>();
    private final List<Process> all = new ArrayList<>();

    private StandaloneCluster(Path dir, int port, Path jar) {
        this.dir = dir;
        this.port = port;
        this.jar = jar;
    }

    /** Starts a master and {@code workers} workers of {@code cores} cores each (they register while the caller goes on). */
    static StandaloneCluster start(Path dir, int workers, int cores, String workerMemory) throws Exception {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        // qwen4j's own classes are folders in a reactor build and jars from the local repository with -pl
        List<String> dist = new ArrayList<>();
        for (String e : cp.split(File.pathSeparator)) {
            Path p = Path.of(e);
            if (Files.isRegularFile(p) && !p.getFileName().toString().startsWith("qwen4j-")) dist.add(e);
        }
        Path jar = jar(List.of(codeSource(Qwen4jGenerate.class), codeSource(Engine.class)), dir.resolve("qwen4j-spark-job.jar"));
        StandaloneCluster c = new StandaloneCluster(dir, freePort(), jar);
        String classpath = String.join(File.pathSeparator, dist);
        try {
            c.all.add(c.start("master", classpath, "org.apache.spark.deploy.master.Master",
                    "--host", "127.0.0.1", "--port", "" + c.port, "--webui-port", "" + freePort()));
            c.waitForMaster(120);
            for (int w = 1; w <= workers; w++) {
                Path work = Files.createDirectories(dir.resolve("work" + w));
                Process p = c.start("worker" + w, classpath, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                        "--cores", "" + cores, "--memory", workerMemory, "--webui-port", "" + freePort(),
                        "--work-dir", work.toString(), c.masterUrl());
                c.workers.add(p);
                c.all.add(p);
            }
            return c;
        } catch (Exception | Error e) {
            c.close();
            throw e;
        }
    }

    String masterUrl() { return "spark://127.0.0.1:" + port; }

    /**
     * A session on this cluster with qwen4j shipped and the executors given the engine's JVM options (and
     * this JVM's {@code -XX:CompileCommand}s, which keep the kernels' vectors in registers).
     */
    SparkSession.Builder session(String app, String executorMemory, int executorCores) {
        StringBuilder opts = new StringBuilder(Preflight.extraJavaOptions()).append(" -XX:+UseSerialGC");
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("-XX:CompileCommand")) opts.append(' ').append(a);
        }
        return SparkSession.builder().master(masterUrl()).appName(app)
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.jars", jar.toUri().toString())
                .config("spark.executor.memory", executorMemory).config("spark.executor.cores", "" + executorCores)
                .config("spark.executor.extraJavaOptions", opts.toString());
    }

    /** Waits until {@code n} executors have registered with {@code spark}'s driver. */
    static void awaitExecutors(SparkSession spark, int n, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (spark.sparkContext().statusTracker().getExecutorInfos().length < n + 1) { // the driver is listed too
            if (System.nanoTime() > deadline) throw new AssertionError(n + " executors not registered in " + seconds + " s");
            Thread.sleep(200);
        }
    }

    /** Kills worker {@code i} (from 1) and its executors at once, as a machine that fails. */
    void killWorker(int i) {
        Process w = workers.get(i - 1);
        w.descendants().forEach(ProcessHandle::destroyForcibly);
        w.destroyForcibly();
    }

    @Override
    public void close() throws InterruptedException {
        for (Process p : all) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        for (Process p : all) p.waitFor(30, TimeUnit.SECONDS);
    }

    private Process start(String name, String cp, String main, String... args) throws IOException {
        // master and workers only pass messages: C1 alone starts them with less compilation
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
        cmd.addAll(List.of(Preflight.extraJavaOptions().split(" ")));
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

    private void waitForMaster(int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException e) {
                if (!all.getFirst().isAlive()) throw new AssertionError("the master exited: see " + dir.resolve("master.log"));
                Thread.sleep(200);
            }
        }
        throw new AssertionError("the master did not listen on " + port + " in " + seconds + " s");
    }

    private static Path codeSource(Class<?> c) throws URISyntaxException {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    /** One jar of the classes in {@code sources} (class folders or jars), without their META-INF. */
    private static Path jar(List<Path> sources, Path out) throws IOException {
        try (JarOutputStream j = new JarOutputStream(Files.newOutputStream(out))) {
            for (Path source : sources) {
                try (var fs = Files.isDirectory(source) ? null : FileSystems.newFileSystem(source)) {
                    Path root = fs == null ? source : fs.getPath("/");
                    try (var files = Files.walk(root)) {
                        for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                            String name = root.relativize(f).toString().replace(File.separatorChar, '/');
                            if (name.startsWith("META-INF")) continue; // each module has its own; none is needed
                            j.putNextEntry(new ZipEntry(name));
                            Files.copy(f, j);
                            j.closeEntry();
                        }
                    }
                }
            }
        }
        return out;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) { return s.getLocalPort(); }
    }
}
