/**
 * Reading models from disk: memory-mapped safetensors ({@link qwen4j.format.SafetensorsFile},
 * {@link qwen4j.format.SafetensorsCheckpoint}) and GGUF ({@link qwen4j.format.GgufFile}, split files
 * included), the configs ({@link qwen4j.format.HfConfig}, {@link qwen4j.format.GgufConfig}), and
 * {@link qwen4j.format.ModelLoader}, which checks every tensor against the config and returns a
 * {@link qwen4j.format.LoadedModel}. Tensors are slices of the mappings; nothing is copied except
 * norms and biases (small float arrays). Every problem with an input file is a one-line
 * {@link qwen4j.Qwen4jException} naming the file, the tensor or field, and the byte offset where
 * one applies; every length read from a file is checked against the file size before use.
 */
package qwen4j.format;
