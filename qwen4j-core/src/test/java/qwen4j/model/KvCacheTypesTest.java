package qwen4j.model;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import qwen4j.Fixtures;
import qwen4j.generate.Engine;
import qwen4j.tensor.Kernels;

/** The 16-bit KV cache types hold half the bytes, and bf16 rounding is round-to-nearest-even. */
class KvCacheTypesTest {
    @Test
    void sixteenBitCachesHalveTheMemory() {
        Options o = Options.defaults().withKernels(Kernels.SCALAR).withThreads(1);
        try (Engine e = Engine.open(Fixtures.tiny().resolve("hf"), o, 64)) {
            long f32 = e.model().newSession(64).cache().bytes();
            Qwen2Config c = e.model().config();
            assertThat(f32).isEqualTo(2L * c.numLayers() * 64 * c.kvDim() * 4);
            for (KvCache.Type t : new KvCache.Type[] {KvCache.Type.F16, KvCache.Type.BF16}) {
                try (Qwen2Model m = new Qwen2Model(c, e.model().weights(), o.withKv(t), 64)) {
                    Session s = m.newSession(64);
                    assertThat(s.cache().bytes()).isEqualTo(f32 / 2);
                    float[] logits = m.prefill(s, new int[] {785, 4226, 374});
                    for (float x : logits) assertThat(Float.isFinite(x)).isTrue();
                }
            }
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertThat(Half.toBf16(1.0f)).isEqualTo((short) 0x3F80);
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1.0)
        assertThat(Half.roundBf16(1.0f + 0x1p-8f)).isEqualTo(1.0f);
        // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: ties go to even (1 + 2^-6)
        assertThat(Half.roundBf16(1.0f + 3 * 0x1p-8f)).isEqualTo(1.0f + 0x1p-6f);
        assertThat(Half.roundBf16(1.0f + 0x1p-8f + 0x1p-20f)).isEqualTo(1.0f + 0x1p-7f);
        assertThat(Half.roundBf16(-2.5f)).isEqualTo(-2.5f);
        assertThat(Float.isNaN(Half.roundBf16(Float.NaN))).isTrue();
    }
}
