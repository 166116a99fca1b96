package qwen4j.format;

/** How a model is stored on disk. */
public enum ModelFormat {
    /** A Hugging Face folder: config.json, generation_config.json, *.safetensors (maybe sharded). */
    HF,
    /** A GGUF file (or the parts of a split GGUF). */
    GGUF
}
