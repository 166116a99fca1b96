package qwen4j.api;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import qwen4j.Qwen4jException;

/** Turns a model name into a path: the one place where Hugging Face repo ids will be resolved. */
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

    /** A repo id such as Qwen/Qwen2.5-7B-Instruct; the Hugging Face cache resolver will plug in here. */
    private static Path resolveRepoId(String repoId) {
        throw new Qwen4jException("model not found: '" + Qwen4jException.shown(repoId, 200)
                + "' is not a file or folder (Hugging Face repo ids are not resolved yet)");
    }
}
