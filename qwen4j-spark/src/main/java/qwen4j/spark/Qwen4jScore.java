package qwen4j.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructType;
import qwen4j.Qwen4jException;
import qwen4j.generate.Engine;
import qwen4j.generate.Scoring;
import qwen4j.model.Session;

/**
 * Teacher-forced scoring of a text column, as {@code qwen4j perplexity} does: adds {@code <out>_logprob}
 * (the sum of the log-probabilities of every token after the first), {@code <out>_tokens} (the text's
 * tokens), {@code <out>_perplexity} (exp of minus the mean log-probability) and {@code <out>_error}.
 */
public class Qwen4jScore extends Qwen4jStage {
    private static final long serialVersionUID = 1L;

    public Qwen4jScore() { this(Identifiable$.MODULE$.randomUID("qwen4jScore")); }

    public Qwen4jScore(String uid) { super(uid, "text", "score"); }

    /** Reads a saved stage (what {@link org.apache.spark.ml.Pipeline} load calls by reflection). */
    public static MLReader<Qwen4jScore> read() { return new DefaultParamsReader<>(); }

    public static Qwen4jScore load(String path) { return read().load(path); }

    @Override
    public StructType transformSchema(StructType schema) {
        int in = inputIndex(schema, getInputCol());
        if (!(schema.fields()[in].dataType() instanceof StringType)) {
            throw new Qwen4jException("input column " + getInputCol() + " is " + schema.fields()[in].dataType().simpleString()
                    + "; expected string");
        }
        String o = getOutputCol();
        return append(schema,
                DataTypes.createStructField(o + "_logprob", DataTypes.DoubleType, true),
                DataTypes.createStructField(o + "_tokens", DataTypes.IntegerType, true),
                DataTypes.createStructField(o + "_perplexity", DataTypes.DoubleType, true),
                DataTypes.createStructField(o + "_error", DataTypes.StringType, true));
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        Preflight.check("driver");
        StructType out = transformSchema(dataset.schema());
        Settings s = new Settings(checkedModelPath(dataset.sparkSession().sparkContext().isLocal()), getContextSize(), getThreads(), getFailOnLongInput(),
                inputIndex(dataset.schema(), getInputCol()));
        return dataset.toDF().mapPartitions(new Partition(s), Encoders.row(out));
    }

    record Settings(String modelPath, int ctx, int threads, boolean failOnLongInput, int input) implements Serializable {}

    /** One partition: one session per task, each row scored under the executor's engine lock. */
    static final class Partition implements MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private final Settings s;

        Partition(Settings s) { this.s = s; }

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            EngineCache.Lease lease = leaseForTask(s.modelPath(), s.ctx(), s.threads());
            Engine engine = lease.engine();
            Session[] session = {null};
            return new Chunks<>(rows, 32, chunk -> {
                List<Row> outRows = new ArrayList<>(chunk.size());
                for (Row r : chunk) outRows.add(score(r, engine, lease, session));
                return outRows;
            });
        }

        private Row score(Row r, Engine engine, EngineCache.Lease lease, Session[] session) {
            if (r.isNullAt(s.input())) return row(r, null, null, null, "null text");
            String text = r.getString(s.input());
            int[] ids;
            try {
                ids = engine.tokenizer().encode(text);
            } catch (Qwen4jException e) {
                return row(r, null, null, null, e.getMessage());
            }
            if (ids.length == 0) return row(r, null, null, null, "nothing to score: the input has no tokens");
            int capacity = Math.min(s.ctx(), engine.model().maxContext());
            if (ids.length > capacity) {
                String m = "the input has " + ids.length + " tokens but the context holds " + capacity;
                if (s.failOnLongInput()) throw new Qwen4jException(m + " (failOnLongInput is set)");
                return row(r, null, ids.length, null, m);
            }
            lease.lock().lock();
            try {
                if (session[0] == null) session[0] = engine.newSession();
                session[0].truncate(0);
                Scoring.Result res = Scoring.score(engine.model(), session[0], ids, 0, engine.vocabLimit());
                double sum = 0;
                for (Scoring.Position p : res.positions()) if (p.nextId() >= 0) sum += p.logprob();
                Double ppl = Double.isNaN(res.perplexity()) ? null : res.perplexity();
                return row(r, sum, ids.length, ppl, null);
            } catch (Qwen4jException e) {
                return row(r, null, ids.length, null, e.getMessage());
            } finally {
                lease.lock().unlock();
            }
        }

        private static Row row(Row in, Double logprob, Integer tokens, Double ppl, String error) {
            Object[] v = new Object[in.length() + 4];
            for (int i = 0; i < in.length(); i++) v[i] = in.get(i);
            int n = in.length();
            v[n] = logprob;
            v[n + 1] = tokens;
            v[n + 2] = ppl;
            v[n + 3] = error;
            return RowFactory.create(v);
        }
    }
}
