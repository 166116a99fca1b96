package qwen4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18 item 16: bin/qwen4j's JIT warm-up cache in installs it cannot write. Runs the real launcher
 * script against a stand-in JDK (a script that logs its calls and "records" a cache by creating the
 * file), so the launcher's logic is tested in a second, without building or recording anything.
 */
@EnabledOnOs(OS.LINUX)
class LauncherTest {
    @TempDir Path tmp;
    Path install, log;

    @BeforeEach
    void setUp() throws Exception {
        install = tmp.resolve("install");
        Files.createDirectories(install.resolve("bin"));
        Files.createDirectories(install.resolve("config"));
        Files.createDirectories(install.resolve("qwen4j-cli/target"));
        // the tests run in qwen4j-cli/; the launcher and what it reads are at the repository root
        for (String f : List.of("bin/qwen4j", "bin/find-jdk", "config/jvm.flags")) {
            Files.copy(Path.of("..", f), install.resolve(f));
        }
        install.resolve("bin/qwen4j").toFile().setExecutable(true);
        install.resolve("bin/find-jdk").toFile().setExecutable(true);
        Files.writeString(install.resolve("qwen4j-cli/target/qwen4j.jar"), "stand-in");
        log = tmp.resolve("java.log");
        Path java = tmp.resolve("jdk/bin/java");
        Files.createDirectories(java.getParent());
        Files.writeString(java, """
                #!/bin/bash
                echo "$*" >> "$FAKE_JAVA_LOG"
                for a in "$@"; do
                  case "$a" in
                    -XshowSettings:properties) echo "    java.specification.version = 25"; exit 0;;
                    -version) echo 'openjdk version "25" (stand-in)' >&2; exit 0;;
                    -XX:AOTCacheOutput=*) [ -n "${FAKE_AOT_FAILS:-}" ] && exit 1; echo recorded > "${a#-XX:AOTCacheOutput=}";;
                  esac
                done
                exit 0
                """);
        java.toFile().setExecutable(true);
    }

    record Run(int exit, String err, List<String> javaCalls) {}

    Run launch(Map<String, String> env) throws Exception {
        Files.deleteIfExists(log);
        ProcessBuilder pb = new ProcessBuilder("bash", install.resolve("bin/qwen4j").toString(), "--version");
        pb.environment().put("JAVA_HOME", tmp.resolve("jdk").toString());
        pb.environment().put("FAKE_JAVA_LOG", log.toString());
        pb.environment().put("HOME", tmp.resolve("home").toString());
        pb.environment().remove("XDG_CACHE_HOME");
        pb.environment().remove("QWEN4J_AOT");
        pb.environment().remove("QWEN4J_AOT_DIR");
        pb.environment().remove("JAVA_OPTS");
        pb.environment().putAll(env);
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        List<String> calls = Files.exists(log) ? Files.readAllLines(log) : List.of();
        return new Run(p.exitValue(), err, calls);
    }

    static long recordings(Run r) {
        return r.javaCalls().stream().filter(c -> c.contains("-XX:AOTCacheOutput=")).count();
    }

    /** An unwritable cache folder: recorded once into the user cache folder, then used from there. */
    @Test
    void readOnlyInstallRecordsOnceIntoTheUserCache() throws Exception {
        Path cache = tmp.resolve("cache");
        // nothing can be created under /proc/1, not even by root
        Map<String, String> env = Map.of("QWEN4J_AOT_DIR", "/proc/1/qwen4j-aot", "XDG_CACHE_HOME", cache.toString());
        Run first = launch(env);
        assertThat(first.exit()).as(first.err()).isZero();
        assertThat(recordings(first)).isEqualTo(1);
        Run second = launch(env);
        assertThat(recordings(second)).as(second.err()).isZero();
        assertThat(second.err()).doesNotContain("recording");
        String last = second.javaCalls().getLast();
        assertThat(last).contains("-XX:AOTCache=" + cache.resolve("qwen4j")).contains("--version");
    }

    /** No writable folder at all: one line, no recording attempt, the command still runs. */
    @Test
    void noWritableFolderSkipsWithOneLine() throws Exception {
        Map<String, String> env = Map.of("QWEN4J_AOT_DIR", "/proc/1/qwen4j-aot", "XDG_CACHE_HOME", "/proc/1/cache");
        for (int i = 0; i < 2; i++) {
            Run r = launch(env);
            assertThat(r.exit()).isZero();
            assertThat(recordings(r)).isZero();
            assertThat(r.err().lines().filter(l -> l.startsWith("qwen4j:")).toList()).hasSize(1);
            assertThat(r.err()).contains("running without it");
            assertThat(r.javaCalls().getLast()).contains("--version").doesNotContain("AOTCache");
        }
    }

    /** A recording that fails (say, target/ on a read-only mount) is not retried on every run. */
    @Test
    void aFailedRecordingIsNotRetriedEveryRun() throws Exception {
        Map<String, String> env = Map.of("FAKE_AOT_FAILS", "1");
        Run first = launch(env);
        assertThat(first.exit()).isZero();
        assertThat(recordings(first)).isEqualTo(1);
        Run second = launch(env);
        assertThat(recordings(second)).as(second.err()).isZero();
        assertThat(second.javaCalls().getLast()).contains("--version");
    }
}
