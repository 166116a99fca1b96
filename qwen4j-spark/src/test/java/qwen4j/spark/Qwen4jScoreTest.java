package qwen4j.spark;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import qwen4j.Fixtures;
import qwen4j.generate.Engine;
import qwen4j.generate.Scoring;

/** Qwen4jScore against the CLI's perplexity, and both stages saved and loaded in a Pipeline. */
class Qwen4jScoreTest {
    static Path model;
    static SparkSession spark;

    @BeforeAll
    static void setUp() {
        model = Fixtures.tiny().resolve("tiny-BF16.gguf");
        spark = SparkTests.local();
    }

    @Test
    void scoresEqualPerplexity(@TempDir Path dir) throws Exception {
        List<String> texts = Qwen4jGenerateTest.prompts(60);
        Qwen4jScore stage = new Qwen4jScore();
        stage.setModelPath(model.toString());
        Dataset<Row> out = stage.transform(spark.createDataset(texts, Encoders.STRING()).toDF("text").repartition(3));
        Map<String, Row> rows = new HashMap<>();
        for (Row r : out.collectAsList()) assertThat(rows.put(r.getAs("text"), r)).isNull();
        assertThat(rows).hasSize(texts.size());
        try (Engine e = Reference.open(model)) {
            for (String t : texts) {
                int[] ids = e.tokenizer().encode(t);
                Scoring.Result ref = Scoring.score(e.model(), e.newSession(), ids, 0, e.vocabLimit());
                double sum = 0;
                for (Scoring.Position p : ref.positions()) if (p.nextId() >= 0) sum += p.logprob();
                Row r = rows.get(t);
                assertThat(r.<String>getAs("score_error")).isNull();
                assertThat(r.<Integer>getAs("score_tokens")).isEqualTo(ids.length);
                assertThat(r.<Double>getAs("score_logprob")).isEqualTo(sum);
                assertThat(r.<Double>getAs("score_perplexity")).isEqualTo(ref.perplexity());
            }
        }
        // the CLI itself on a few: its JSON carries every position's log-probability and the perplexity
        for (String t : texts.subList(0, 3)) {
            Path f = Files.writeString(dir.resolve("t.txt"), t);
            JsonNode cli = Reference.cli("perplexity", "-m", model.toString(), "-f", f.toString(), "--json", "-t", "2");
            double sum = 0;
            for (JsonNode p : cli.get("positions")) if (!p.get("logprob").isNull()) sum += p.get("logprob").asDouble();
            Row r = rows.get(t);
            assertThat(r.<Double>getAs("score_perplexity")).isEqualTo(cli.get("perplexity").asDouble());
            assertThat(r.<Double>getAs("score_logprob")).isCloseTo(sum, org.assertj.core.data.Offset.offset(1e-9));
            assertThat(r.<Integer>getAs("score_tokens")).isEqualTo(cli.get("positions").size());
        }
    }

    @Test
    void pipelineSavesAndLoadsBothStages(@TempDir Path dir) throws Exception {
        Qwen4jGenerate gen = new Qwen4jGenerate().setMaxTokens(10).setTemperature(0.8).setTopK(30).setSeed(5)
                .setSystemPrompt("Be brief.");
        gen.setModelPath(model.toString()).setOutputCol("answer");
        Qwen4jScore score = new Qwen4jScore();
        score.setModelPath(model.toString()).setInputCol("answer").setOutputCol("s");
        Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {gen, score});
        List<String> prompts = new ArrayList<>(Qwen4jGenerateTest.prompts(8));
        Dataset<Row> df = spark.createDataset(prompts, Encoders.STRING()).toDF("prompt");
        PipelineModel fitted = pipeline.fit(df);
        String path = dir.resolve("pipeline").toString();
        fitted.write().overwrite().save(path);
        PipelineModel loaded = PipelineModel.load(path);

        Qwen4jGenerate g2 = (Qwen4jGenerate) loaded.stages()[0];
        Qwen4jScore s2 = (Qwen4jScore) loaded.stages()[1];
        assertThat(g2.uid()).isEqualTo(gen.uid());
        assertThat(g2.extractParamMap().toString()).isEqualTo(gen.extractParamMap().toString());
        assertThat(s2.getInputCol()).isEqualTo("answer");
        assertThat(s2.getOutputCol()).isEqualTo("s");
        assertThat(g2.getTemperature()).isEqualTo(0.8);

        List<Row> a = fitted.transform(df).orderBy("prompt").collectAsList();
        List<Row> b = loaded.transform(df).orderBy("prompt").collectAsList();
        assertThat(b).hasSize(prompts.size());
        assertThat(b).isEqualTo(a);
        assertThat(a.get(0).<Double>getAs("s_perplexity")).isNotNull();
    }
}
