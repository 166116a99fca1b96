package qwen4j.hub;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Hugging Face Hub's URL layout on 127.0.0.1, serving fixture files:
 * {@code GET /api/models/REPO/revision/REV} (JSON with sha and siblings), {@code HEAD|GET
 * /REPO/resolve/REV/FILE} (small files directly with a git-style ETag; LFS files as a 302 to a second
 * server, the "CDN", with X-Linked-Etag = sha256 and X-Linked-Size), and the CDN's {@code GET /lfs/SHA256}
 * with Range support. Faults on demand: a connection dropped mid-file, corrupted bytes, a token required.
 */
public final class FakeHub implements AutoCloseable {
    /** One request as the servers saw it. */
    public record Seen(String server, String method, String path, String range, String authorization) {}

    /** A repo: its commit and files (name -> local file), the LFS ones by name. */
    record Repo(String commit, Map<String, Path> files, Set<String> lfs) {}

    private final HttpServer hub, cdn;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final Map<String, Repo> repos = new ConcurrentHashMap<>();
    private final Map<String, byte[]> bySha = new ConcurrentHashMap<>();
    public final List<Seen> seen = new CopyOnWriteArrayList<>();
    /** Body bytes the CDN sent, by file sha256. */
    public final Map<String, AtomicLong> cdnBytes = new ConcurrentHashMap<>();

    /** Faults: the CDN closes the connection after this many bytes of the file with this sha256. */
    public volatile String dropSha;
    public volatile long dropAfter;
    /** The CDN sends dropAfter bytes of this file, then nothing, keeping the connection open. */
    public volatile String stallSha;
    /** The CDN flips one byte of this file (its announced sha256 stays the real one). */
    public volatile String corruptSha;
    /** When set, the hub answers 401 unless "Authorization: Bearer TOKEN" comes with the request. */
    public volatile String requiredToken;

    public FakeHub() throws IOException {
        hub = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        cdn = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        hub.createContext("/", this::hub);
        cdn.createContext("/", this::cdn);
        hub.setExecutor(threads);
        cdn.setExecutor(threads);
        hub.start();
        cdn.start();
    }

    /** The value for HF_ENDPOINT. */
    public String endpoint() {
        return "http://127.0.0.1:" + hub.getAddress().getPort();
    }

    /** Serves {@code files} (name -> local file) as {@code repo} at {@code commit}; the {@code lfs} ones through the CDN. */
    public void add(String repo, String commit, Map<String, Path> files, Set<String> lfs) throws IOException {
        for (String f : lfs) bySha.put(sha256(files.get(f)), Files.readAllBytes(files.get(f)));
        repos.put(repo, new Repo(commit, new LinkedHashMap<>(files), Set.copyOf(lfs)));
    }

    private static final Map<Path, String> SHAS = new ConcurrentHashMap<>();

    public static String sha256(Path f) throws IOException {
        String known = SHAS.get(f);
        if (known != null) return known;
        try {
            String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
            SHAS.put(f, sha); // fixtures are read-only
            return sha;
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** A git blob id (sha1 of "blob SIZE\0" + content), the ETag the Hub gives small files. */
    static String gitSha1(byte[] content) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-1");
            d.update(("blob " + content.length + "\0").getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d.digest(content));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private void record(String server, HttpExchange x) {
        seen.add(new Seen(server, x.getRequestMethod(), x.getRequestURI().getRawPath(),
                x.getRequestHeaders().getFirst("Range"), x.getRequestHeaders().getFirst("Authorization")));
    }

    private void hub(HttpExchange x) throws IOException {
        try (x) {
            record("hub", x);
            String path = URLDecoder.decode(x.getRequestURI().getRawPath(), StandardCharsets.UTF_8);
            if (requiredToken != null && !("Bearer " + requiredToken).equals(x.getRequestHeaders().getFirst("Authorization"))) {
                error(x, 401, "RepoNotFound");
                return;
            }
            if (path.startsWith("/api/models/")) {
                String[] p = path.substring("/api/models/".length()).split("/revision/", 2);
                Repo r = repos.get(p[0]);
                if (r == null) { error(x, 404, "RepoNotFound"); return; }
                if (p.length < 2 || !(p[1].equals("main") || p[1].equals(r.commit()))) { error(x, 404, "RevisionNotFound"); return; }
                StringBuilder json = new StringBuilder("{\"id\":\"" + p[0] + "\",\"sha\":\"" + r.commit() + "\",\"siblings\":[");
                int i = 0;
                for (String f : r.files().keySet()) json.append(i++ == 0 ? "" : ",").append("{\"rfilename\":\"").append(f).append("\"}");
                send(x, 200, json.append("]}").toString().getBytes(StandardCharsets.UTF_8));
                return;
            }
            int at = path.indexOf("/resolve/");
            Repo r = at < 0 ? null : repos.get(path.substring(1, at));
            if (r == null) { error(x, 404, "RepoNotFound"); return; }
            String[] revFile = path.substring(at + "/resolve/".length()).split("/", 2);
            if (!(revFile[0].equals("main") || revFile[0].equals(r.commit()))) { error(x, 404, "RevisionNotFound"); return; }
            Path local = revFile.length < 2 ? null : r.files().get(revFile[1]);
            if (local == null || !Files.exists(local)) { error(x, 404, "EntryNotFound"); return; }
            byte[] content = Files.readAllBytes(local);
            x.getResponseHeaders().add("X-Repo-Commit", r.commit());
            if (r.lfs().contains(revFile[1])) {
                String sha = sha256(local);
                x.getResponseHeaders().add("ETag", "\"" + gitSha1(content) + "\""); // the pointer file's id; X-Linked-Etag wins
                x.getResponseHeaders().add("X-Linked-Etag", "\"" + sha + "\"");
                x.getResponseHeaders().add("X-Linked-Size", Long.toString(content.length));
                x.getResponseHeaders().add("Location", "http://127.0.0.1:" + cdn.getAddress().getPort() + "/lfs/" + sha + "?sig=abc");
                x.sendResponseHeaders(302, -1);
                return;
            }
            x.getResponseHeaders().add("ETag", "\"" + gitSha1(content) + "\"");
            send(x, 200, content);
        }
    }

    private void cdn(HttpExchange x) throws IOException {
        try (x) {
            record("cdn", x);
            String path = x.getRequestURI().getPath();
            String sha = path.startsWith("/lfs/") ? path.substring(5) : "";
            byte[] content = bySha.get(sha);
            if (content == null) { error(x, 404, null); return; }
            if (sha.equals(corruptSha)) {
                content = content.clone();
                content[content.length / 2] ^= 1;
            }
            long from = 0;
            String range = x.getRequestHeaders().getFirst("Range");
            if (range != null && range.startsWith("bytes=") && range.endsWith("-")) from = Long.parseLong(range.substring(6, range.length() - 1));
            if (from >= content.length && content.length > 0) { error(x, 416, null); return; }
            int start = (int) from;
            x.getResponseHeaders().add("Accept-Ranges", "bytes");
            if (start > 0) x.getResponseHeaders().add("Content-Range", "bytes " + start + "-" + (content.length - 1) + "/" + content.length);
            if (x.getRequestMethod().equals("HEAD")) {
                x.sendResponseHeaders(start > 0 ? 206 : 200, -1);
                return;
            }
            x.sendResponseHeaders(start > 0 ? 206 : 200, content.length - start);
            OutputStream out = x.getResponseBody();
            AtomicLong count = cdnBytes.computeIfAbsent(sha, k -> new AtomicLong());
            int end = content.length;
            boolean stall = sha.equals(stallSha) && dropAfter > start;
            if ((sha.equals(dropSha) || stall) && dropAfter > start) end = (int) dropAfter;
            for (int i = start; i < end; i += 65536) {
                int n = Math.min(65536, end - i);
                out.write(content, i, n);
                count.addAndGet(n);
            }
            out.flush();
            if (stall) {
                try {
                    Thread.sleep(30_000); // until close() interrupts it
                } catch (InterruptedException e) {
                    return;
                }
            }
            // exchange.close() with bytes missing closes the connection: the client sees it break off
        }
    }

    private static void error(HttpExchange x, int status, String code) throws IOException {
        if (code != null) x.getResponseHeaders().add("X-Error-Code", code);
        send(x, status, ("{\"error\":\"" + (code == null ? "error" : code) + "\"}").getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange x, int status, byte[] body) throws IOException {
        x.getResponseHeaders().add("Content-Type", "application/json");
        if (x.getRequestMethod().equals("HEAD")) {
            x.getResponseHeaders().add("Content-Length", Integer.toString(body.length));
            x.sendResponseHeaders(status, -1);
            return;
        }
        x.sendResponseHeaders(status, body.length);
        x.getResponseBody().write(body);
    }

    /** The requests one server saw for paths containing {@code part}. */
    public List<Seen> seen(String server, String part) {
        return seen.stream().filter(s -> s.server().equals(server) && s.path().contains(part)).toList();
    }

    @Override
    public void close() throws InterruptedException {
        hub.stop(0);
        cdn.stop(0);
        threads.shutdownNow();
        threads.awaitTermination(5, TimeUnit.SECONDS);
    }
}
