package qwen4j.format;

import com.code_intelligence.jazzer.junit.FuzzTest;
import qwen4j.fuzz.FuzzOracle;

/** Fuzz targets for config.json and generation_config.json. Corpus: src/test/resources/qwen4j/format/ConfigFuzzTestInputs. */
class ConfigFuzzTest {
    @FuzzTest(maxDuration = "60s")
    void configJson(byte[] data) {
        FuzzOracle.validOrUserError(() -> HfConfig.parse(Json.parse(data, HfConfig.CONFIG, 0), null));
    }

    @FuzzTest(maxDuration = "60s")
    void generationConfigJson(byte[] data) {
        FuzzOracle.validOrUserError(() -> GenerationConfig.parse(
                Json.parse(data, HfConfig.GENERATION_CONFIG, 0), HfConfig.GENERATION_CONFIG));
        // the same bytes as generation_config.json beside a valid config.json
        FuzzOracle.validOrUserError(() -> HfConfig.parse(Json.parse(VALID_CONFIG, HfConfig.CONFIG, 0),
                Json.parse(data, HfConfig.GENERATION_CONFIG, 0)));
    }

    private static final byte[] VALID_CONFIG = """
            {"architectures": ["Qwen2ForCausalLM"], "hidden_size": 64, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 1000}
            """.getBytes(java.nio.charset.StandardCharsets.UTF_8);
}
