package qwen4j.tensor.quant;

import static qwen4j.tensor.quant.QuantSimd.F;
import static qwen4j.tensor.quant.QuantSimd.L;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import qwen4j.tensor.DType;
import qwen4j.tensor.Kernels;

/** Q4_0: blocks of 32 = fp16 d, 16 bytes of nibbles (qs[j]: element j low, j+16 high); y = (q - 8) * d. */
final class Q4_0Matrix extends QuantMatrix {
    static final int QK = 32, BB = 18;

    Q4_0Matrix(MemorySegment data, int rows, int cols, Kernels k) { super(data, rows, cols, k); }

    @Override public DType type() { return DType.Q4_0; }

    static void dequant(MemorySegment seg, long off, float[] dst, int o) {
        float d = f16(seg, off);
        for (int j = 0; j < 16; j++) {
            int b = u8(seg, off + 2 + j);
            dst[o + j] = (float) ((b & 15) - 8) * d;
            dst[o + j + 16] = (float) ((b >>> 4) - 8) * d;
        }
    }

    @Override
    void dequantizeBlock(MemorySegment seg, long off, float[] dst, int o) { dequant(seg, off, dst, o); }

    @Override
    float dotRowSimd(MemorySegment seg, long base, float[] x, int nb) {
        FloatVector acc = FloatVector.zero(F);
        long off = base;
        for (int blk = 0, xo = 0; blk < nb; blk++, off += BB, xo += QK) {
            FloatVector t = FloatVector.zero(F);
            for (int k = 0; k < 16; k += L) {
                ByteVector b = QuantSimd.load(seg, off + 2 + k);
                FloatVector lo = QuantSimd.toFloat(b.and((byte) 15).sub((byte) 8));
                FloatVector hi = QuantSimd.toFloat(QuantSimd.shr(b, 4, 15).sub((byte) 8));
                t = hi.fma(QuantSimd.x(x, xo + 16 + k), lo.fma(QuantSimd.x(x, xo + k), t));
            }
            acc = t.fma(FloatVector.broadcast(F, f16(seg, off)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    @Override
    void dotTwoRowsSimd(MemorySegment seg, long base, long stride, float[] x, int nb, float[] out, int r) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        long off = base;
        for (int blk = 0, xo = 0; blk < nb; blk++, off += BB, xo += QK) {
            FloatVector t0 = FloatVector.zero(F), t1 = t0;
            for (int k = 0; k < 16; k += L) {
                FloatVector xl = QuantSimd.x(x, xo + k), xh = QuantSimd.x(x, xo + 16 + k);
                ByteVector b0 = QuantSimd.load(seg, off + 2 + k);
                ByteVector b1 = QuantSimd.load(seg, off + stride + 2 + k);
                t0 = QuantSimd.toFloat(b0.and((byte) 15).sub((byte) 8)).fma(xl, t0);
                t1 = QuantSimd.toFloat(b1.and((byte) 15).sub((byte) 8)).fma(xl, t1);
                t0 = QuantSimd.toFloat(QuantSimd.shr(b0, 4, 15).sub((byte) 8)).fma(xh, t0);
                t1 = QuantSimd.toFloat(QuantSimd.shr(b1, 4, 15).sub((byte) 8)).fma(xh, t1);
            }
            acc0 = t0.fma(FloatVector.broadcast(F, f16(seg, off)), acc0);
            acc1 = t1.fma(FloatVector.broadcast(F, f16(seg, off + stride)), acc1);
        }
        out[r] = acc0.reduceLanes(VectorOperators.ADD);
        out[r + 1] = acc1.reduceLanes(VectorOperators.ADD);
    }

    // ---------------------------------------------------------------- int8 activations

    @Override boolean hasInt8Kernels() { return true; }

    /**
     * sum over the block of (q-8)*x as 16 int32 lanes: the 16 bytes widened to int16 (sign extension is
     * masked off again), low nibbles times x[0..16), high nibbles times x[16..32), added in int16
     * (|sum| <= 2 * 8 * 127), then widened.
     */
    private static IntVector blockDot(MemorySegment seg, long off, short[] qs, int xo) {
        ShortVector b = (ShortVector) ByteVector.fromMemorySegment(Int8Simd.B128, seg, off + 2, QuantSimd.LE)
                .convertShape(VectorOperators.B2S, Int8Simd.S256, 0);
        ShortVector lo = b.and((short) 15).sub((short) 8);
        ShortVector hi = b.lanewise(VectorOperators.LSHR, 4).and((short) 15).sub((short) 8);
        ShortVector p = lo.mul(ShortVector.fromArray(Int8Simd.S256, qs, xo))
                .add(hi.mul(ShortVector.fromArray(Int8Simd.S256, qs, xo + 16)));
        return (IntVector) p.convertShape(VectorOperators.S2I, Int8Simd.I512, 0);
    }

    @Override
    float dotRowInt8(MemorySegment seg, long base, short[] qs, float[] d, int nb) {
        FloatVector acc = FloatVector.zero(Int8Simd.F512);
        long off = base;
        for (int b = 0; b < nb; b++, off += BB) {
            FloatVector s = (FloatVector) blockDot(seg, off, qs, b * QK).convertShape(VectorOperators.I2F, Int8Simd.F512, 0);
            acc = s.fma(FloatVector.broadcast(Int8Simd.F512, f16(seg, off) * d[b]), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    @Override
    void dotTwoRowsInt8(MemorySegment seg, long base, long stride, short[] qs, float[] d, int nb, float[] out, int r) {
        FloatVector acc0 = FloatVector.zero(Int8Simd.F512), acc1 = acc0;
        long off = base;
        for (int b = 0; b < nb; b++, off += BB) {
            ShortVector xl = ShortVector.fromArray(Int8Simd.S256, qs, b * QK);
            ShortVector xh = ShortVector.fromArray(Int8Simd.S256, qs, b * QK + 16);
            ShortVector b0 = (ShortVector) ByteVector.fromMemorySegment(Int8Simd.B128, seg, off + 2, QuantSimd.LE)
                    .convertShape(VectorOperators.B2S, Int8Simd.S256, 0);
            ShortVector b1 = (ShortVector) ByteVector.fromMemorySegment(Int8Simd.B128, seg, off + stride + 2, QuantSimd.LE)
                    .convertShape(VectorOperators.B2S, Int8Simd.S256, 0);
            ShortVector p0 = b0.and((short) 15).sub((short) 8).mul(xl)
                    .add(b0.lanewise(VectorOperators.LSHR, 4).and((short) 15).sub((short) 8).mul(xh));
            ShortVector p1 = b1.and((short) 15).sub((short) 8).mul(xl)
                    .add(b1.lanewise(VectorOperators.LSHR, 4).and((short) 15).sub((short) 8).mul(xh));
            float dx = d[b];
            acc0 = ((FloatVector) p0.convertShape(VectorOperators.S2I, Int8Simd.I512, 0)
                    .convertShape(VectorOperators.I2F, Int8Simd.F512, 0))
                    .fma(FloatVector.broadcast(Int8Simd.F512, f16(seg, off) * dx), acc0);
            acc1 = ((FloatVector) p1.convertShape(VectorOperators.S2I, Int8Simd.I512, 0)
                    .convertShape(VectorOperators.I2F, Int8Simd.F512, 0))
                    .fma(FloatVector.broadcast(Int8Simd.F512, f16(seg, off + stride) * dx), acc1);
        }
        out[r] = acc0.reduceLanes(VectorOperators.ADD);
        out[r + 1] = acc1.reduceLanes(VectorOperators.ADD);
    }
}
