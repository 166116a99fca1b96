package qwen4j.tensor.quant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Locale;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;

/**
 * The float-vs-int8 activation experiment (not a test): Q8_0 weights times (a) float32 x, the shipped
 * SIMD kernel, and (b) x quantized to Q8_0 with an integer block dot in the Vector API (int8 -> int16
 * widen, int16 multiply, int16 -> int32 widen and add, one int->float and FMA per block). The Vector API
 * exposes no vpmaddubsw/vpmaddwd/VNNI, so (b) needs as many widening ops as (a) needs conversions.
 * Run: java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes qwen4j.tensor.quant.Int8DotExperiment
 */
public final class Int8DotExperiment {
    static final VectorSpecies<Byte> B256 = ByteVector.SPECIES_256;
    static final VectorSpecies<Short> S512 = ShortVector.SPECIES_512;
    static final VectorSpecies<Integer> I512 = IntVector.SPECIES_512;
    static final VectorSpecies<Float> F512 = FloatVector.SPECIES_512;
    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Row dot of Q8_0 weights with Q8_0 x (xq: 34-byte blocks). */
    static float dotInt8(MemorySegment w, long base, MemorySegment xq, int nb) {
        FloatVector acc = FloatVector.zero(F512);
        long off = base, xoff = 0;
        for (int b = 0; b < nb; b++, off += 34, xoff += 34) {
            ShortVector ws = (ShortVector) ByteVector.fromMemorySegment(B256, w, off + 2, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2S, S512, 0);
            ShortVector xs = (ShortVector) ByteVector.fromMemorySegment(B256, xq, xoff + 2, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2S, S512, 0);
            ShortVector p = ws.mul(xs);
            IntVector s = ((IntVector) p.convertShape(VectorOperators.S2I, I512, 0))
                    .add((IntVector) p.convertShape(VectorOperators.S2I, I512, 1));
            float d = Float.float16ToFloat(w.get(LE_SHORT, off)) * Float.float16ToFloat(xq.get(LE_SHORT, xoff));
            acc = ((FloatVector) s.convertShape(VectorOperators.I2F, F512, 0)).fma(FloatVector.broadcast(F512, d), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    public static void main(String[] args) {
        int cols = 18944;
        for (long mb : new long[] {4, 128}) {
            long rb = DType.Q8_0.bytesFor(cols);
            int rows = (int) (mb * 1_000_000 / rb);
            MemorySegment w = Arena.ofAuto().allocate(rb * rows, 4096);
            RandomBlocks.fill(w, DType.Q8_0, 3);
            float[] x = RandomBlocks.vector(cols, 4);
            byte[] xqb = Quantize.quantize(DType.Q8_0, x);
            MemorySegment xq = Arena.ofAuto().allocate(xqb.length);
            MemorySegment.copy(MemorySegment.ofArray(xqb), 0, xq, 0, xqb.length);
            QuantMatrix m = QuantMatrix.of(DType.Q8_0, w, rows, cols, Kernels.SIMD);
            float[] out = new float[rows];
            long bestF = Long.MAX_VALUE, bestI = Long.MAX_VALUE;
            float sink = 0;
            int reps = mb < 10 ? 300 : 15;
            for (int it = 0; it < reps; it++) {
                long t0 = System.nanoTime();
                m.matvec(x, out, 0, rows);
                long t1 = System.nanoTime();
                for (int r = 0; r < rows; r++) out[r] = dotInt8(w, r * rb, xq, cols / 32);
                long t2 = System.nanoTime();
                sink += out[0];
                if (it > reps / 3) {
                    bestF = Math.min(bestF, t1 - t0);
                    bestI = Math.min(bestI, t2 - t1);
                }
            }
            System.out.printf(Locale.ROOT, "Q8_0 %d MB, 1 thread: float-x %.2f GB/s, int8-x %.2f GB/s (%s)%n", mb,
                    rb * rows / (double) bestF, rb * rows / (double) bestI, sink == 12345 ? "" : "ok");
        }
    }
}
