package qwen4j.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import qwen4j.Qwen4jException;
import qwen4j.chat.ChatTemplate;
import qwen4j.chat.Message;
import qwen4j.generate.Engine;
import qwen4j.generate.SamplerSettings;

/**
 * Generates a completion for each row's prompt (a string column) or conversation (an array of
 * {@code struct<role, content>}), as {@code qwen4j generate} does, one engine per executor.
 * Adds {@code <out>} (the text, null on error), {@code <out>_ids}, {@code <out>_prompt_tokens},
 * {@code <out>_completion_tokens}, {@code <out>_finish_reason} and {@code <out>_error}; every input row
 * gives exactly one output row. Sampling (temperature &gt; 0) seeds each row from {@link #seed()} and
 * the row's key ({@link #keyCol()}, else the prompt), so a retried task writes the same text.
 */
public class Qwen4jGenerate extends Qwen4jStage {
    private static final long serialVersionUID = 1L;

    private final IntParam maxTokens;
    private final DoubleParam temperature;
    private final IntParam topK;
    private final DoubleParam topP;
    private final LongParam seed;
    private final Param<String> systemPrompt;
    private final BooleanParam chat;
    private final Param<String> keyCol;

    public Qwen4jGenerate() { this(Identifiable$.MODULE$.randomUID("qwen4jGenerate")); }

    public Qwen4jGenerate(String uid) {
        super(uid, "prompt", "completion");
        maxTokens = new IntParam(this, "maxTokens", "tokens to generate per row; -1 runs to eos or the context end");
        temperature = new DoubleParam(this, "temperature", "0 = greedy; > 0 samples (top-k/top-p from the model's defaults unless set)");
        topK = new IntParam(this, "topK", "keep the K most likely tokens (0 = off); unset: the model's default");
        topP = new DoubleParam(this, "topP", "nucleus probability (1 = off); unset: the model's default");
        seed = new LongParam(this, "seed", "stage seed; each row samples with a seed from it and the row's key");
        systemPrompt = new Param<>(this, "systemPrompt", "system message for chat (default: the template's)");
        chat = new BooleanParam(this, "chat", "wrap a string prompt as a user message with the model's chat template");
        keyCol = new Param<>(this, "keyCol", "column whose value keys the row's seed (default: the prompt)");
        setDefault(maxTokens, 64);
        setDefault(temperature, 0.0);
        setDefault(seed, 0L);
        setDefault(chat, false);
    }

    public IntParam maxTokens() { return maxTokens; }
    public DoubleParam temperature() { return temperature; }
    public IntParam topK() { return topK; }
    public DoubleParam topP() { return topP; }
    public LongParam seed() { return seed; }
    public Param<String> systemPrompt() { return systemPrompt; }
    public BooleanParam chat() { return chat; }
    public Param<String> keyCol() { return keyCol; }

    public int getMaxTokens() { return (Integer) $(maxTokens); }
    public double getTemperature() { return (Double) $(temperature); }
    public long getSeed() { return (Long) $(seed); }
    public boolean getChat() { return (Boolean) $(chat); }

    public Qwen4jGenerate setMaxTokens(int v) { set(maxTokens, v); return this; }
    public Qwen4jGenerate setTemperature(double v) { set(temperature, v); return this; }
    public Qwen4jGenerate setTopK(int v) { set(topK, v); return this; }
    public Qwen4jGenerate setTopP(double v) { set(topP, v); return this; }
    public Qwen4jGenerate setSeed(long v) { set(seed, v); return this; }
    public Qwen4jGenerate setSystemPrompt(String v) { set(systemPrompt, v); return this; }
    public Qwen4jGenerate setChat(boolean v) { set(chat, v); return this; }
    public Qwen4jGenerate setKeyCol(String v) { set(keyCol, v); return this; }

    /** Reads a saved stage (what {@link org.apache.spark.ml.Pipeline} load calls by reflection). */
    public static MLReader<Qwen4jGenerate> read() { return new DefaultParamsReader<>(); }

    public static Qwen4jGenerate load(String path) { return read().load(path); }

    @Override
    public StructType transformSchema(StructType schema) {
        int in = inputIndex(schema, getInputCol());
        var type = schema.fields()[in].dataType();
        if (!(type instanceof StringType) && !isMessages(type)) {
            throw new Qwen4jException("input column " + getInputCol() + " is " + type.simpleString()
                    + "; expected string or array<struct<role:string,content:string>>");
        }
        if (isDefined(keyCol)) inputIndex(schema, $(keyCol));
        String o = getOutputCol();
        return append(schema,
                DataTypes.createStructField(o, DataTypes.StringType, true),
                DataTypes.createStructField(o + "_ids", DataTypes.createArrayType(DataTypes.IntegerType, false), true),
                DataTypes.createStructField(o + "_prompt_tokens", DataTypes.IntegerType, true),
                DataTypes.createStructField(o + "_completion_tokens", DataTypes.IntegerType, true),
                DataTypes.createStructField(o + "_finish_reason", DataTypes.StringType, true),
                DataTypes.createStructField(o + "_error", DataTypes.StringType, true));
    }

    static boolean isMessages(org.apache.spark.sql.types.DataType t) {
        if (!(t instanceof ArrayType a) || !(a.elementType() instanceof StructType s)) return false;
        List<String> names = List.of(s.fieldNames());
        return names.contains("role") && names.contains("content");
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        Preflight.check("driver");
        StructType in = dataset.schema();
        StructType out = transformSchema(in);
        if ((Integer) $(maxTokens) < -1) throw new Qwen4jException("maxTokens must be -1 or more, got " + $(maxTokens));
        Settings s = new Settings(checkedModelPath(dataset.sparkSession().sparkContext().isLocal()), getContextSize(), getThreads(), getFailOnLongInput(),
                inputIndex(in, getInputCol()), isMessages(in.fields()[inputIndex(in, getInputCol())].dataType()),
                isDefined(keyCol) ? inputIndex(in, $(keyCol)) : -1, (Integer) $(maxTokens), (Double) $(temperature),
                isDefined(topK) ? (Integer) $(topK) : null, isDefined(topP) ? (Double) $(topP) : null, (Long) $(seed),
                isDefined(systemPrompt) ? $(systemPrompt) : null, (Boolean) $(chat));
        s.samplerSettings(SamplerSettings.greedy(), 0).validate(); // bad sampling params fail on the driver
        return dataset.toDF().mapPartitions(new Partition(s), Encoders.row(out));
    }

    /** The stage's settings, shipped to executors. */
    record Settings(String modelPath, int ctx, int threads, boolean failOnLongInput, int input, boolean messages,
                    int key, int maxTokens, double temperature, Integer topK, Double topP, long seed, String system,
                    boolean chat) implements Serializable {

        /** The row's settings, as the CLI resolves its flags: greedy at temperature 0, else the model's defaults with overrides. */
        SamplerSettings samplerSettings(SamplerSettings modelDefaults, long rowSeed) {
            SamplerSettings s = temperature > 0 ? modelDefaults : SamplerSettings.greedy();
            s = s.withTemperature((float) temperature);
            if (topK != null) s = s.withTopK(topK);
            if (topP != null) s = s.withTopP(topP.floatValue());
            return s.withSeed(rowSeed);
        }
    }

    /** One partition: rows are read in chunks, each chunk's prompts go through the runner together. */
    static final class Partition implements MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        static final int CHUNK = 32;
        private final Settings s;

        Partition(Settings s) { this.s = s; }

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            EngineCache.Lease lease = leaseForTask(s.modelPath(), s.ctx(), s.threads());
            Engine engine = lease.engine();
            SamplerSettings defaults = SamplerSettings.forModel(engine.files());
            PartitionRunner runner = new BatchedRunner(lease);
            ChatTemplate template = s.chat() || s.messages() ? ChatTemplate.forModel(engine.files(), engine.tokenizer()) : null;
            return new Chunks<>(rows, CHUNK, chunk -> {
                List<Object> prepared = new ArrayList<>(chunk.size()); // per row: a Request or an error message
                List<PartitionRunner.Request> requests = new ArrayList<>();
                for (Row r : chunk) {
                    Object p = prepare(r, engine, template, defaults);
                    prepared.add(p);
                    if (p instanceof PartitionRunner.Request q) requests.add(q);
                }
                List<PartitionRunner.Result> results = runner.run(requests);
                List<Row> outRows = new ArrayList<>(chunk.size());
                int next = 0;
                for (int i = 0; i < chunk.size(); i++) {
                    Object p = prepared.get(i);
                    if (p instanceof PartitionRunner.Request q) {
                        PartitionRunner.Result res = results.get(next++);
                        if (res.error() != null && s.failOnLongInput()) throw new Qwen4jException(res.error());
                        outRows.add(row(chunk.get(i), res.text(), res.ids(), q.promptIds().length,
                                res.ids() == null ? null : res.ids().length, res.finishReason(), res.error()));
                    } else {
                        outRows.add(row(chunk.get(i), null, null, null, null, null, (String) p));
                    }
                }
                return outRows;
            });
        }

        /** The row's request, or the one-line reason it has none. */
        private Object prepare(Row r, Engine engine, ChatTemplate template, SamplerSettings defaults) {
            if (r.isNullAt(s.input())) return "null prompt";
            int[] ids;
            String keyText;
            try {
                if (s.messages()) {
                    List<Row> msgs = r.getList(s.input());
                    if (msgs.isEmpty()) return "empty conversation";
                    List<Message> messages = new ArrayList<>();
                    StringBuilder k = new StringBuilder();
                    for (Row m : msgs) {
                        String role = m.getAs("role"), content = m.getAs("content");
                        if (role == null || content == null) return "a message has a null role or content";
                        messages.add(new Message(role, content));
                        k.append(role).append('\0').append(content).append('\0');
                    }
                    keyText = k.toString();
                    ids = template.encode(engine.tokenizer(), messages, null, true, false);
                } else {
                    String text = r.getString(s.input());
                    if (text.isEmpty()) return "empty prompt";
                    keyText = text;
                    if (s.chat()) {
                        List<Message> messages = new ArrayList<>();
                        if (s.system() != null) messages.add(Message.system(s.system()));
                        messages.add(Message.user(text));
                        // message text stays plain text, as generate --chat does
                        ids = template.encode(engine.tokenizer(), messages, null, true, false);
                    } else {
                        ids = engine.tokenizer().encode(text, true);
                    }
                }
            } catch (Qwen4jException e) {
                return e.getMessage();
            }
            if (s.key() >= 0) keyText = r.isNullAt(s.key()) ? "" : String.valueOf(r.get(s.key()));
            int capacity = Math.min(s.ctx(), engine.model().maxContext());
            if (ids.length > capacity) {
                String m = "the prompt has " + ids.length + " tokens but the context holds " + capacity;
                if (s.failOnLongInput()) throw new Qwen4jException(m + " (failOnLongInput is set)");
                return m;
            }
            return new PartitionRunner.Request(ids, s.samplerSettings(defaults, RowSeeds.of(s.seed(), keyText)), s.maxTokens());
        }

        private static Row row(Row in, String text, int[] ids, Integer promptTokens, Integer completionTokens,
                               String finish, String error) {
            Object[] v = new Object[in.length() + 6];
            for (int i = 0; i < in.length(); i++) v[i] = in.get(i);
            int n = in.length();
            v[n] = text;
            v[n + 1] = ids == null ? null : scala.jdk.javaapi.CollectionConverters.asScala(
                    java.util.Arrays.stream(ids).boxed().toList()).toSeq();
            v[n + 2] = promptTokens;
            v[n + 3] = completionTokens;
            v[n + 4] = finish;
            v[n + 5] = error;
            return RowFactory.create(v);
        }
    }
}
