package qwen4j.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;
import qwen4j.Qwen4jException;
import qwen4j.api.LoadOptions;
import qwen4j.model.Options;
import qwen4j.tensor.Kernels;

/** Options shared by every command that runs a model. */
final class ModelOptions {
    @Option(names = {"-m", "--model"}, paramLabel = "PATH",
            description = "HF model folder (config.json + *.safetensors) or .gguf file, or a Hugging Face repo id in the HF cache "
                    + "(Qwen/Qwen2.5-0.5B-Instruct; REPO:FILE.gguf; see pull). Default: $QWEN4J_MODEL.")
    Path model;

    @Option(names = "--revision", paramLabel = "R", description = "With -m REPO: the branch, tag or commit (default main).")
    String revision;

    @Option(names = "--ctx", paramLabel = "N", defaultValue = "4096",
            description = "Context length: KV cache size in tokens (default ${DEFAULT-VALUE}, at most the model's).")
    int ctx;

    @Option(names = {"-t", "--threads"}, paramLabel = "N",
            description = "Worker threads (default: all available processors).")
    Integer threads;

    @Option(names = "--kernels", paramLabel = "scalar|simd", defaultValue = "simd",
            description = "Kernel implementation: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE}).",
            converter = KernelsConverter.class)
    Kernels kernels;

    @Option(names = "--weights", paramLabel = "mmap|huge", defaultValue = "mmap", converter = WeightMemoryConverter.class,
            description = "Where weights live: mmap = used in place from the file mapping (no copy), "
                    + "huge = copied once into 2 MB-page memory. Default ${DEFAULT-VALUE}.")
    qwen4j.format.WeightMemory weights;

    @Option(names = "--quantize", paramLabel = "q8_0|q4_0",
            description = "Quantize BF16/F16/F32 matrices on load (HF folder or float GGUF), into off-heap memory.")
    String quantize;

    /** The --quantize type, or null. */
    qwen4j.tensor.DType quantizeType() {
        if (quantize == null) return null;
        qwen4j.tensor.DType t = qwen4j.format.QuantPlan.parse(quantize);
        if (t != qwen4j.tensor.DType.Q8_0 && t != qwen4j.tensor.DType.Q4_0) {
            throw new Qwen4jException("--quantize: on load only q8_0 or q4_0 (use convert for float types)");
        }
        return t;
    }

    /** Opens the model (with --quantize, a progress bar on err). */
    qwen4j.generate.Engine open(java.io.PrintWriter err) {
        qwen4j.tensor.DType q = quantizeType();
        ProgressBar bar = q == null ? null : new ProgressBar(err, "quantizing to " + q);
        if (threads != null && threads >= 1) threads = capThreads(threads, err);
        qwen4j.generate.Engine e = qwen4j.generate.Engine.open(modelPath(), options(), ctx, weights, q,
                bar == null ? qwen4j.format.Progress.NONE : bar);
        noteQuantizeUnused(bar, err);
        return e;
    }

    /**
     * Loads the model through the public API (with --quantize, a progress bar on err), with room for
     * {@code parallel} sequences decoded together.
     */
    qwen4j.api.Qwen load(java.io.PrintWriter err, int parallel) {
        qwen4j.tensor.DType q = quantizeType();
        ProgressBar bar = q == null ? null : new ProgressBar(err, "quantizing to " + q);
        if (threads != null && threads >= 1) threads = capThreads(threads, err);
        Options o = options();
        LoadOptions.Builder b = LoadOptions.builder().threads(o.threads()).contextLength(ctx).ubatch(o.ubatch())
                .kernels(o.kernels() == Kernels.SCALAR ? LoadOptions.Kernels.SCALAR : LoadOptions.Kernels.SIMD)
                .kvCache(LoadOptions.KvCacheType.valueOf(o.kv().name()))
                .promptMode(LoadOptions.PromptMode.valueOf(o.prompt().name()))
                .attentionPrecision(LoadOptions.AttentionPrecision.valueOf(o.attention().name()))
                .hugePages(weights == qwen4j.format.WeightMemory.HUGE_PAGES).parallel(parallel);
        if (q != null) b.quantize(LoadOptions.Quantization.valueOf(q.name())).quantizeProgress(bar::update);
        qwen4j.api.Qwen qwen = qwen4j.api.Qwen.load(modelPath(), b.build());
        noteQuantizeUnused(bar, err);
        return qwen;
    }

    private void noteQuantizeUnused(ProgressBar bar, java.io.PrintWriter err) {
        if (bar != null && !bar.used()) {
            // nothing was float: say so rather than let the user think the model is now q8_0
            err.println("qwen4j: note: --quantize " + quantize + " does nothing: the model's matrices are already quantized");
            err.flush();
        }
    }

    @Option(names = "--ubatch", paramLabel = "N", defaultValue = "" + qwen4j.model.Options.DEFAULT_UBATCH,
            description = "Prompt tokens per batched prefill step (default ${DEFAULT-VALUE}; longer prompts are split).")
    int ubatch;

    @Option(names = "--prompt-mode", paramLabel = "batched|sequential", defaultValue = "batched",
            converter = PromptModeConverter.class,
            description = "Prefill the prompt in blocks through matrix-matrix products (batched) or one token at a time "
                    + "(sequential). Default ${DEFAULT-VALUE}.")
    qwen4j.model.Options.Prompt promptMode;

    @Option(names = "--kv-cache", paramLabel = "f32|f16|bf16", defaultValue = "f32", converter = KvTypeConverter.class,
            description = "KV cache element type: f32 (exact), f16 or bf16 (half the memory, each cached value rounded). "
                    + "Default ${DEFAULT-VALUE}.")
    qwen4j.model.KvCache.Type kvCache;

    @Option(names = "--attention-precision", paramLabel = "f32|bf16", defaultValue = "f32",
            converter = AttentionPrecisionConverter.class,
            description = "Attention scores and softmax in float32, or rounded to bf16 (emulated, as bf16 frameworks do). "
                    + "Default ${DEFAULT-VALUE}.")
    qwen4j.model.Attention.Precision attentionPrecision;

    static final String NO_MODEL = "no model given: pass -m PATH (or set QWEN4J_MODEL)";

    static final String HOW_TO_GET_A_MODEL = """
              PATH is a Qwen2.5 model as downloaded from Hugging Face: a folder with config.json,
              model.safetensors (or model-0000k-of-0000n.safetensors + index) and tokenizer.json,
              e.g. https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct (git clone or huggingface-cli download),
              or a single .gguf file, e.g. from https://huggingface.co/Qwen/Qwen2.5-7B-Instruct-GGUF;
              or a repo id in the Hugging Face cache: bin/qwen4j pull Qwen/Qwen2.5-0.5B-Instruct, then -m Qwen/Qwen2.5-0.5B-Instruct""";

    Path modelPath() {
        Path p = model;
        if (p == null) {
            String env = System.getenv("QWEN4J_MODEL");
            if (env == null || env.isBlank()) throw new Qwen4jException(NO_MODEL).withDetails(HOW_TO_GET_A_MODEL);
            p = Path.of(env);
        }
        return resolve(p, revision);
    }

    /** A local path as is, else a repo id found in the Hugging Face cache (one line when neither). */
    static Path resolve(Path model, String revision) {
        return qwen4j.hub.ModelResolver.resolve(model.toString(), revision, System.getenv());
    }

    /** How reports name a model: its repo id when it lies in the Hugging Face cache (a snapshot's folder is a hash). */
    static String nameOf(Path resolved) {
        String repo = qwen4j.hub.ModelResolver.repoIdOf(resolved);
        return repo != null ? repo : resolved.toAbsolutePath().normalize().getFileName().toString();
    }

    /** More threads than this many per processor only slow the kernels down (they contend for cores). */
    static final int MAX_THREADS_PER_PROCESSOR = 4;

    /** {@code t}, or the cap with a note on {@code err} when it is past 4 x the processors. */
    static int capThreads(int t, java.io.PrintWriter err) {
        int cpus = Runtime.getRuntime().availableProcessors();
        int max = MAX_THREADS_PER_PROCESSOR * cpus;
        if (t <= max) return t;
        err.println("qwen4j: note: --threads " + t + " is more than " + MAX_THREADS_PER_PROCESSOR + " x the " + cpus
                + " processors; using " + max);
        err.flush();
        return max;
    }

    Options options() {
        int t = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        if (t < 1) throw new Qwen4jException("--threads must be at least 1, got " + t);
        if (ctx < 1) throw new Qwen4jException("--ctx must be at least 1, got " + ctx);
        if (ubatch < 1) throw new Qwen4jException("--ubatch must be at least 1, got " + ubatch);
        return Options.defaults().withThreads(t).withKernels(kernels).withUbatch(ubatch).withPrompt(promptMode)
                .withKv(kvCache == null ? qwen4j.model.KvCache.Type.F32 : kvCache)
                .withAttention(attentionPrecision == null ? qwen4j.model.Attention.Precision.F32 : attentionPrecision);
    }

    static final class WeightMemoryConverter implements picocli.CommandLine.ITypeConverter<qwen4j.format.WeightMemory> {
        @Override
        public qwen4j.format.WeightMemory convert(String value) {
            return switch (value.toLowerCase()) {
                case "mmap" -> qwen4j.format.WeightMemory.MMAP;
                case "huge" -> qwen4j.format.WeightMemory.HUGE_PAGES;
                default -> throw new picocli.CommandLine.TypeConversionException(
                        "expected mmap or huge, got '" + value + "'");
            };
        }
    }

    static final class PromptModeConverter implements picocli.CommandLine.ITypeConverter<qwen4j.model.Options.Prompt> {
        @Override
        public qwen4j.model.Options.Prompt convert(String value) {
            return switch (value.toLowerCase()) {
                case "batched" -> qwen4j.model.Options.Prompt.BATCHED;
                case "sequential" -> qwen4j.model.Options.Prompt.SEQUENTIAL;
                default -> throw new picocli.CommandLine.TypeConversionException(
                        "expected batched or sequential, got '" + value + "'");
            };
        }
    }

    static final class KernelsConverter implements picocli.CommandLine.ITypeConverter<Kernels> {
        @Override
        public Kernels convert(String value) {
            return switch (value.toLowerCase()) {
                case "scalar" -> Kernels.SCALAR;
                case "simd" -> Kernels.SIMD;
                default -> throw new picocli.CommandLine.TypeConversionException(
                        "expected scalar or simd, got '" + value + "'");
            };
        }
    }

    static final class KvTypeConverter implements picocli.CommandLine.ITypeConverter<qwen4j.model.KvCache.Type> {
        @Override
        public qwen4j.model.KvCache.Type convert(String value) {
            return switch (value.toLowerCase()) {
                case "f32" -> qwen4j.model.KvCache.Type.F32;
                case "f16" -> qwen4j.model.KvCache.Type.F16;
                case "bf16" -> qwen4j.model.KvCache.Type.BF16;
                default -> throw new picocli.CommandLine.TypeConversionException(
                        "expected f32, f16 or bf16, got '" + value + "'");
            };
        }
    }

    static final class AttentionPrecisionConverter
            implements picocli.CommandLine.ITypeConverter<qwen4j.model.Attention.Precision> {
        @Override
        public qwen4j.model.Attention.Precision convert(String value) {
            return switch (value.toLowerCase()) {
                case "f32" -> qwen4j.model.Attention.Precision.F32;
                case "bf16" -> qwen4j.model.Attention.Precision.BF16;
                default -> throw new picocli.CommandLine.TypeConversionException(
                        "expected f32 or bf16, got '" + value + "'");
            };
        }
    }
}
