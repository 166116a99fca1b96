package qwen4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import qwen4j.Qwen4jException;
import qwen4j.bench.LoadBench;
import qwen4j.bench.SyntheticModel;
import qwen4j.format.LoadedModel;
import qwen4j.format.WeightMemory;
import qwen4j.generate.Engine;
import qwen4j.server.OpenAiServer;

@Command(name = "bench-load", mixinStandardHelpOptions = true,
        description = {"Load-test the server in-process on 127.0.0.1: streaming chat requests at temperature 0 with prompts of "
                + "different lengths, first each alone (the reference), then all from concurrent clients.",
                "Every concurrent answer must equal its answer alone, token for token; prints aggregate tokens/s and p50/p99 "
                        + "time to first token and inter-token latency. Exit 70 when an answer differs or is lost."})
final class LoadBenchCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin ModelOptions model;

    @Option(names = "--synthetic", paramLabel = "SIZE",
            description = "Instead of -m: random weights of a real Qwen2.5 shape (0.5b, 1.5b, 3b, 7b) with the Qwen2.5 tokenizer.")
    String synthetic;

    @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "bf16",
            description = "Weight type of the synthetic model (default ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--tokenizer", paramLabel = "PATH",
            description = "With --synthetic: the Qwen2.5 tokenizer folder (default: $QWEN4J_TOKENIZER, else ../shared/qwen-tokenizer).")
    java.nio.file.Path tokenizer;

    @Option(names = "--clients", paramLabel = "N", defaultValue = "16", description = "Concurrent clients (default ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--requests", paramLabel = "N", defaultValue = "64", description = "Requests in all (default ${DEFAULT-VALUE}).")
    int requests;

    @Option(names = "--parallel", paramLabel = "N", defaultValue = "16",
            description = "The server's sequences decoded together (default ${DEFAULT-VALUE}).")
    int parallel;

    @Option(names = {"-n", "--max-tokens"}, paramLabel = "N", defaultValue = "16",
            description = "Tokens each answer may have (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--json", description = "Print one JSON object instead of the report.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (clients < 1) throw new Qwen4jException("--clients must be at least 1, got " + clients);
        if (requests < 1) throw new Qwen4jException("--requests must be at least 1, got " + requests);
        if (parallel < 1) throw new Qwen4jException("--parallel must be at least 1, got " + parallel);
        if (maxTokens < 1) throw new Qwen4jException("--max-tokens must be at least 1, got " + maxTokens);
        if (synthetic != null && model.model != null) throw new Qwen4jException("give -m PATH or --synthetic SIZE, not both");
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        SyntheticModel sm = null;
        String name;
        Engine engine;
        if (synthetic != null) {
            String type = dtype.toLowerCase(Locale.ROOT);
            if (!SyntheticModel.TYPES.contains(type)) {
                throw new Qwen4jException("--dtype: '" + dtype + "' is not one of " + String.join(", ", SyntheticModel.TYPES));
            }
            java.nio.file.Path tok = AblationRun.tokenizerDir(tokenizer);
            err.printf("building synthetic Qwen2.5-%s (%s, random weights: the text is meaningless) ...%n",
                    synthetic.toUpperCase(Locale.ROOT), type.toUpperCase(Locale.ROOT));
            sm = new SyntheticModel(synthetic.toLowerCase(Locale.ROOT), type, model.options().kernels(),
                    model.weights == WeightMemory.HUGE_PAGES);
            engine = Engine.of(LoadedModel.inMemory(sm.config(), sm.weights(), tok, SyntheticModel.weightBytes(sm.config(), sm.dtype())),
                    model.options(), model.ctx);
            name = "synthetic " + synthetic.toUpperCase(Locale.ROOT) + " " + type.toUpperCase(Locale.ROOT);
        } else {
            engine = model.open(err);
            name = ModelOptions.nameOf(model.modelPath());
        }
        try (SyntheticModel weights = sm; Engine e = engine) {
            OpenAiServer.Config config = new OpenAiServer.Config("127.0.0.1", 0, null, parallel, Math.max(64, requests),
                    OpenAiServer.Config.DEFAULT_MAX_BODY, "bench-load");
            LoadBench.Report r = LoadBench.run(e, config, requests, clients, maxTokens, msg -> {
                err.println("bench-load: " + msg);
                err.flush();
            });
            if (json) out.println(toJson(r, name));
            else print(out, r, name);
            out.flush();
            if (!r.ok()) {
                err.printf("qwen4j: error: %d of %d answers differ from the same request alone, %d lost (a bug); first: %s%n",
                        r.differing().size(), r.requests(), r.lost().size(),
                        r.differing().isEmpty() ? r.lost().getFirst() : r.differing().getFirst());
                return Main.INTERNAL_ERROR;
            }
            return 0;
        }
    }

    private void print(PrintWriter out, LoadBench.Report r, String name) {
        LoadBench.Phase a = r.alone(), t = r.together();
        out.printf(Locale.ROOT, "%s: %d streaming requests (up to %d tokens, temperature 0), %d clients, --parallel %d, %d threads%n",
                name, r.requests(), maxTokens, r.clients(), parallel, model.options().threads());
        out.printf(Locale.ROOT, "alone     %4d answers %6d tokens %8.1f s %8.2f tokens/s%n", a.answers(), a.tokens(), a.seconds(),
                a.tokensPerSecond());
        out.printf(Locale.ROOT, "together  %4d answers %6d tokens %8.1f s %8.2f tokens/s (%.2fx alone)%n", t.answers(), t.tokens(),
                t.seconds(), t.tokensPerSecond(), a.tokensPerSecond() > 0 ? t.tokensPerSecond() / a.tokensPerSecond() : 0);
        out.printf(Locale.ROOT, "time to first token  p50 %8.1f ms  p99 %8.1f ms%n", r.timeToFirstToken().p50(), r.timeToFirstToken().p99());
        out.printf(Locale.ROOT, "inter-token latency  p50 %8.1f ms  p99 %8.1f ms%n", r.interToken().p50(), r.interToken().p99());
        out.printf(Locale.ROOT, "equal to alone %d of %d, differing %d, lost %d%n", r.equal(), r.requests(), r.differing().size(),
                r.lost().size());
    }

    private String toJson(LoadBench.Report r, String name) throws Exception {
        ObjectMapper m = new ObjectMapper();
        ObjectNode o = m.createObjectNode();
        o.put("model", name).put("requests", r.requests()).put("clients", r.clients()).put("parallel", parallel)
                .put("max_tokens", maxTokens).put("threads", model.options().threads());
        phase(o.putObject("alone"), r.alone());
        phase(o.putObject("together"), r.together());
        o.putObject("time_to_first_token_ms").put("p50", r.timeToFirstToken().p50()).put("p99", r.timeToFirstToken().p99());
        o.putObject("inter_token_latency_ms").put("p50", r.interToken().p50()).put("p99", r.interToken().p99());
        o.put("equal", r.equal());
        strings(o, "differing", r.differing());
        strings(o, "lost", r.lost());
        return m.writeValueAsString(o);
    }

    private static void phase(ObjectNode o, LoadBench.Phase p) {
        o.put("answers", p.answers()).put("tokens", p.tokens()).put("seconds", p.seconds()).put("tokens_per_s", p.tokensPerSecond());
    }

    private static void strings(ObjectNode o, String field, List<String> list) {
        var a = o.putArray(field);
        list.forEach(a::add);
    }
}
