package qwen4j.format;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import qwen4j.model.Qwen2Config;
import qwen4j.model.Qwen2Weights;
import qwen4j.tensor.Tensor;

/**
 * A model opened by {@link ModelLoader}: its config, its weights (views of memory-mapped files)
 * and what an inspector or tokenizer needs. {@link #close()} unmaps the files; the weights must
 * not be used afterwards.
 */
public final class LoadedModel implements AutoCloseable {
    private final Path path;
    private final ModelFormat format;
    private final Qwen2Config config;
    private final Qwen2Weights weights;
    private final Map<String, Object> ggufMetadata;
    private final Optional<Path> hfFolder;
    private final Map<String, List<Tensor>> tensors;
    private final long weightBytes;
    private final Arena arena;

    LoadedModel(Path path, ModelFormat format, Qwen2Config config, Qwen2Weights weights,
                Map<String, Object> ggufMetadata, Optional<Path> hfFolder, Map<String, List<Tensor>> tensors,
                long weightBytes, Arena arena) {
        this.path = path;
        this.format = format;
        this.config = config;
        this.weights = weights;
        this.ggufMetadata = ggufMetadata;
        this.hfFolder = hfFolder;
        this.tensors = tensors;
        this.weightBytes = weightBytes;
        this.arena = arena;
    }

    /**
     * A model whose weights were built in memory (a synthetic model: real shape, random weights), with the
     * tokenizer, chat template and generation config of the Hugging Face folder {@code hfFolder}. The
     * weights' memory stays its builder's to free.
     */
    public static LoadedModel inMemory(Qwen2Config config, Qwen2Weights weights, Path hfFolder, long weightBytes) {
        return new LoadedModel(hfFolder, ModelFormat.HF, config, weights, Map.of(), Optional.of(hfFolder), Map.of(), weightBytes,
                Arena.ofShared());
    }

    /** The path given to {@link ModelLoader#load}. */
    public Path path() { return path; }

    public ModelFormat format() { return format; }

    public Qwen2Config config() { return config; }

    public Qwen2Weights weights() { return weights; }

    /** GGUF metadata (tokenizer, chat template, ...); empty for a Hugging Face folder. */
    public Map<String, Object> ggufMetadata() { return ggufMetadata; }

    /** The Hugging Face folder (tokenizer.json etc. live there); empty for GGUF. */
    public Optional<Path> hfFolder() { return hfFolder; }

    /** Every tensor of the model's files (also ones the model does not use), by file name, in file order. */
    public Map<String, List<Tensor>> tensors() { return tensors; }

    /** Bytes of all distinct weight matrices (a tied output counts once). */
    public long weightBytes() { return weightBytes; }

    /** Unmaps the files. Idempotent. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }
}
