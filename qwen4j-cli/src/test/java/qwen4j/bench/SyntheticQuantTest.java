package qwen4j.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import qwen4j.bench.SyntheticModel.Role;
import qwen4j.model.LayerWeights;
import qwen4j.model.Options;
import qwen4j.model.Qwen2Model;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;

class SyntheticQuantTest {
    @Test
    void q4KmRecipeFollowsLlamaQuantize() {
        // 7B: 28 layers; use_more_bits: i < 3 || i >= 24 || (i - 3) % 3 == 2
        List<Integer> more = new ArrayList<>();
        for (int i = 0; i < 28; i++) {
            DType v = SyntheticModel.typeFor("q4_k_m", Role.V, i, 28, 3584);
            assertThat(SyntheticModel.typeFor("q4_k_m", Role.DOWN, i, 28, 18944)).isEqualTo(v);
            assertThat(SyntheticModel.typeFor("q4_k_m", Role.Q, i, 28, 3584)).isEqualTo(DType.Q4_K);
            assertThat(SyntheticModel.typeFor("q4_k_m", Role.GATE, i, 28, 3584)).isEqualTo(DType.Q4_K);
            if (v == DType.Q6_K) more.add(i);
        }
        assertThat(more).containsExactly(0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27);
        assertThat(SyntheticModel.typeFor("q4_k_m", Role.OUTPUT, 0, 28, 3584)).isEqualTo(DType.Q6_K);
        assertThat(SyntheticModel.typeFor("q4_k_m", Role.TOKEN_EMBD, 0, 28, 3584)).isEqualTo(DType.Q4_K);
        assertThat(SyntheticModel.typeFor("q4_0", Role.OUTPUT, 0, 28, 3584)).isEqualTo(DType.Q6_K);
        assertThat(SyntheticModel.typeFor("q4_0", Role.OUTPUT, 0, 24, 896)).isEqualTo(DType.Q8_0);
        assertThat(SyntheticModel.typeFor("q4_k_m", Role.Q, 0, 24, 896)).isEqualTo(DType.Q5_0);
    }

    @Test
    void quantizedSyntheticModelsRunWithFiniteLogits() {
        for (String type : List.of("q8_0", "q4_0", "q4_k_m")) {
            try (SyntheticModel sm = new SyntheticModel("0.5b", type, Kernels.SIMD, false);
                 Qwen2Model m = new Qwen2Model(sm.config(), sm.weights(), Options.defaults().withThreads(2), 8)) {
                LayerWeights l = sm.weights().layers()[0];
                assertThat(l.wq().type()).isEqualTo(type.equals("q8_0") ? DType.Q8_0 : type.equals("q4_0") ? DType.Q4_0 : DType.Q5_0);
                float[] logits = m.forward(m.newSession(8), 1000);
                double max = 0;
                for (float v : logits) {
                    assertThat(Float.isFinite(v)).isTrue();
                    max = Math.max(max, Math.abs(v));
                }
                assertThat(max).as(type).isBetween(1e-3, 1e4);
                assertThat(Bench.weightBytesPerToken(sm.weights())).isLessThan(SyntheticModel.weightBytes(sm.config(), DType.BF16) * 6 / 10);
            }
        }
    }
}
