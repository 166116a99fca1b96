package qwen4j.hub;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Pattern;
import qwen4j.Qwen4jException;

/**
 * The Hugging Face cache as {@code huggingface_hub} lays it out, and the settings it reads from the
 * environment (a map, so tests need not touch the real one):
 * <pre>
 * $HF_HUB_CACHE (else $HF_HOME/hub, else ~/.cache/huggingface/hub)
 *   models--Qwen--Qwen2.5-7B-Instruct/
 *     refs/main                      the commit hash "main" points to
 *     blobs/&lt;etag&gt;                   file contents, named by ETag (sha256 for LFS files)
 *     snapshots/&lt;commit&gt;/&lt;file&gt;      relative symlinks into blobs/
 * </pre>
 */
public final class HubCache {
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";

    /** {@code owner/name}, as the Hub allows them (letters, digits, '-', '_', '.'). */
    private static final Pattern REPO_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9._-]{1,96}");
    static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    private final Map<String, String> env;
    private final Path root;

    public HubCache(Map<String, String> env) {
        this.env = Map.copyOf(env);
        this.root = hubCache();
    }

    /** The cache of the real environment. */
    public static HubCache fromSystem() {
        return new HubCache(System.getenv());
    }

    /** Whether {@code s} has the shape of a Hub model id ({@code owner/name}). */
    public static boolean isRepoId(String s) {
        return s != null && REPO_ID.matcher(s).matches() && !s.contains("..");
    }

    /** The cache folder ({@code hub/}); it may not exist yet. */
    public Path root() {
        return root;
    }

    /** {@code models--owner--name}, the repo's folder in the cache. */
    public Path repoDir(String repo) {
        return root.resolve("models--" + repo.replace("/", "--"));
    }

    /** The commit {@code revision} (a branch, tag or commit hash) points to in the cache, or null. */
    public String commitOf(String repo, String revision) {
        Path dir = repoDir(repo);
        if (COMMIT.matcher(revision).matches() && Files.isDirectory(dir.resolve("snapshots").resolve(revision))) return revision;
        Path ref = dir.resolve("refs").resolve(revision).normalize();
        if (!ref.startsWith(dir.resolve("refs")) || !Files.isRegularFile(ref)) return null;
        try {
            String commit = Files.readString(ref, StandardCharsets.UTF_8).trim();
            return COMMIT.matcher(commit).matches() ? commit : null;
        } catch (IOException e) {
            throw new Qwen4jException(ref + ": cannot read the cached ref (" + e.getMessage() + ")");
        }
    }

    /** {@code HF_ENDPOINT} without a trailing slash, else https://huggingface.co. */
    public String endpoint() {
        String e = get("HF_ENDPOINT");
        if (e == null) return DEFAULT_ENDPOINT;
        while (e.endsWith("/")) e = e.substring(0, e.length() - 1);
        return e;
    }

    /** {@code HF_TOKEN}, else the token file ($HF_TOKEN_PATH, else $HF_HOME/token), else null. */
    public String token() {
        String t = get("HF_TOKEN");
        if (t == null) t = get("HUGGING_FACE_HUB_TOKEN"); // the older name huggingface_hub still reads
        if (t != null) return t.trim();
        String file = get("HF_TOKEN_PATH");
        Path p = file != null ? Path.of(file) : hfHome().resolve("token");
        try {
            if (!Files.isRegularFile(p)) return null;
            String s = Files.readString(p, StandardCharsets.UTF_8).trim();
            return s.isEmpty() ? null : s;
        } catch (IOException e) {
            throw new Qwen4jException(p + ": cannot read the Hugging Face token file (" + e.getMessage() + ")");
        }
    }

    /** Where the token came from, for error messages. */
    String tokenSource() {
        if (get("HF_TOKEN") != null) return "HF_TOKEN";
        if (get("HUGGING_FACE_HUB_TOKEN") != null) return "HUGGING_FACE_HUB_TOKEN";
        String file = get("HF_TOKEN_PATH");
        return "the token file " + (file != null ? Path.of(file) : hfHome().resolve("token"));
    }

    /** Whether {@code HF_HUB_OFFLINE} asks for no network access. */
    boolean offline() {
        String v = get("HF_HUB_OFFLINE");
        return v != null && (v.equals("1") || v.equalsIgnoreCase("true") || v.equalsIgnoreCase("yes") || v.equalsIgnoreCase("on"));
    }

    private Path hubCache() {
        String c = get("HF_HUB_CACHE");
        if (c == null) c = get("HUGGINGFACE_HUB_CACHE");
        return c != null ? expand(c) : hfHome().resolve("hub");
    }

    private Path hfHome() {
        String h = get("HF_HOME");
        if (h != null) return expand(h);
        String xdg = get("XDG_CACHE_HOME");
        return (xdg != null ? expand(xdg) : home().resolve(".cache")).resolve("huggingface");
    }

    private Path home() {
        String h = get("HOME");
        return Path.of(h != null ? h : System.getProperty("user.home"));
    }

    /** A leading ~ as Python's expanduser does it. */
    private Path expand(String p) {
        if (p.equals("~")) return home();
        if (p.startsWith("~/")) return home().resolve(p.substring(2));
        return Path.of(p);
    }

    /** A variable, with empty values counting as unset (as huggingface_hub does for most). */
    private String get(String name) {
        String v = env.get(name);
        return v == null || v.isBlank() ? null : v;
    }
}
