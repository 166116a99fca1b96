package qwen4j.jmh;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import qwen4j.tokenizer.StreamingDecoder;
import qwen4j.tokenizer.Tokenizer;

/**
 * Tokenizer throughput on English text (the shared English docs and the transformers English
 * sequence, about 13 kB) with the real Qwen2.5 tokenizer. Single thread.
 *
 * <p>Run after {@code mvn test-compile}: {@code java -cp target/test-classes:target/classes:<deps>
 * qwen4j.jmh.TokenizerBenchmark [sharedDir]}; main prints MB/s next to JMH's ops/s.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g", "-XX:ActiveProcessorCount=1"})
public class TokenizerBenchmark {
    private Tokenizer tokenizer;
    private String english;
    private int[] ids;

    static Path sharedDir() {
        return Path.of(System.getProperty("qwen4j.shared", "../shared"));
    }

    static String englishText(Path shared) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String f : new String[] {"DESIGN.md", "fixtures/README.md", "qwen-tokenizer/SOURCES.md"}) {
            Path p = shared.resolve(f);
            if (Files.exists(p)) sb.append(Files.readString(p)).append('\n');
        }
        var seq = new ObjectMapper().readTree(shared.resolve("qwen-tokenizer/transformers-qwen2-sequences.json").toFile());
        sb.append(seq.get(0).get("text").textValue()).append('\n');
        return sb.toString();
    }

    @Setup
    public void setup() throws IOException {
        Path shared = sharedDir();
        tokenizer = Tokenizer.fromTokenizerJson(shared.resolve("qwen-tokenizer/tokenizer.json"));
        english = englishText(shared);
        ids = tokenizer.encode(english);
    }

    @Benchmark
    public int[] encodeEnglish() {
        return tokenizer.encode(english);
    }

    @Benchmark
    public String decodeEnglish() {
        return tokenizer.decode(ids);
    }

    @Benchmark
    public int streamDecodeEnglish() {
        StreamingDecoder d = tokenizer.streamingDecoder();
        int n = 0;
        for (int id : ids) n += d.accept(id).length();
        return n + d.flush().length();
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0) System.setProperty("qwen4j.shared", args[0]);
        Path shared = sharedDir().toAbsolutePath();
        int bytes = englishText(shared).getBytes(StandardCharsets.UTF_8).length;
        var opts = new OptionsBuilder()
                .include(TokenizerBenchmark.class.getName())
                .jvmArgsAppend("-Dqwen4j.shared=" + shared)
                .build();
        for (RunResult r : new Runner(opts).run()) {
            double opsPerSec = r.getPrimaryResult().getScore();
            String name = r.getParams().getBenchmark();
            System.out.printf("%s: %.0f ops/s = %.1f MB/s of UTF-8 text (%d bytes per op)%n",
                    name.substring(name.lastIndexOf('.') + 1), opsPerSec, opsPerSec * bytes / 1e6, bytes);
        }
    }
}
