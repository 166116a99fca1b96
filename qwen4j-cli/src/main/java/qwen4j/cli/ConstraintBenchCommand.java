package qwen4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import qwen4j.Qwen4jException;
import qwen4j.bench.ConstraintBench;
import qwen4j.bench.SyntheticModel;
import qwen4j.generate.Engine;
import qwen4j.model.Options;
import qwen4j.model.Qwen2Model;
import qwen4j.tensor.Kernels;
import qwen4j.tokenizer.Tokenizer;

@Command(name = "bench-constraint", mixinStandardHelpOptions = true,
        description = {"Measure what structured output costs: JSON Schema compile time and the per-token time of the "
                + "constraint (mask + accept) next to a decode step, unconstrained vs JSON object vs a nested schema, "
                + "on a synthetic model with the real Qwen2.5 vocabulary."})
final class ConstraintBenchCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--synthetic", paramLabel = "SIZE", defaultValue = "0.5b", description = "Model shape: 0.5b, 1.5b, 3b, 7b (default ${DEFAULT-VALUE}).")
    String size;

    @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "bf16", description = "Weight type (default ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--tokenizer", paramLabel = "PATH", description = "Qwen2.5 tokenizer folder (default: $QWEN4J_TOKENIZER, else ../shared/qwen-tokenizer).")
    Path tokenizer;

    @Option(names = {"-n", "--gen-tokens"}, paramLabel = "N", defaultValue = "16", description = "Decode steps per run (default ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = {"-r", "--repetitions"}, paramLabel = "N", defaultValue = "3", description = "Measured runs of each mode, alternating (default ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Worker threads (default: all processors).")
    Integer threads;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (tokens < 1 || runs < 1 || (threads != null && threads < 1)) throw new Qwen4jException("need -n >= 1, -r >= 1, --threads >= 1");
        String type = dtype.toLowerCase(Locale.ROOT);
        if (!SyntheticModel.TYPES.contains(type)) throw new Qwen4jException("--dtype: '" + dtype + "' is not one of " + String.join(", ", SyntheticModel.TYPES));
        SyntheticModel.shape(size);
        Path dir = tokenizer;
        if (dir == null) {
            String env = System.getenv("QWEN4J_TOKENIZER");
            dir = env != null && !env.isBlank() ? Path.of(env) : Path.of("../shared/qwen-tokenizer");
        }
        if (!Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            throw new Qwen4jException(dir + ": no tokenizer.json (give --tokenizer PATH to the Qwen2.5 tokenizer folder)");
        }
        Tokenizer tok = Tokenizer.fromHfFolder(dir);
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        int t = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        if (!json) err.printf("building synthetic Qwen2.5-%s (%s) ...%n", size.toUpperCase(Locale.ROOT), type.toUpperCase(Locale.ROOT));
        try (SyntheticModel sm = new SyntheticModel(size, type, Kernels.SIMD.usable(), false);
             Qwen2Model m = new Qwen2Model(sm.config(), sm.weights(), Options.defaults().withThreads(t), tokens + 16)) {
            int vocabLimit = Engine.vocabLimit(tok, sm.config().vocabSize());
            ConstraintBench.Result r = ConstraintBench.run(m, tok, vocabLimit, new LinkedHashSet<>(sm.config().eosTokenIds()),
                    tokens, runs, line -> { if (!json) err.println("  " + line); });
            if (json) {
                ObjectMapper mapper = new ObjectMapper();
                ObjectNode o = mapper.createObjectNode();
                o.put("model", "synthetic " + size).put("dtype", type).put("threads", t).put("tokens_per_run", tokens).put("runs", runs);
                o.put("trie_ms", r.trieMs()).put("compile_ms", r.compileMs()).put("first_compile_ms", r.coldCompileMs())
                        .put("first_compile_cpu_ms", r.coldCompileCpuMs()).put("cached_compile_ms", r.cachedCompileMs())
                        .put("first_mask_ms", r.firstMaskMs());
                for (String mode : r.stepMs().keySet()) {
                    o.putObject(mode).put("step_ms", ConstraintBench.median(r.stepMs().get(mode)))
                            .put("constraint_ms", ConstraintBench.median(r.constraintMs().get(mode)))
                            .put("constraint_ms_first_run", r.coldConstraintMs().get(mode))
                            .put("overhead", r.overhead(mode));
                }
                out.println(mapper.writeValueAsString(o));
            } else {
                ConstraintBench.describe(r).forEach(out::println);
            }
        }
        return 0;
    }
}
