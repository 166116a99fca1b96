package qwen4j.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import qwen4j.generate.Greedy;
import qwen4j.generate.constraint.CompiledConstraint;
import qwen4j.generate.constraint.Constraint;
import qwen4j.generate.constraint.Constraints;
import qwen4j.model.Qwen2Model;
import qwen4j.model.Session;
import qwen4j.tokenizer.Tokenizer;

/**
 * What a constraint costs: schema compile time (first and cached), and per decode step the time spent in the
 * constraint (mask + accept) next to a whole step, for unconstrained, JSON-object and nested-schema decoding
 * run alternately on the same model, so load on the machine hits all three alike.
 */
public final class ConstraintBench {
    /** Ten properties, one of them an array of objects: the "typical schema" of the issue. */
    public static final String TYPICAL_SCHEMA = """
            {"type":"object","properties":{
              "id":{"type":"integer"},"name":{"type":"string","maxLength":32},"email":{"type":"string"},
              "age":{"type":"integer"},"score":{"type":"number"},"active":{"type":"boolean"},
              "role":{"enum":["admin","user","guest"]},"country":{"type":"string","pattern":"^[A-Z]{2}$"},
              "tags":{"type":"array","items":{"type":"string","maxLength":12},"maxItems":5},
              "orders":{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string"},
                 "qty":{"type":"integer"}},"required":["sku","qty"],"additionalProperties":false}}},
             "required":["id","name","email","age","score","active","role","country","tags","orders"],
             "additionalProperties":false}""";

    private ConstraintBench() {}

    /** Medians over the runs, in milliseconds per token (decode) or per compile. */
    public record Result(double trieMs, double coldCompileMs, double coldCompileCpuMs, double compileMs, double cachedCompileMs, double firstMaskMs,
                         Map<String, double[]> stepMs, Map<String, double[]> constraintMs, Map<String, Double> coldConstraintMs,
                         int tokensPerRun, int runs) {
        /** Median constraint time as a fraction of the median unconstrained step. */
        public double overhead(String mode) {
            return median(constraintMs.get(mode)) / median(stepMs.get("none"));
        }
    }

    public static Result run(Qwen2Model model, Tokenizer tok, int vocabLimit, Set<Integer> eos, int tokens, int runs,
                             Consumer<String> log) {
        long t0 = System.nanoTime();
        Constraints.prepare(tok, vocabLimit);
        double trieMs = (System.nanoTime() - t0) / 1e6;
        // a schema differing by a title each call: a real compile, not a cache hit; the first one is the first
        // constraint compiled in this JVM (cold JIT, classes not yet loaded), as a server's first request sees it
        double coldCompileMs = 0, coldCompileCpuMs = 0;
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        double[] compiles = new double[5];
        CompiledConstraint schema = null;
        CompiledConstraint json = null;
        String last = null;
        for (int i = -1; i < compiles.length; i++) {
            if (i == 0) json = Constraints.jsonObject(tok, vocabLimit, eos);
            String fresh = TYPICAL_SCHEMA.replaceFirst("\\{", "{\"title\":\"bench " + System.nanoTime() + "\",");
            long cpu0 = threads.getCurrentThreadCpuTime();
            t0 = System.nanoTime();
            schema = Constraints.jsonSchema(fresh, true, tok, vocabLimit, eos);
            last = fresh;
            double ms = (System.nanoTime() - t0) / 1e6;
            if (i < 0) {
                coldCompileMs = ms;
                coldCompileCpuMs = (threads.getCurrentThreadCpuTime() - cpu0) / 1e6; // this thread's CPU: less noisy under load
            }
            else compiles[i] = ms;
        }
        double compileMs = median(compiles);
        t0 = System.nanoTime();
        Constraints.jsonSchema(last, true, tok, vocabLimit, eos);
        double cachedMs = (System.nanoTime() - t0) / 1e6;
        t0 = System.nanoTime();
        schema.newSequence().mask(new float[model.config().vocabSize()]);
        double firstMaskMs = (System.nanoTime() - t0) / 1e6;
        log.accept(String.format("vocabulary trie %.0f ms; typical schema compile %.2f ms (first in the JVM %.2f), cached %.3f ms, first mask %.1f ms",
                trieMs, compileMs, coldCompileMs, cachedMs, firstMaskMs));

        Map<String, CompiledConstraint> modes = new LinkedHashMap<>();
        modes.put("none", null);
        modes.put("json_object", json);
        modes.put("schema", schema);
        Map<String, double[]> step = new LinkedHashMap<>(), cons = new LinkedHashMap<>();
        Map<String, Double> cold = new LinkedHashMap<>();
        for (String m : modes.keySet()) {
            step.put(m, new double[runs]);
            cons.put(m, new double[runs]);
        }
        int[] prompt = tok.encode("The answer is");
        Session s = model.newSession(prompt.length + tokens + 1);
        for (int r = -1; r < runs; r++) { // run -1 warms up
            for (Map.Entry<String, CompiledConstraint> e : modes.entrySet()) {
                long[] t = decode(model, s, prompt, e.getValue(), vocabLimit, eos, tokens);
                if (r < 0) cold.put(e.getKey(), t[1] / 1e6 / tokens); // first time through: masks not cached yet
                if (r >= 0) {
                    step.get(e.getKey())[r] = t[0] / 1e6 / tokens;
                    cons.get(e.getKey())[r] = t[1] / 1e6 / tokens;
                }
            }
            if (r >= 0) log.accept(String.format("run %d: step ms none %.1f, json_object %.1f, schema %.1f", r + 1,
                    step.get("none")[r], step.get("json_object")[r], step.get("schema")[r]));
        }
        return new Result(trieMs, coldCompileMs, coldCompileCpuMs, compileMs, cachedMs, firstMaskMs, step, cons, cold, tokens, runs);
    }

    /** Greedy decode of {@code tokens} steps; returns {total ns, ns inside the constraint}. */
    private static long[] decode(Qwen2Model model, Session s, int[] prompt, CompiledConstraint c, int vocabLimit,
                                 Set<Integer> eos, int tokens) {
        s.truncate(0);
        float[] logits = model.prefill(s, prompt);
        Constraint k = c == null ? null : c.newSequence();
        long total = 0, inside = 0;
        for (int i = 0; i < tokens; i++) {
            long a = System.nanoTime();
            if (k != null) k.mask(logits);
            long b = System.nanoTime();
            int next = Greedy.argmax(logits, vocabLimit);
            long d = System.nanoTime();
            if (k != null) {
                if (eos.contains(next)) k = c.newSequence(); // complete: keep decoding into a new value
                else k.accept(next);
            }
            long f = System.nanoTime();
            logits = model.forward(s, next);
            long g = System.nanoTime();
            total += g - a;
            inside += (b - a) + (f - d);
        }
        return new long[] {total, inside};
    }

    public static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }

    /** Lines for the report. */
    public static List<String> describe(Result r) {
        List<String> out = new ArrayList<>();
        out.add(String.format("compile (10 properties, nested array): %.2f ms (median of 5 new schemas; the first in this JVM: %.2f ms,"
                + " %.2f ms of its thread's CPU), %.3f ms cached; vocabulary trie %.0f ms once per tokenizer", r.compileMs(),
                r.coldCompileMs(), r.coldCompileCpuMs(),
                r.cachedCompileMs(), r.trieMs()));
        for (String m : r.stepMs().keySet()) {
            out.add(String.format("%-12s step %.2f ms/token (median of %d runs x %d tokens), in the constraint %.3f ms/token"
                            + " = %.2f%% of an unconstrained step (first run, masks not yet cached: %.3f ms/token)",
                    m, median(r.stepMs().get(m)), r.runs(), r.tokensPerRun(), median(r.constraintMs().get(m)),
                    100 * r.overhead(m), r.coldConstraintMs().get(m)));
        }
        return out;
    }
}
