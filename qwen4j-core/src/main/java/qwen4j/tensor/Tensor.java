package qwen4j.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A stored tensor as the file holds it: a name, an element type, a shape in row-major order
 * (outermost dimension first, as numpy and safetensors write it; GGUF's ne[] is reversed by its
 * reader) and the bytes, usually a slice of a memory-mapped file. Nothing is copied or converted.
 *
 * @param source where the bytes come from (file name), for error messages
 */
public record Tensor(String name, DType type, long[] shape, MemorySegment data, String source) {

    public long elementCount() {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    public int rank() { return shape.length; }

    /** Rows of a matrix (shape[0]); 1 for a vector. */
    public long rows() { return shape.length == 1 ? 1 : shape[0]; }

    /** Columns of a matrix (last dimension). */
    public long cols() { return shape[shape.length - 1]; }

    public String shapeString() { return Arrays.toString(shape); }

    @Override
    public String toString() {
        return name + " " + type + " " + shapeString() + " (" + source + ")";
    }
}
