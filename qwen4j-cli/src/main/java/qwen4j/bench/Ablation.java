package qwen4j.bench;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import qwen4j.generate.Greedy;
import qwen4j.model.Attention;
import qwen4j.model.KvCache;
import qwen4j.model.Options;
import qwen4j.model.Qwen2Config;
import qwen4j.model.Qwen2Model;
import qwen4j.model.Qwen2Weights;
import qwen4j.model.Rope;
import qwen4j.model.Session;
import qwen4j.tensor.Kernels;
import qwen4j.tokenizer.Tokenizer;

/**
 * The optimization study: one engine, its switches flipped one at a time on top of the simplest
 * configuration, then all together. Every row runs the same greedy generation (the prompt
 * prefilled, then {@code n - 1} decode steps: n tokens), timed step by step, and its token ids are
 * compared with the baseline's (all float32 math, weights as stored: the reference). Where they
 * first differ, both logit margins there are recorded, so a changed text is explained.
 */
public final class Ablation {
    /** The prototype's prompts. */
    public static final String DEFAULT_PROMPT = "The answer is";
    public static final String INSTRUCT_PROMPT = "Please solve this math problem step by step: If a train travels "
            + "120 miles in 2 hours, what is its average speed in miles per hour?";

    /** One row: a name, the engine's switches, and whether the weights are the quantized copy. */
    public record Variant(String name, String changed, Options options, boolean quantized) {
        /** The switches as the report and JSON show them. */
        public Map<String, Object> switches(String storedType, String quantType) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("kernels", lower(options.kernels()));
            m.put("threads", options.threads());
            m.put("rope", lower(options.rope()));
            m.put("mask", options.mask() == Attention.Mask.IMPLICIT ? "implicit" : "precomputed");
            m.put("prompt", lower(options.prompt()));
            m.put("attention", lower(options.attention()));
            m.put("kv_cache", lower(options.kv()));
            m.put("weights", quantized ? quantType : storedType);
            return m;
        }
    }

    /** Where a row's tokens first differ from the reference's, and how close the choice was on each side. */
    public record FirstDiff(int position, int refId, int id, String refPiece, String piece,
                            double refMargin, double margin) {}

    /** One measured row. Times in seconds; spread = (max - min) / median of the steady-state steps. */
    public record Row(Variant variant, Map<String, Object> switches, double sPerToken, double minS, double maxS,
                      double spread, int steadySteps, double prefillS, double firstStepS, double speedup,
                      double prefillSpeedup, String text, int[] ids, boolean identical, FirstDiff firstDiff,
                      long gcCount, double allocBytesPerToken, long weightBytesPerToken, long kvCacheBytes,
                      double wallS, double loadAverage) {}

    /**
     * Where the weights come from: the float model as stored, seen with either kernels, and
     * (opened after the float one is closed, so the two never share memory) its quantized copy.
     */
    public interface Source extends AutoCloseable {
        Qwen2Config config();

        Qwen2Weights weights(Kernels kernels);

        /** The stored weight type name (e.g. BF16). */
        String typeName();

        @Override
        void close();
    }

    /** Opens the quantized copy of the model (called once the float rows are done). */
    public interface QuantizedSource {
        Source open();

        String typeName();
    }

    private Ablation() {}

    /** Name of the control row: the baseline measured again. */
    public static final String REPEAT = "Baseline (again)";

    /** Baseline: every switch at its simplest. */
    public static Options baseline() {
        return new Options(Kernels.SCALAR, 1, Rope.Mode.DIRECT, Attention.Mask.PRECOMPUTED, Options.Prompt.SEQUENTIAL,
                Options.DEFAULT_UBATCH, Attention.Precision.F32, KvCache.Type.F32);
    }

    /** The fastest sensible combination of the exact switches (float32 math throughout). */
    public static Options combined(int threads) {
        return baseline().withKernels(Kernels.SIMD).withThreads(threads).withRope(Rope.Mode.TABLE)
                .withMask(Attention.Mask.IMPLICIT).withPrompt(Options.Prompt.BATCHED);
    }

    /** The rows, in run order: float-weight rows first, then the quantized ones (see {@link Source}). */
    public static List<Variant> variants(int threads, String quantType) {
        Options b = baseline();
        List<Variant> v = new ArrayList<>();
        v.add(new Variant("Baseline", "-", b, false));
        v.add(new Variant("+SIMD kernels", "kernels simd", b.withKernels(Kernels.SIMD), false));
        v.add(new Variant("+threads " + threads, "threads " + threads, b.withThreads(threads), false));
        v.add(new Variant("+RoPE table", "rope table", b.withRope(Rope.Mode.TABLE), false));
        v.add(new Variant("+RoPE complex", "rope complex", b.withRope(Rope.Mode.COMPLEX), false));
        v.add(new Variant("+implicit mask", "mask implicit", b.withMask(Attention.Mask.IMPLICIT), false));
        v.add(new Variant("+batched prefill", "prompt batched", b.withPrompt(Options.Prompt.BATCHED), false));
        v.add(new Variant("+bf16 attention", "attention bf16", b.withAttention(Attention.Precision.BF16), false));
        v.add(new Variant("+KV cache f16", "kv_cache f16", b.withKv(KvCache.Type.F16), false));
        v.add(new Variant("+KV cache bf16", "kv_cache bf16", b.withKv(KvCache.Type.BF16), false));
        v.add(new Variant("All combined", "simd, threads " + threads + ", rope table, mask implicit, prompt batched",
                combined(threads), false));
        // a control: the baseline once more, after the other float rows; how far it moves from the first is the
        // machine's drift over the study (other processes), the noise floor for every comparison
        v.add(new Variant(REPEAT, "-", b, false));
        if (quantType != null) {
            v.add(new Variant("+" + quantType + " weights", "weights " + quantType, b, true));
            v.add(new Variant("All combined + " + quantType, "all combined, weights " + quantType, combined(threads), true));
        }
        return v;
    }

    /** What to run. */
    public record Spec(String prompt, int genTokens, int runs, int threads) {}

    /** The measured rows plus the prompt's ids. */
    public record Result(int[] promptIds, List<Row> rows, double totalWallS) {}

    /**
     * Runs every variant. {@code progress} gets one line per row and, for slow rows, per step, plus
     * a time estimate once the baseline's first decode step has been measured.
     */
    public static Result run(Source floatSource, QuantizedSource quantized, Tokenizer tokenizer, Spec spec,
                             Consumer<String> progress) {
        long start = System.nanoTime();
        int[] prompt = tokenizer.encode(spec.prompt());
        if (prompt.length == 0) throw new qwen4j.Qwen4jException("the prompt encodes to no tokens");
        List<Variant> variants = variants(spec.threads(), quantized == null ? null : quantized.typeName());
        Qwen2Config config = floatSource.config();
        int vocab = qwen4j.generate.Engine.vocabLimit(tokenizer, config.vocabSize());
        int ctx = prompt.length + spec.genTokens() + 1;
        List<Row> rows = new ArrayList<>();
        Reference ref = null;
        Source source = floatSource;
        try {
            for (int i = 0; i < variants.size(); i++) {
                Variant v = variants.get(i);
                if (v.quantized() && source == floatSource) {
                    floatSource.close();
                    source = null;
                    progress.accept("building the " + quantized.typeName() + " copy of the weights (quantized in memory) ...");
                    source = quantized.open();
                }
                String label = String.format(Locale.ROOT, "[%d/%d] %s", i + 1, variants.size(), v.name());
                progress.accept(label + " ...");
                Measured m = measure(source, v, prompt, spec, ctx, vocab, ref, i == 0, label, progress, variants);
                if (i == 0) ref = m.reference;
                Row base = rows.isEmpty() ? null : rows.get(0);
                double baseS = base == null ? m.sPerToken : base.sPerToken();
                double basePrefill = base == null ? m.prefillS : base.prefillS();
                Map<String, Object> sw = v.switches(floatSource.typeName(), quantized == null ? null : quantized.typeName());
                FirstDiff fd = m.diffPos < 0 ? null : new FirstDiff(m.diffPos, ref.ids[m.diffPos], m.ids[m.diffPos],
                        tokenizer.decode(new int[] {ref.ids[m.diffPos]}), tokenizer.decode(new int[] {m.ids[m.diffPos]}),
                        m.refMargin, m.margin);
                Row row = new Row(v, sw, m.sPerToken, m.minS, m.maxS, m.spread, m.steadySteps, m.prefillS, m.firstStepS,
                        baseS / m.sPerToken, basePrefill / m.prefillS, tokenizer.decode(m.ids), m.ids, fd == null, fd,
                        m.gcCount, m.allocPerToken, Bench.weightBytesPerToken(source.weights(Kernels.SCALAR)), m.kvBytes,
                        m.wallS, m.load);
                rows.add(row);
                progress.accept(String.format(Locale.ROOT, "%s: %.4f s/token (%.2fx), prefill %.3f s, %s", label,
                        row.sPerToken(), row.speedup(), row.prefillS(),
                        row.identical() ? "identical tokens" : "differs at token " + fd.position()));
            }
        } finally {
            if (source != null) source.close();
        }
        return new Result(prompt, rows, (System.nanoTime() - start) / 1e9);
    }

    /** The reference row's tokens and, for each generated position, its logits. */
    private record Reference(int[] ids, float[][] logits) {}

    private static final class Measured {
        double sPerToken, minS, maxS, spread, prefillS, firstStepS, allocPerToken, wallS, refMargin, margin, load;
        int steadySteps, diffPos = -1;
        long gcCount, kvBytes;
        int[] ids;
        Reference reference;
    }

    private static Measured measure(Source source, Variant v, int[] prompt, Spec spec, int ctx, int vocab, Reference ref,
                                    boolean isReference, String label, Consumer<String> progress, List<Variant> all) {
        long rowStart = System.nanoTime();
        // the system's 1-minute load average around the row: above the core count, other processes competed for the CPU
        double load0 = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        var threadBean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        int n = spec.genTokens();
        Qwen2Config config = source.config();
        Measured m = new Measured();
        List<Double> steady = new ArrayList<>();
        double[] prefills = new double[spec.runs()];
        long allocSum = 0, gcSum = 0, stepsSum = 0;
        try (Qwen2Model model = new Qwen2Model(config, source.weights(v.options().kernels()), v.options(), ctx)) {
            long[] engineThreads = engineThreads();
            for (int run = 0; run < spec.runs(); run++) {
                Session s = model.newSession(ctx);
                m.kvBytes = s.cache().bytes();
                int[] ids = new int[n];
                // the reference keeps every position's logits: preallocated, so the copy allocates nothing
                float[][] keep = isReference && run == 0 ? new float[n][] : null;
                if (keep != null) for (int i = 0; i < n; i++) keep[i] = new float[config.vocabSize()];
                long[] stepNanos = new long[Math.max(0, n - 1)];
                int diff = -1;
                double refMargin = 0, margin = 0;

                long t0 = System.nanoTime();
                float[] logits = model.prefill(s, prompt);
                long t1 = System.nanoTime();
                prefills[run] = (t1 - t0) / 1e9;
                long lastReport = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    if (i > 0) {
                        // GC cycles and bytes allocated by the step itself (reading the counters allocates nothing)
                        long gc0 = gcCount(), alloc0 = allocated(threadBean, engineThreads);
                        long ts = System.nanoTime();
                        logits = model.forward(s, ids[i - 1]);
                        stepNanos[i - 1] = System.nanoTime() - ts;
                        allocSum += allocated(threadBean, engineThreads) - alloc0;
                        gcSum += gcCount() - gc0;
                    }
                    ids[i] = Greedy.argmax(logits, vocab);
                    if (keep != null) System.arraycopy(logits, 0, keep[i], 0, keep[i].length);
                    if (ref != null && diff < 0 && ids[i] != ref.ids[i]) {
                        // margins at the first difference: how much each side preferred its own token
                        diff = i;
                        refMargin = ref.logits[i][ref.ids[i]] - ref.logits[i][ids[i]];
                        margin = logits[ids[i]] - logits[ref.ids[i]];
                    }
                    if (System.nanoTime() - lastReport > 10_000_000_000L) {
                        lastReport = System.nanoTime();
                        progress.accept(String.format(Locale.ROOT, "%s: token %d/%d, last step %.2f s", label, i + 1, n,
                                i > 0 ? stepNanos[i - 1] / 1e9 : prefills[run]));
                    }
                    if (isReference && run == 0 && i == 1) estimate(prefills[0], stepNanos[0] / 1e9, n, all, progress);
                }
                stepsSum += stepNanos.length;
                if (run == 0) {
                    m.ids = ids;
                    m.diffPos = diff;
                    m.refMargin = refMargin;
                    m.margin = margin;
                    m.firstStepS = stepNanos.length > 0 ? stepNanos[0] / 1e9 : 0;
                    if (keep != null) m.reference = new Reference(ids, keep);
                }
                // steady state: every step but the very first decode step of the row (JIT warm-up, reported apart)
                for (int i = run == 0 ? 1 : 0; i < stepNanos.length; i++) steady.add(stepNanos[i] / 1e9);
                if (steady.isEmpty() && stepNanos.length > 0) steady.add(stepNanos[0] / 1e9);
            }
        }
        double[] st = steady.stream().mapToDouble(Double::doubleValue).toArray();
        m.sPerToken = st.length == 0 ? Bench.median(prefills) : Bench.median(st);
        m.minS = st.length == 0 ? m.sPerToken : Arrays.stream(st).min().getAsDouble();
        m.maxS = st.length == 0 ? m.sPerToken : Arrays.stream(st).max().getAsDouble();
        m.spread = st.length == 0 ? 0 : Bench.spread(st);
        m.steadySteps = st.length;
        m.prefillS = Bench.median(prefills);
        m.gcCount = gcSum;
        m.allocPerToken = stepsSum == 0 ? 0 : (double) allocSum / stepsSum;
        m.wallS = (System.nanoTime() - rowStart) / 1e9;
        m.load = (load0 + ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()) / 2;
        return m;
    }

    /** After the baseline's first decode step: how long the whole study will take (slow rows ~ the baseline). */
    private static void estimate(double prefillS, double stepS, int n, List<Variant> all, Consumer<String> progress) {
        double row = prefillS + (n - 1) * stepS;
        long slow = all.stream().filter(v -> v.options().kernels() == Kernels.SCALAR).count();
        progress.accept(String.format(Locale.ROOT,
                "estimate: baseline %.2f s/token, %.0f s per row; %d scalar rows ~ %.1f min in all (SIMD rows are much faster)",
                stepS, row, slow, slow * row / 60));
    }

    /** The calling thread and the engine's worker threads (whose allocations a token costs). */
    private static long[] engineThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t == Thread.currentThread() || t.getName().startsWith("qwen4j-worker"))
                .mapToLong(Thread::threadId).toArray();
    }

    private static long allocated(com.sun.management.ThreadMXBean bean, long[] ids) {
        long sum = 0;
        for (long id : ids) sum += Math.max(0, bean.getThreadAllocatedBytes(id));
        return sum;
    }

    private static long gcCount() {
        long n = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) n += Math.max(0, gc.getCollectionCount());
        return n;
    }

    static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }
}
