package qwen4j.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import qwen4j.Fixtures;
import qwen4j.Qwen4jException;
import qwen4j.tensor.DType;

/** Issue 18 item 14: how convert treats its output file. */
class ConvertOutputTest {
    @TempDir Path tmp;

    static Path hf() { return Fixtures.tiny().resolve("hf"); }

    @Test
    void outputModeFollowsTheUmask() throws Exception {
        Path probe = Files.createFile(tmp.resolve("probe")); // what any new file gets here
        Path out = tmp.resolve("tiny.gguf");
        GgufConverter.convert(hf(), DType.BF16, out, false, Progress.NONE);
        Set<PosixFilePermission> expected = Files.getPosixFilePermissions(probe);
        assertThat(Files.getPosixFilePermissions(out)).isEqualTo(expected);
    }

    @Test
    void aFileThatAppearsDuringConversionIsNotReplacedWithoutForce() throws Exception {
        Path out = tmp.resolve("tiny.gguf");
        AtomicBoolean planted = new AtomicBoolean();
        Progress plant = (done, total) -> {
            if (done > 0 && planted.compareAndSet(false, true)) {
                try {
                    Files.writeString(out, "someone else's file");
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        };
        assertThatThrownBy(() -> GgufConverter.convert(hf(), DType.BF16, out, false, plant))
                .isInstanceOf(Qwen4jException.class).hasMessageContaining("appeared while converting");
        assertThat(Files.readString(out)).isEqualTo("someone else's file");
        try (var left = Files.list(tmp)) {
            assertThat(left.map(p -> p.getFileName().toString())).containsExactly("tiny.gguf");
        }
    }

    @Test
    void forceReplacesRegularFilesOnlyAndAFolderFailsFirst() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("dir.gguf"));
        AtomicBoolean worked = new AtomicBoolean();
        Progress p = (done, total) -> worked.set(true);
        assertThatThrownBy(() -> GgufConverter.convert(hf(), DType.BF16, dir, true, p))
                .isInstanceOf(Qwen4jException.class).hasMessageContaining("is a folder");
        assertThatThrownBy(() -> GgufConverter.convert(hf(), DType.BF16, dir, false, p))
                .isInstanceOf(Qwen4jException.class).hasMessageContaining("is a folder");
        Path target = Files.writeString(tmp.resolve("target.txt"), "keep me");
        Path link = Files.createSymbolicLink(tmp.resolve("link.gguf"), target);
        assertThatThrownBy(() -> GgufConverter.convert(hf(), DType.BF16, link, true, p))
                .isInstanceOf(Qwen4jException.class).hasMessageContaining("regular files only");
        assertThat(worked).as("refused before converting").isFalse();
        assertThat(Files.readString(target)).isEqualTo("keep me");
        Path old = Files.writeString(tmp.resolve("old.gguf"), "old");
        GgufConverter.convert(hf(), DType.BF16, old, true, Progress.NONE);
        assertThat(Files.size(old)).isGreaterThan(1000);
    }

    @Test
    void partialFilesOfDeadConversionsAreRemoved() throws Exception {
        Path out = tmp.resolve("tiny.gguf");
        long deadPid = 9_999_999_999L; // beyond any pid_max: no such process
        Path stale = Files.writeString(tmp.resolve(".tiny.gguf." + deadPid + ".partial"), "left by a killed run");
        GgufConverter.convert(hf(), DType.BF16, out, false, Progress.NONE);
        assertThat(stale).doesNotExist();
        assertThat(out).exists();
    }

    @Test
    void requantizingNeedsAnExplicitYes() {
        Path q4 = Fixtures.tiny().resolve("tiny-Q4_0.gguf");
        Path out = tmp.resolve("q8.gguf");
        assertThatThrownBy(() -> GgufConverter.convert(q4, DType.Q8_0, out, false, Progress.NONE))
                .isInstanceOf(Qwen4jException.class).hasMessageContaining("already quantized").hasMessageContaining("--allow-requantize");
        assertThat(out).doesNotExist();
        GgufConverter.convert(q4, DType.Q8_0, out, false, true, Progress.NONE);
        assertThat(out).exists();
    }
}
