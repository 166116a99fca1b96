package qwen4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;
import qwen4j.Qwen4jException;
import qwen4j.bench.Ablation;
import qwen4j.bench.Bench;
import qwen4j.bench.SyntheticModel;
import qwen4j.format.LoadedModel;
import qwen4j.format.ModelLoader;
import qwen4j.model.Options;
import qwen4j.model.Qwen2Config;
import qwen4j.model.Qwen2Model;
import qwen4j.model.Qwen2Weights;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;
import qwen4j.tensor.VectorSupport;
import qwen4j.tensor.FmaPeak;
import qwen4j.tensor.MemoryBandwidth;
import qwen4j.tensor.WorkerPool;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure prefill and decode speed (llama-bench style) on a model file or a synthetic model.")
final class BenchCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = {"-m", "--model"}, paramLabel = "PATH", description = "HF folder or .gguf file to measure (or a repo id in the HF cache).")
    Path model;

    @Option(names = "--revision", paramLabel = "R", description = "With -m REPO: the branch, tag or commit (default main).")
    String revision;

    @Option(names = "--synthetic", paramLabel = "SIZE",
            description = "Random weights of a real Qwen2.5 shape: 0.5b, 1.5b, 3b, 7b (default 0.5b when no -m).")
    String synthetic;

    @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "bf16",
            description = "Weight type of the synthetic model: bf16, f16, f32, q8_0, q4_0, q4_k_m (llama.cpp's per-tensor mix) (default ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--quantize", paramLabel = "q8_0|q4_0",
            description = "With -m: quantize BF16/F16/F32 matrices to this type on load.")
    String quantize;

    @Option(names = {"-p", "--prompt-tokens"}, paramLabel = "N[,N...]|TEXT",
            description = "Prompt tokens (pp tests, default 64; 0 skips), e.g. 64,512,2048. With --ablation: the prompt "
                    + "text (default \"" + Ablation.DEFAULT_PROMPT + "\").")
    String promptArg;

    /** -p as a list of prompt lengths (plain bench). */
    List<Integer> promptList;

    @Option(names = "--ubatch", paramLabel = "N", defaultValue = "" + Options.DEFAULT_UBATCH,
            description = "Prompt tokens per batched prefill step (default ${DEFAULT-VALUE}).")
    int ubatch;

    @Option(names = "--prompt-mode", paramLabel = "batched|sequential", defaultValue = "batched",
            converter = ModelOptions.PromptModeConverter.class,
            description = "Prefill in blocks (batched) or token by token (sequential). Default ${DEFAULT-VALUE}.")
    Options.Prompt promptMode;

    @Option(names = {"-n", "--gen-tokens"}, paramLabel = "N",
            description = "Generated tokens (tg test, default 32; --ablation: default 20, as the prototype).")
    Integer genArg;

    @Option(names = {"-r", "--repetitions"}, paramLabel = "N",
            description = "Measured runs after one warm-up run (default 3). With --ablation: runs per row (default 1; the "
                    + "decode steps of all runs are pooled).")
    Integer runsArg;

    int genTokens, runs;

    @Option(names = "--ablation", description = "The optimization study: the baseline (every switch at its simplest), each "
            + "optimization alone, all combined; time per token, speedup, text and status per row.")
    boolean ablation;

    @Option(names = "--instruct", description = "--ablation: use the prototype's instruct prompt (the train math problem).")
    boolean instruct;

    @Option(names = "--report", paramLabel = "FILE.md", description = "--ablation: write the Markdown report here (and its "
            + "JSON twin next to it, FILE.json).")
    Path report;

    @Option(names = "--chart", paramLabel = "FILE.png", description = "--ablation: write a bar chart of the speedups (PNG).")
    Path chart;

    @Option(names = "--tokenizer", paramLabel = "PATH", description = "--ablation with --synthetic: the Qwen2.5 tokenizer "
            + "folder (tokenizer.json) used to encode the prompt and decode the text (default: $QWEN4J_TOKENIZER, else "
            + "../shared/qwen-tokenizer).")
    Path tokenizer;

    @Option(names = "--ablation-quant", paramLabel = "q8_0|q4_0|none", defaultValue = "q8_0",
            description = "--ablation: the quantized-weights rows quantize the float weights in memory to this type "
                    + "(default ${DEFAULT-VALUE}; none: no such rows).")
    String ablationQuant;

    @Option(names = "--aot-compare", description = "--ablation: also launch a small command twice in fresh JVMs, with and "
            + "without the AOT cache, and report the first-token latency of each.")
    boolean aotCompare;

    @Option(names = {"-d", "--depth"}, paramLabel = "N[,N...]", split = ",", defaultValue = "0",
            description = "Tokens already in the KV cache when measuring (decode at long context), e.g. 0,512,4096.")
    List<Integer> depths;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Worker threads (default: all processors).")
    Integer threads;

    @Option(names = "--kernels", paramLabel = "scalar|simd", defaultValue = "simd", converter = ModelOptions.KernelsConverter.class,
            description = "Kernel implementation (default ${DEFAULT-VALUE}).")
    Kernels kernels;

    @Option(names = "--weights", paramLabel = "mmap|huge", defaultValue = "mmap", converter = ModelOptions.WeightMemoryConverter.class,
            description = "Weight memory: mmap (-m: in place from the file; synthetic: ordinary memory) or huge "
                    + "(2 MB pages). Default ${DEFAULT-VALUE}.")
    qwen4j.format.WeightMemory weightMemory;

    @Option(names = "--parallel", paramLabel = "N[,N...]", split = ",",
            description = "Measure N sequences decoded together (llama-batched-bench style), e.g. 1,2,4,8,16: per N the "
                    + "aggregate and per-sequence decode tokens/s and the prefill tokens/s of the N prompts.")
    List<Integer> parallel;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        genTokens = genArg != null ? genArg : ablation ? 20 : 32;
        runs = runsArg != null ? runsArg : ablation ? 1 : 3;
        if (model != null) model = ModelOptions.resolve(model, revision);
        if (ablation) return new AblationRun(this).call();
        try {
            promptList = java.util.Arrays.stream((promptArg == null ? "64" : promptArg).split(","))
                    .map(String::trim).map(Integer::valueOf).toList();
        } catch (NumberFormatException e) {
            throw new Qwen4jException("-p: expected prompt lengths like 64 or 64,512 (a prompt text needs --ablation), got '"
                    + promptArg + "'");
        }
        int t = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        if (t >= 1) t = ModelOptions.capThreads(t, spec.commandLine().getErr());
        if (model == null) {
            // every option is checked before the machine is probed (~10 s of bandwidth and FMA runs)
            SyntheticModel.shape(synthetic == null ? "0.5b" : synthetic);
            if (!SyntheticModel.TYPES.contains(dtype.toLowerCase(Locale.ROOT))) {
                throw new Qwen4jException("--dtype: '" + dtype + "' is not one of " + String.join(", ", SyntheticModel.TYPES));
            }
        }
        if (model != null && quantize != null) {
            DType q = qwen4j.format.QuantPlan.parse(quantize);
            if (q != DType.Q8_0 && q != DType.Q4_0) throw new Qwen4jException("--quantize: on load only q8_0 or q4_0");
        }
        int maxPrompt = promptList.stream().mapToInt(Integer::intValue).max().orElse(0);
        if (t < 1 || promptList.stream().anyMatch(p -> p < 0) || genTokens < 1 || runs < 1 || ubatch < 1) {
            throw new Qwen4jException("bench needs --threads >= 1, -p >= 0, -n >= 1, -r >= 1, --ubatch >= 1");
        }
        for (int d : depths) if (d < 0) throw new Qwen4jException("--depth must be >= 0, got " + d);
        if (model != null && synthetic != null) throw new Qwen4jException("give -m PATH or --synthetic SIZE, not both");
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (parallel != null) {
            for (int n : parallel) if (n < 1) throw new Qwen4jException("--parallel must be >= 1, got " + n);
            if (promptList.size() != 1 || depths.size() != 1 || depths.get(0) != 0) {
                throw new Qwen4jException("--parallel takes one -p length and no --depth");
            }
        }

        Options options = Options.defaults().withThreads(t).withKernels(kernels).withUbatch(ubatch).withPrompt(promptMode);
        String name;
        String typeName;
        AutoCloseable source;
        Qwen2Config config;
        Qwen2Weights weights;
        if (model != null) {
            DType q = null;
            if (quantize != null) {
                q = qwen4j.format.QuantPlan.parse(quantize);
                if (q != DType.Q8_0 && q != DType.Q4_0) throw new Qwen4jException("--quantize: on load only q8_0 or q4_0");
            }
            LoadedModel lm = ModelLoader.load(model, kernels, weightMemory, q,
                    q == null || json ? qwen4j.format.Progress.NONE : new ProgressBar(err, "quantizing to " + q));
            source = lm;
            config = lm.config();
            weights = lm.weights();
            name = ModelOptions.nameOf(model);
            typeName = weights.layers()[0].wq().type().toString();
        } else {
            String size = synthetic == null ? "0.5b" : synthetic;
            String type = dtype.toLowerCase(Locale.ROOT);
            if (!SyntheticModel.TYPES.contains(type)) {
                throw new Qwen4jException("--dtype: '" + dtype + "' is not one of " + String.join(", ", SyntheticModel.TYPES));
            }
            if (!json) err.printf("building synthetic Qwen2.5-%s (%s, random weights: the output text is meaningless) ...%n", size.toUpperCase(Locale.ROOT), type.toUpperCase(Locale.ROOT));
            SyntheticModel sm = new SyntheticModel(size, type, kernels, weightMemory == qwen4j.format.WeightMemory.HUGE_PAGES);
            source = sm;
            config = sm.config();
            weights = sm.weights();
            name = "synthetic " + size.toUpperCase(Locale.ROOT);
            typeName = type.toUpperCase(Locale.ROOT);
        }
        if (parallel != null) {
            try (source; Qwen2Model m = new Qwen2Model(config, weights, options, maxPrompt + genTokens + 1)) {
                List<qwen4j.bench.BatchedBench.Result> rs = new ArrayList<>();
                for (int n : parallel) {
                    rs.add(qwen4j.bench.BatchedBench.run(m, n, maxPrompt, genTokens, runs));
                    if (!json) err.println("  parallel " + n + " done");
                }
                printParallel(out, name, typeName, t, rs);
            }
            return 0;
        }
        int maxDepth = depths.stream().mapToInt(Integer::intValue).max().orElse(0);
        int ctx = maxDepth + maxPrompt + genTokens + 1;
        List<Bench.Result> results = new ArrayList<>();
        List<Integer> resultPrompt = new ArrayList<>(), resultDepth = new ArrayList<>();
        double flopsPerToken = Bench.flopsPerToken(config);
        try (source; Qwen2Model m = new Qwen2Model(config, weights, options, ctx)) {
            for (int promptTokens : promptList) {
                for (int depth : depths) {
                    Bench.Spec spec = new Bench.Spec(promptTokens, genTokens, depth, runs);
                    results.add(Bench.run(m, weights, spec, msg -> {
                        if (!json) err.println("  pp" + promptTokens + " depth " + depth + ": " + msg);
                    }));
                    resultPrompt.add(promptTokens);
                    resultDepth.add(depth);
                }
            }
        }
        // The machine is probed after the model has run: the probes' own Vector API code, run first, left
        // Q4_0's 8-lane kernel compiled with boxed vectors more often (1.5B Q4_0 decode, median of 6 runs 9.2
        // tok/s probing first, of 10 runs 10.5 probing last, 12.6-13.7 without probes; 2026-12-06).
        double machineGbS, fileGbS = Double.NaN, fmaGflops;
        Path weightFile = model == null ? null : largestWeightFile(model);
        try (WorkerPool pool = new WorkerPool(t)) {
            machineGbS = MemoryBandwidth.measure(pool, 1L << 30);
            if (weightFile != null) fileGbS = mappedReadGbS(pool, weightFile);
            fmaGflops = FmaPeak.measure(pool);
        }
        // The roofline is what a plain read of the weights' own kind of memory achieves: the model
        // file's mapping for -m (page-cache pages can read slower than the anonymous probe buffer).
        double rooflineGbS = Double.isNaN(fileGbS) ? machineGbS : fileGbS;
        Kernels running = kernels.usable();
        if (!json) {
            err.printf(Locale.ROOT, "machine read bandwidth: %.1f GB/s with %d threads (streaming read of 1 GiB of anonymous memory)%n", machineGbS, t);
            if (weightFile != null) {
                err.printf(Locale.ROOT, "model file read bandwidth: %.1f GB/s with %d threads (the same read over %s's mapping: the roofline below)%n",
                        fileGbS, t, weightFile.getFileName());
            }
            err.printf(Locale.ROOT, "machine FMA peak: %.1f GFLOP/s with %d threads (float32 vector FMA chains)%n", fmaGflops, t);
        }

        double sizeGb = Bench.weightBytesPerToken(weights) / 1e9;
        if (json) {
            out.println(toJson(name, typeName, sizeGb, t, running, machineGbS, fileGbS, rooflineGbS, fmaGflops, flopsPerToken, resultPrompt, resultDepth, results));
        } else {
            out.println("kernels: " + (running == Kernels.SIMD ? VectorSupport.describe() : "scalar") + ", " + t + " threads");
            out.printf("| %-18s | %-6s | %8s | %7s | %-12s | %12s | %9s | %8s | %8s |%n",
                    "model", "type", "size", "threads", "test", "tokens/s", "s/token", "GB/s", "roofline");
            out.println("|--------------------|--------|----------|---------|--------------|--------------|-----------|----------|----------|");
            for (int i = 0; i < results.size(); i++) {
                Bench.Result r = results.get(i);
                String at = resultDepth.get(i) == 0 ? "" : " @ d" + resultDepth.get(i);
                int promptTokens = resultPrompt.get(i);
                if (promptTokens > 0) {
                    // for pp the last two columns are GFLOP/s and the fraction of the FMA peak
                    double gflops = r.ppTokensPerS() * flopsPerToken / 1e9;
                    out.printf(Locale.ROOT, "| %-18s | %-6s | %5.2f GB | %7d | %-12s | %7.2f ±%2.0f%% | %9s | %5.0f GF | %5.0f%% F |%n",
                            name, typeName, sizeGb, t, "pp" + promptTokens + at, r.ppTokensPerS(), 100 * r.ppSpread(), "",
                            gflops, 100 * gflops / fmaGflops);
                }
                out.printf(Locale.ROOT, "| %-18s | %-6s | %5.2f GB | %7d | %-12s | %7.2f ±%2.0f%% | %9.4f | %8.1f | %7.0f%% |%n",
                        name, typeName, sizeGb, t, "tg" + genTokens + at, r.tgTokensPerS(), 100 * r.tgSpread(),
                        r.tgSPerToken(), r.achievedGbS(), 100 * r.achievedGbS() / rooflineGbS);
            }
            Bench.Result first = results.get(0);
            out.printf(Locale.ROOT, "warm-up run (JIT compiling): first token after %.0f ms, decode %.4f s/token (steady state %.4f)%n",
                    first.warmupFirstTokenMs(), first.warmupTgSPerToken(), first.tgSPerToken());
        }
        return 0;
    }

    private void printParallel(PrintWriter out, String name, String type, int threads, List<qwen4j.bench.BatchedBench.Result> rs)
            throws Exception {
        if (json) {
            ObjectMapper mapper = new ObjectMapper();
            ObjectNode root = mapper.createObjectNode();
            root.put("model", name);
            root.put("dtype", type);
            root.put("threads", threads);
            ArrayNode all = root.putArray("by_parallel");
            for (var r : rs) {
                ObjectNode o = all.addObject();
                o.put("parallel", r.parallel());
                o.put("prompt_tokens", r.promptTokens());
                o.put("gen_tokens", r.genTokens());
                o.put("pp_tokens_per_s", r.ppTokensPerS());
                o.put("tg_tokens_per_s_total", r.tgTokensPerSTotal());
                o.put("tg_tokens_per_s_per_seq", r.tgTokensPerSPerSeq());
            }
            out.println(mapper.writeValueAsString(root));
            return;
        }
        out.printf("| %-18s | %-6s | %7s | %8s | %6s | %6s | %10s | %13s | %13s |%n",
                "model", "type", "threads", "parallel", "pp", "tg", "pp tok/s", "tg tok/s all", "tg tok/s seq");
        out.println("|--------------------|--------|---------|----------|--------|--------|------------|---------------|---------------|");
        for (var r : rs) {
            out.printf(Locale.ROOT, "| %-18s | %-6s | %7d | %8d | %6d | %6d | %10.2f | %13.2f | %13.2f |%n", name, type, threads,
                    r.parallel(), r.promptTokens(), r.genTokens(), r.ppTokensPerS(), r.tgTokensPerSTotal(), r.tgTokensPerSPerSeq());
        }
    }

    /** The file holding most of the weights: the .gguf itself (a split model's first part), or a folder's largest .safetensors. */
    static Path largestWeightFile(Path model) {
        if (!Files.isDirectory(model)) return model;
        try (var files = Files.list(model)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".safetensors"))
                    .max(java.util.Comparator.comparingLong(f -> f.toFile().length())).orElse(null);
        } catch (java.io.IOException e) {
            return null;
        }
    }

    /** {@link MemoryBandwidth} over up to 1 GiB of the file's read-only mapping; NaN when it holds less than 1 MiB. */
    static double mappedReadGbS(WorkerPool pool, Path file) {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.READ);
             java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
            long size = Math.min(ch.size(), 1L << 30) & ~((1L << 20) - 1);
            if (size == 0) return Double.NaN;
            return MemoryBandwidth.measure(pool, ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 0, size, arena));
        } catch (java.io.IOException e) {
            throw new Qwen4jException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    static String toJson(String name, String type, double sizeGb, int threads, Kernels running, double machineGbS, double fileGbS,
                         double rooflineGbS, double fmaGflops,
                         double flopsPerToken, List<Integer> prompts, List<Integer> depths, List<Bench.Result> results)
            throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        root.put("model", name);
        root.put("dtype", type);
        root.put("size_gb", sizeGb);
        root.put("threads", threads);
        // what the measured kernels ran at: --kernels scalar (or the fallback) is 1 lane, whatever the CPU has
        boolean simd = running == Kernels.SIMD;
        root.put("vector_bits", simd ? VectorSupport.BITS : 0);
        root.put("vector_lanes", simd ? VectorSupport.LANES : 1);
        Bench.Result r0 = results.get(0);
        root.put("fma_peak_gflops", fmaGflops);
        if (!Double.isNaN(fileGbS)) root.put("file_read_gb_s", fileGbS);
        root.put("flops_per_token", flopsPerToken);
        fill(root, r0, machineGbS, rooflineGbS);
        root.put("pp_fma_fraction", r0.ppTokensPerS() * flopsPerToken / 1e9 / fmaGflops);
        ArrayNode all = root.putArray("by_depth");
        for (int i = 0; i < results.size(); i++) {
            ObjectNode o = all.addObject();
            o.put("prompt_tokens", prompts.get(i));
            o.put("depth", depths.get(i));
            fill(o, results.get(i), machineGbS, rooflineGbS);
            o.put("pp_fma_fraction", results.get(i).ppTokensPerS() * flopsPerToken / 1e9 / fmaGflops);
        }
        return mapper.writeValueAsString(root);
    }

    private static void fill(ObjectNode o, Bench.Result r, double machineGbS, double rooflineGbS) {
        o.put("pp_tokens_per_s", r.ppTokensPerS());
        o.put("pp_spread", r.ppSpread());
        o.put("tg_tokens_per_s", r.tgTokensPerS());
        o.put("tg_s_per_token", r.tgSPerToken());
        o.put("tg_spread", r.tgSpread());
        o.put("weight_bytes_per_token", r.weightBytesPerToken());
        o.put("achieved_gb_s", r.achievedGbS());
        o.put("machine_gb_s", machineGbS);
        o.put("roofline", r.achievedGbS() / rooflineGbS);
        o.put("warmup_first_token_ms", r.warmupFirstTokenMs());
        o.put("warmup_tg_s_per_token", r.warmupTgSPerToken());
    }
}
