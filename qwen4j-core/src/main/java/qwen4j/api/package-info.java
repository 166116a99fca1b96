/**
 * The public API of qwen4j: load a Qwen2.5 model ({@link qwen4j.api.Qwen#load}), then
 * {@linkplain qwen4j.api.Qwen#generate generate}, {@linkplain qwen4j.api.Qwen#chat chat} (with tools) and
 * {@linkplain qwen4j.api.Qwen#score score}, blocking or streaming, and reach the tokenizer. Every other
 * package of qwen4j-core is internal and may change without notice.
 */
package qwen4j.api;
