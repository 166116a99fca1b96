package qwen4j.format;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import qwen4j.Qwen4jException;
import qwen4j.model.Qwen2Config;

/**
 * Builds a {@link Qwen2Config} from GGUF metadata ({@code general.architecture} must be qwen2;
 * hyper-parameters from the {@code qwen2.*} keys). Defaults follow llama.cpp: head_count_kv =
 * head_count, rope.freq_base 10000. The vocabulary size is the token embedding's row count,
 * and the embeddings are tied when the file has no {@code output.weight}.
 */
public final class GgufConfig {
    public static final String ARCH = "qwen2";

    private GgufConfig() {}

    /**
     * @param file       file name for error messages
     * @param vocabSize  rows of token_embd.weight
     * @param hasOutput  whether output.weight is present (false: tied embeddings)
     */
    public static Qwen2Config parse(Map<String, Object> md, String file, int vocabSize, boolean hasOutput) {
        checkArchitecture(md, file);
        int hidden = positiveInt(md, file, ARCH + ".embedding_length", null);
        int layers = positiveInt(md, file, ARCH + ".block_count", null);
        int heads = positiveInt(md, file, ARCH + ".attention.head_count", null);
        int kvHeads = positiveInt(md, file, ARCH + ".attention.head_count_kv", heads);
        int inter = positiveInt(md, file, ARCH + ".feed_forward_length", null);
        int ctx = positiveInt(md, file, ARCH + ".context_length", null);
        double theta = positiveNumber(md, file, ARCH + ".rope.freq_base", 10000.0);
        double eps = positiveNumber(md, file, ARCH + ".attention.layer_norm_rms_epsilon", null);
        if (hidden % heads != 0) {
            throw new Qwen4jException(file + ": " + ARCH + ".embedding_length " + hidden
                    + " is not a multiple of " + ARCH + ".attention.head_count " + heads);
        }
        if (heads % kvHeads != 0) {
            throw new Qwen4jException(file + ": " + ARCH + ".attention.head_count " + heads
                    + " is not a multiple of " + ARCH + ".attention.head_count_kv " + kvHeads);
        }
        if (hidden / heads % 2 != 0) {
            throw new Qwen4jException(file + ": head dimension " + (hidden / heads) + " is odd; rotary embeddings need it even");
        }
        Object scaling = md.get(ARCH + ".rope.scaling.type");
        if (scaling != null && !"none".equals(scaling)) {
            throw new Qwen4jException(file + ": metadata key " + ARCH + ".rope.scaling.type is " + GgufFile.show(scaling)
                    + "; qwen4j does not implement RoPE scaling");
        }
        List<Integer> eos = new ArrayList<>();
        Integer e = tokenId(md, file, "tokenizer.ggml.eos_token_id", vocabSize);
        if (e != null) eos.add(e);
        Integer eot = tokenId(md, file, "tokenizer.ggml.eot_token_id", vocabSize);
        if (eot != null && !eos.contains(eot)) eos.add(eot);
        Integer bos = tokenId(md, file, "tokenizer.ggml.bos_token_id", vocabSize);
        return new Qwen2Config(hidden, layers, heads, kvHeads, inter, vocabSize, theta, (float) eps, !hasOutput, ctx,
                List.copyOf(eos), bos == null ? -1 : bos);
    }

    /** general.architecture must be present and be qwen2. */
    public static void checkArchitecture(Map<String, Object> md, String file) {
        Object arch = md.get("general.architecture");
        if (arch == null) {
            throw new Qwen4jException(file + ": metadata key general.architecture is missing");
        }
        if (!(arch instanceof String a) || !a.equals(ARCH)) {
            throw new Qwen4jException(file + ": architecture " + (arch instanceof String s ? s : GgufFile.show(arch))
                    + " is not supported (qwen4j runs " + ARCH + ")");
        }
    }

    static int positiveInt(Map<String, Object> md, String file, String key, Integer dflt) {
        Object v = md.get(key);
        if (v == null) {
            if (dflt != null) return dflt;
            throw new Qwen4jException(file + ": metadata key " + key + " is missing");
        }
        if (!(v instanceof Long l) || l <= 0 || l > Integer.MAX_VALUE) {
            throw new Qwen4jException(file + ": metadata key " + key + " is " + GgufFile.typeName(v)
                    + ", expected a positive integer");
        }
        return (int) (long) l;
    }

    static double positiveNumber(Map<String, Object> md, String file, String key, Double dflt) {
        Object v = md.get(key);
        if (v == null) {
            if (dflt != null) return dflt;
            throw new Qwen4jException(file + ": metadata key " + key + " is missing");
        }
        double d = switch (v) {
            case Double x -> x;
            case Long x -> (double) x;
            default -> Double.NaN;
        };
        if (!(d > 0) || Double.isInfinite(d)) {
            throw new Qwen4jException(file + ": metadata key " + key + " is " + GgufFile.typeName(v)
                    + ", expected a positive number");
        }
        return d;
    }

    private static Integer tokenId(Map<String, Object> md, String file, String key, int vocab) {
        Object v = md.get(key);
        if (v == null) return null;
        if (!(v instanceof Long l) || l < 0 || l >= vocab) {
            throw new Qwen4jException(file + ": metadata key " + key + " is " + GgufFile.typeName(v)
                    + ", expected a token id in [0, " + vocab + ")");
        }
        return (int) (long) l;
    }
}
