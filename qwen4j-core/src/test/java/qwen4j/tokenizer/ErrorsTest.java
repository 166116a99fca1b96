package qwen4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.function.Executable;
import qwen4j.Qwen4jException;

/** User errors give one-line Qwen4jException messages naming the file and the problem. */
class ErrorsTest {
    @TempDir
    Path dir;

    private static String message(Executable e) {
        try {
            e.execute();
        } catch (Qwen4jException x) {
            assertThat(x.getMessage()).doesNotContain("\n").doesNotContain("\r");
            return x.getMessage();
        } catch (Throwable t) {
            throw new AssertionError("expected Qwen4jException, got " + t, t);
        }
        throw new AssertionError("expected Qwen4jException, nothing thrown");
    }

    private Path write(String name, String content) throws IOException {
        return Files.writeString(dir.resolve(name), content);
    }

    /** A vocab.json with the 256 byte tokens (id = byte) plus extras. */
    private static String byteVocabJson(String... extra) {
        StringBuilder sb = new StringBuilder("{");
        for (int b = 0; b < 256; b++) {
            char c = ByteLevel.byteToChar(b);
            String key = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : String.valueOf(c);
            sb.append('"').append(key).append("\":").append(b).append(',');
        }
        int id = 256;
        for (String e : extra) sb.append('"').append(e).append("\":").append(id++).append(',');
        sb.setLength(sb.length() - 1);
        return sb.append('}').toString();
    }

    @Test
    void tokenIdsAboveTheLimitNameIt() throws IOException {
        String bytes = byteVocabJson();
        String vocab = bytes.substring(0, bytes.length() - 1) + ",\"big\":16777216}";
        Path v = write("vocab.json", vocab);
        Path m = write("merges.txt", "#version: 0.2\n");
        assertThat(message(() -> Tokenizer.fromVocabAndMerges(v, m, null)))
                .contains("vocab.json").contains("'big'").contains("id 16777216 exceeds limit max-token-id=16777215");
    }

    @Test
    void missingFiles() {
        Path missing = dir.resolve("tokenizer.json");
        assertThat(message(() -> Tokenizer.fromTokenizerJson(missing))).isEqualTo(missing + ": file not found");
        Path v = dir.resolve("vocab.json");
        assertThat(message(() -> Tokenizer.fromVocabAndMerges(v, dir.resolve("merges.txt"), null))).isEqualTo(v + ": file not found");
        assertThat(message(() -> Tokenizer.fromHfFolder(dir))).startsWith(dir + ": no tokenizer found");
        assertThat(message(() -> Tokenizer.fromHfFolder(dir.resolve("nope")))).endsWith("nope: not a directory");
        assertThat(message(() -> Tokenizer.fromTokenizerJson(dir))).isEqualTo(dir + ": is a directory, expected a file");
    }

    @Test
    void malformedJson() throws IOException {
        Path p = write("tokenizer.json", "{\"model\": {\"vocab\": {\"a\": 1,,}}}");
        assertThat(message(() -> Tokenizer.fromTokenizerJson(p))).startsWith(p + ": malformed JSON at line 1 column ");
        Path q = write("tokenizer2.json", "{\"model\": {\"vocab\": {\"a\": 1}");
        assertThat(message(() -> Tokenizer.fromTokenizerJson(q))).startsWith(q + ": malformed JSON");
        Path v = write("vocab.json", "[1, 2]");
        assertThat(message(() -> Tokenizer.fromVocabAndMerges(v, v, null))).isEqualTo(v + ": expected a JSON object of token: id");
        Path w = write("vocab2.json", "{\"a\": \"x\"}");
        assertThat(message(() -> Tokenizer.fromVocabAndMerges(w, w, null))).isEqualTo(w + ": vocab['a'] must be an integer id");
    }

    @Test
    void missingFields() throws IOException {
        Path p = write("tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": " + byteVocabJson() + "}}");
        assertThat(message(() -> Tokenizer.fromTokenizerJson(p))).isEqualTo(p + ": field model.merges is missing");
        Path q = write("t2.json", "{\"added_tokens\": []}");
        assertThat(message(() -> Tokenizer.fromTokenizerJson(q))).isEqualTo(q + ": field model is missing");
        Path r = write("t3.json", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}");
        assertThat(message(() -> Tokenizer.fromTokenizerJson(r))).isEqualTo(r + ": model.type is WordPiece; only BPE is supported");
        Path s = write("t4.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": " + byteVocabJson() + ", \"merges\": [\"a\"]}}");
        assertThat(message(() -> Tokenizer.fromTokenizerJson(s))).isEqualTo(s + ": model.merges[0]: expected two symbols separated by one space, got 'a'");
        Path u = write("t5.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": " + byteVocabJson() + ", \"merges\": [[\"a\", \"b\"]]}, \"added_tokens\": [{\"content\": \"x\"}]}");
        assertThat(message(() -> Tokenizer.fromTokenizerJson(u))).isEqualTo(u + ": field added_tokens[0].id is missing");
        Path x = write("t6.json", "{\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\s+\"}}, \"model\": {}}");
        assertThat(message(() -> Tokenizer.fromTokenizerJson(x))).isEqualTo(x + ": pre_tokenizer regex '\\s+' is not supported (only the Qwen2 one)");
        Path y = write("t7.json", "{\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"use_regex\": true}, \"model\": {}}");
        assertThat(message(() -> Tokenizer.fromTokenizerJson(y))).isEqualTo(y + ": pre_tokenizer regex 'ByteLevel(use_regex=true)' is not supported (only the Qwen2 one)");
    }

    @Test
    void badMergesLines() throws IOException {
        Path v = write("vocab.json", byteVocabJson("ab"));
        Path m = write("merges.txt", "#version: 0.2\r\na b\r\nb\r\n");
        assertThat(message(() -> Tokenizer.fromVocabAndMerges(v, m, null)))
                .isEqualTo(m + " line 3: expected two symbols separated by one space, got 'b'");
        Path m2 = write("merges2.txt", "a b\nb c\n");
        assertThat(message(() -> Tokenizer.fromVocabAndMerges(v, m2, null)))
                .isEqualTo(m2 + " line 2: merged token 'bc' is not in the vocabulary");
        Path m3 = write("merges3.txt", "a b\nzz c\n");
        assertThat(message(() -> Tokenizer.fromVocabAndMerges(v, m3, null)))
                .isEqualTo(m3 + " line 2: symbol 'zz' is not in the vocabulary");
        // the good one loads, with or without the #version line and with CRLF
        Path ok = write("ok.txt", "#version: 0.2\r\na b\r\n");
        assertThat(Tokenizer.fromVocabAndMerges(v, ok, null).encode("ab")).containsExactly(256);
        Path ok2 = write("ok2.txt", "a b");
        assertThat(Tokenizer.fromVocabAndMerges(v, ok2, null).encode("xab")).containsExactly('x', 256);
    }

    @Test
    void vocabularyWithoutByteTokens() throws IOException {
        Path v = write("vocab.json", "{\"a\": 0}");
        Path m = write("merges.txt", "");
        assertThat(message(() -> Tokenizer.fromVocabAndMerges(v, m, null))).startsWith(v + ": the vocabulary has no token for byte 0x00");
    }

    @Test
    void badConfig() throws IOException {
        Path v = write("vocab.json", byteVocabJson());
        Path m = write("merges.txt", "");
        Path c = write("tokenizer_config.json", "{\"added_tokens_decoder\": {\"x\": {\"content\": \"<s>\"}}}");
        assertThat(message(() -> Tokenizer.fromVocabAndMerges(v, m, c))).isEqualTo(c + ": added_tokens_decoder['x']: key must be a token id");
    }

    @Test
    void badGgufMetadata() {
        Map<String, Object> md = new LinkedHashMap<>();
        assertThat(message(() -> Tokenizer.fromGgufMetadata(md, "m.gguf"))).isEqualTo("m.gguf: metadata key tokenizer.ggml.model is missing");
        md.put("tokenizer.ggml.model", "llama");
        assertThat(message(() -> Tokenizer.fromGgufMetadata(md, "m.gguf"))).isEqualTo("m.gguf: tokenizer.ggml.model is 'llama'; only gpt2 (byte-level BPE) is supported");
        md.put("tokenizer.ggml.model", "gpt2");
        md.put("tokenizer.ggml.pre", "llama-bpe");
        assertThat(message(() -> Tokenizer.fromGgufMetadata(md, "m.gguf"))).isEqualTo("m.gguf: tokenizer.ggml.pre is 'llama-bpe'; only qwen2 is supported");
        md.put("tokenizer.ggml.pre", "qwen2");
        assertThat(message(() -> Tokenizer.fromGgufMetadata(md, "m.gguf"))).isEqualTo("m.gguf: metadata key tokenizer.ggml.tokens is missing");
        md.put("tokenizer.ggml.tokens", List.of("a", "b"));
        md.put("tokenizer.ggml.token_type", new long[] {1});
        md.put("tokenizer.ggml.merges", List.of());
        assertThat(message(() -> Tokenizer.fromGgufMetadata(md, "m.gguf"))).isEqualTo("m.gguf: tokenizer.ggml.token_type has 1 entries but tokenizer.ggml.tokens has 2");
        md.put("tokenizer.ggml.token_type", new long[] {1, 9});
        assertThat(message(() -> Tokenizer.fromGgufMetadata(md, "m.gguf"))).isEqualTo("m.gguf: tokenizer.ggml.token_type[1] = 9 is not a known token type");
        md.put("tokenizer.ggml.token_type", "x");
        assertThat(message(() -> Tokenizer.fromGgufMetadata(md, "m.gguf"))).isEqualTo("m.gguf: tokenizer.ggml.token_type must be an array of integers, got String");
    }

    @Test
    void callersErrorsAreNotQwen4jExceptions() {
        Tokenizer t = TokenizerFixtures.synthetic(List.of(), List.of());
        assertThatThrownBy(() -> t.encode(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> t.piece(t.size())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("out of range");
    }
}
