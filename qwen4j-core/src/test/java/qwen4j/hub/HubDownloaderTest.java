package qwen4j.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import qwen4j.Fixtures;
import qwen4j.Qwen4jException;
import qwen4j.generate.Engine;
import qwen4j.model.Golden;
import qwen4j.model.Options;

/**
 * {@code pull} against a local server in the Hub's URL layout (FakeHub), with the cache checked on
 * disk path by path, as huggingface_hub would read it: refs/main holds the commit, snapshots/COMMIT/FILE
 * is a relative symlink to blobs/ETAG, the ETag of an LFS file is the sha256 of its bytes.
 */
class HubDownloaderTest {
    static final String REPO = "qwen4j-test/tiny";
    static final String GGUF_REPO = "qwen4j-test/tiny-GGUF";
    static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    static final String SPLIT = "tiny-Q8_0-split-%05d-of-00003.gguf";
    static final List<String> LFS = List.of("model.safetensors", "tokenizer.json");

    @TempDir Path home;
    FakeHub hub;

    @BeforeEach
    void start() throws Exception {
        hub = new FakeHub();
        Path hf = Fixtures.tiny().resolve("hf");
        Map<String, Path> files = new LinkedHashMap<>();
        for (String f : List.of("config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")) {
            files.put(f, hf.resolve(f));
        }
        hub.add(REPO, COMMIT, files, Set.copyOf(LFS));
        Map<String, Path> ggufs = new LinkedHashMap<>();
        ggufs.put("README.md", hf.resolve("config.json"));
        for (int i = 1; i <= 3; i++) ggufs.put(SPLIT.formatted(i), Fixtures.tiny().resolve(SPLIT.formatted(i)));
        for (String f : List.of("tiny-Q4_0.gguf", "tiny-BF16.gguf")) ggufs.put(f, Fixtures.tiny().resolve(f));
        hub.add(GGUF_REPO, COMMIT.replace('0', 'e'), ggufs, Set.copyOf(ggufs.keySet().stream().filter(f -> f.endsWith(".gguf")).toList()));
    }

    @AfterEach
    void stop() throws Exception {
        hub.close();
    }

    Map<String, String> env(String... extra) {
        Map<String, String> env = new LinkedHashMap<>(Map.of("HF_ENDPOINT", hub.endpoint(), "HF_HOME", home.resolve("hf").toString(),
                "HOME", home.toString()));
        for (int i = 0; i < extra.length; i += 2) env.put(extra[i], extra[i + 1]);
        return env;
    }

    Path repoDir(String repo) {
        return home.resolve("hf/hub/models--" + repo.replace("/", "--"));
    }

    static HubDownloader.Result pull(Map<String, String> env, String repo, String rev, String... include) {
        try (HubDownloader d = new HubDownloader(env)) {
            return d.pull(repo, rev, List.of(include), (done, total) -> {});
        }
    }

    @Test
    void fullPullWritesHuggingFaceHubsLayoutAndTheModelLoadsByName() throws Exception {
        List<long[]> progress = new ArrayList<>();
        HubDownloader.Result r;
        try (HubDownloader d = new HubDownloader(env())) {
            r = d.pull(REPO, null, List.of(), (done, total) -> progress.add(new long[] {done, total}));
        }
        Path dir = repoDir(REPO);
        assertThat(r.commit()).isEqualTo(COMMIT);
        assertThat(r.snapshot()).isEqualTo(dir.resolve("snapshots/" + COMMIT));
        assertThat(Files.readString(dir.resolve("refs/main"))).isEqualTo(COMMIT);
        long lfsBytes = 0;
        for (String f : List.of("config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")) {
            Path fixture = Fixtures.tiny().resolve("hf").resolve(f);
            byte[] content = Files.readAllBytes(fixture);
            String etag = LFS.contains(f) ? FakeHub.sha256(fixture) : FakeHub.gitSha1(content);
            if (LFS.contains(f)) lfsBytes += content.length;
            Path link = dir.resolve("snapshots/" + COMMIT + "/" + f);
            assertThat(Files.isSymbolicLink(link)).as(f).isTrue();
            assertThat(Files.readSymbolicLink(link).toString()).as(f).isEqualTo("../../blobs/" + etag);
            assertThat(Files.readAllBytes(dir.resolve("blobs/" + etag))).as(f).isEqualTo(content);
        }
        try (Stream<Path> blobs = Files.list(dir.resolve("blobs"))) {
            assertThat(blobs.map(p -> p.getFileName().toString())).hasSize(5).noneMatch(n -> n.endsWith(".incomplete"));
        }
        assertThat(r.downloadedBytes()).isGreaterThan(lfsBytes);
        assertThat(progress.getLast()[0]).isEqualTo(progress.getLast()[1]).isEqualTo(r.downloadedBytes());
        // LFS bytes come from the CDN (another origin), which never sees the token-bearing header
        assertThat(hub.seen("cdn", "/lfs/")).hasSize(2);

        // by name, the same tokens as the fixture's own path (and the reference's greedy ids)
        Path byName = ModelResolver.resolve(REPO, null, env());
        assertThat(byName).isEqualTo(r.snapshot());
        Golden g = Golden.load(Fixtures.tiny().resolve("golden.json")).stream()
                .filter(c -> c.prompt().equals("answer") && c.weights().startsWith("F32/BF16")).findFirst().orElseThrow();
        assertThat(greedy(byName, g.promptIds())).containsExactly(greedy(Fixtures.tiny().resolve("hf"), g.promptIds()))
                .containsExactly(java.util.Arrays.copyOf(g.greedyIds(), 8));

        // a second pull finds everything in the cache: no file is fetched again
        int before = hub.seen.size();
        HubDownloader.Result again = pull(env(), REPO, "main");
        assertThat(again.downloadedBytes()).isZero();
        assertThat(again.cachedFiles()).isEqualTo(5);
        assertThat(hub.seen.subList(before, hub.seen.size())).noneMatch(s -> s.method().equals("GET") && !s.path().startsWith("/api/"));
    }

    static int[] greedy(Path model, int[] prompt) {
        try (Engine e = Engine.open(model, Options.defaults().withThreads(2), 64)) {
            return e.generator().generate(e.newSession(), prompt, 8, p -> {}).ids();
        }
    }

    @Test
    void droppedConnectionKeepsThePartialFileAndTheNextPullResumesIt() throws Exception {
        Path weights = Fixtures.tiny().resolve("hf/model.safetensors");
        String sha = FakeHub.sha256(weights);
        long size = Files.size(weights);
        hub.dropSha = sha;
        hub.dropAfter = 5_000_000;
        assertThatThrownBy(() -> pull(env(), REPO, null, "*.json", "model.safetensors")).isInstanceOf(Qwen4jException.class)
                .hasMessageContaining("model.safetensors").hasMessageContaining("the partial file is kept");
        Path dir = repoDir(REPO);
        Path partial = dir.resolve("blobs/" + sha + ".incomplete");
        assertThat(Files.size(partial)).isEqualTo(5_000_000);
        // nothing where a complete file is expected: no blob, no snapshot entry, no ref
        assertThat(dir.resolve("blobs/" + sha)).doesNotExist();
        assertThat(dir.resolve("snapshots")).doesNotExist();
        assertThat(dir.resolve("refs/main")).doesNotExist();
        assertThatThrownBy(() -> ModelResolver.resolve(REPO, null, env())).hasMessageContaining("bin/qwen4j pull " + REPO);

        hub.dropSha = null;
        long sentBefore = hub.cdnBytes.get(sha).get();
        HubDownloader.Result r = pull(env(), REPO, null, "*.json", "model.safetensors");
        assertThat(hub.seen("cdn", sha).getLast().range()).isEqualTo("bytes=5000000-");
        assertThat(hub.cdnBytes.get(sha).get() - sentBefore).isEqualTo(size - 5_000_000);
        assertThat(Files.readAllBytes(dir.resolve("blobs/" + sha))).isEqualTo(Files.readAllBytes(weights));
        assertThat(partial).doesNotExist();
        assertThat(Files.readAllBytes(r.snapshot().resolve("model.safetensors"))).isEqualTo(Files.readAllBytes(weights));
    }

    @Test
    void wrongChecksumDeletesTheDownloadAndPlacesNothing() throws Exception {
        String sha = FakeHub.sha256(Fixtures.tiny().resolve("hf/model.safetensors"));
        hub.corruptSha = sha;
        assertThatThrownBy(() -> pull(env(), REPO, null, "config.json", "model.safetensors")).isInstanceOf(Qwen4jException.class)
                .hasMessageContaining("model.safetensors: sha256 mismatch").hasMessageContaining(sha)
                .hasMessageNotContaining("\n");
        Path dir = repoDir(REPO);
        assertThat(dir.resolve("blobs/" + sha)).doesNotExist();
        assertThat(dir.resolve("blobs/" + sha + ".incomplete")).doesNotExist();
        assertThat(dir.resolve("snapshots/" + COMMIT + "/model.safetensors")).doesNotExist();
        assertThat(dir.resolve("refs/main")).doesNotExist();
    }

    @Test
    void tokenFromHfTokenOrTheTokenFileAndNeverSentToTheCdn() throws Exception {
        hub.requiredToken = "hf_secret";
        assertThatThrownBy(() -> pull(env(), REPO, null)).isInstanceOf(Qwen4jException.class)
                .hasMessageContaining("HTTP 401").hasMessageContaining("set HF_TOKEN");
        assertThatThrownBy(() -> pull(env("HF_TOKEN", "hf_wrong"), REPO, null))
                .hasMessageContaining("HTTP 401").hasMessageContaining("the token from HF_TOKEN may not read it");

        int before = hub.seen.size();
        HubDownloader.Result r = pull(env("HF_TOKEN", "hf_secret"), REPO, null, "*.json");
        assertThat(r.files()).containsExactly("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json");
        assertThat(hub.seen.subList(before, hub.seen.size())).filteredOn(s -> s.server().equals("hub")).hasSize(8) // metadata, 4 HEADs, 3 small GETs
                .allMatch(s -> "Bearer hf_secret".equals(s.authorization()));
        assertThat(hub.seen("cdn", "/")).isNotEmpty().allMatch(s -> s.authorization() == null);

        // huggingface_hub's token file, $HF_HOME/token
        Files.writeString(home.resolve("hf/token"), "hf_secret\n");
        assertThat(pull(env(), REPO, null, "config.json").files()).containsExactly("config.json");
    }

    @Test
    void notFoundNamesTheRepoRevisionOrFile() throws Exception {
        assertThatThrownBy(() -> pull(env(), "qwen4j-test/nope", null))
                .hasMessage("qwen4j-test/nope at revision main on " + hub.endpoint() + ": not found (HTTP 404, RepoNotFound)");
        assertThatThrownBy(() -> pull(env(), REPO, "v9"))
                .hasMessage(REPO + " at revision v9 on " + hub.endpoint() + ": not found (HTTP 404, RevisionNotFound)");
        hub.add("qwen4j-test/broken", COMMIT, Map.of("gone.bin", home.resolve("absent")), Set.of());
        assertThatThrownBy(() -> pull(env(), "qwen4j-test/broken", null))
                .hasMessage("qwen4j-test/broken: file gone.bin at " + COMMIT + ": not found (HTTP 404, EntryNotFound)");
        assertThatThrownBy(() -> pull(env(), REPO, null, "*.bin")).hasMessageContaining("no file matches --include *.bin");
        assertThatThrownBy(() -> pull(env(), "not a repo", null)).hasMessageContaining("not a Hugging Face model id");
    }

    @Test
    void networkErrorIsOneLine() {
        Map<String, String> env = env("HF_ENDPOINT", "http://127.0.0.1:1");
        assertThatThrownBy(() -> pull(env, REPO, null)).isInstanceOf(Qwen4jException.class)
                .hasMessageStartingWith("cannot reach http://127.0.0.1:1: ");
        assertThatThrownBy(() -> pull(env("HF_HUB_OFFLINE", "1"), REPO, null)).hasMessageContaining("HF_HUB_OFFLINE");
        assertThatThrownBy(() -> pull(env("HF_ENDPOINT", "huggingface.co"), REPO, null)).hasMessage("HF_ENDPOINT huggingface.co: not an http(s) URL");
        assertThatThrownBy(() -> pull(env("HF_ENDPOINT", "https://a b"), REPO, null)).hasMessageContaining("not an http(s) URL");
    }

    @Test
    void stalledDownloadFailsInsteadOfHanging() throws Exception {
        // the CDN sends part of the file, then nothing (the connection stays open)
        Path weights = Fixtures.tiny().resolve("hf/model.safetensors");
        hub.stallSha = FakeHub.sha256(weights);
        hub.dropAfter = 1_000_000;
        long t0 = System.nanoTime();
        try (HubDownloader d = new HubDownloader(env(), Duration.ofSeconds(1))) {
            assertThatThrownBy(() -> d.pull(REPO, null, List.of("model.safetensors"), (done, total) -> {}))
                    .hasMessageContaining("no data for 1 s").hasMessageContaining("the partial file is kept");
        }
        assertThat((System.nanoTime() - t0) / 1e9).isLessThan(20);
        assertThat(Files.size(repoDir(REPO).resolve("blobs/" + hub.stallSha + ".incomplete"))).isEqualTo(1_000_000);
    }

    @Test
    void ggufRepoByIncludeThenByFileName() throws Exception {
        String commit = COMMIT.replace('0', 'e');
        pull(env(), GGUF_REPO, null, "*Q4_0*");
        Path q4 = repoDir(GGUF_REPO).resolve("snapshots/" + commit + "/tiny-Q4_0.gguf");
        assertThat(ModelResolver.resolve(GGUF_REPO, null, env())).isEqualTo(q4); // the only GGUF
        pull(env(), GGUF_REPO + "", null, "tiny-BF16.gguf");
        assertThatThrownBy(() -> ModelResolver.resolve(GGUF_REPO, null, env())).hasMessage(GGUF_REPO
                + " holds 2 GGUF models: pick one with -m " + GGUF_REPO + ":FILE, FILE one of tiny-BF16.gguf, tiny-Q4_0.gguf");
        assertThat(ModelResolver.resolve(GGUF_REPO + ":tiny-Q4_0.gguf", null, env())).isEqualTo(q4);
        assertThat(Files.readString(repoDir(GGUF_REPO).resolve("refs/main"), StandardCharsets.UTF_8)).isEqualTo(commit);

        // REPO:FILE on a split GGUF's first part fetches every part, and the model loads from the first
        String first = SPLIT.formatted(1);
        assertThat(pull(env(), GGUF_REPO, null, HubDownloader.globFor(first)).files())
                .containsExactly(first, SPLIT.formatted(2), SPLIT.formatted(3));
        Path split = ModelResolver.resolve(GGUF_REPO + ":" + first, null, env());
        Golden g = Golden.load(Fixtures.tiny().resolve("golden.json")).stream()
                .filter(c -> c.prompt().equals("answer") && c.weights().equals("Q8_0")).findFirst().orElseThrow();
        assertThat(greedy(split, g.promptIds())).containsExactly(greedy(Fixtures.tiny().resolve(first), g.promptIds()));
        assertThat(HubDownloader.globFor("x.gguf")).isEqualTo("x.gguf");
    }
}
