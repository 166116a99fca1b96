package qwen4j.format;

import java.nio.file.Files;
import java.nio.file.Path;
import qwen4j.Qwen4jException;
import qwen4j.tokenizer.Tokenizer;

/** Loads just the tokenizer of a model: from an HF folder's files or a GGUF file's metadata. */
public final class TokenizerLoader {
    private TokenizerLoader() {}

    public static Tokenizer load(Path path) {
        if (Files.isDirectory(path)) return Tokenizer.fromHfFolder(path);
        if (!Files.isRegularFile(path)) throw new Qwen4jException(path + ": no such file or folder");
        Path parent = path.toAbsolutePath().getParent();
        if (!path.getFileName().toString().toLowerCase().endsWith(".gguf") && parent != null
                && Files.isRegularFile(parent.resolve("config.json"))) {
            return Tokenizer.fromHfFolder(parent);
        }
        try (GgufFile gguf = GgufFile.open(path)) {
            return Tokenizer.fromGgufMetadata(gguf.metadata(), path.getFileName().toString());
        }
    }
}
