/**
 * Models by name: {@link qwen4j.hub.ModelResolver} finds a Hugging Face repo id
 * ({@code Qwen/Qwen2.5-7B-Instruct}, {@code REPO:FILE.gguf}) in the cache {@code huggingface_hub}
 * writes ({@link qwen4j.hub.HubCache}), and {@link qwen4j.hub.HubDownloader} fills that cache from
 * the Hub's HTTP API (resumable, sha256-checked). Settings come from an environment map
 * (HF_HUB_CACHE, HF_HOME, HF_ENDPOINT, HF_TOKEN), System.getenv() by default.
 */
package qwen4j.hub;
