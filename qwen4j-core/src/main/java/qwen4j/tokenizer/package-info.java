/**
 * The Qwen2 / Qwen2.5 tokenizer: byte-level BPE exactly as HF {@code tokenizers} runs Qwen's
 * tokenizer.json.
 *
 * <p>Encoding: added tokens are found in the raw text first (leftmost, longest match; special ones
 * only when asked), the rest is NFC-normalized, split by a hand-written scanner equivalent to the
 * Qwen2 regex ({@code Qwen2PreTokenizer}), each piece's UTF-8 bytes become byte tokens and are
 * merged by rank ({@code Bpe}, {@code MergeTable}), with a bounded per-word cache. Decoding maps
 * ids back to bytes and UTF-8 (invalid bytes as U+FFFD); {@link qwen4j.tokenizer.StreamingDecoder}
 * does that incrementally for generation.
 *
 * <p>Sources: tokenizer.json, vocab.json + merges.txt (+ tokenizer_config.json), GGUF metadata.
 * Bad files give a one-line {@link qwen4j.Qwen4jException}.
 */
package qwen4j.tokenizer;
