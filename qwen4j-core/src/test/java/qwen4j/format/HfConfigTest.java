package qwen4j.format;

import static org.assertj.core.api.Assertions.assertThat;
import static qwen4j.format.TestFiles.assertError;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import qwen4j.model.Qwen2Config;

class HfConfigTest {
    private static final ObjectMapper M = new ObjectMapper();
    @TempDir Path tmp;

    /** The tiny fixture's config.json, inlined so these tests run without the shared data. */
    static ObjectNode tinyConfig() throws Exception {
        return (ObjectNode) M.readTree("""
                {"architectures":["Qwen2ForCausalLM"],"bos_token_id":151643,"eos_token_id":151645,
                 "hidden_act":"silu","hidden_size":64,"intermediate_size":128,"max_position_embeddings":32768,
                 "num_attention_heads":4,"num_hidden_layers":2,"num_key_value_heads":2,"rms_norm_eps":1e-06,
                 "rope_scaling":null,"rope_theta":1000000.0,"tie_word_embeddings":true,"torch_dtype":"bfloat16",
                 "use_sliding_window":false,"vocab_size":151936}""");
    }

    @Test
    void readsFixtureFolder() throws Exception {
        Path hf = TestFiles.tiny().resolve("hf");
        Qwen2Config c = HfConfig.read(hf);
        JsonNode j = M.readTree(hf.resolve("config.json").toFile());
        assertThat(c.hiddenSize()).isEqualTo(j.get("hidden_size").asInt()).isEqualTo(64);
        assertThat(c.numLayers()).isEqualTo(j.get("num_hidden_layers").asInt());
        assertThat(c.numHeads()).isEqualTo(j.get("num_attention_heads").asInt());
        assertThat(c.numKvHeads()).isEqualTo(j.get("num_key_value_heads").asInt());
        assertThat(c.intermediateSize()).isEqualTo(j.get("intermediate_size").asInt());
        assertThat(c.vocabSize()).isEqualTo(j.get("vocab_size").asInt());
        assertThat(c.ropeTheta()).isEqualTo(j.get("rope_theta").asDouble());
        assertThat(c.rmsNormEps()).isEqualTo((float) j.get("rms_norm_eps").asDouble());
        assertThat(c.tieWordEmbeddings()).isTrue();
        assertThat(c.maxPositionEmbeddings()).isEqualTo(32768);
        assertThat(c.headDim()).isEqualTo(16);
        // generation_config.json's list wins over config.json's single id
        assertThat(c.eosTokenIds()).containsExactly(151645, 151643);
        assertThat(c.bosTokenId()).isEqualTo(151643);
        assertThat(HfConfig.read(TestFiles.tiny().resolve("hf-sharded"))).isEqualTo(c);
    }

    @Test
    void defaultsAndEosFallback() throws Exception {
        ObjectNode j = tinyConfig();
        for (String f : List.of("num_key_value_heads", "rope_theta", "rms_norm_eps", "tie_word_embeddings",
                "max_position_embeddings", "bos_token_id")) j.remove(f);
        Qwen2Config c = HfConfig.parse(j, null);
        assertThat(c.numKvHeads()).isEqualTo(4);
        assertThat(c.ropeTheta()).isEqualTo(10000.0);
        assertThat(c.rmsNormEps()).isEqualTo(1e-6f);
        assertThat(c.tieWordEmbeddings()).isFalse();
        assertThat(c.maxPositionEmbeddings()).isEqualTo(32768);
        assertThat(c.eosTokenIds()).containsExactly(151645); // from config.json
        assertThat(c.bosTokenId()).isEqualTo(-1);
        JsonNode gen = M.readTree("{\"eos_token_id\": 151643, \"bos_token_id\": 151643}");
        assertThat(HfConfig.parse(j, gen).eosTokenIds()).containsExactly(151643);
        assertThat(HfConfig.parse(j, M.readTree("{\"temperature\": 0.7}")).eosTokenIds()).containsExactly(151645);
        j.remove("eos_token_id");
        assertThat(HfConfig.parse(j, null).eosTokenIds()).isEmpty();
    }

    @Test
    void unsupportedArchitecture() throws Exception {
        ObjectNode j = tinyConfig();
        j.putArray("architectures").add("LlamaForCausalLM");
        assertError(() -> HfConfig.parse(j, null),
                "config.json: architecture LlamaForCausalLM is not supported (qwen4j runs Qwen2ForCausalLM)");
        j.remove("architectures");
        assertError(() -> HfConfig.parse(j, null), "config.json", "field architectures");
    }

    @Test
    void missingAndIllTypedFields() throws Exception {
        for (String f : List.of("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                "vocab_size")) {
            ObjectNode j = tinyConfig();
            j.remove(f);
            assertError(() -> HfConfig.parse(j, null), "config.json: field " + f + " is missing");
        }
        Map<String, String> bad = Map.of("hidden_size", "\"64\"", "num_key_value_heads", "2.5",
                "rope_theta", "\"big\"", "rms_norm_eps", "-1", "tie_word_embeddings", "\"yes\"",
                "num_hidden_layers", "0", "max_position_embeddings", "1e40");
        for (Map.Entry<String, String> e : bad.entrySet()) {
            ObjectNode j = tinyConfig();
            j.set(e.getKey(), M.readTree(e.getValue()));
            assertError(() -> HfConfig.parse(j, null), "config.json: field " + e.getKey() + " is ", "expected");
        }
        ObjectNode j = tinyConfig();
        assertError(() -> HfConfig.parse(j, M.readTree("{\"eos_token_id\": \"</s>\"}")),
                "generation_config.json: field eos_token_id", "expected token ids");
        assertError(() -> HfConfig.parse(j, M.readTree("{\"eos_token_id\": [1, 999999]}")),
                "generation_config.json: field eos_token_id", "[0, 151936)");
    }

    @Test
    void inconsistentOrUnsupportedSettings() throws Exception {
        ObjectNode a = tinyConfig();
        a.put("num_key_value_heads", 3);
        assertError(() -> HfConfig.parse(a, null), "config.json", "num_key_value_heads 3");
        ObjectNode b = tinyConfig();
        b.put("hidden_size", 66);
        assertError(() -> HfConfig.parse(b, null), "config.json", "hidden_size 66");
        ObjectNode c = tinyConfig();
        c.set("rope_scaling", M.readTree("{\"type\":\"yarn\",\"factor\":4.0}"));
        assertError(() -> HfConfig.parse(c, null), "config.json: field rope_scaling", "yarn");
        ObjectNode d = tinyConfig();
        d.put("use_sliding_window", true);
        assertError(() -> HfConfig.parse(d, null), "config.json: field use_sliding_window");
        ObjectNode e = tinyConfig();
        e.put("hidden_act", "gelu");
        assertError(() -> HfConfig.parse(e, null), "config.json: field hidden_act", "gelu");
    }

    @Test
    void fileErrors() throws Exception {
        assertError(() -> HfConfig.read(tmp), "no config.json");
        Files.writeString(tmp.resolve("config.json"), "{\"architectures\": [\"Qwen2ForCausalLM\",}");
        assertError(() -> HfConfig.read(tmp), "config.json: malformed JSON at line 1");
        Files.writeString(tmp.resolve("config.json"), tinyConfig().toString());
        Files.writeString(tmp.resolve("generation_config.json"), "{\"eos_token_id\": [1, 2]");
        assertError(() -> HfConfig.read(tmp), "generation_config.json: malformed JSON");
        Files.writeString(tmp.resolve("generation_config.json"), "[]");
        assertError(() -> HfConfig.read(tmp), "generation_config.json", "expected a JSON object");
    }
}
