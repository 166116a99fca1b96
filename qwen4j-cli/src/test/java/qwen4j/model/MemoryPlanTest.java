package qwen4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import qwen4j.Fixtures;
import qwen4j.Qwen4jException;
import qwen4j.generate.Engine;

/** Issue 18 item 8 (memory planning): a context that cannot fit is refused before anything is allocated. */
class MemoryPlanTest {
    @Test
    void sevenBAtFullContextCostsWhatTheIssueSays() {
        Qwen2Config c = qwen4j.bench.SyntheticModel.shape("7b");
        MemoryPlan f32 = MemoryPlan.of(c, Options.defaults(), 32768, 1, 1);
        assertThat(f32.kvBytesPerSession()).isEqualTo(2L * 28 * 32768 * 512 * 4); // 3.76 GB
        MemoryPlan f16 = MemoryPlan.of(c, Options.defaults().withKv(KvCache.Type.F16), 32768, 1, 1);
        assertThat(f16.kvBytesPerSession()).isEqualTo(f32.kvBytesPerSession() / 2);
        assertThat(MemoryPlan.of(c, Options.defaults(), 32768, 4, 4).totalBytes()).isEqualTo(4 * f32.totalBytes());
    }

    /**
     * Issue 18 item 8: a 7B at its full 32K context starts under the launcher's default heap (-Xmx4g): the
     * 3.76 GB KV cache is off-heap, the heap holds only the scratch. Checked against a 4 GiB heap and a
     * 16 GiB machine, and for real: the model's and a session's allocations under this JVM's heap.
     */
    @Test
    void sevenBAtFullContextFitsTheDefaultHeap() {
        Qwen2Config c = qwen4j.bench.SyntheticModel.shape("7b");
        MemoryPlan p = MemoryPlan.of(c, Options.defaults(), 32768, 1, 1);
        assertThat(p.heapBytes()).isLessThan(64L << 20);
        p.check(() -> 4L << 30, 16L << 30);
        // the KV cache needs its pages only when written: a 32K-position pool costs nothing until used
        try (KvCache kv = new KvCache(c.numLayers(), c.kvDim(), KvCache.Type.F32, KvCache.blocksFor(32768), true)) {
            assertThat(kv.bytes()).isEqualTo(p.kvBytesPerSession());
            assertThat(kv.capacity()).isEqualTo(32768);
        }
    }

    @Test
    void hugeContextsAreRefusedWithTheNumbersAndTheWayOut() {
        Qwen2Config c = qwen4j.bench.SyntheticModel.shape("0.5b");
        assertThatThrownBy(() -> MemoryPlan.of(c, Options.defaults(), 20_000_000, 1, 1).check())
                .isInstanceOf(Qwen4jException.class)
                .hasMessageContaining("--ctx 20000000").hasMessageContaining("--kv-cache f16");
        // the KV cache is off-heap: it is held against the machine's memory, the scratch against the heap
        assertThatThrownBy(() -> MemoryPlan.of(c, Options.defaults(), 1_000_000, 8, 1).check(() -> 2L << 30, 16L << 30))
                .isInstanceOf(Qwen4jException.class)
                .hasMessageContaining("GiB of KV cache").hasMessageContaining("16.00 GiB of memory").hasMessageContaining("--parallel");
        assertThatThrownBy(() -> MemoryPlan.of(c, Options.defaults().withMask(Attention.Mask.PRECOMPUTED), 30_000, 1, 1)
                .check(() -> 2L << 30, 1L << 40))
                .isInstanceOf(Qwen4jException.class).hasMessageContaining("of heap").hasMessageContaining("QWEN4J_HEAP");
        MemoryPlan.of(c, Options.defaults(), 4096, 1, 1).check(); // fits
    }

    /** A model that declares a 20M-token context and --ctx 20000000: a clear error, not an OutOfMemoryError. */
    @Test
    void engineRefusesBeforeAllocating(@TempDir Path tmp) throws Exception {
        Path hf = Fixtures.tiny().resolve("hf");
        try (var files = Files.list(hf)) {
            for (Path f : files.toList()) Files.copy(f, tmp.resolve(f.getFileName()));
        }
        Files.delete(tmp.resolve("config.json"));
        Files.writeString(tmp.resolve("config.json"),
                Files.readString(hf.resolve("config.json")).replace("\"max_position_embeddings\": 32768",
                        "\"max_position_embeddings\": 20000000"));
        assertThat(Files.readString(tmp.resolve("config.json"))).contains("20000000");
        assertThatThrownBy(() -> Engine.open(tmp, Options.defaults().withThreads(1), 20_000_000))
                .isInstanceOf(Qwen4jException.class).hasMessageContaining("--ctx 20000000 needs");
        String[] r = qwen4j.cli.CliTestAccess.run("generate", "-m", tmp.toString(), "--ctx", "20000000", "-p", "x", "-n", "1");
        assertThat(r[0]).isEqualTo("2");
        assertThat(r[2].strip().lines().count()).isEqualTo(1);
        assertThat(r[2]).contains("--kv-cache f16");
    }
}
