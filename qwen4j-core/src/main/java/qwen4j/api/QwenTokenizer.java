package qwen4j.api;

import java.util.List;
import java.util.OptionalInt;

/** The model's tokenizer. Thread-safe; valid while its {@link Qwen} handle is open. */
public interface QwenTokenizer {
    /**
     * Loads only the tokenizer of a model (an HF folder's tokenizer.json or vocab + merges, a GGUF file's metadata),
     * named as {@link Qwen#load(String, LoadOptions)} names it; no weights are read.
     */
    static QwenTokenizer load(java.nio.file.Path model) { return qwen4j.generate.LocalQwen.tokenizer(model); }

    /** Token ids of {@code text}; special-token text such as {@code <|im_start|>} becomes special tokens. */
    int[] encode(String text);

    /** Token ids of {@code text}; with {@code parseSpecial} false, special-token text stays plain text. */
    int[] encode(String text, boolean parseSpecial);

    /** The text of {@code ids} (special tokens included as their text). */
    String decode(int[] ids);

    /** The token's own text (one token of a multi-byte character is part of it; byte-level pieces as text). */
    String piece(int id);

    /** The token's bytes (UTF-8 of its text; one token may hold part of a character). */
    byte[] bytes(int id);

    /** Number of ids that have a token (what the model may generate). */
    int vocabSize();

    /** Ids that end generation. */
    List<Integer> eosIds();

    /** The id of a special token by its text, e.g. {@code "<|im_end|>"}. */
    OptionalInt specialId(String text);

    /** The texts of all special tokens. */
    List<String> specialTokens();
}
