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

    @Test
    void hugeContextsAreRefusedWithTheNumbersAndTheWayOut() {
        Qwen2Config c = qwen4j.bench.SyntheticModel.shape("0.5b");
        assertThatThrownBy(() -> MemoryPlan.of(c, Options.defaults(), 20_000_000, 1, 1).check())
                .isInstanceOf(Qwen4jException.class)
                .hasMessageContaining("--ctx 20000000").hasMessageContaining("--kv-cache f16");
        assertThatThrownBy(() -> MemoryPlan.of(c, Options.defaults(), 1_000_000, 8, 8).check())
                .isInstanceOf(Qwen4jException.class)
                .hasMessageContaining("GiB").hasMessageContaining("--parallel").hasMessageContaining("QWEN4J_HEAP");
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
