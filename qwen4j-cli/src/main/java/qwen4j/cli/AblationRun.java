package qwen4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import qwen4j.Qwen4jException;
import qwen4j.bench.Ablation;
import qwen4j.bench.AblationReport;
import qwen4j.bench.Bench;
import qwen4j.bench.SyntheticModel;
import qwen4j.format.LoadedModel;
import qwen4j.format.ModelLoader;
import qwen4j.format.WeightMemory;
import qwen4j.model.Qwen2Config;
import qwen4j.model.Qwen2Weights;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;
import qwen4j.tensor.MemoryBandwidth;
import qwen4j.tensor.WorkerPool;
import qwen4j.tokenizer.Tokenizer;

/** {@code bench --ablation}: opens the model, runs {@link Ablation}, writes the report, chart and JSON. */
final class AblationRun implements Callable<Integer> {
    private final BenchCommand c;

    AblationRun(BenchCommand c) {
        this.c = c;
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = c.spec.commandLine().getOut();
        PrintWriter err = c.spec.commandLine().getErr();
        int threads = c.threads == null ? Runtime.getRuntime().availableProcessors() : c.threads;
        if (threads < 1 || c.genTokens < 1 || c.runs < 1) {
            throw new Qwen4jException("bench --ablation needs --threads >= 1, -n >= 1, -r >= 1");
        }
        if (c.model != null && c.synthetic != null) throw new Qwen4jException("give -m PATH or --synthetic SIZE, not both");
        if (c.model == null && c.synthetic == null) throw new Qwen4jException("bench --ablation needs -m PATH or --synthetic SIZE");
        String prompt = c.promptArg != null ? c.promptArg : c.instruct ? Ablation.INSTRUCT_PROMPT : Ablation.DEFAULT_PROMPT;
        DType quant = switch (c.ablationQuant.toLowerCase(Locale.ROOT)) {
            case "none" -> null;
            case "q8_0" -> DType.Q8_0;
            case "q4_0" -> DType.Q4_0;
            default -> throw new Qwen4jException("--ablation-quant: expected q8_0, q4_0 or none, got '" + c.ablationQuant + "'");
        };
        java.util.function.Consumer<String> progress = msg -> {
            err.println("ablation: " + msg);
            err.flush();
        };

        double bandwidth;
        try (WorkerPool pool = new WorkerPool(threads)) {
            bandwidth = MemoryBandwidth.measure(pool, 1L << 30);
        }
        progress.accept(String.format(Locale.ROOT, "machine read bandwidth %.1f GB/s with %d threads", bandwidth, threads));

        Ablation.Source source;
        Ablation.QuantizedSource quantized = null;
        Tokenizer tokenizer;
        String modelName;
        if (c.synthetic != null) {
            String size = c.synthetic.toLowerCase(Locale.ROOT);
            String type = c.dtype.toLowerCase(Locale.ROOT);
            if (!SyntheticModel.TYPES.contains(type)) {
                throw new Qwen4jException("--dtype: '" + c.dtype + "' is not one of " + String.join(", ", SyntheticModel.TYPES));
            }
            tokenizer = Tokenizer.fromHfFolder(tokenizerDir(c.tokenizer));
            boolean huge = c.weightMemory == WeightMemory.HUGE_PAGES;
            progress.accept("building synthetic Qwen2.5-" + size.toUpperCase(Locale.ROOT) + " " + type.toUpperCase(Locale.ROOT)
                    + " (random weights: the text is meaningless) ...");
            source = synthetic(new SyntheticModel(size, type, Kernels.SCALAR, huge), type.toUpperCase(Locale.ROOT));
            boolean isFloat = type.equals("bf16") || type.equals("f16") || type.equals("f32");
            if (quant != null && isFloat) {
                DType q = quant;
                quantized = new Ablation.QuantizedSource() {
                    @Override
                    public Ablation.Source open() {
                        return synthetic(new SyntheticModel(size, type, Kernels.SCALAR, huge, q), q.toString());
                    }

                    @Override
                    public String typeName() { return q.toString(); }
                };
            }
            modelName = "synthetic Qwen2.5-" + size.toUpperCase(Locale.ROOT) + " (random weights, real shape)";
        } else {
            Path path = c.model;
            FileSource fs = new FileSource(path, null);
            source = fs;
            tokenizer = fs.tokenizer();
            String stored = fs.typeName();
            if (quant != null && (stored.equals("BF16") || stored.equals("F16") || stored.equals("F32"))) {
                DType q = quant;
                quantized = new Ablation.QuantizedSource() {
                    @Override
                    public Ablation.Source open() { return new FileSource(path, q); }

                    @Override
                    public String typeName() { return q.toString(); }
                };
            }
            modelName = ModelOptions.nameOf(path);
        }

        Qwen2Config cfg = source.config();
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("command", commandLine());
        config.put("date", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        config.put("machine", machine());
        config.put("logical processors", Runtime.getRuntime().availableProcessors());
        config.put("memory", String.format(Locale.ROOT, "%.1f GiB", totalMemory() / (double) (1L << 30)));
        config.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        config.put("jdk", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        config.put("jvm flags", String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments()));
        config.put("aot cache", aotCache() == null ? "not used" : "used (" + aotCache() + ")");
        config.put("model", modelName);
        config.put("shape", String.format(Locale.ROOT, "%d layers, hidden %d, %d heads / %d KV heads (head dim %d), FFN %d, vocab %d",
                cfg.numLayers(), cfg.hiddenSize(), cfg.numHeads(), cfg.numKvHeads(), cfg.headDim(), cfg.intermediateSize(),
                cfg.vocabSize()));
        config.put("dtype", source.typeName());
        config.put("quantized rows", quantized == null ? "none"
                : quantized.typeName() + ", quantized in memory from the same " + source.typeName()
                + " weights (the float copy freed first)");
        config.put("weight bytes per token", String.format(Locale.ROOT, "%.3f GB (%s)",
                Bench.weightBytesPerToken(source.weights(Kernels.SCALAR)) / 1e9, source.typeName()));
        config.put("prompt", prompt);
        config.put("generated tokens (n)", c.genTokens);
        config.put("runs per row (r)", c.runs);
        config.put("threads (N)", threads);
        config.put("machine read bandwidth", String.format(Locale.ROOT, "%.1f GB/s (%d threads, streaming read of 1 GiB)",
                bandwidth, threads));
        config.put("timing", "greedy generation of n tokens (eos ignored): prefill of the prompt, then n - 1 decode steps, "
                + "each timed; s/token = median over the decode steps but the first of the row");

        int promptLen = tokenizer.encode(prompt).length;
        progress.accept(String.format(Locale.ROOT,
                "%d rows, prompt %d tokens, %d tokens each. Scalar rows take roughly the baseline's time (a 7B BF16 "
                        + "scalar step takes several seconds); an estimate follows the baseline's first decode step.",
                Ablation.variants(threads, quantized == null ? null : quantized.typeName()).size(), promptLen, c.genTokens));
        Ablation.Result result = Ablation.run(source, quantized, tokenizer,
                new Ablation.Spec(prompt, c.genTokens, c.runs, threads), progress);

        List<AblationReport.Launch> launches = new ArrayList<>();
        if (c.aotCompare) {
            String probe = "bench --synthetic 0.5b -p 8 -n 8 -r 1 --json";
            config.put("aot_probe_command", "bin/qwen4j " + probe);
            launches = aotLaunches(probe.split(" "), progress);
        }
        AblationReport report = new AblationReport(config, result, cfg, bandwidth, launches);
        String json = report.json();
        if (c.report != null) {
            Path md = c.report;
            String base = md.getFileName().toString().replaceFirst("\\.md$", "");
            Path jsonFile = md.resolveSibling(base + ".json");
            String chartName = null;
            if (c.chart != null) {
                Path rel = md.toAbsolutePath().getParent().relativize(c.chart.toAbsolutePath());
                chartName = rel.toString();
            }
            if (md.toAbsolutePath().getParent() != null) Files.createDirectories(md.toAbsolutePath().getParent());
            Files.writeString(md, report.markdown(chartName, jsonFile.getFileName().toString()));
            Files.writeString(jsonFile, json + "\n");
            progress.accept("wrote " + md + " and " + jsonFile);
        }
        if (c.chart != null) {
            report.chart(c.chart);
            progress.accept("wrote " + c.chart);
        }
        if (c.json) {
            out.println(json);
        } else if (c.report == null) {
            out.print(report.markdown(null, null));
        }
        out.flush();
        return 0;
    }

    private static Ablation.Source synthetic(SyntheticModel sm, String typeName) {
        Map<Kernels, Qwen2Weights> views = new EnumMap<>(Kernels.class);
        return new Ablation.Source() {
            @Override
            public Qwen2Config config() { return sm.config(); }

            @Override
            public Qwen2Weights weights(Kernels k) { return views.computeIfAbsent(k, sm::weights); }

            @Override
            public String typeName() { return typeName; }

            @Override
            public void close() { sm.close(); }
        };
    }

    /** A model file opened once per kernel choice (mapped, not copied; quantized on load when asked). */
    private static final class FileSource implements Ablation.Source {
        private final Path path;
        private final DType quantize;
        private final Map<Kernels, LoadedModel> loaded = new EnumMap<>(Kernels.class);

        FileSource(Path path, DType quantize) {
            this.path = path;
            this.quantize = quantize;
            load(Kernels.SCALAR);
        }

        private LoadedModel load(Kernels k) {
            return loaded.computeIfAbsent(k, kk -> ModelLoader.load(path, kk, WeightMemory.MMAP, quantize,
                    qwen4j.format.Progress.NONE));
        }

        Tokenizer tokenizer() {
            LoadedModel lm = load(Kernels.SCALAR);
            return lm.ggufMetadata().isEmpty() ? Tokenizer.fromHfFolder(lm.hfFolder().orElseThrow())
                    : Tokenizer.fromGgufMetadata(lm.ggufMetadata(), path.getFileName().toString());
        }

        @Override
        public Qwen2Config config() { return load(Kernels.SCALAR).config(); }

        @Override
        public Qwen2Weights weights(Kernels kernels) { return load(kernels).weights(); }

        @Override
        public String typeName() { return load(Kernels.SCALAR).weights().layers()[0].wq().type().toString(); }

        @Override
        public void close() {
            loaded.values().forEach(LoadedModel::close);
            loaded.clear();
        }
    }

    /** The Qwen2.5 tokenizer folder a synthetic model uses: {@code given}, $QWEN4J_TOKENIZER, or the shared fixtures'. */
    static Path tokenizerDir(Path given) {
        List<Path> candidates = new ArrayList<>();
        if (given != null) candidates.add(given);
        String env = System.getenv("QWEN4J_TOKENIZER");
        if (env != null && !env.isBlank()) candidates.add(Path.of(env));
        candidates.add(Path.of("../shared/qwen-tokenizer"));
        Path jar = jarPath();
        // beside the checkout of qwen4j-cli/target/qwen4j.jar
        if (jar != null && jar.getParent() != null && jar.getParent().getParent() != null) {
            candidates.add(jar.getParent().getParent().resolve("../../shared/qwen-tokenizer").normalize());
        }
        for (Path p : candidates) {
            if (Files.isRegularFile(p.resolve("tokenizer.json")) || Files.isRegularFile(p.resolve("vocab.json"))) return p;
        }
        throw new Qwen4jException("--synthetic needs a Qwen2.5 tokenizer for the prompt and the text: pass --tokenizer PATH "
                + "(a folder with tokenizer.json), looked in " + candidates);
    }

    private String commandLine() {
        StringBuilder sb = new StringBuilder("bin/qwen4j");
        for (String a : c.spec.commandLine().getParseResult().originalArgs()) {
            sb.append(' ').append(a.contains(" ") ? "\"" + a + "\"" : a);
        }
        return sb.toString();
    }

    private static String machine() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
            }
        } catch (Exception e) {
            // not Linux: fall through
        }
        return System.getProperty("os.arch");
    }

    private static long totalMemory() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return 0;
    }

    /** The AOT cache this JVM runs with (bin/qwen4j passes -XX:AOTCache=...), or null. */
    private static String aotCache() {
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("-XX:AOTCache=")) return a.substring("-XX:AOTCache=".length());
        }
        return null;
    }

    private static Path jarPath() {
        String cp = System.getProperty("java.class.path", "");
        if (cp.endsWith(".jar") && !cp.contains(java.io.File.pathSeparator)) return Path.of(cp).toAbsolutePath();
        return null;
    }

    /**
     * Two launches of {@code args} in fresh JVMs with this JVM's flags: with the AOT cache bin/qwen4j
     * recorded (target/qwen4j.aot beside the jar) and without. Skipped (empty) when not run from the jar
     * or when there is no cache.
     */
    private static List<AblationReport.Launch> aotLaunches(String[] args, java.util.function.Consumer<String> progress) {
        Path jar = jarPath();
        Path cache = jar == null ? null : jar.resolveSibling("qwen4j.aot");
        if (jar == null || !Files.isRegularFile(cache)) {
            progress.accept("AOT comparison skipped: run through bin/qwen4j (it records target/qwen4j.aot)");
            return List.of();
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> flags = ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> !a.startsWith("-XX:AOTCache")).toList();
        List<AblationReport.Launch> out = new ArrayList<>();
        for (boolean aot : new boolean[] {true, false}) {
            List<String> cmd = new ArrayList<>();
            cmd.add(java);
            if (aot) cmd.add("-XX:AOTCache=" + cache);
            cmd.addAll(flags);
            cmd.add("-jar");
            cmd.add(jar.toString());
            cmd.addAll(List.of(args));
            progress.accept("AOT comparison: launching " + (aot ? "with" : "without") + " the AOT cache ...");
            try {
                long t0 = System.nanoTime();
                Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
                String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
                    progress.accept("AOT comparison: launch failed (exit " + (p.isAlive() ? "timeout" : p.exitValue()) + ")");
                    p.destroyForcibly();
                    return List.of();
                }
                double wall = (System.nanoTime() - t0) / 1e9;
                JsonNode j = new ObjectMapper().readTree(stdout);
                out.add(new AblationReport.Launch(aot ? "with AOT cache" : "without (QWEN4J_AOT=0)", aot,
                        j.get("warmup_first_token_ms").asDouble(), 1000 * j.get("warmup_tg_s_per_token").asDouble(),
                        1000 * j.get("tg_s_per_token").asDouble(), wall));
            } catch (Exception e) {
                progress.accept("AOT comparison failed: " + e.getMessage());
                return List.of();
            }
        }
        return out;
    }
}
