package qwen4j.format;

import qwen4j.Qwen4jException;

/**
 * Named bounds on what a model file's header may ask the readers to allocate. Model files come
 * from the internet; each count, length and product read from a header is checked against these
 * (and against the bytes left in the file) before anything is allocated, so a crafted header gives
 * one error naming the limit and the value instead of an OutOfMemoryError or an overflow.
 *
 * <p>The defaults are far above anything real models use (Qwen2.5-72B GGUF: ~1000 tensors, ~40
 * metadata keys, a 152k-entry token array, a 6 kB chat template; safetensors headers well under
 * 1 MB) yet small enough that a hostile header cannot make the reader hold gigabytes.
 *
 * @param maxMetadataEntries GGUF metadata key/value pairs per file
 * @param maxStringLength    bytes of one GGUF string (key, value, array element, tensor name)
 * @param maxArrayLength     elements of one GGUF metadata array
 * @param maxArrayDepth      nesting of GGUF arrays of arrays
 * @param maxTensorCount     tensors per file (GGUF tensor table, safetensors header)
 * @param maxDims            dimensions of one tensor
 * @param maxHeaderBytes     bytes of a safetensors JSON header
 * @param maxJsonFileBytes   bytes of a JSON side file (config.json, index.json, generation_config.json)
 */
public record Limits(long maxMetadataEntries, long maxStringLength, long maxArrayLength, int maxArrayDepth,
                     long maxTensorCount, int maxDims, long maxHeaderBytes, long maxJsonFileBytes) {

    public static final Limits DEFAULT = new Limits(
            65_536,          // max-metadata-entries
            16L << 20,       // max-string-length: 16 MiB (chat templates are kilobytes)
            4L << 20,        // max-array-length: 4 Mi elements (vocabularies are 150k-260k)
            8,               // max-array-depth
            1L << 20,        // max-tensor-count: 1 Mi (a 72B model has ~1000)
            4,               // max-dims: ggml tensors have at most 4
            100L << 20,      // max-header-bytes: 100 MiB (what the safetensors reference allows)
            64L << 20);      // max-json-file-bytes: 64 MiB

    public Limits {
        // Strings and arrays are held in Java arrays, so their bounds must fit an int.
        if (maxStringLength < 0 || maxStringLength > Integer.MAX_VALUE - 16
                || maxArrayLength < 0 || maxArrayLength > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("string and array limits must be in [0, Integer.MAX_VALUE - 16]");
        }
        if (maxMetadataEntries < 0 || maxArrayDepth < 1 || maxTensorCount < 0 || maxDims < 1
                || maxHeaderBytes < 2 || maxJsonFileBytes < 2) {
            throw new IllegalArgumentException("limits must be positive");
        }
    }

    /**
     * Throws when {@code value} exceeds {@code limit}: "{@code where}: {@code what} V exceeds limit
     * NAME=L". Negative values (a u64 above Long.MAX_VALUE) are shown unsigned and always exceed.
     */
    static void check(String where, String what, long value, String name, long limit, String suffix) {
        if (value < 0 || value > limit) {
            throw new Qwen4jException(where + ": " + what + " " + Long.toUnsignedString(value) + " exceeds limit "
                    + name + "=" + limit + suffix);
        }
    }
}
