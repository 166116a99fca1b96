package qwen4j.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;
import java.util.regex.Pattern;
import qwen4j.Qwen4jException;

/**
 * Downloads a model repo into the Hugging Face cache ({@link HubCache}) with the Hub's HTTP API, as
 * {@code huggingface_hub}'s snapshot_download does: the file list from
 * {@code GET /api/models/REPO/revision/REV}, each file's ETag, size and download URL from a
 * {@code HEAD} on {@code /REPO/resolve/COMMIT/FILE}, its bytes into {@code blobs/ETAG.incomplete}
 * (resumed with a Range request), checked (size; sha256 for LFS files), renamed to
 * {@code blobs/ETAG}; the snapshot symlinks and then the ref are written only after every blob is
 * complete, so a reader never finds a half-written file where a complete one is expected.
 * One pull at a time per instance; {@link #close()} stops its HTTP client's threads.
 */
public final class HubDownloader implements AutoCloseable {
    /** Bytes downloaded so far, out of the bytes this pull needs (partial files count as done). */
    @FunctionalInterface
    public interface Progress {
        void update(long done, long total);
    }

    /** What a pull did: the snapshot folder now holds {@code files}. */
    public record Result(String repo, String commit, Path snapshot, List<String> files, long downloadedBytes, int cachedFiles) {}

    private static final String USER_AGENT = "qwen4j/0.1.0; java/" + Runtime.version().feature();
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    /** ETags become file names: only these characters, so a hostile server cannot name a path. */
    private static final Pattern SAFE_ETAG = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}");
    private static final int MAX_REDIRECTS = 5;

    private final HubCache cache;
    private final String token;
    private final Duration stallTimeout;
    private final HttpClient http;

    /** A downloader that reads HF_ENDPOINT, HF_TOKEN (or the token file), HF_HOME and HF_HUB_CACHE from {@code env}. */
    public HubDownloader(Map<String, String> env) {
        this(env, Duration.ofSeconds(60));
    }

    /** As {@link #HubDownloader(Map)}; a download that receives nothing for {@code stallTimeout} fails. */
    public HubDownloader(Map<String, String> env, Duration stallTimeout) {
        this.cache = new HubCache(env);
        this.token = cache.token();
        this.stallTimeout = stallTimeout;
        // redirects are followed by hand: the token must not travel to another host (a CDN's signed URL)
        this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(20)).build();
    }

    public HubCache cache() {
        return cache;
    }

    @Override
    public void close() {
        http.shutdownNow();
    }

    /**
     * Downloads {@code repo} at {@code revision} (null: main), only the files matching one of
     * {@code includes} (fnmatch globs as huggingface_hub's allow_patterns; empty: all files).
     */
    public Result pull(String repo, String revision, List<String> includes, Progress progress) {
        if (!HubCache.isRepoId(repo)) {
            throw new Qwen4jException(Qwen4jException.shown(repo) + ": not a Hugging Face model id (expected OWNER/NAME, e.g. Qwen/Qwen2.5-0.5B-Instruct)");
        }
        String rev = revision == null || revision.isBlank() ? "main" : revision;
        if (rev.contains("..") || rev.startsWith("/") || rev.contains("\\")) {
            throw new Qwen4jException("--revision " + Qwen4jException.shown(rev) + ": not a branch, tag or commit name");
        }
        if (cache.offline()) throw new Qwen4jException("HF_HUB_OFFLINE is set: no downloads (unset it to pull " + repo + ")");
        String endpoint = cache.endpoint();
        if (!isHttpUrl(endpoint)) throw new Qwen4jException("HF_ENDPOINT " + Qwen4jException.shown(endpoint) + ": not an http(s) URL");

        String where = repo + " at revision " + Qwen4jException.shown(rev) + " on " + endpoint;
        RepoInfo info = repoInfo(endpoint, repo, rev, where);
        List<String> wanted = info.files().stream().filter(f -> Globs.matchesAny(includes, f)).toList();
        if (wanted.isEmpty()) {
            throw new Qwen4jException(where + ": no file matches --include " + String.join(" ", includes) + " (its files: "
                    + Qwen4jException.shown(String.join(", ", info.files()), 300) + ")");
        }

        Path repoDir = cache.repoDir(repo);
        try (RepoLock lock = RepoLock.take(cache.root().resolve(".locks").resolve(repoDir.getFileName()), repo)) {
            Files.createDirectories(repoDir.resolve("blobs"));
            List<Remote> remotes = new ArrayList<>();
            for (String f : wanted) remotes.add(head(endpoint, repo, info.commit(), f));

            long total = 0, done = 0;
            int cached = 0;
            for (Remote r : remotes) {
                Path blob = blob(repoDir, r);
                if (isComplete(blob, r)) {
                    cached++;
                    continue;
                }
                Path part = partial(blob);
                total += Math.max(0, r.size());
                if (Files.exists(part)) done += Math.min(Files.size(part), Math.max(0, r.size()));
            }
            AtomicLong progressed = new AtomicLong(done);
            long all = total;
            if (all > 0) progress.update(done, all);
            LongConsumer onBytes = n -> progress.update(progressed.addAndGet(n), all);
            long downloaded = 0;
            for (Remote r : remotes) {
                Path blob = blob(repoDir, r);
                if (!isComplete(blob, r)) downloaded += download(repo, r, blob, onBytes);
            }

            Path snapshot = repoDir.resolve("snapshots").resolve(info.commit());
            for (Remote r : remotes) link(snapshot.resolve(r.file()), blob(repoDir, r));
            if (!rev.equals(info.commit())) writeRef(repoDir.resolve("refs"), rev, info.commit());
            return new Result(repo, info.commit(), snapshot, wanted, downloaded, cached);
        } catch (IOException e) {
            throw new Qwen4jException("cannot write the Hugging Face cache " + cache.root() + ": " + describe(e));
        }
    }

    /** The --include pattern that fetches {@code file} ({@code REPO:FILE}): every part when it is part of a split GGUF. */
    public static String globFor(String file) {
        return file.replaceFirst("-\\d{5}-of-(\\d{5})\\.gguf$", "-?????-of-$1.gguf");
    }

    /** What the metadata call says: the commit the revision is at, and every file of the repo. */
    record RepoInfo(String commit, List<String> files) {}

    /** One file as the resolve endpoint describes it; {@code size} is -1 when the server gave none. */
    record Remote(String file, String etag, long size, boolean lfs, URI url) {}

    private RepoInfo repoInfo(String endpoint, String repo, String rev, String where) {
        URI uri = URI.create(endpoint + "/api/models/" + repo + "/revision/" + encode(rev, false));
        HttpResponse<String> r = null;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            r = send(request(uri, sameOrigin(uri, endpoint)).GET().build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            if (r.statusCode() / 100 != 3) break;
            uri = location(r, where);
        }
        if (r.statusCode() != 200) throw httpError(r, where);
        JsonNode json;
        try {
            json = new ObjectMapper().readTree(r.body());
        } catch (IOException e) {
            throw new Qwen4jException(where + ": the Hub's answer is not JSON (" + Qwen4jException.shown(e.getMessage()) + ")");
        }
        String commit = json.path("sha").asText("");
        if (!HubCache.COMMIT.matcher(commit).matches()) {
            throw new Qwen4jException(where + ": the Hub's answer has no commit hash (\"sha\")");
        }
        List<String> files = new ArrayList<>();
        for (JsonNode s : json.path("siblings")) {
            String f = s.path("rfilename").asText("");
            if (!isSafeRepoPath(f)) throw new Qwen4jException(where + ": the Hub lists a file with a bad name: " + Qwen4jException.shown(f));
            files.add(f);
        }
        if (files.isEmpty()) throw new Qwen4jException(where + ": the repo has no files");
        return new RepoInfo(commit, files);
    }

    private Remote head(String endpoint, String repo, String commit, String file) {
        String what = repo + ": file " + Qwen4jException.shown(file) + " at " + commit;
        URI uri = URI.create(endpoint + "/" + repo + "/resolve/" + commit + "/" + encode(file, true));
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest req = request(uri, sameOrigin(uri, endpoint)).method("HEAD", HttpRequest.BodyPublishers.noBody())
                    .header("Accept-Encoding", "identity").build();
            HttpResponse<Void> r = send(req, HttpResponse.BodyHandlers.discarding());
            int s = r.statusCode();
            String linked = r.headers().firstValue("X-Linked-Etag").orElse(null);
            String etag = linked != null ? linked : r.headers().firstValue("ETag").orElse(null);
            boolean redirect = s / 100 == 3;
            if (redirect && etag == null) { // a renamed repo: the same question at the new place
                uri = location(r, what);
                continue;
            }
            if (!redirect && s != 200) throw httpError(r, what);
            if (etag == null) throw new Qwen4jException(what + ": the server sent no ETag");
            String served = r.headers().firstValue("X-Repo-Commit").orElse(commit);
            if (!served.equals(commit)) {
                throw new Qwen4jException(what + ": the server answered for commit " + Qwen4jException.shown(served) + " (the repo changed during the pull? run it again)");
            }
            String id = etag.startsWith("W/") ? etag.substring(2) : etag;
            id = id.replace("\"", "");
            if (!SAFE_ETAG.matcher(id).matches()) throw new Qwen4jException(what + ": the server sent a bad ETag: " + Qwen4jException.shown(etag));
            String sizeHeader = r.headers().firstValue("X-Linked-Size")
                    .orElse(redirect ? null : r.headers().firstValue("Content-Length").orElse(null));
            long size;
            try {
                size = sizeHeader == null ? -1 : Long.parseLong(sizeHeader.trim());
            } catch (NumberFormatException e) {
                throw new Qwen4jException(what + ": the server sent a bad size: " + Qwen4jException.shown(sizeHeader));
            }
            return new Remote(file, id, size, linked != null, redirect ? location(r, what) : uri);
        }
        throw new Qwen4jException(what + ": more than " + MAX_REDIRECTS + " redirects");
    }

    /** Fetches one file into its blob; returns the bytes that came over the network. */
    private long download(String repo, Remote r, Path blob, LongConsumer onBytes) throws IOException {
        String what = repo + ": " + Qwen4jException.shown(r.file());
        Path part = partial(blob);
        long have = Files.exists(part) ? Files.size(part) : 0;
        if (r.size() >= 0 && have > r.size()) { // not a prefix of this file
            onBytes.accept(-r.size());
            Files.delete(part);
            have = 0;
        }
        boolean verify = r.lfs() && SHA256.matcher(r.etag()).matches();
        MessageDigest digest = verify ? digestOf(part, have) : null;
        long fetched = 0;
        if (!(have > 0 && have == r.size())) { // else only the rename was missing (a pull stopped right there)
            Fetched f = fetch(what, r, part, have, digest, onBytes);
            fetched = f.bytes();
            digest = f.digest();
        }

        long size = Files.size(part);
        if (r.size() >= 0 && size < r.size()) {
            throw new Qwen4jException(what + ": the download stopped at " + mb(size) + " of " + mb(r.size())
                    + "; the partial file is kept: run the same pull again to resume");
        }
        if (r.size() >= 0 && size > r.size()) {
            Files.delete(part);
            throw new Qwen4jException(what + ": the server sent " + size + " bytes, more than the " + r.size() + " it announced; the download is deleted");
        }
        if (verify) {
            String got = HexFormat.of().formatHex(digest.digest());
            if (!got.equals(r.etag())) {
                Files.delete(part);
                throw new Qwen4jException(what + ": sha256 mismatch (got " + got + ", the Hub says " + r.etag()
                        + "): the download is deleted; run the pull again");
            }
        }
        moveInto(part, blob);
        return fetched;
    }

    /** Bytes a fetch received, and the digest of the whole partial file (null when not verified). */
    private record Fetched(long bytes, MessageDigest digest) {}

    private Fetched fetch(String what, Remote r, Path part, long have, MessageDigest prefix, LongConsumer onBytes) throws IOException {
        String endpoint = cache.endpoint();
        URI uri = r.url();
        boolean auth = sameOrigin(uri, endpoint);
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest.Builder b = request(uri, auth).GET();
            if (have > 0) b.header("Range", "bytes=" + have + "-");
            BlobWriter w = new BlobWriter(part, have, prefix, onBytes);
            HttpResponse<Void> resp = await(http.sendAsync(b.build(), w::handler), w, what);
            int s = resp.statusCode();
            if (s / 100 == 3) {
                uri = location(resp, what);
                auth = auth && sameOrigin(uri, endpoint);
                continue;
            }
            if (s == 416 || (s == 206 && w.badRange)) { // the server will not resume this: start over
                onBytes.accept(-have);
                Files.deleteIfExists(part);
                have = 0;
                prefix = prefix == null ? null : sha256();
                continue;
            }
            if (s != 200 && s != 206) throw httpError(resp, what);
            return new Fetched(w.written, w.digest);
        }
        throw new Qwen4jException(what + ": more than " + MAX_REDIRECTS + " redirects");
    }

    /** Waits for a download, failing it when no byte arrived for the stall timeout. */
    private <T> T await(java.util.concurrent.CompletableFuture<T> f, BlobWriter w, String what) {
        try {
            while (true) {
                try {
                    T r = f.get(200, TimeUnit.MILLISECONDS);
                    if (w.failure != null) throw w.failure;
                    return r;
                } catch (TimeoutException e) {
                    if (w.failure != null) throw w.failure;
                    if (System.nanoTime() - w.lastActivity > stallTimeout.toNanos()) {
                        f.cancel(true);
                        w.cancel();
                        throw new Qwen4jException(what + ": no data for " + stallTimeout.toSeconds() + " s; the partial file is kept: run the same pull again to resume");
                    }
                }
            }
        } catch (ExecutionException e) {
            w.cancel();
            Throwable c = e.getCause() instanceof UncheckedIOException u ? u.getCause() : e.getCause();
            throw new Qwen4jException(what + ": the download broke off after " + mb(w.have + w.written) + " (" + describe(c)
                    + "); the partial file is kept: run the same pull again to resume");
        } catch (IOException e) {
            w.cancel();
            throw new Qwen4jException(what + ": cannot write " + w.part + " (" + describe(e) + ")");
        } catch (InterruptedException e) {
            w.cancel();
            Thread.currentThread().interrupt();
            throw new Qwen4jException(what + ": interrupted; the partial file is kept: run the same pull again to resume");
        }
    }

    /** Writes a response body into the partial file as it arrives, hashing it on the way. */
    private final class BlobWriter implements java.util.concurrent.Flow.Subscriber<List<java.nio.ByteBuffer>> {
        final Path part;
        final long have;
        final MessageDigest prefix;
        final LongConsumer onBytes;
        volatile long lastActivity = System.nanoTime();
        volatile IOException failure;
        volatile boolean badRange;
        MessageDigest digest;
        long written;
        private FileChannel channel;
        private java.util.concurrent.Flow.Subscription subscription;

        BlobWriter(Path part, long have, MessageDigest prefix, LongConsumer onBytes) {
            this.part = part;
            this.have = have;
            this.prefix = prefix;
            this.onBytes = onBytes;
        }

        HttpResponse.BodySubscriber<Void> handler(HttpResponse.ResponseInfo info) {
            lastActivity = System.nanoTime();
            int s = info.statusCode();
            if (s == 206 && rangeStart(info) != have) badRange = true;
            if (badRange || (s != 200 && s != 206)) return HttpResponse.BodySubscribers.discarding();
            try {
                channel = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                if (s == 206) {
                    channel.position(have);
                    digest = prefix;
                } else { // the whole file, from the start
                    channel.truncate(0);
                    onBytes.accept(-have);
                    digest = prefix == null ? null : sha256();
                }
            } catch (IOException e) {
                failure = e;
                close();
                return HttpResponse.BodySubscribers.discarding();
            }
            return HttpResponse.BodySubscribers.fromSubscriber(this);
        }

        private static long rangeStart(HttpResponse.ResponseInfo info) {
            String cr = info.headers().firstValue("Content-Range").orElse(""); // bytes START-END/TOTAL
            try {
                return Long.parseLong(cr.substring(cr.indexOf(' ') + 1, cr.indexOf('-')).trim());
            } catch (RuntimeException e) {
                return -1;
            }
        }

        @Override
        public synchronized void onSubscribe(java.util.concurrent.Flow.Subscription s) {
            subscription = s;
            s.request(1);
        }

        @Override
        public synchronized void onNext(List<java.nio.ByteBuffer> buffers) {
            lastActivity = System.nanoTime();
            try {
                for (java.nio.ByteBuffer b : buffers) {
                    int n = b.remaining();
                    if (digest != null) digest.update(b.duplicate());
                    while (b.hasRemaining()) channel.write(b);
                    written += n;
                    onBytes.accept(n);
                }
                subscription.request(1);
            } catch (IOException e) {
                failure = e;
                cancel();
            }
        }

        @Override
        public void onError(Throwable t) {
            close();
        }

        @Override
        public void onComplete() {
            close();
        }

        synchronized void cancel() {
            if (subscription != null) subscription.cancel();
            close();
        }

        private synchronized void close() {
            try {
                if (channel != null) channel.close();
            } catch (IOException e) {
                if (failure == null) failure = e;
            }
        }
    }

    private HttpRequest.Builder request(URI uri, boolean auth) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).header("User-Agent", USER_AGENT);
        if (auth && token != null) b.header("Authorization", "Bearer " + token);
        return b;
    }

    private <T> HttpResponse<T> send(HttpRequest req, HttpResponse.BodyHandler<T> body) {
        try {
            var f = http.sendAsync(req, body);
            try {
                return f.get(60, TimeUnit.SECONDS);
            } finally {
                f.cancel(true);
            }
        } catch (TimeoutException e) {
            throw new Qwen4jException("no answer from " + origin(req.uri()) + " in 60 s");
        } catch (ExecutionException e) {
            throw new Qwen4jException("cannot reach " + origin(req.uri()) + ": " + describe(e.getCause()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Qwen4jException("interrupted while talking to " + origin(req.uri()));
        }
    }

    private Qwen4jException httpError(HttpResponse<?> r, String what) {
        int s = r.statusCode();
        String code = r.headers().firstValue("X-Error-Code").orElse("");
        if (s == 401 || s == 403) {
            String fix = token == null
                    ? "set HF_TOKEN to a Hugging Face token that may read it (https://huggingface.co/settings/tokens)"
                    : "the token from " + cache.tokenSource() + " may not read it";
            return new Qwen4jException(what + ": access denied (HTTP " + s + (code.isEmpty() ? "" : ", " + Qwen4jException.shown(code))
                    + "): the repo is private or gated, or does not exist; " + fix);
        }
        if (s == 404) {
            return new Qwen4jException(what + ": not found (HTTP 404" + (code.isEmpty() ? "" : ", " + Qwen4jException.shown(code)) + ")");
        }
        String msg = r.headers().firstValue("X-Error-Message").orElse(null);
        return new Qwen4jException(what + ": HTTP " + s + " from " + origin(r.uri()) + (msg == null ? "" : " (" + Qwen4jException.shown(msg) + ")"));
    }

    private static URI location(HttpResponse<?> r, String what) {
        String loc = r.headers().firstValue("Location").orElseThrow(
                () -> new Qwen4jException(what + ": HTTP " + r.statusCode() + " without a Location"));
        try {
            URI u = r.uri().resolve(loc);
            if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme())) throw new IllegalArgumentException("scheme");
            return u;
        } catch (IllegalArgumentException e) {
            throw new Qwen4jException(what + ": bad redirect " + Qwen4jException.shown(loc));
        }
    }

    private static boolean isHttpUrl(String s) {
        try {
            URI u = new URI(s);
            return ("http".equalsIgnoreCase(u.getScheme()) || "https".equalsIgnoreCase(u.getScheme())) && u.getHost() != null
                    && u.getRawQuery() == null && u.getRawFragment() == null;
        } catch (java.net.URISyntaxException e) {
            return false;
        }
    }

    private static boolean sameOrigin(URI uri, String endpoint) {
        URI e = URI.create(endpoint);
        return uri.getScheme().equalsIgnoreCase(e.getScheme()) && uri.getHost() != null && uri.getHost().equalsIgnoreCase(e.getHost())
                && port(uri) == port(e);
    }

    private static int port(URI u) {
        return u.getPort() >= 0 ? u.getPort() : "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
    }

    private static String origin(URI u) {
        return u.getScheme() + "://" + u.getRawAuthority();
    }

    /** Percent-encodes a URL path part as Python's quote() does ({@code slashes}: keep '/' as is). */
    static String encode(String s, boolean slashes) {
        StringBuilder b = new StringBuilder();
        for (byte x : s.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (x & 0xff);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "-._~".indexOf(c) >= 0 || (slashes && c == '/')) {
                b.append(c);
            } else {
                b.append('%').append(String.format("%02X", x & 0xff));
            }
        }
        return b.toString();
    }

    /** A relative path with no empty, "." or ".." parts: it cannot leave the snapshot folder. */
    static boolean isSafeRepoPath(String f) {
        if (f.isEmpty() || f.startsWith("/") || f.contains("\\") || f.indexOf('\0') >= 0) return false;
        for (String part : f.split("/", -1)) if (part.isEmpty() || part.equals(".") || part.equals("..")) return false;
        return true;
    }

    private static Path blob(Path repoDir, Remote r) {
        return repoDir.resolve("blobs").resolve(r.etag());
    }

    private static Path partial(Path blob) {
        return blob.resolveSibling(blob.getFileName() + ".incomplete");
    }

    private static boolean isComplete(Path blob, Remote r) throws IOException {
        return Files.isRegularFile(blob) && (r.size() < 0 || Files.size(blob) == r.size());
    }

    /** The snapshot entry: a relative symlink into blobs/ (huggingface_hub's layout), put in place atomically. */
    private static void link(Path link, Path blob) throws IOException {
        Files.createDirectories(link.getParent());
        Path tmp = link.resolveSibling("." + link.getFileName() + ".qwen4j-tmp");
        Files.deleteIfExists(tmp);
        try {
            Files.createSymbolicLink(tmp, link.getParent().relativize(blob));
        } catch (UnsupportedOperationException | java.nio.file.FileSystemException e) {
            Files.copy(blob, tmp); // no symlinks here (some Windows setups): a copy, as huggingface_hub falls back to
        }
        moveInto(tmp, link);
    }

    private static void writeRef(Path refs, String rev, String commit) throws IOException {
        Path ref = refs.resolve(rev).normalize();
        if (!ref.startsWith(refs)) throw new Qwen4jException("--revision " + Qwen4jException.shown(rev) + ": not a branch, tag or commit name");
        Files.createDirectories(ref.getParent());
        Path tmp = ref.resolveSibling("." + ref.getFileName() + ".qwen4j-tmp");
        Files.writeString(tmp, commit, StandardCharsets.UTF_8);
        moveInto(tmp, ref);
    }

    private static void moveInto(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** sha256 of the first {@code n} bytes of {@code f} (a partial download being resumed). */
    private static MessageDigest digestOf(Path f, long n) throws IOException {
        MessageDigest d = sha256();
        if (n == 0) return d;
        try (InputStream in = Files.newInputStream(f)) {
            byte[] buf = new byte[1 << 16];
            long left = n;
            for (int k; left > 0 && (k = in.read(buf, 0, (int) Math.min(buf.length, left))) > 0; left -= k) d.update(buf, 0, k);
        }
        return d;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    private static String mb(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MB", bytes / 1e6);
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) {
            if (e instanceof java.net.ConnectException) return "connection refused";
            if (e instanceof java.net.http.HttpTimeoutException) return "timed out";
            return e.getClass().getSimpleName();
        }
        return Qwen4jException.shown(m, 200);
    }

    /** The repo's lock (a file under .locks/ of the cache): one pull of a repo at a time. */
    private record RepoLock(FileChannel channel, FileLock lock) implements AutoCloseable {
        static RepoLock take(Path dir, String repo) throws IOException {
            Files.createDirectories(dir);
            Path f = dir.resolve("qwen4j-pull.lock");
            FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock l;
            try {
                l = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                l = null;
            }
            if (l == null) {
                ch.close();
                throw new Qwen4jException("another pull of " + repo + " is running (it holds " + f + "); wait for it to finish");
            }
            return new RepoLock(ch, l);
        }

        @Override
        public void close() throws IOException {
            lock.release();
            channel.close();
        }
    }
}
