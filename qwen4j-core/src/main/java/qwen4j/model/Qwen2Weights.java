package qwen4j.model;

import qwen4j.tensor.Matrix;

/**
 * All weights of a Qwen2 model. {@code output} is lm_head, or the token embedding itself when
 * the model ties them (Qwen2.5 0.5B to 3B).
 */
public record Qwen2Weights(
        Matrix tokenEmbedding,
        LayerWeights[] layers,
        float[] outputNorm,
        Matrix output) {
}
