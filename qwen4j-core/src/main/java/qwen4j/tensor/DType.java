package qwen4j.tensor;

import java.util.Arrays;
import java.util.Optional;

/**
 * Element types of stored tensors, with their GGUF (ggml) type ids and block layout. A block is
 * {@code blockSize} elements stored in {@code blockBytes} bytes (1 element for plain floats).
 * Types listed here are known by name (so errors can name them); which ones have kernels is up
 * to {@link Matrices}.
 */
public enum DType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 18),
    Q4_1(3, 32, 20),
    Q5_0(6, 32, 22),
    Q5_1(7, 32, 24),
    Q8_0(8, 32, 34),
    Q8_1(9, 32, 36),
    Q2_K(10, 256, 84),
    Q3_K(11, 256, 110),
    Q4_K(12, 256, 144),
    Q5_K(13, 256, 176),
    Q6_K(14, 256, 210),
    Q8_K(15, 256, 292),
    IQ2_XXS(16, 256, 66),
    IQ2_XS(17, 256, 74),
    IQ3_XXS(18, 256, 98),
    IQ1_S(19, 256, 50),
    IQ4_NL(20, 32, 18),
    IQ3_S(21, 256, 110),
    IQ2_S(22, 256, 82),
    IQ4_XS(23, 256, 136),
    I8(24, 1, 1),
    I16(25, 1, 2),
    I32(26, 1, 4),
    I64(27, 1, 8),
    F64(28, 1, 8),
    IQ1_M(29, 256, 56),
    BF16(30, 1, 2),
    TQ1_0(34, 256, 54),
    TQ2_0(35, 256, 66);

    private final int ggmlId;
    private final int blockSize;
    private final int blockBytes;

    DType(int ggmlId, int blockSize, int blockBytes) {
        this.ggmlId = ggmlId;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    public int ggmlId() { return ggmlId; }

    public int blockSize() { return blockSize; }

    public int blockBytes() { return blockBytes; }

    /** Bytes taken by {@code elements} values; {@code elements} must be a multiple of the block size. */
    public long bytesFor(long elements) {
        return Math.multiplyExact(elements / blockSize, (long) blockBytes);
    }

    public static Optional<DType> fromGgmlId(int id) {
        return Arrays.stream(values()).filter(t -> t.ggmlId == id).findFirst();
    }

    /** Safetensors dtype names ("BF16", "F16", "F32", ...). */
    public static Optional<DType> fromSafetensors(String name) {
        return switch (name) {
            case "F32" -> Optional.of(F32);
            case "F16" -> Optional.of(F16);
            case "BF16" -> Optional.of(BF16);
            case "F64" -> Optional.of(F64);
            case "I8" -> Optional.of(I8);
            case "I16" -> Optional.of(I16);
            case "I32" -> Optional.of(I32);
            case "I64" -> Optional.of(I64);
            default -> Optional.empty();
        };
    }
}
