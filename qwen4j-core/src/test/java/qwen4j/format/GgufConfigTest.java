package qwen4j.format;

import static org.assertj.core.api.Assertions.assertThat;
import static qwen4j.format.TestFiles.assertError;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import qwen4j.model.Qwen2Config;

class GgufConfigTest {
    static Map<String, Object> tinyMetadata() {
        Map<String, Object> md = new HashMap<>();
        md.put("general.architecture", "qwen2");
        md.put("qwen2.block_count", 2L);
        md.put("qwen2.context_length", 32768L);
        md.put("qwen2.embedding_length", 64L);
        md.put("qwen2.feed_forward_length", 128L);
        md.put("qwen2.attention.head_count", 4L);
        md.put("qwen2.attention.head_count_kv", 2L);
        md.put("qwen2.rope.freq_base", 1_000_000.0);
        md.put("qwen2.attention.layer_norm_rms_epsilon", (double) 1e-6f);
        md.put("tokenizer.ggml.eos_token_id", 151645L);
        md.put("tokenizer.ggml.bos_token_id", 151643L);
        return md;
    }

    @Test
    void parsesAndDefaults() {
        Map<String, Object> md = tinyMetadata();
        Qwen2Config c = GgufConfig.parse(md, "t.gguf", 151936, false);
        assertThat(c).isEqualTo(new Qwen2Config(64, 2, 4, 2, 128, 151936, 1e6, 1e-6f, true, 32768,
                java.util.List.of(151645), 151643));
        md.put("tokenizer.ggml.eot_token_id", 151643L);
        md.remove("tokenizer.ggml.bos_token_id");
        md.remove("qwen2.attention.head_count_kv");
        md.remove("qwen2.rope.freq_base");
        c = GgufConfig.parse(md, "t.gguf", 151936, true);
        assertThat(c.eosTokenIds()).containsExactly(151645, 151643);
        assertThat(c.bosTokenId()).isEqualTo(-1);
        assertThat(c.numKvHeads()).isEqualTo(4);
        assertThat(c.ropeTheta()).isEqualTo(10000.0);
        assertThat(c.tieWordEmbeddings()).isFalse();
    }

    @Test
    void errors() {
        Map<String, Object> md = tinyMetadata();
        md.remove("general.architecture");
        assertError(() -> GgufConfig.parse(md, "t.gguf", 151936, false), "t.gguf: metadata key general.architecture is missing");
        md.put("general.architecture", "llama");
        assertError(() -> GgufConfig.parse(md, "t.gguf", 151936, false),
                "t.gguf: architecture llama is not supported (qwen4j runs qwen2)");
        md.put("general.architecture", "qwen2");
        md.remove("qwen2.attention.layer_norm_rms_epsilon");
        assertError(() -> GgufConfig.parse(md, "t.gguf", 151936, false),
                "t.gguf: metadata key qwen2.attention.layer_norm_rms_epsilon is missing");
        md.put("qwen2.attention.layer_norm_rms_epsilon", "tiny");
        assertError(() -> GgufConfig.parse(md, "t.gguf", 151936, false),
                "t.gguf: metadata key qwen2.attention.layer_norm_rms_epsilon is string \"tiny\"", "positive number");
        md.put("qwen2.attention.layer_norm_rms_epsilon", 1e-6);
        md.put("qwen2.block_count", 2.0);
        assertError(() -> GgufConfig.parse(md, "t.gguf", 151936, false),
                "t.gguf: metadata key qwen2.block_count is float 2.0", "positive integer");
        md.put("qwen2.block_count", 2L);
        md.put("qwen2.attention.head_count_kv", 3L);
        assertError(() -> GgufConfig.parse(md, "t.gguf", 151936, false), "t.gguf", "head_count_kv 3");
        md.put("qwen2.attention.head_count_kv", 2L);
        md.put("tokenizer.ggml.eos_token_id", 999999L);
        assertError(() -> GgufConfig.parse(md, "t.gguf", 151936, false),
                "t.gguf: metadata key tokenizer.ggml.eos_token_id is integer 999999", "[0, 151936)");
    }
}
