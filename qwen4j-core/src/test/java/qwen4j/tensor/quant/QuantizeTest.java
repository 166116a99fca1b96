package qwen4j.tensor.quant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static qwen4j.tensor.quant.QuantFixtures.COLS;
import static qwen4j.tensor.quant.QuantFixtures.ROWS;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import qwen4j.tensor.DType;

class QuantizeTest {

    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0"})
    void quantizesTheInputByteForByteAsGgml(DType t) {
        float[] in = QuantFixtures.floats("quant-input.f32");
        byte[] expected = QuantFixtures.bytes("quant-" + t + ".bin");
        // row by row through the byte[] API
        ByteArrayOutputStream rows = new ByteArrayOutputStream();
        for (int r = 0; r < ROWS; r++) rows.writeBytes(Quantize.quantize(t, Arrays.copyOfRange(in, r * COLS, (r + 1) * COLS)));
        assertBytes(t, rows.toByteArray(), expected);
        // as one run into an off-heap segment at an offset
        MemorySegment seg = Arena.ofAuto().allocate(expected.length + 5);
        Quantize.quantize(t, in, 0, in.length, seg, 5);
        assertBytes(t, seg.asSlice(5).toArray(ValueLayout.JAVA_BYTE), expected);
    }

    private static void assertBytes(DType t, byte[] got, byte[] expected) {
        assertThat(got).hasSize(expected.length);
        int bb = t.blockBytes();
        for (int i = 0; i < got.length; i++) {
            if (got[i] != expected[i]) {
                throw new AssertionError(t + ": byte " + i + " (block " + i / bb + ", byte " + i % bb + ") is "
                        + (got[i] & 0xFF) + ", expected " + (expected[i] & 0xFF));
            }
        }
    }

    @Test
    void roundfRoundsHalfAwayFromZero() {
        assertThat(Quantize.roundf(0.5f)).isEqualTo(1);
        assertThat(Quantize.roundf(-0.5f)).isEqualTo(-1);
        assertThat(Quantize.roundf(2.5f)).isEqualTo(3);
        assertThat(Quantize.roundf(-2.5f)).isEqualTo(-3);
        assertThat(Quantize.roundf(0.49999997f)).isEqualTo(0);
        assertThat(Quantize.roundf(-126.5f)).isEqualTo(-127);
    }

    @Test
    void rejectsPartialBlocksAndOtherTypes() {
        assertThatThrownBy(() -> Quantize.quantize(DType.Q8_0, new float[33])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Quantize.quantize(DType.Q4_K, new float[256])).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void quantizedRowsRoundTripThroughTheMatrix() {
        float[] in = QuantFixtures.floats("quant-input.f32");
        for (DType t : new DType[] {DType.Q8_0, DType.Q4_0}) {
            byte[] q = Quantize.quantize(t, in);
            float[] expected = QuantFixtures.floats("quant-" + t + ".dequant.f32");
            float[] got = new float[in.length];
            QuantMatrix m = QuantMatrix.of(t, MemorySegment.ofArray(q), ROWS, COLS, qwen4j.tensor.Kernels.SCALAR);
            for (int r = 0; r < ROWS; r++) m.row(r, got, r * COLS);
            for (int i = 0; i < in.length; i++) {
                assertThat(Float.floatToRawIntBits(got[i])).as(t + " " + i).isEqualTo(Float.floatToRawIntBits(expected[i]));
            }
        }
    }
}
