package qwen4j.format;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import qwen4j.fuzz.FuzzOracle;
import qwen4j.tensor.Tensor;
import qwen4j.tokenizer.Tokenizer;

/**
 * Fuzz targets for the GGUF reader. In the normal test run they replay the corpus under
 * src/test/resources/qwen4j/format/GgufFuzzTestInputs; with JAZZER_FUZZ=1 they fuzz (README, Hardening).
 */
class GgufFuzzTest {
    /** Small limits, so that the fuzzer reaches the limit checks with inputs of a few kB. */
    static final Limits SMALL = new Limits(64, 4096, 4096, 4, 64, 4, 4096, 4096);

    /** Header, metadata (and the tokenizer and model config read from it), tensor table. */
    @FuzzTest(maxDuration = "60s")
    void metadata(byte[] data) {
        parseAndUse(data, SMALL);
        parseAndUse(data, Limits.DEFAULT);
    }

    /**
     * The tensor table behind a fixed valid header: first byte = tensor count, the rest = the table
     * and the data section, so the mutations land in names, dims, types and offsets.
     */
    @FuzzTest(maxDuration = "60s")
    void tensorTable(byte[] data) {
        if (data.length == 0) return;
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        ByteBuffer h = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(GgufFile.MAGIC).putInt(3).putLong(Byte.toUnsignedInt(data[0])).putLong(1);
        file.writeBytes(h.array());
        byte[] key = "general.architecture".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        ByteBuffer kv = ByteBuffer.allocate(8 + key.length + 4 + 8 + 5).order(ByteOrder.LITTLE_ENDIAN);
        kv.putLong(key.length).put(key).putInt(GgufFile.T_STRING).putLong(5).put("qwen2".getBytes());
        file.writeBytes(kv.array());
        file.write(data, 1, data.length - 1);
        parseAndUse(file.toByteArray(), Limits.DEFAULT);
    }

    private static void parseAndUse(byte[] data, Limits limits) {
        FuzzOracle.validOrUserError(() -> {
            GgufFile f = GgufFile.parse(MemorySegment.ofArray(data), "fuzz.gguf", limits);
            long total = 0;
            for (Tensor t : f.tensors().values()) {
                // every tensor must be a slice inside the file, of the size its shape and type give
                if (t.data().byteSize() < 0 || t.data().byteSize() > data.length) throw new AssertionError(t.name());
                total += t.data().byteSize();
            }
            if (total > data.length) throw new AssertionError("tensors overlap: " + total + " > " + data.length);
            Map<String, Object> md = f.metadata();
            // what the loader does next with the metadata: the tokenizer and the model config
            FuzzOracle.validOrUserError(() -> Tokenizer.fromGgufMetadata(md, "fuzz.gguf"));
            FuzzOracle.validOrUserError(() -> GgufConfig.parse(md, "fuzz.gguf", 1000, true));
            return f;
        });
    }
}
