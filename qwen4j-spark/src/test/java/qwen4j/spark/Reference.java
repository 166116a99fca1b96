package qwen4j.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import qwen4j.generate.Engine;
import qwen4j.generate.Generation;
import qwen4j.generate.Generator;
import qwen4j.generate.Sampler;
import qwen4j.generate.SamplerSettings;
import qwen4j.model.Options;
import qwen4j.model.Session;

/** The outputs the Spark stages must equal: the CLI itself (in-process) and the engine driven as the CLI drives it. */
final class Reference {
    private Reference() {}

    /** {@code qwen4j ARGS} run in-process; its standard output parsed as JSON (fails the test on a non-zero exit). */
    static JsonNode cli(String... args) throws Exception {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int rc = qwen4j.cli.Main.run(new PrintWriter(out), new PrintWriter(err), args);
        if (rc != 0) throw new AssertionError("qwen4j " + String.join(" ", args) + " exited " + rc + ": " + err);
        return new ObjectMapper().readTree(out.toString());
    }

    /** {@code generate --json} on {@code prompt}: ids and text. */
    static JsonNode cliGenerate(Path model, String prompt, int n, List<String> sampling) throws Exception {
        List<String> a = new ArrayList<>(List.of("generate", "-m", model.toString(), "-p", prompt, "-n", "" + n, "--json", "-t", "2"));
        a.addAll(sampling);
        return cli(a.toArray(String[]::new));
    }

    /**
     * {@code generate --batch-file} on {@code prompts} (one line each, with {@code extra(prompt)} fields such as a
     * seed), {@code --parallel 16} as the Spark stage decodes: the result lines by prompt, and what it wrote on stderr.
     */
    static BatchRun cliBatch(Path dir, Path model, List<String> prompts, int n,
                                          Function<String, Map<String, Object>> extra, List<String> sampling) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            Map<String, Object> line = new LinkedHashMap<>(Map.of("id", "" + i, "prompt", prompts.get(i)));
            line.putAll(extra.apply(prompts.get(i)));
            lines.add(json.writeValueAsString(line));
        }
        Path in = Files.write(Files.createTempFile(dir, "batch", ".jsonl"), lines);
        Path out = dir.resolve(in.getFileName() + ".out");
        List<String> a = new ArrayList<>(List.of("generate", "-m", model.toString(), "--batch-file", in.toString(), "-o", out.toString(),
                "-n", "" + n, "-t", "2", "--parallel", "" + BatchedRunner.PARALLEL));
        a.addAll(sampling);
        StringWriter o = new StringWriter(), err = new StringWriter();
        int rc = qwen4j.cli.Main.run(new PrintWriter(o), new PrintWriter(err), a.toArray(String[]::new));
        if (rc != 0) throw new AssertionError("qwen4j " + String.join(" ", a) + " exited " + rc + ": " + err);
        Map<String, JsonNode> byPrompt = new HashMap<>();
        for (String l : Files.readAllLines(out)) {
            JsonNode r = json.readTree(l);
            byPrompt.put(prompts.get(Integer.parseInt(r.get("id").asText())), r);
        }
        if (byPrompt.size() != prompts.size()) throw new AssertionError(out + ": " + byPrompt.size() + " results for " + prompts.size() + " prompts");
        return new BatchRun(byPrompt, err.toString());
    }

    record BatchRun(Map<String, JsonNode> byPrompt, String stderr) {}

    static int[] ids(JsonNode array) {
        int[] r = new int[array.size()];
        for (int i = 0; i < r.length; i++) r[i] = array.get(i).asInt();
        return r;
    }

    /** As GenerateCommand does for a plain prompt: encode with special tokens parsed, a fresh session, the sampler. */
    static Generation generate(Engine e, String prompt, SamplerSettings settings, int n) {
        int[] ids = e.tokenizer().encode(prompt, true);
        Session s = e.newSession();
        Sampler sampler = new Sampler(settings.validate(), e.vocabLimit(), s.capacity());
        return e.generator().generate(s, ids, sampler, new Generator.Params(n, List.of(), null), piece -> {});
    }

    static Engine open(Path model) {
        return Engine.open(model, Options.defaults().withThreads(2), 4096);
    }
}
