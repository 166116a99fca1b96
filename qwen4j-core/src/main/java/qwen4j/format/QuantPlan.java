package qwen4j.format;

import java.util.Locale;
import qwen4j.Qwen4jException;
import qwen4j.tensor.DType;

/**
 * Which stored type each tensor gets when a model is converted (or quantized on load) to a target type.
 * Norm weights and biases (1-D) stay F32. Float targets apply to every matrix. Q8_0: every matrix.
 * Q4_0: every matrix except the output projection (the token embedding when tied), which llama.cpp's
 * llama-quantize keeps at higher precision (Q6_K when its row length is a multiple of 256, else Q8_0);
 * qwen4j has no Q6_K quantizer, so it uses Q8_0 there (the tiny fixture's Q4_0 file has exactly that).
 */
public final class QuantPlan {
    private QuantPlan() {}

    /** Parses a --quantize type name: f32, f16, bf16, q8_0, q4_0. */
    public static DType parse(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "f32" -> DType.F32;
            case "f16" -> DType.F16;
            case "bf16" -> DType.BF16;
            case "q8_0" -> DType.Q8_0;
            case "q4_0" -> DType.Q4_0;
            default -> throw new Qwen4jException("--quantize: '" + name + "' is not one of f32, f16, bf16, q8_0, q4_0");
        };
    }

    /**
     * The type of a tensor of {@code rank} dimensions; {@code outputLike} for output.weight, or the
     * token embedding of a tied model (it is the output projection too).
     */
    public static DType typeFor(DType target, int rank, boolean outputLike) {
        if (rank == 1) return DType.F32;
        if (target == DType.Q4_0 && outputLike) return DType.Q8_0;
        return target;
    }

    /** llama.cpp's general.file_type (llama_ftype) for a target type. */
    public static int fileType(DType target) {
        return switch (target) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q8_0 -> 7;
            case BF16 -> 32;
            default -> throw new IllegalArgumentException("no file type for " + target);
        };
    }
}
