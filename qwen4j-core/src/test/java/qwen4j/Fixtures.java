package qwen4j;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates ../shared (the fixtures and tokenizer files); tests that need it skip visibly without it. */
public final class Fixtures {
    private Fixtures() {}

    public static Path shared() {
        String prop = System.getProperty("qwen4j.shared", "../shared");
        Path p = Path.of(prop).toAbsolutePath().normalize();
        assumeTrue(Files.isDirectory(p.resolve("fixtures")), "shared fixtures not found at " + p + " (skipped)");
        return p;
    }

    public static Path tiny() {
        return shared().resolve("fixtures/tiny");
    }

    public static Path tokenizerDir() {
        return shared().resolve("qwen-tokenizer");
    }
}
