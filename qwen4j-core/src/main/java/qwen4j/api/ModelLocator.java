package qwen4j.api;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import qwen4j.Qwen4jException;

/** Turns a model name into a path: a local file or folder, or a Hugging Face repo id found in the local cache. */
final class ModelLocator {
    private ModelLocator() {}

    static Path locate(String name) {
        if (name == null || name.isBlank()) throw new Qwen4jException("no model given: pass a path or a repo id");
        try {
            Path p = Path.of(name);
            if (Files.exists(p)) return p;
        } catch (InvalidPathException e) {
            // not a path: try it as a repo id
        }
        return resolveRepoId(name);
    }

    /** A repo id such as Qwen/Qwen2.5-7B-Instruct (or REPO:FILE.gguf), as the CLI's -m resolves it. */
    private static Path resolveRepoId(String repoId) {
        return qwen4j.hub.ModelResolver.resolve(repoId);
    }
}
