package qwen4j.format;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import qwen4j.Qwen4jException;
import qwen4j.model.Qwen2Config;

/**
 * Reads a Hugging Face {@code config.json} (and {@code generation_config.json}) into a
 * {@link Qwen2Config}. Defaults follow transformers' {@code Qwen2Config} where a field is
 * optional there: num_key_value_heads = num_attention_heads, rope_theta 10000.0, rms_norm_eps
 * 1e-6, tie_word_embeddings false, max_position_embeddings 32768. The sizes (hidden_size,
 * num_hidden_layers, num_attention_heads, intermediate_size, vocab_size) are required: a default
 * there would only turn into a confusing shape error later.
 */
public final class HfConfig {
    public static final String CONFIG = "config.json";
    public static final String GENERATION_CONFIG = "generation_config.json";
    public static final String ARCHITECTURE = "Qwen2ForCausalLM";

    private HfConfig() {}

    /** Reads {@code folder/config.json} and, if present, {@code folder/generation_config.json}. */
    public static Qwen2Config read(Path folder) {
        Path cfg = folder.resolve(CONFIG);
        if (!Files.isRegularFile(cfg)) {
            throw new Qwen4jException(folder + ": no " + CONFIG + " (not a Hugging Face model folder)");
        }
        JsonNode config = Json.readFile(cfg);
        Path gen = folder.resolve(GENERATION_CONFIG);
        JsonNode generation = Files.isRegularFile(gen) ? Json.readFile(gen) : null;
        return parse(config, generation);
    }

    /** Builds the config from parsed config.json and (nullable) generation_config.json. */
    public static Qwen2Config parse(JsonNode config, JsonNode generation) {
        if (!config.isObject()) {
            throw new Qwen4jException(CONFIG + ": expected a JSON object, got " + Json.show(config));
        }
        if (generation != null && !generation.isObject()) {
            throw new Qwen4jException(GENERATION_CONFIG + ": expected a JSON object, got " + Json.show(generation));
        }
        JsonNode arch = config.get("architectures");
        if (arch == null || !arch.isArray() || arch.isEmpty()) {
            throw new Qwen4jException(CONFIG + ": field architectures is " + Json.show(arch)
                    + ", expected a list containing \"" + ARCHITECTURE + "\"");
        }
        boolean found = false;
        for (JsonNode a : arch) found |= a.isTextual() && a.asText().equals(ARCHITECTURE);
        if (!found) {
            String names = arch.size() == 1 && arch.get(0).isTextual() ? arch.get(0).asText() : arch.toString();
            throw new Qwen4jException(CONFIG + ": architecture " + Qwen4jException.shown(names) + " is not supported (qwen4j runs "
                    + ARCHITECTURE + ")");
        }
        int hidden = positiveInt(config, "hidden_size", null);
        int layers = positiveInt(config, "num_hidden_layers", null);
        int heads = positiveInt(config, "num_attention_heads", null);
        int kvHeads = positiveInt(config, "num_key_value_heads", heads);
        int inter = positiveInt(config, "intermediate_size", null);
        int vocab = positiveInt(config, "vocab_size", null);
        int maxPos = positiveInt(config, "max_position_embeddings", 32768);
        double theta = positiveNumber(config, "rope_theta", 10000.0);
        double eps = positiveNumber(config, "rms_norm_eps", 1e-6);
        boolean tie = bool(config, "tie_word_embeddings", false);

        if (hidden % heads != 0) {
            throw new Qwen4jException(CONFIG + ": hidden_size " + hidden + " is not a multiple of num_attention_heads " + heads);
        }
        if (heads % kvHeads != 0) {
            throw new Qwen4jException(CONFIG + ": num_attention_heads " + heads
                    + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        JsonNode headDim = config.get("head_dim");
        if (headDim != null && !headDim.isNull() && !(headDim.isIntegralNumber() && headDim.asLong() == hidden / heads)) {
            throw new Qwen4jException(CONFIG + ": field head_dim is " + Json.show(headDim) + ", but qwen4j needs hidden_size / num_attention_heads = "
                    + (hidden / heads));
        }
        if (hidden / heads % 2 != 0) {
            throw new Qwen4jException(CONFIG + ": head dimension " + (hidden / heads) + " is odd; rotary embeddings need it even");
        }
        JsonNode scaling = config.get("rope_scaling");
        if (scaling != null && !scaling.isNull()) {
            throw new Qwen4jException(CONFIG + ": field rope_scaling is " + Json.show(scaling)
                    + "; qwen4j does not implement RoPE scaling (remove it to run within the original context)");
        }
        if (bool(config, "use_sliding_window", false)) {
            throw new Qwen4jException(CONFIG + ": field use_sliding_window is true; qwen4j does not implement sliding-window attention");
        }
        JsonNode act = config.get("hidden_act");
        if (act != null && !act.isNull() && !(act.isTextual() && act.asText().equals("silu"))) {
            throw new Qwen4jException(CONFIG + ": field hidden_act is " + Json.show(config.get("hidden_act")) + ", qwen4j supports \"silu\"");
        }

        List<Integer> eos = null;
        if (generation != null && generation.has("eos_token_id") && !generation.get("eos_token_id").isNull()) {
            eos = tokenIds(generation.get("eos_token_id"), GENERATION_CONFIG, "eos_token_id", vocab);
        }
        if (eos == null && config.has("eos_token_id") && !config.get("eos_token_id").isNull()) {
            eos = tokenIds(config.get("eos_token_id"), CONFIG, "eos_token_id", vocab);
        }
        if (eos == null) eos = List.of();
        int bos = -1;
        if (generation != null && generation.has("bos_token_id") && !generation.get("bos_token_id").isNull()) {
            bos = tokenIds(generation.get("bos_token_id"), GENERATION_CONFIG, "bos_token_id", vocab).getFirst();
        } else if (config.has("bos_token_id") && !config.get("bos_token_id").isNull()) {
            bos = tokenIds(config.get("bos_token_id"), CONFIG, "bos_token_id", vocab).getFirst();
        }
        return new Qwen2Config(hidden, layers, heads, kvHeads, inter, vocab, theta, (float) eps, tie, maxPos,
                List.copyOf(eos), bos);
    }

    private static int positiveInt(JsonNode o, String field, Integer dflt) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) {
            if (dflt != null) return dflt;
            throw new Qwen4jException(CONFIG + ": field " + field + " is missing");
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() <= 0) {
            throw new Qwen4jException(CONFIG + ": field " + field + " is " + Json.show(n) + ", expected a positive integer");
        }
        return n.asInt();
    }

    private static double positiveNumber(JsonNode o, String field, double dflt) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) return dflt;
        double v = n.asDouble();
        if (!n.isNumber() || !(v > 0) || Double.isInfinite(v)) {
            throw new Qwen4jException(CONFIG + ": field " + field + " is " + Json.show(n) + ", expected a positive number");
        }
        return v;
    }

    private static boolean bool(JsonNode o, String field, boolean dflt) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) return dflt;
        if (!n.isBoolean()) {
            throw new Qwen4jException(CONFIG + ": field " + field + " is " + Json.show(n) + ", expected true or false");
        }
        return n.asBoolean();
    }

    /** An int or a non-empty list of ints, each in [0, vocab). */
    private static List<Integer> tokenIds(JsonNode n, String file, String field, int vocab) {
        List<JsonNode> items = new ArrayList<>();
        if (n.isArray()) n.forEach(items::add);
        else items.add(n);
        if (items.isEmpty()) {
            throw new Qwen4jException(file + ": field " + field + " is an empty list, expected a token id or a list of them");
        }
        List<Integer> out = new ArrayList<>();
        for (JsonNode v : items) {
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 0 || v.asInt() >= vocab) {
                throw new Qwen4jException(file + ": field " + field + " is " + Json.show(n)
                        + ", expected token ids in [0, " + vocab + ")");
            }
            out.add(v.asInt());
        }
        return out;
    }
}
