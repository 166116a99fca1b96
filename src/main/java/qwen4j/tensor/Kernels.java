package qwen4j.tensor;

/** Which implementation of the kernels to use: the plain reference loops or the Vector API ones. */
public enum Kernels {
    SCALAR,
    SIMD
}
