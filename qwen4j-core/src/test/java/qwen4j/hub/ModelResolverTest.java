package qwen4j.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import qwen4j.Qwen4jException;

/** -m REPO on a cache built by hand in huggingface_hub's layout (refs/, blobs/, snapshots/ with relative links). */
class ModelResolverTest {
    static final String MAIN = "1111111111111111111111111111111111111111";
    static final String V1 = "2222222222222222222222222222222222222222";

    @TempDir Path tmp;

    Map<String, String> env() {
        return Map.of("HF_HUB_CACHE", tmp.resolve("hub").toString(), "HOME", tmp.toString());
    }

    /** Puts {@code files} in the snapshot {@code commit} of {@code repo} (blobs named by a made-up etag), and a ref to it. */
    Path snapshot(String repo, String ref, String commit, List<String> files) throws IOException {
        Path dir = tmp.resolve("hub/models--" + repo.replace("/", "--"));
        Path snap = dir.resolve("snapshots/" + commit);
        for (String f : files) {
            Path blob = dir.resolve("blobs/" + Integer.toHexString((commit + f).hashCode()));
            Files.createDirectories(blob.getParent());
            Files.writeString(blob, f);
            Path link = snap.resolve(f);
            Files.createDirectories(link.getParent());
            Files.createSymbolicLink(link, link.getParent().relativize(blob));
        }
        Files.createDirectories(dir.resolve("refs"));
        if (ref != null) Files.writeString(dir.resolve("refs/" + ref), commit + "\n");
        return snap;
    }

    @Test
    void repoIdResolvesThroughRefsToItsSnapshot() throws IOException {
        Path main = snapshot("Qwen/Qwen2.5-7B-Instruct", "main", MAIN, List.of("config.json", "model.safetensors"));
        Path v1 = snapshot("Qwen/Qwen2.5-7B-Instruct", "v1", V1, List.of("config.json"));
        assertThat(ModelResolver.resolve("Qwen/Qwen2.5-7B-Instruct", null, env())).isEqualTo(main);
        assertThat(ModelResolver.resolve("Qwen/Qwen2.5-7B-Instruct", "v1", env())).isEqualTo(v1);
        assertThat(ModelResolver.resolve("Qwen/Qwen2.5-7B-Instruct", V1, env())).isEqualTo(v1); // a commit needs no ref
        assertThatThrownBy(() -> ModelResolver.resolve("Qwen/Qwen2.5-7B-Instruct", "v2", env())).isInstanceOf(Qwen4jException.class)
                .hasMessage("Qwen/Qwen2.5-7B-Instruct: revision v2 is not in the Hugging Face cache (" + tmp.resolve("hub/models--Qwen--Qwen2.5-7B-Instruct")
                        + "); download it with: bin/qwen4j pull Qwen/Qwen2.5-7B-Instruct --revision v2");
        assertThat(ModelResolver.repoIdOf(main)).isEqualTo("Qwen/Qwen2.5-7B-Instruct");
        assertThat(ModelResolver.repoIdOf(main.resolve("model.safetensors"))).isEqualTo("Qwen/Qwen2.5-7B-Instruct:model.safetensors");
        assertThat(ModelResolver.repoIdOf(tmp)).isNull();
    }

    @Test
    void ggufRepoNeedsAFileWhenItHoldsSeveralModels() throws IOException {
        Path snap = snapshot("Qwen/X-GGUF", "main", MAIN, List.of("README.md", "x-q4_0.gguf", "x-q8_0.gguf",
                "x-f16-00001-of-00002.gguf", "x-f16-00002-of-00002.gguf"));
        assertThatThrownBy(() -> ModelResolver.resolve("Qwen/X-GGUF", null, env())).hasMessage(
                "Qwen/X-GGUF holds 3 GGUF models: pick one with -m Qwen/X-GGUF:FILE, FILE one of x-f16-00001-of-00002.gguf, x-q4_0.gguf, x-q8_0.gguf");
        assertThat(ModelResolver.resolve("Qwen/X-GGUF:x-q8_0.gguf", null, env())).isEqualTo(snap.resolve("x-q8_0.gguf"));
        assertThatThrownBy(() -> ModelResolver.resolve("Qwen/X-GGUF:x-q2_k.gguf", null, env()))
                .hasMessageContaining("has no file x-q2_k.gguf").hasMessageContaining("x-q4_0.gguf, x-q8_0.gguf")
                .hasMessageEndingWith("bin/qwen4j pull Qwen/X-GGUF --include x-q2_k.gguf");
        assertThatThrownBy(() -> ModelResolver.resolve("Qwen/X-GGUF:../../../etc/passwd", null, env()))
                .hasMessageContaining("must lie inside the repo");

        // one split model: its first part (the loader finds the others next to it)
        Path split = snapshot("Qwen/Y-GGUF", "main", MAIN, List.of("y-00001-of-00002.gguf", "y-00002-of-00002.gguf"));
        assertThat(ModelResolver.resolve("Qwen/Y-GGUF", null, env())).isEqualTo(split.resolve("y-00001-of-00002.gguf"));

        // a snapshot with neither config.json nor a GGUF (a pull with --include *.json only, say)
        snapshot("Qwen/Z", "main", MAIN, List.of("tokenizer.json"));
        assertThatThrownBy(() -> ModelResolver.resolve("Qwen/Z", null, env())).hasMessageContaining("has neither config.json nor a .gguf file");
    }

    @Test
    void missingRepoSaysHowToPullIt() {
        assertThatThrownBy(() -> ModelResolver.resolve("Qwen/Qwen2.5-0.5B-Instruct", null, env())).isInstanceOf(Qwen4jException.class)
                .hasMessage("Qwen/Qwen2.5-0.5B-Instruct: no such file or folder, and Qwen/Qwen2.5-0.5B-Instruct is not in the Hugging Face cache ("
                        + tmp.resolve("hub") + "); download it with: bin/qwen4j pull Qwen/Qwen2.5-0.5B-Instruct");
        // not shaped like a repo id: the plain message it always was
        assertThatThrownBy(() -> ModelResolver.resolve("/no/such/model.gguf", null, env())).hasMessage("/no/such/model.gguf: no such file or folder");
        assertThatThrownBy(() -> ModelResolver.resolve("model.gguf", null, env())).hasMessage("model.gguf: no such file or folder");
    }

    @Test
    void anExistingLocalPathWinsOverARepoId() throws IOException {
        // a relative folder whose name is also a repo id in the cache (the working directory is the project's)
        String name = "target/hub-test-" + ProcessHandle.current().pid();
        Path local = Path.of(name);
        Files.createDirectories(local);
        try {
            snapshot(name, "main", MAIN, List.of("config.json"));
            assertThat(ModelResolver.resolve(name, null, env())).isEqualTo(local);
        } finally {
            Files.delete(local);
        }
        Path file = Files.writeString(tmp.resolve("a:b.gguf"), "x"); // a ':' in a real file name is a path, not REPO:FILE
        assertThat(ModelResolver.resolve(file.toString(), null, env())).isEqualTo(file);
    }

    @Test
    void cacheFolderAsHuggingFaceHubFindsIt() {
        assertThat(new HubCache(Map.of("HF_HUB_CACHE", "/a", "HF_HOME", "/b")).root()).isEqualTo(Path.of("/a"));
        assertThat(new HubCache(Map.of("HF_HOME", "/b", "HOME", "/h")).root()).isEqualTo(Path.of("/b/hub"));
        assertThat(new HubCache(Map.of("XDG_CACHE_HOME", "/x", "HOME", "/h")).root()).isEqualTo(Path.of("/x/huggingface/hub"));
        assertThat(new HubCache(Map.of("HOME", "/h")).root()).isEqualTo(Path.of("/h/.cache/huggingface/hub"));
        assertThat(new HubCache(Map.of("HF_HOME", "~/hf", "HOME", "/h")).root()).isEqualTo(Path.of("/h/hf/hub"));
        assertThat(new HubCache(Map.of()).endpoint()).isEqualTo("https://huggingface.co");
        assertThat(new HubCache(Map.of("HF_ENDPOINT", "https://hf-mirror.com/")).endpoint()).isEqualTo("https://hf-mirror.com");
        assertThat(new HubCache(Map.of("HOME", "/nonexistent")).token()).isNull();
    }

    @Test
    void includeGlobsAreFnmatch() {
        assertThat(Globs.matchesAny(List.of("*.json"), "sub/config.json")).isTrue(); // * crosses '/' as in fnmatch
        assertThat(Globs.matchesAny(List.of("*q4_[0k]*.gguf"), "x-q4_k_m.gguf")).isTrue();
        assertThat(Globs.matchesAny(List.of("*q4_[!0]*.gguf"), "x-q4_0.gguf")).isFalse();
        assertThat(Globs.matchesAny(List.of("onnx/"), "onnx/model.onnx")).isTrue();
        assertThat(Globs.matchesAny(List.of("a.json"), "a_json")).isFalse(); // '.' is literal
        assertThat(Globs.matchesAny(List.of(), "anything")).isTrue();
        assertThat(HubDownloader.encode("refs/pr/1", false)).isEqualTo("refs%2Fpr%2F1");
        assertThat(HubDownloader.encode("sub dir/ü.json", true)).isEqualTo("sub%20dir/%C3%BC.json");
        assertThat(HubDownloader.isSafeRepoPath("../x")).isFalse();
        assertThat(HubDownloader.isSafeRepoPath("a//b")).isFalse();
        assertThat(HubDownloader.isSafeRepoPath("onnx/model.onnx")).isTrue();
    }
}
