package qwen4j.hub;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import qwen4j.Qwen4jException;

/**
 * Turns what a user passes as a model ({@code -m}) into a path: an existing file or folder as is,
 * else a Hugging Face repo id ({@code Qwen/Qwen2.5-7B-Instruct}, or {@code REPO:FILE.gguf} for one
 * GGUF of a GGUF repo) looked up in the cache {@code huggingface_hub} writes, so models downloaded
 * with Python tools (or {@code qwen4j pull}) just work. Nothing here touches the network.
 */
public final class ModelResolver {
    private ModelResolver() {}

    /** Split GGUF parts: only the first names the model. */
    private static final Pattern SPLIT_PART = Pattern.compile("(.*)-(\\d{5})-of-(\\d{5})\\.gguf");

    /** {@link #resolve(String, String, Map)} on revision main and the real environment. */
    public static Path resolve(String model) {
        return resolve(model, null, System.getenv());
    }

    /**
     * The path {@code model} names. {@code revision} (a branch, tag or commit; null for main) applies
     * to repo ids only; {@code env} supplies HF_HUB_CACHE, HF_HOME and HOME.
     */
    public static Path resolve(String model, String revision, Map<String, String> env) {
        Path local = localPath(model);
        if (local != null && Files.exists(local)) return local;
        int colon = model.indexOf(':');
        String repo = colon < 0 ? model : model.substring(0, colon);
        String file = colon < 0 ? null : model.substring(colon + 1);
        if (!HubCache.isRepoId(repo) || (file != null && file.isEmpty())) {
            throw new Qwen4jException(Qwen4jException.shown(model, 200) + ": no such file or folder");
        }
        HubCache cache = new HubCache(env);
        String rev = revision == null || revision.isBlank() ? "main" : revision;
        String pull = "bin/qwen4j pull " + repo + (rev.equals("main") ? "" : " --revision " + rev);
        if (!Files.isDirectory(cache.repoDir(repo))) {
            throw new Qwen4jException(model + ": no such file or folder, and " + repo + " is not in the Hugging Face cache ("
                    + cache.root() + "); download it with: " + pull);
        }
        String commit = cache.commitOf(repo, rev);
        Path snapshot = commit == null ? null : cache.repoDir(repo).resolve("snapshots").resolve(commit);
        if (snapshot == null || !Files.isDirectory(snapshot)) {
            throw new Qwen4jException(repo + ": revision " + Qwen4jException.shown(rev) + " is not in the Hugging Face cache ("
                    + cache.repoDir(repo) + "); download it with: " + pull);
        }
        if (file != null) return fileIn(snapshot, repo, file, pull);
        if (Files.exists(snapshot.resolve("config.json"))) return snapshot;
        List<String> ggufs = ggufModels(snapshot);
        if (ggufs.size() == 1) return snapshot.resolve(ggufs.get(0));
        if (ggufs.isEmpty()) {
            throw new Qwen4jException(repo + " in the Hugging Face cache (" + snapshot + ") has neither config.json nor a .gguf file; "
                    + "download the model files with: " + pull);
        }
        throw new Qwen4jException(repo + " holds " + ggufs.size() + " GGUF models: pick one with -m " + repo + ":FILE, FILE one of "
                + String.join(", ", ggufs));
    }

    /**
     * The repo id (and {@code :file}) of a path inside a cache snapshot, e.g. {@code Qwen/Qwen2.5-7B-Instruct}
     * for {@code .../models--Qwen--Qwen2.5-7B-Instruct/snapshots/<commit>}; null for any other path.
     * A snapshot's folder name is a commit hash, which says little in a report or a model list.
     */
    public static String repoIdOf(Path path) {
        Path p = path.toAbsolutePath().normalize();
        for (Path q = p; q != null && q.getParent() != null && q.getParent().getParent() != null; q = q.getParent()) {
            Path snapshots = q.getParent(), repoDir = snapshots.getParent();
            String name = repoDir.getFileName() == null ? "" : repoDir.getFileName().toString();
            if (HubCache.COMMIT.matcher(q.getFileName().toString()).matches() && snapshots.getFileName().toString().equals("snapshots")
                    && name.startsWith("models--")) {
                String repo = name.substring("models--".length()).replaceFirst("--", "/");
                if (!HubCache.isRepoId(repo)) return null;
                return q.equals(p) ? repo : repo + ":" + q.relativize(p).toString().replace('\\', '/');
            }
        }
        return null;
    }

    private static Path localPath(String model) {
        try {
            return Path.of(model);
        } catch (InvalidPathException e) {
            return null;
        }
    }

    private static Path fileIn(Path snapshot, String repo, String file, String pull) {
        Path p = snapshot.resolve(file).normalize();
        if (!p.startsWith(snapshot)) throw new Qwen4jException(repo + ":" + Qwen4jException.shown(file) + ": the file must lie inside the repo");
        if (Files.isRegularFile(p)) return p;
        List<String> ggufs = ggufModels(snapshot);
        throw new Qwen4jException(repo + " in the Hugging Face cache has no file " + Qwen4jException.shown(file)
                + (ggufs.isEmpty() ? "" : " (its GGUF models: " + String.join(", ", ggufs) + ")")
                + "; download it with: " + pull + " --include " + file);
    }

    /** The .gguf files of a snapshot (relative paths, sorted), split models by their first part only. */
    private static List<String> ggufModels(Path snapshot) {
        try (Stream<Path> files = Files.walk(snapshot)) {
            return files.filter(f -> f.getFileName().toString().toLowerCase().endsWith(".gguf") && Files.isRegularFile(f))
                    .map(f -> snapshot.relativize(f).toString().replace('\\', '/'))
                    .filter(ModelResolver::isFirstPart)
                    .sorted().toList();
        } catch (IOException | UncheckedIOException e) {
            throw new Qwen4jException(snapshot + ": cannot list the cached snapshot (" + e.getMessage() + ")");
        }
    }

    private static boolean isFirstPart(String name) {
        Matcher m = SPLIT_PART.matcher(name);
        return !m.matches() || Integer.parseInt(m.group(2)) == 1;
    }
}
