package qwen4j.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import qwen4j.Fixtures;
import qwen4j.Qwen4jException;
import qwen4j.generate.Engine;
import qwen4j.generate.Generation;
import qwen4j.generate.SamplerSettings;

/**
 * Qwen4jGenerate in local[2] against the CLI's generate on the same prompts and settings, token for
 * token. N = 500 prompts (greedy, and seeded sampling), each row compared with three references:
 * <ul>
 *   <li>all N against {@code generate --batch-file} (the CLI in-process, one run per setting): text,
 *       completion and prompt token counts, finish reason;</li>
 *   <li>every SAMPLE_EVERY-th prompt against the engine driven one prompt at a time as GenerateCommand
 *       drives it (a fresh session, single-sequence kernels, no batching): the token ids;</li>
 *   <li>CLI_N of those against {@code generate --json} itself (the CLI in-process, one run each): the ids.</li>
 * </ul>
 * A single-prompt run for every one of the 500 would dominate the module's test time; the batch-file
 * run covers all rows, the single-prompt sample shows that batching changes no token.
 */
class Qwen4jGenerateTest {
    static final int N = 500, SAMPLE_EVERY = 10, CLI_N = 3, MAX_TOKENS = 12;
    static Path model;
    static Engine reference;
    static SparkSession spark;

    @BeforeAll
    static void setUp() {
        model = Fixtures.tiny().resolve("tiny-BF16.gguf");
        reference = Reference.open(model);
        spark = SparkTests.local();
    }

    @AfterAll
    static void tearDown() {
        if (reference != null) reference.close();
    }

    static final String[] WORDS = {"river", "seven", "quiet", "engine", "blue", "answer", "market", "winter",
            "because", "the", "number", "light", "fox", "garden", "why", "code", "和", "über", "42", "!"};

    static List<String> prompts(int n) {
        List<String> out = new ArrayList<>();
        java.util.Random r = new java.util.Random(21);
        for (int i = 0; i < n; i++) {
            StringBuilder b = new StringBuilder("Item " + i + ":");
            for (int k = 0, len = 1 + r.nextInt(12); k < len; k++) b.append(' ').append(WORDS[r.nextInt(WORDS.length)]);
            out.add(b.toString());
        }
        return out;
    }

    static Dataset<Row> promptFrame(List<String> prompts, int partitions) {
        return spark.createDataset(prompts, Encoders.STRING()).toDF("prompt").repartition(partitions);
    }

    static Map<String, Row> byPrompt(Dataset<Row> out) {
        Map<String, Row> m = new HashMap<>();
        for (Row r : out.collectAsList()) assertThat(m.put(r.getAs("prompt"), r)).as("one output row per prompt").isNull();
        return m;
    }

    static int[] ids(Row r) {
        List<Integer> l = r.getList(r.fieldIndex("completion_ids"));
        return l.stream().mapToInt(Integer::intValue).toArray();
    }

    static void assertSame(Row row, Generation g) {
        assertThat(row.<String>getAs("completion_error")).isNull();
        assertThat(ids(row)).as("ids of %s", (Object) row.getAs("prompt")).containsExactly(g.ids());
        assertThat(row.<String>getAs("completion")).isEqualTo(g.text());
        assertThat(row.<Integer>getAs("completion_prompt_tokens")).isEqualTo(g.promptIds().length);
        assertThat(row.<Integer>getAs("completion_completion_tokens")).isEqualTo(g.ids().length);
        assertThat(row.<String>getAs("completion_finish_reason")).isEqualTo(g.stopReason());
    }

    static void assertSameAsCli(Row row, JsonNode cli) {
        assertThat(ids(row)).as("CLI ids of %s", (Object) row.getAs("prompt")).containsExactly(Reference.ids(cli.get("ids")));
        assertThat(row.<String>getAs("completion")).isEqualTo(cli.get("text").asText());
        assertThat(row.<String>getAs("completion_finish_reason")).isEqualTo(cli.get("stop_reason").asText());
        assertThat(row.<Integer>getAs("completion_prompt_tokens")).isEqualTo(cli.get("prompt_ids").size());
    }

    @Test
    void greedyEqualsGenerate(@TempDir Path dir) throws Exception {
        List<String> prompts = prompts(N);
        int before = EngineCache.openedCount();
        Dataset<Row> out = new Qwen4jGenerate().setMaxTokens(MAX_TOKENS).setModelPath(model.toString())
                .transform(promptFrame(prompts, 4));
        Map<String, Row> rows = byPrompt(out);
        assertThat(rows).hasSize(N);
        // the driver's check and the four tasks share one engine (local mode: one JVM)
        assertThat(EngineCache.openedCount() - before).isLessThanOrEqualTo(1);

        Map<String, JsonNode> batch = Reference.cliBatch(dir, model, prompts, MAX_TOKENS, p -> Map.of(), List.of()).byPrompt();
        for (String p : prompts) assertSameAsBatchFile(rows.get(p), batch.get(p));
        List<String> sample = sample(prompts);
        for (String p : sample) assertSame(rows.get(p), Reference.generate(reference, p, SamplerSettings.greedy(), MAX_TOKENS));
        for (String p : sample.subList(0, CLI_N)) {
            assertSameAsCli(rows.get(p), Reference.cliGenerate(model, p, MAX_TOKENS, List.of()));
        }
        // greedy continuations differ between prompts: the comparison is not trivially true
        assertThat(rows.values().stream().map(r -> r.<String>getAs("completion")).distinct().count()).isGreaterThan(N / 4);
    }

    @Test
    void seededSamplingEqualsGenerateWithTheRowSeed_andDoesNotDependOnPartitioning(@TempDir Path dir) throws Exception {
        List<String> prompts = prompts(N);
        Qwen4jGenerate stage = new Qwen4jGenerate().setMaxTokens(MAX_TOKENS).setTemperature(0.9).setTopK(40).setTopP(0.95)
                .setSeed(7);
        stage.setModelPath(model.toString());
        Map<String, Row> a = byPrompt(stage.transform(promptFrame(prompts, 3)));
        // a different partitioning of a part of them (one partition: other chunks, other batch neighbours)
        Map<String, Row> b = byPrompt(stage.transform(promptFrame(prompts.subList(0, N / 5), 1)));
        List<String> sampling = List.of("--temp", "0.9", "--top-k", "40", "--top-p", "0.95");
        Map<String, JsonNode> batch = Reference.cliBatch(dir, model, prompts, MAX_TOKENS,
                p -> Map.of("seed", RowSeeds.of(7, p)), sampling).byPrompt();
        for (String p : prompts) {
            assertSameAsBatchFile(a.get(p), batch.get(p));
            if (b.containsKey(p)) assertThat(ids(b.get(p))).as("same text whatever the partitioning (a retried task)").containsExactly(ids(a.get(p)));
        }
        assertThat(b).hasSize(N / 5);
        SamplerSettings defaults = SamplerSettings.forModel(reference.files());
        List<String> sample = sample(prompts);
        int differsFromGreedy = 0;
        for (String p : sample) {
            Generation g = Reference.generate(reference, p,
                    defaults.withTemperature(0.9f).withTopK(40).withTopP(0.95f).withSeed(RowSeeds.of(7, p)), MAX_TOKENS);
            assertSame(a.get(p), g);
            if (!java.util.Arrays.equals(g.ids(), Reference.generate(reference, p, SamplerSettings.greedy(), MAX_TOKENS).ids())) {
                differsFromGreedy++;
            }
        }
        assertThat(differsFromGreedy).as("sampling really samples").isGreaterThan(sample.size() / 4);
        for (String p : sample.subList(0, CLI_N)) {
            List<String> args = new ArrayList<>(sampling);
            args.addAll(List.of("--seed", "" + RowSeeds.of(7, p)));
            assertSameAsCli(a.get(p), Reference.cliGenerate(model, p, MAX_TOKENS, args));
        }
    }

    /** Every SAMPLE_EVERY-th prompt, starting at the first. */
    static List<String> sample(List<String> prompts) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i += SAMPLE_EVERY) out.add(prompts.get(i));
        return out;
    }

    /** A row against its {@code generate --batch-file} result line (text, usage, finish reason; the file has no ids). */
    static void assertSameAsBatchFile(Row row, JsonNode line) {
        assertThat(row.<String>getAs("completion_error")).isNull();
        assertThat(row.<String>getAs("completion")).as("batch-file text of %s", (Object) row.getAs("prompt"))
                .isEqualTo(line.get("text").asText());
        assertThat(row.<Integer>getAs("completion_completion_tokens")).isEqualTo(line.get("usage").get("completion_tokens").asInt());
        assertThat(ids(row)).hasSize(line.get("usage").get("completion_tokens").asInt());
        assertThat(row.<Integer>getAs("completion_prompt_tokens")).isEqualTo(line.get("usage").get("prompt_tokens").asInt());
        assertThat(row.<String>getAs("completion_finish_reason")).isEqualTo(line.get("finish_reason").asText());
    }

    @Test
    void chatMessagesColumnEqualsGenerateChat() throws Exception {
        StructType msg = new StructType().add("role", DataTypes.StringType).add("content", DataTypes.StringType);
        StructType schema = new StructType().add("id", DataTypes.IntegerType)
                .add("messages", DataTypes.createArrayType(msg));
        List<String> users = prompts(4);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < users.size(); i++) {
            rows.add(RowFactory.create(i, List.of(RowFactory.create("system", "You are terse."), RowFactory.create("user", users.get(i)))));
        }
        Dataset<Row> df = spark.createDataFrame(rows, schema);
        Qwen4jGenerate stage = new Qwen4jGenerate().setMaxTokens(MAX_TOKENS);
        stage.setModelPath(model.toString()).setInputCol("messages");
        List<Row> out = stage.transform(df).orderBy("id").collectAsList();
        Qwen4jGenerate plain = new Qwen4jGenerate().setMaxTokens(MAX_TOKENS).setChat(true).setSystemPrompt("You are terse.");
        plain.setModelPath(model.toString());
        Map<String, Row> fromStrings = byPrompt(plain.transform(promptFrame(users, 2)));
        for (int i = 0; i < users.size(); i++) {
            JsonNode cli = Reference.cliGenerate(model, users.get(i), MAX_TOKENS,
                    List.of("--chat", "--system", "You are terse.", "--temp", "0"));
            Row r = out.get(i);
            assertThat(r.<String>getAs("completion_error")).isNull();
            assertThat(ids(r)).containsExactly(Reference.ids(cli.get("ids")));
            assertThat(r.<Integer>getAs("completion_prompt_tokens")).isEqualTo(cli.get("prompt_ids").size());
            assertThat(fromStrings.get(users.get(i)).<String>getAs("completion")).isEqualTo(cli.get("text").asText());
        }
    }

    @Test
    void badRowsGetAnErrorNotAFailedJob() {
        StructType schema = new StructType().add("prompt", DataTypes.StringType);
        String longPrompt = "word ".repeat(200);
        List<Row> rows = List.of(RowFactory.create("Item fine"), RowFactory.create((Object) null), RowFactory.create(""),
                RowFactory.create(longPrompt));
        Dataset<Row> df = spark.createDataFrame(rows, schema).repartition(2);
        Qwen4jGenerate stage = new Qwen4jGenerate().setMaxTokens(8);
        stage.setModelPath(model.toString()).setContextSize(64);
        List<Row> out = stage.transform(df).collectAsList();
        assertThat(out).hasSize(4);
        Map<String, String> errors = new HashMap<>();
        for (Row r : out) errors.put(String.valueOf(r.<String>getAs("prompt")), r.getAs("completion_error"));
        assertThat(errors.get("Item fine")).isNull();
        assertThat(errors.get("null")).isEqualTo("null prompt");
        assertThat(errors.get("")).isEqualTo("empty prompt");
        int longTokens = reference.tokenizer().encode(longPrompt, true).length;
        assertThat(errors.get(longPrompt)).isEqualTo("the prompt has " + longTokens + " tokens but the context holds 64");
        for (Row r : out) if (r.getAs("completion_error") != null) assertThat(r.<String>getAs("completion")).isNull();

        stage.setFailOnLongInput(true);
        assertThatThrownBy(() -> stage.transform(df).collectAsList())
                .hasStackTraceContaining("the prompt has " + longTokens + " tokens but the context holds 64 (failOnLongInput is set)");
    }

    @Test
    void missingOrBadModelFailsOnTheDriverWithOneLine(@TempDir Path dir) throws Exception {
        Dataset<Row> df = promptFrame(List.of("a"), 1);
        Qwen4jGenerate missing = new Qwen4jGenerate();
        missing.setModelPath(dir.resolve("nope.gguf").toString());
        assertThatThrownBy(() -> missing.transform(df)).isInstanceOf(Qwen4jException.class)
                .hasMessageStartingWith(dir.resolve("nope.gguf") + ": no such file or folder");
        Path bad = java.nio.file.Files.writeString(dir.resolve("bad.gguf"), "not a gguf file at all");
        Qwen4jGenerate badStage = new Qwen4jGenerate();
        badStage.setModelPath(bad.toString());
        assertThatThrownBy(() -> badStage.transform(df)).isInstanceOf(Qwen4jException.class)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n").contains("bad.gguf"));
        assertThatThrownBy(() -> new Qwen4jGenerate().transform(df)).isInstanceOf(Qwen4jException.class)
                .hasMessage("Qwen4jGenerate: modelPath is not set");
    }
}
