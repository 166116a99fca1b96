package qwen4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import qwen4j.model.Qwen2Config;

/**
 * The ablation's report: Markdown (configuration, results, insights computed from the numbers),
 * its JSON twin, and a PNG bar chart of the speedups. Nothing in the insights is written in
 * advance: each sentence is chosen and filled in from the measured rows.
 */
public final class AblationReport {
    /** First-token latency of one launch of the same command, with or without the AOT cache. */
    public record Launch(String label, boolean aot, double firstTokenMs, double warmupMsPerToken, double steadyMsPerToken,
                         double wallS) {}

    private final Map<String, Object> config;
    private final Ablation.Result result;
    private final Qwen2Config model;
    private final List<Launch> launches;
    private final double bandwidthGbS;

    /**
     * @param config       the test configuration (machine, JDK, model, dtype, ...), shown as given
     * @param bandwidthGbS the machine's measured read bandwidth (all threads), for the memory-bound floor
     * @param launches     the AOT warm-up comparison (may be empty)
     */
    public AblationReport(Map<String, Object> config, Ablation.Result result, Qwen2Config model, double bandwidthGbS,
                          List<Launch> launches) {
        this.config = config;
        this.result = result;
        this.model = model;
        this.bandwidthGbS = bandwidthGbS;
        this.launches = launches;
    }

    private List<Ablation.Row> rows() { return result.rows(); }

    private Ablation.Row baseline() { return rows().get(0); }

    private Ablation.Row row(String name) {
        return rows().stream().filter(r -> r.variant().name().equals(name)).findFirst().orElse(null);
    }

    // ---------------------------------------------------------------- insights

    /** Sentences computed from the rows. */
    public List<String> insights() {
        List<String> out = new ArrayList<>();
        Ablation.Row base = baseline();
        List<Ablation.Row> singles = rows().stream()
                .filter(r -> r != base && !r.variant().name().startsWith("All combined")
                        && !r.variant().name().equals(Ablation.REPEAT)).toList();
        Ablation.Row best = singles.stream().max((a, b) -> Double.compare(a.speedup(), b.speedup())).orElse(null);
        if (best != null) {
            out.add(String.format(Locale.ROOT, "The largest single gain is **%s**: %.2fx (%.3f -> %.3f s/token).",
                    best.variant().name(), best.speedup(), base.sPerToken(), best.sPerToken()));
        }
        long weightElems = weightElements();
        for (Ablation.Row r : rows()) {
            if (!r.variant().name().startsWith("All combined")) continue;
            double gbs = r.weightBytesPerToken() / r.sPerToken() / 1e9;
            double floor = r.weightBytesPerToken() / (bandwidthGbS * 1e9);
            out.add(String.format(Locale.ROOT,
                    "**%s**: %.2fx the baseline per token (%.3f s/token) — %s the 15x target. It streams %.2f GB of "
                            + "weights per token at %.1f GB/s, %.0f%% of the machine's measured read bandwidth (%.1f GB/s); "
                            + "at that bandwidth a token cannot take less than %.3f s, so the most any engine could reach "
                            + "here with these weights is %.1fx over this baseline.",
                    r.variant().name(), r.speedup(), r.sPerToken(), r.speedup() >= 15 ? "meets" : "misses",
                    r.weightBytesPerToken() / 1e9, gbs, 100 * gbs / bandwidthGbS, bandwidthGbS, floor,
                    base.sPerToken() / floor));
        }
        double baseGflops = 2.0 * weightElems / base.sPerToken() / 1e9;
        double baseGbs = base.weightBytesPerToken() / base.sPerToken() / 1e9;
        out.add(String.format(Locale.ROOT,
                "The baseline computes %.2f GFLOP/s (2 flops per weight, %.3f G weights per token) on one core with plain "
                        + "loops and reads its weights at %.2f GB/s, %.0f%% of the machine's bandwidth: it is %s, which is "
                        + "why SIMD kernels and threads are the gains that can count, and switches that touch only "
                        + "attention or RoPE barely move it.",
                baseGflops, weightElems / 1e9, baseGbs, 100 * baseGbs / bandwidthGbS,
                baseGbs < 0.5 * bandwidthGbS ? "compute-bound" : "close to memory-bound"));

        // RoPE and mask: same math, so the question is only time and identity
        for (String name : List.of("+RoPE table", "+RoPE complex", "+implicit mask")) {
            Ablation.Row r = row(name);
            if (r == null) continue;
            out.add(String.format(Locale.ROOT, "%s changes the time per token by %+.1f%% (%s) and gives %s tokens.",
                    name, 100 * (r.sPerToken() / base.sPerToken() - 1),
                    noise(r) ? "within the run-to-run spread" : "beyond the spread",
                    r.identical() ? "identical" : "different (see status)"));
        }
        double ropeShare = ropeFlops() / (2.0 * weightElems);
        out.add(String.format(Locale.ROOT,
                "RoPE rotates %d floats per token (q and k of every layer), about %.4f%% of the multiply-adds of the "
                        + "weight products: no way of computing its angles can change the time per token measurably.",
                (long) model.numLayers() * (model.numHeads() + model.numKvHeads()) * model.headDim(), 100 * ropeShare));
        int ctx = result.promptIds().length + genTokens() + 1;
        double avgPos = result.promptIds().length + (genTokens() - 1) / 2.0;
        double attnImplicit = attentionFlops(avgPos + 1), attnFull = attentionFlops(ctx);
        out.add(String.format(Locale.ROOT,
                "Attention at this context (%d slots, the generated tokens at positions %d..%d) is %.3f%% of a decode "
                        + "step's flops with the implicit mask and %.3f%% when every slot is scored against the explicit "
                        + "mask: the mask, attention precision and KV cache rows can only move the time by about that much; "
                        + "at long contexts (thousands of tokens) they matter more.",
                ctx, result.promptIds().length, ctx - 2, 100 * attnImplicit / (2.0 * weightElems),
                100 * attnFull / (2.0 * weightElems)));

        Ablation.Row again = row(Ablation.REPEAT);
        if (again != null) {
            out.add(String.format(Locale.ROOT,
                    "Control: the baseline measured again after the other float rows took %.3f s/token (fastest step %.3f) "
                            + "against %.3f (fastest %.3f) at the start: a drift of %+.1f%% with nothing changed. Speedups "
                            + "closer to 1 than that are noise.",
                    again.sPerToken(), again.minS(), base.sPerToken(), base.minS(),
                    100 * (again.sPerToken() / base.sPerToken() - 1)));
        }

        // rows whose switch touches only RoPE, attention, the KV cache or the prompt: bound their effect by physics
        double maxDev = 0;
        String maxName = null;
        for (Ablation.Row r : singles) {
            String ch = r.variant().changed();
            if (ch.startsWith("rope") || ch.startsWith("mask") || ch.startsWith("attention") || ch.startsWith("kv_cache")
                    || ch.startsWith("prompt")) {
                double dev = Math.abs(r.sPerToken() / base.sPerToken() - 1);
                if (dev > maxDev) {
                    maxDev = dev;
                    maxName = r.variant().name();
                }
            }
        }
        if (maxName != null) {
            out.add(String.format(Locale.ROOT,
                    "The RoPE, mask, attention-precision, KV-cache and prefill rows run exactly the baseline's weight "
                            + "products; the work they change is at most %.3f%% of a decode step (above), yet they differ "
                            + "from the baseline by up to %.1f%% (%s): the difference beyond that share is measurement "
                            + "noise (this machine is shared; steady-state spreads are in the table).",
                    100 * (attnFull + ropeFlops()) / (2.0 * weightElems), 100 * maxDev, maxName));
        }

        // every row not faster than the baseline gets its reason
        for (Ablation.Row r : singles) {
            if (r.speedup() > 1.0 && !noise(r)) continue;
            out.add(String.format(Locale.ROOT, "**%s** is %.3fx (%s; %.3fx by the fastest steps): %s", r.variant().name(),
                    r.speedup(), noise(r) ? "within the spread of the measurement" : "slower", minSpeedup(r), why(r)));
        }
        Ablation.Row batched = row("+batched prefill");
        if (batched != null) {
            out.add(String.format(Locale.ROOT,
                    "Batched prefill is a prompt optimization: the %d prompt tokens take %.3f s instead of %.3f s (%.2fx), "
                            + "while decode, one token at a time, is the same code.",
                    result.promptIds().length, batched.prefillS(), base.prefillS(), batched.prefillSpeedup()));
        }

        // identity
        List<String> differ = new ArrayList<>();
        for (Ablation.Row r : rows()) {
            if (r.identical()) continue;
            Ablation.FirstDiff d = r.firstDiff();
            differ.add(String.format(Locale.ROOT, "%s at token %d (margins %.3f / %.3f)", r.variant().name(), d.position(),
                    d.refMargin(), d.margin()));
        }
        out.add(differ.isEmpty()
                ? "Every row generates exactly the baseline's tokens."
                : String.format(Locale.ROOT, "%d of %d rows generate the baseline's tokens; the others differ: %s. A small "
                        + "margin means a near-tie that any change of rounding can flip: the weights are random, so "
                        + "near-ties are common and neither side is more right.",
                rows().size() - differ.size(), rows().size(), String.join("; ", differ)));

        // load on the machine
        int cores = Runtime.getRuntime().availableProcessors();
        List<String> loaded = rows().stream().filter(r -> r.loadAverage() > cores)
                .map(r -> String.format(Locale.ROOT, "%s (%.1f)", r.variant().name(), r.loadAverage())).toList();
        if (!loaded.isEmpty()) {
            out.add(String.format(Locale.ROOT, "%d of %d rows ran while the load average exceeded the %d cores, i.e. with "
                    + "other processes competing for the CPU: %s. Their times are inflated by an unknown amount; compare "
                    + "rows with similar load.", loaded.size(), rows().size(), cores, String.join(", ", loaded)));
        }

        // GC and allocation
        long gcs = rows().stream().mapToLong(Ablation.Row::gcCount).sum();
        List<String> allocating = rows().stream().filter(r -> r.allocBytesPerToken() > 0)
                .map(r -> String.format(Locale.ROOT, "%s %s", r.variant().name(), bytes((long) r.allocBytesPerToken()))).toList();
        out.add(String.format(Locale.ROOT,
                "GC: %d collections during all decode steps of all rows. Bytes allocated per decode step: %s. Once C2 has "
                        + "compiled the kernels the decode loop allocates nothing (ZeroAllocationTest, with SIMD kernels and "
                        + "2 threads); in a short run the Vector API kernels' first steps still run uncompiled, and that "
                        + "allocates.",
                gcs, allocating.isEmpty() ? "0 in every row" : "0 except " + String.join(", ", allocating)));

        // warm-up
        double ratio = base.firstStepS() / base.sPerToken();
        out.add(String.format(Locale.ROOT,
                "JIT warm-up: the baseline's first decode step took %.3f s vs %.3f s steady (%.2fx); the SIMD row's "
                        + "first step %.4f s vs %.4f s steady.",
                base.firstStepS(), base.sPerToken(), ratio,
                row("+SIMD kernels") == null ? 0 : row("+SIMD kernels").firstStepS(),
                row("+SIMD kernels") == null ? 0 : row("+SIMD kernels").sPerToken()));
        if (launches.size() == 2) {
            Launch a = launches.stream().filter(Launch::aot).findFirst().orElse(null);
            Launch b = launches.stream().filter(l -> !l.aot()).findFirst().orElse(null);
            if (a != null && b != null) {
                out.add(String.format(Locale.ROOT,
                        "AOT cache: first token after %.0f ms with it vs %.0f ms without (%.2fx faster start); decode "
                                + "during the warm-up run %.1f vs %.1f ms/token; steady state %.1f vs %.1f ms/token.",
                        a.firstTokenMs(), b.firstTokenMs(), b.firstTokenMs() / a.firstTokenMs(), a.warmupMsPerToken(),
                        b.warmupMsPerToken(), a.steadyMsPerToken(), b.steadyMsPerToken()));
            }
        }
        out.add("The weights are random (a synthetic model or a fixture): the generated text is meaningless; it is shown "
                + "only to compare rows with each other.");
        return out;
    }

    /** Whether a row's difference from the baseline is within the measurement's spread. */
    private boolean noise(Ablation.Row r) {
        double spread = Math.max(r.spread(), baseline().spread());
        return Math.abs(r.speedup() - 1) <= spread / 2;
    }

    /** Why a row is not faster, from what its switch does (quantities from the model's shape). */
    private String why(Ablation.Row r) {
        String s = r.variant().changed();
        if (s.startsWith("rope complex")) {
            return "the complex rotation reads a (re, im) pair per element, the same multiply-adds as the table; "
                    + "it does the same work, and RoPE is a negligible share of a token anyway (above).";
        }
        if (s.startsWith("rope table")) return "RoPE is a negligible share of a token (above): the saved sin/cos calls do not show.";
        if (s.startsWith("mask")) {
            return "the implicit mask skips the scores of future slots, but at this short context attention is a tiny share "
                    + "of a token (above).";
        }
        if (s.startsWith("prompt")) {
            return "batching speeds up the prompt, not decode: decode runs one token at a time in both rows "
                    + "(compare the prefill column).";
        }
        if (s.startsWith("attention bf16")) {
            return "Java has no bf16 arithmetic, so bf16 attention is float32 attention plus a rounding of every score and "
                    + "probability: more work, never less, and the rounding changes the logits.";
        }
        if (s.startsWith("kv_cache")) {
            return String.format(Locale.ROOT, "the 16-bit cache halves the cache memory (%s -> %s here) and the bytes "
                    + "attention reads, but each element is converted on every read, and at this context the cache is read "
                    + "%s per token against %s of weights: there is nothing to gain at short contexts.",
                    bytes(baseline().kvCacheBytes()), bytes(r.kvCacheBytes()),
                    bytes((long) kvBytesReadPerToken(baseline())), bytes(baseline().weightBytesPerToken()));
        }
        if (s.startsWith("threads")) {
            return String.format(Locale.ROOT, "%s threads split every product, so the ideal is %sx; a measurement below "
                    + "1x means the cores were not free (other work on the machine: see the spread), since the "
                    + "arithmetic per thread only shrinks.", r.switches().get("threads"), r.switches().get("threads"));
        }
        if (s.startsWith("weights")) {
            return "the scalar kernels compute in float32 whatever the stored type: quantized weights save memory "
                    + "bandwidth, which a compute-bound single scalar thread does not use up, and each block costs a "
                    + "scale multiply.";
        }
        if (s.startsWith("kernels")) {
            return "until C2 has compiled the Vector API kernels they run interpreted, allocating a vector object per "
                    + "operation (see the allocation column), and this short run may end before that; on a shared machine "
                    + "see also the spread.";
        }
        return "see the numbers.";
    }

    static String bytes(long b) {
        if (b >= 1e9) return String.format(Locale.ROOT, "%.2f GB", b / 1e9);
        if (b >= 1e6) return String.format(Locale.ROOT, "%.2f MB", b / 1e6);
        if (b >= 1e3) return String.format(Locale.ROOT, "%.1f KB", b / 1e3);
        return b + " B";
    }

    private int genTokens() {
        return rows().get(0).ids().length;
    }

    private long weightElements() {
        long h = model.hiddenSize(), kv = model.kvDim(), f = model.intermediateSize(), v = model.vocabSize();
        return model.numLayers() * (2 * h * h + 2 * h * kv + 3 * h * f) + v * h;
    }

    private double ropeFlops() {
        return (double) model.numLayers() * (model.numHeads() + model.numKvHeads()) * model.headDim() * 3;
    }

    /** Flops of attention for one token over len cached slots: q.k and the weighted sum of v, every head and layer. */
    private double attentionFlops(double len) {
        return (double) model.numLayers() * model.numHeads() * model.headDim() * len * 4;
    }

    private double kvBytesReadPerToken(Ablation.Row r) {
        double avgLen = result.promptIds().length + (genTokens() - 1) / 2.0 + 1;
        double perSlot = (double) r.kvCacheBytes() / (result.promptIds().length + genTokens() + 1);
        return perSlot * avgLen;
    }

    // ---------------------------------------------------------------- Markdown

    public String markdown(String chartFileName, String jsonFileName) {
        StringBuilder md = new StringBuilder();
        md.append("# qwen4j optimization study (`bench --ablation`)\n\n");
        md.append("Each optimization of the one engine switched on alone over the simplest configuration, then all "
                + "together; the same greedy generation in every row. Generated by `").append(config.getOrDefault("command", "bin/qwen4j bench --ablation"))
                .append("`.\n\n");
        md.append("## Test configuration\n\n| | |\n|---|---|\n");
        for (Map.Entry<String, Object> e : config.entrySet()) {
            if (e.getKey().equals("command")) continue;
            md.append("| ").append(e.getKey()).append(" | ").append(cell(String.valueOf(e.getValue()))).append(" |\n");
        }
        md.append("\n## Results\n\n");
        md.append("Time per token: median of the decode steps of the row, the first decode step left out (it carries the "
                + "JIT's warm-up, shown apart), with the range (min..max) and spread (max - min) / median. Prefill: the "
                + "whole prompt. Speedup: baseline s/token / row s/token (medians); "
                + "speedup (fastest steps): the same with each row's fastest steady step, the step least disturbed by other "
                + "processes (noise only ever adds time). Status: identical token ids to the baseline "
                + "(the float32 reference), or the first generated token that differs, with the two logit margins there "
                + "(reference: logit(its token) - logit(row's token) in the baseline's logits; row: the same in the row's "
                + "own logits). GC and allocation: over the decode steps, on the calling thread and the worker threads. Load: the "
                + "system's 1-minute load average during the row (above the number of cores, other processes were "
                + "competing for the CPU: the machine is shared).\n\n");
        md.append("| # | Row | s/token (median) | range | spread | prefill s | first step s | speedup | speedup (fastest steps) | status | GC | alloc B/token | load |\n");
        md.append("|---|---|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|\n");
        int i = 1;
        for (Ablation.Row r : rows()) {
            md.append(String.format(Locale.ROOT, "| %d | %s | %.4f | %.4f..%.4f | %.0f%% | %.3f | %.4f | **%.2fx** | %.2fx | %s | %d | %.0f | %.1f |\n",
                    i++, r.variant().name(), r.sPerToken(), r.minS(), r.maxS(), 100 * r.spread(), r.prefillS(),
                    r.firstStepS(), r.speedup(), minSpeedup(r), status(r), r.gcCount(), r.allocBytesPerToken(),
                    r.loadAverage()));
        }
        if (chartFileName != null) md.append("\n![speedups](").append(chartFileName).append(")\n");
        md.append("\n### Switches and generated text\n\n| # | Row | switches | text |\n|---|---|---|---|\n");
        i = 1;
        for (Ablation.Row r : rows()) {
            md.append("| ").append(i++).append(" | ").append(r.variant().name()).append(" | ")
                    .append(cell(r.switches().toString().replaceAll("[{}]", ""))).append(" | `")
                    .append(cell(r.text()).replace("`", "'")).append("` |\n");
        }
        if (!launches.isEmpty()) {
            md.append("\n### JIT warm-up and the AOT cache\n\nThe same command launched twice in fresh JVMs, with and "
                    + "without the JDK 25 AOT cache that `bin/qwen4j` records (`QWEN4J_AOT=0` turns it off): `")
                    .append(config.getOrDefault("aot_probe_command", "")).append("`.\n\n");
            md.append("| launch | first token ms (warm-up run: prefill + first decode step) | warm-up run decode ms/token | steady ms/token (measured run) | process wall s |\n|---|---:|---:|---:|---:|\n");
            for (Launch l : launches) {
                md.append(String.format(Locale.ROOT, "| %s | %.1f | %.2f | %.2f | %.1f |\n", l.label(), l.firstTokenMs(),
                        l.warmupMsPerToken(), l.steadyMsPerToken(), l.wallS()));
            }
        }
        md.append("\n## Key insights\n\n");
        for (String s : insights()) md.append("- ").append(s).append('\n');
        md.append(String.format(Locale.ROOT, "\nThe whole study took %.1f min.", result.totalWallS() / 60));
        if (jsonFileName != null) md.append(" Machine-readable: [").append(jsonFileName).append("](").append(jsonFileName).append(").");
        md.append('\n');
        return md.toString();
    }

    /** Baseline's fastest steady step / the row's: the speedup least affected by other processes on the machine. */
    private double minSpeedup(Ablation.Row r) {
        return baseline().minS() / r.minS();
    }

    private static String status(Ablation.Row r) {
        if (r.identical()) return "identical";
        Ablation.FirstDiff d = r.firstDiff();
        return String.format(Locale.ROOT, "differs at token %d: %s vs %s (margins ref %.3f, row %.3f)", d.position(),
                cell(quote(d.refPiece())), cell(quote(d.piece())), d.refMargin(), d.margin());
    }

    private static String quote(String piece) {
        return "'" + piece.replace("\n", "\\n").replace("`", "'") + "'";
    }

    private static String cell(String s) {
        return s.replace("|", "\\|").replace("\n", "\\n").replace("\r", "\\r");
    }

    // ---------------------------------------------------------------- JSON

    public String json() {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode();
        ObjectNode cfg = root.putObject("config");
        config.forEach((k, v) -> cfg.set(k, mapper.valueToTree(v)));
        ArrayNode pids = cfg.putArray("prompt_ids");
        for (int id : result.promptIds()) pids.add(id);
        ArrayNode rows = root.putArray("rows");
        for (Ablation.Row r : rows()) {
            ObjectNode o = rows.addObject();
            o.put("name", r.variant().name());
            o.set("switches", mapper.valueToTree(r.switches()));
            o.put("s_per_token", r.sPerToken());
            o.put("s_per_token_min", r.minS());
            o.put("s_per_token_max", r.maxS());
            o.put("spread", r.spread());
            o.put("steady_steps", r.steadySteps());
            o.put("prefill_s", r.prefillS());
            o.put("first_step_s", r.firstStepS());
            o.put("speedup", r.speedup());
            o.put("speedup_fastest_steps", minSpeedup(r));
            o.put("prefill_speedup", r.prefillSpeedup());
            o.put("text", r.text());
            ArrayNode ids = o.putArray("ids");
            for (int id : r.ids()) ids.add(id);
            o.put("identical", r.identical());
            if (r.firstDiff() == null) {
                o.putNull("first_diff");
            } else {
                Ablation.FirstDiff d = r.firstDiff();
                ObjectNode f = o.putObject("first_diff");
                f.put("position", d.position());
                f.put("ref_id", d.refId());
                f.put("id", d.id());
                f.put("ref_piece", d.refPiece());
                f.put("piece", d.piece());
                f.put("ref_margin", d.refMargin());
                f.put("margin", d.margin());
            }
            o.put("gc_count", r.gcCount());
            o.put("alloc_bytes_per_token", r.allocBytesPerToken());
            o.put("weight_bytes_per_token", r.weightBytesPerToken());
            o.put("kv_cache_bytes", r.kvCacheBytes());
            o.put("wall_s", r.wallS());
            o.put("load_average", r.loadAverage());
        }
        ArrayNode l = root.putArray("aot_warmup");
        for (Launch x : launches) l.add(mapper.valueToTree(x));
        ArrayNode ins = root.putArray("insights");
        for (String s : insights()) ins.add(s);
        root.put("total_wall_s", result.totalWallS());
        try {
            return mapper.writeValueAsString(root);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    // ---------------------------------------------------------------- chart

    /** A bar chart of every row's speedup over the baseline (PNG). */
    public void chart(Path png) throws IOException {
        System.setProperty("java.awt.headless", "true");
        var chart = new org.knowm.xchart.CategoryChartBuilder().width(1100).height(620)
                .title("qwen4j: decode speedup over the scalar single-thread baseline")
                .xAxisTitle("").yAxisTitle("speedup (x)").build();
        List<String> names = rows().stream().map(r -> r.variant().name()).toList();
        List<Double> speedups = rows().stream().map(Ablation.Row::speedup).toList();
        chart.addSeries("speedup", names, speedups);
        chart.getStyler().setLegendVisible(false);
        chart.getStyler().setXAxisLabelRotation(35);
        chart.getStyler().setLabelsVisible(true);
        chart.getStyler().setYAxisDecimalPattern("0.0");
        chart.getStyler().setLabelsPosition(0.95);
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        Path parent = png.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        String name = png.toString();
        String base = name.toLowerCase(Locale.ROOT).endsWith(".png") ? name.substring(0, name.length() - 4) : name;
        org.knowm.xchart.BitmapEncoder.saveBitmap(chart, base, org.knowm.xchart.BitmapEncoder.BitmapFormat.PNG);
    }
}
