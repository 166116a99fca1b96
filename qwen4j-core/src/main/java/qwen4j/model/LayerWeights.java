package qwen4j.model;

import qwen4j.tensor.Matrix;

/** One decoder layer. Matrices are [out, in]; norms and biases are small and held as floats. */
public record LayerWeights(
        float[] attnNorm,
        Matrix wq, float[] bq,
        Matrix wk, float[] bk,
        Matrix wv, float[] bv,
        Matrix wo,
        float[] ffnNorm,
        Matrix wGate,
        Matrix wUp,
        Matrix wDown) {
}
