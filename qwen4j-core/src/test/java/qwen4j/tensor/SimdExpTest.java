package qwen4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** {@link SimdExp}: the vector form equals its scalar twin bit for bit and is within 2 ulp of e^x (double Math.exp). */
class SimdExpTest {

    private static float[] inputs() {
        SplittableRandom rnd = new SplittableRandom(7);
        float[] special = {0f, -0f, 1f, -1f, 1e-30f, -1e-30f, 88.72f, 88.73f, 89f, 100f, -87.3f, -87.34f, -87.4f, -95f, -103.9f, -103.98f, -104f, -200f,
                Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MAX_VALUE, -Float.MAX_VALUE, 0.34657359f, -0.34657359f};
        float[] x = new float[1 << 16];
        System.arraycopy(special, 0, x, 0, special.length);
        for (int i = special.length; i < x.length; i++) x[i] = (float) (i % 3 == 0 ? rnd.nextDouble(-1, 1) : rnd.nextDouble(-90, 90));
        return x;
    }

    @Test
    void vectorEqualsScalarTwinBitForBit() {
        float[] x = inputs();
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i += Simd.L) SimdExp.exp(FloatVector.fromArray(Simd.F, x, i)).intoArray(out, i);
        for (int i = 0; i < x.length; i++) {
            assertThat(Float.floatToRawIntBits(out[i])).as("exp(%s)", x[i]).isEqualTo(Float.floatToRawIntBits(SimdExp.exp(x[i])));
        }
    }

    @Test
    void withinTwoUlpOfTheTrueValue() {
        for (float x : inputs()) {
            float got = SimdExp.exp(x);
            double want = Math.exp(x);
            if (Float.isNaN(x)) {
                assertThat(got).isNaN();
            } else if (want > Float.MAX_VALUE) {
                assertThat(got).as("exp(%s)", x).isEqualTo(Float.POSITIVE_INFINITY);
            } else if (want < 0x1p-126) { // subnormal: 2 units of the smallest subnormal
                assertThat(Math.abs(got - want)).as("exp(%s) = %s, want %s", x, got, want).isLessThanOrEqualTo(0x1p-148);
            } else {
                assertThat(Math.abs(got - want)).as("exp(%s) = %s, want %s", x, got, want).isLessThanOrEqualTo(2 * Math.ulp((float) want));
            }
        }
    }
}
