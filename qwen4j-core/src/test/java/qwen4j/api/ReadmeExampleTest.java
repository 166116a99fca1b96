package qwen4j.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import qwen4j.Fixtures;

/** The README's Java API example compiles and runs as written, and prints what the API computes. */
class ReadmeExampleTest {
    static final String START = "<!-- api-example:start -->", END = "<!-- api-example:end -->";

    static Path readme() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("README.md")) && Files.isRegularFile(dir.resolve("mvnw"))) return dir.resolve("README.md");
        }
        throw new IllegalStateException("README.md not found above " + Path.of("").toAbsolutePath());
    }

    @Test
    void exampleCompilesAndRuns(@TempDir Path tmp) throws Exception {
        String text = Files.readString(readme());
        String block = text.substring(text.indexOf(START) + START.length(), text.indexOf(END)).strip();
        assertThat(block).startsWith("```java\n").endsWith("\n```");
        String source = block.substring("```java\n".length(), block.length() - "\n```".length());
        assertThat(source.lines().count()).as("lines of the example").isLessThan(15);

        Path src = tmp.resolve("Hello.java");
        Files.writeString(src, source);
        String classes = Path.of(Qwen.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
        int rc = javac.run(null, diagnostics, diagnostics, "-classpath", classes, "-d", tmp.toString(), src.toString());
        assertThat(rc).as(diagnostics.toString()).isZero();

        Path model = Fixtures.tiny().resolve("hf");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream saved = System.out;
        try (URLClassLoader loader = new URLClassLoader(new java.net.URL[] {tmp.toUri().toURL()}, getClass().getClassLoader())) {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            loader.loadClass("Hello").getMethod("main", String[].class).invoke(null, (Object) new String[] {model.toString()});
        } finally {
            System.setOut(saved);
        }

        // what the example should print, computed here through the API
        String expected;
        try (Qwen qwen = Qwen.load(model, LoadOptions.builder().contextLength(2048).build())) {
            GenerationParams params = GenerationParams.builder().maxTokens(16).build();
            ChatResult r = qwen.chat(List.of(ChatMessage.user("Hello!")), List.of(), params);
            expected = qwen.generate("The answer is", params).text() + "\nchat: " + r.content() + " [" + r.finishReason()
                    + ", " + r.usage().totalTokens() + " tokens]\nperplexity " + qwen.score("The quick brown fox").perplexity() + "\n";
        }
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(expected);
    }
}
