package qwen4j.tensor;

/** Which implementation of the kernels to use: the plain reference loops or the Vector API ones. */
public enum Kernels {
    SCALAR,
    SIMD;

    /**
     * The kernels that actually run when these are asked for: SIMD only where {@link VectorSupport}
     * says the Vector API runs as vector instructions, else SCALAR (noted once on stderr).
     */
    public Kernels usable() {
        if (this == SIMD && !VectorSupport.usable()) {
            VectorSupport.tellOnce();
            return SCALAR;
        }
        return this;
    }
}
