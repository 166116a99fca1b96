package qwen4j.generate;

import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import qwen4j.format.LoadedModel;
import qwen4j.format.ModelLoader;
import qwen4j.format.WeightMemory;
import qwen4j.model.Options;
import qwen4j.model.Qwen2Model;
import qwen4j.model.Session;
import qwen4j.tokenizer.Tokenizer;

/**
 * A model ready to run: its mapped files, config, tokenizer and the {@link Qwen2Model} over them.
 * What the CLI commands and the server open once and share.
 */
public final class Engine implements AutoCloseable {
    private final LoadedModel files;
    private final Tokenizer tokenizer;
    private final Qwen2Model model;
    private final long loadNanos;

    private Engine(LoadedModel files, Tokenizer tokenizer, Qwen2Model model, long loadNanos) {
        this.files = files;
        this.tokenizer = tokenizer;
        this.model = model;
        this.loadNanos = loadNanos;
    }

    /** Opens an HF folder or a GGUF file; {@code ctx} is the largest context sessions may use. */
    public static Engine open(Path path, Options options, int ctx) {
        return open(path, options, ctx, WeightMemory.MMAP);
    }

    /** As {@link #open(Path, Options, int)}, choosing where the weight matrices live. */
    public static Engine open(Path path, Options options, int ctx, WeightMemory memory) {
        return open(path, options, ctx, memory, null, qwen4j.format.Progress.NONE);
    }

    /** As {@link #open(Path, Options, int, WeightMemory)}, quantizing float matrices to {@code quantize} on load (null: no). */
    public static Engine open(Path path, Options options, int ctx, WeightMemory memory, qwen4j.tensor.DType quantize,
                              qwen4j.format.Progress progress) {
        long t0 = System.nanoTime();
        LoadedModel files = ModelLoader.load(path, options.kernels(), memory, quantize, progress);
        return of(files, options, ctx, t0);
    }

    /**
     * An engine over a model already in memory ({@link LoadedModel#inMemory}: a synthetic model with a
     * real tokenizer); closing the engine closes {@code files}.
     */
    public static Engine of(LoadedModel files, Options options, int ctx) {
        return of(files, options, ctx, System.nanoTime());
    }

    private static Engine of(LoadedModel files, Options options, int ctx, long t0) {
        try {
            Tokenizer tokenizer = files.ggufMetadata().isEmpty()
                    ? Tokenizer.fromHfFolder(files.hfFolder().orElseThrow())
                    : Tokenizer.fromGgufMetadata(files.ggufMetadata(), files.path().getFileName().toString());
            int maxCtx = Math.min(ctx, files.config().maxPositionEmbeddings());
            // what the context will cost, before anything of it is allocated (a session and the RoPE tables)
            qwen4j.model.MemoryPlan.of(files.config(), options, maxCtx, 1, 1).check();
            Qwen2Model model = new Qwen2Model(files.config(), files.weights(), options, maxCtx);
            return new Engine(files, tokenizer, model, System.nanoTime() - t0);
        } catch (RuntimeException e) {
            files.close();
            throw e;
        }
    }

    public Qwen2Model model() { return model; }

    public Tokenizer tokenizer() { return tokenizer; }

    public LoadedModel files() { return files; }

    public long loadNanos() { return loadNanos; }

    public Session newSession() { return model.newSession(model.maxContext()); }

    /** End-of-sequence ids: the model's configured ones. */
    public Set<Integer> eosIds() { return new LinkedHashSet<>(model.config().eosTokenIds()); }

    /** Ids the sampler may pick: the tokenizer's ids, never the embedding's padding rows. */
    public int vocabLimit() { return vocabLimit(tokenizer, model.config().vocabSize()); }

    /** One past the last id that has a token (GGUF files list padding rows as "unused" tokens). */
    public static int vocabLimit(Tokenizer tokenizer, int modelVocab) {
        int n = Math.min(tokenizer.size(), modelVocab);
        while (n > 0 && !tokenizer.hasToken(n - 1)) n--;
        return n;
    }

    public Generator generator() { return new Generator(model, tokenizer, eosIds()); }

    @Override
    public void close() {
        model.close();
        files.close();
    }
}
