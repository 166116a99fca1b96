package qwen4j.format;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import qwen4j.fuzz.FuzzOracle;
import qwen4j.tensor.Tensor;

/**
 * Fuzz targets for safetensors files and model.safetensors.index.json. Corpus:
 * src/test/resources/qwen4j/format/SafetensorsFuzzTestInputs.
 */
class SafetensorsFuzzTest {
    @FuzzTest(maxDuration = "60s")
    void safetensorsFile(byte[] data) {
        parse(data, GgufFuzzTest.SMALL);
        parse(data, Limits.DEFAULT);
    }

    private static void parse(byte[] data, Limits limits) {
        FuzzOracle.validOrUserError(() -> {
            SafetensorsFile f = SafetensorsFile.parse(MemorySegment.ofArray(data), "fuzz.safetensors", limits);
            long total = 0;
            for (Tensor t : f.tensors().values()) {
                long need = t.type().bytesFor(t.elementCount());
                if (t.data().byteSize() != need) throw new AssertionError(t.name() + ": " + t.data().byteSize() + " != " + need);
                total += need;
            }
            if (total > data.length - f.dataStart()) throw new AssertionError("tensors overlap or run past the data");
            for (String name : f.unsupported().keySet()) FuzzOracle.validOrUserError(() -> f.find(name));
            return f;
        });
    }

    @FuzzTest(maxDuration = "60s")
    void indexJson(byte[] data) {
        FuzzOracle.validOrUserError(() -> {
            Map<String, String> map = SafetensorsCheckpoint.parseIndex(Json.parse(data, SafetensorsCheckpoint.INDEX, 0));
            for (String shard : map.values()) {
                // the loader resolves each shard in the model folder: it must stay there
                java.nio.file.Path folder = java.nio.file.Path.of("/models/m");
                if (!folder.resolve(shard).normalize().getParent().equals(folder)) throw new AssertionError("escapes: " + shard);
            }
            return map;
        });
    }
}
