package qwen4j.tensor.quant;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import qwen4j.Fixtures;

/** Reads the files of shared/fixtures/quant (see its README). */
final class QuantFixtures {
    private QuantFixtures() {}

    static final int ROWS = 8, COLS = 512;

    static Path dir() {
        return Fixtures.shared().resolve("fixtures/quant");
    }

    static byte[] bytes(String name) {
        try {
            return Files.readAllBytes(dir().resolve(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static float[] floats(String name) {
        ByteBuffer bb = ByteBuffer.wrap(bytes(name)).order(ByteOrder.LITTLE_ENDIAN);
        float[] f = new float[bb.remaining() / 4];
        bb.asFloatBuffer().get(f);
        return f;
    }

    static double[] doubles(String name) {
        ByteBuffer bb = ByteBuffer.wrap(bytes(name)).order(ByteOrder.LITTLE_ENDIAN);
        double[] d = new double[bb.remaining() / 8];
        bb.asDoubleBuffer().get(d);
        return d;
    }

    /** An off-heap copy (the kernels normally see mapped, i.e. native, segments). */
    static MemorySegment offHeap(byte[] b) {
        MemorySegment s = Arena.ofAuto().allocate(b.length, 64);
        MemorySegment.copy(b, 0, s, ValueLayout.JAVA_BYTE, 0, b.length);
        return s;
    }
}
