package qwen4j.spark;

import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.SparkEnv;
import org.apache.spark.SparkFiles;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import qwen4j.Qwen4jException;

/**
 * What {@link Qwen4jGenerate} and {@link Qwen4jScore} share: the model, the columns, the context size,
 * the engine's threads, and what to do with an input longer than the context. Saved and loaded as
 * plain params ({@link DefaultParamsWritable}), so both sit in a {@link org.apache.spark.ml.Pipeline}.
 */
public abstract class Qwen4jStage extends Transformer implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final Param<String> modelPath;
    private final Param<String> inputCol;
    private final Param<String> outputCol;
    private final IntParam contextSize;
    private final IntParam threads;
    private final BooleanParam failOnLongInput;

    /** Params are made here, after the uid they are tied to is set. */
    protected Qwen4jStage(String uid, String defaultInput, String defaultOutput) {
        this.uid = uid;
        modelPath = new Param<>(this, "modelPath",
                "HF model folder or .gguf file every executor can read, or the bare name of a file shipped with --files");
        inputCol = new Param<>(this, "inputCol", "input column");
        outputCol = new Param<>(this, "outputCol", "output column (and the prefix of the columns beside it)");
        contextSize = new IntParam(this, "contextSize", "context length in tokens (KV cache size), at most the model's");
        threads = new IntParam(this, "threads", "engine threads per executor; 0 = spark.executor.cores (else all processors)");
        failOnLongInput = new BooleanParam(this, "failOnLongInput",
                "fail the job on an input longer than the context instead of giving that row an error");
        setDefault(inputCol, defaultInput);
        setDefault(outputCol, defaultOutput);
        setDefault(contextSize, 4096);
        setDefault(threads, 0);
        setDefault(failOnLongInput, false);
    }

    @Override
    public String uid() { return uid; }

    public Param<String> modelPath() { return modelPath; }
    public Param<String> inputCol() { return inputCol; }
    public Param<String> outputCol() { return outputCol; }
    public IntParam contextSize() { return contextSize; }
    public IntParam threads() { return threads; }
    public BooleanParam failOnLongInput() { return failOnLongInput; }

    public String getModelPath() { return $(modelPath); }
    public String getInputCol() { return $(inputCol); }
    public String getOutputCol() { return $(outputCol); }
    public int getContextSize() { return (Integer) $(contextSize); }
    public int getThreads() { return (Integer) $(threads); }
    public boolean getFailOnLongInput() { return (Boolean) $(failOnLongInput); }

    public Qwen4jStage setModelPath(String v) { set(modelPath, v); return this; }
    public Qwen4jStage setInputCol(String v) { set(inputCol, v); return this; }
    public Qwen4jStage setOutputCol(String v) { set(outputCol, v); return this; }
    public Qwen4jStage setContextSize(int v) { set(contextSize, v); return this; }
    public Qwen4jStage setThreads(int v) { set(threads, v); return this; }
    public Qwen4jStage setFailOnLongInput(boolean v) { set(failOnLongInput, v); return this; }

    @Override
    public Transformer copy(ParamMap extra) { return defaultCopy(extra); }

    /** The model path, checked: set, and (where the driver can see it) a model the engine opens. */
    String checkedModelPath(boolean localMaster) {
        if (!isDefined(modelPath)) throw new Qwen4jException(getClass().getSimpleName() + ": modelPath is not set");
        String p = getModelPath();
        if (getContextSize() < 1) throw new Qwen4jException("contextSize must be at least 1, got " + getContextSize());
        if (getThreads() < 0) throw new Qwen4jException("threads must be 0 (auto) or more, got " + getThreads());
        // in local mode the driver is the executor: what it cannot see, no task will
        Path local = resolve(p, localMaster);
        // the driver sees the file: open it here, so a missing or bad model fails before any task starts
        // (the engine stays cached: in local mode the tasks reuse it)
        if (local != null) {
            try (EngineCache.Lease ignored = EngineCache.acquire(local, getContextSize(), engineThreads(getThreads()))) {
                // opened and checked
            }
        }
        return p;
    }

    /**
     * The executor's engine for one task: preflight checked, the model resolved here (or shipped with
     * the job), held until the task completes (then returned to {@link EngineCache}).
     */
    static EngineCache.Lease leaseForTask(String modelPath, int ctx, int threads) {
        Preflight.check("executor");
        EngineCache.Lease lease = EngineCache.acquire(resolve(modelPath, true), ctx, engineThreads(threads));
        org.apache.spark.TaskContext tc = org.apache.spark.TaskContext.get();
        if (tc != null) tc.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) c -> lease.close());
        return lease;
    }

    /** Where {@code p} is in this JVM: the path itself, else a file shipped with the job; null if neither (driver). */
    static Path resolve(String p, boolean mustExist) {
        Path path = Path.of(p);
        if (Files.exists(path)) return path;
        if (path.getParent() == null && SparkEnv.get() != null) {
            try {
                Path shipped = Path.of(SparkFiles.get(p));
                if (Files.exists(shipped)) return shipped;
            } catch (RuntimeException e) {
                // no SparkFiles root yet: treat as not shipped
            }
        }
        if (mustExist) throw new Qwen4jException(p + ": no such file or folder (not on this executor, nor shipped with --files)");
        return null;
    }

    /** The engine's thread count: the param, else the cores Spark gives the executor, else the processors. */
    static int engineThreads(int param) {
        if (param > 0) return param;
        SparkEnv env = SparkEnv.get();
        int cpus = Runtime.getRuntime().availableProcessors();
        return env == null ? cpus : Math.max(1, env.conf().getInt("spark.executor.cores", cpus));
    }

    /** {@code schema} with {@code fields} appended, refusing names already there. */
    static StructType append(StructType schema, StructField... fields) {
        StructType out = schema;
        for (StructField f : fields) {
            if (java.util.Arrays.asList(schema.fieldNames()).contains(f.name())) {
                throw new Qwen4jException("output column " + f.name() + " already exists in the input");
            }
            out = out.add(f);
        }
        return out;
    }

    /** The input column's index, or a one-line error naming the columns there are. */
    static int inputIndex(StructType schema, String col) {
        for (int i = 0; i < schema.fields().length; i++) if (schema.fields()[i].name().equals(col)) return i;
        throw new Qwen4jException("input column " + col + " not found; the columns are " + String.join(", ", schema.fieldNames()));
    }
}
