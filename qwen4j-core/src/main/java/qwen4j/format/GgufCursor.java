package qwen4j.format;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import qwen4j.Qwen4jException;

/**
 * A bounded little-endian reader over a mapped GGUF file. Every read checks the remaining bytes
 * first, and every length read from the file is checked against them before anything is allocated.
 */
final class GgufCursor {
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment seg;
    private final String file;
    private final long size;
    private final Limits limits;
    private long pos;

    GgufCursor(MemorySegment seg, String file, Limits limits) {
        this.seg = seg;
        this.file = file;
        this.size = seg.byteSize();
        this.limits = limits;
    }

    Limits limits() { return limits; }

    long pos() { return pos; }

    long size() { return size; }

    long remaining() { return size - pos; }

    String file() { return file; }

    Qwen4jException error(long at, String message) {
        return new Qwen4jException(file + ": " + message + " (at byte " + at + ")");
    }

    private void need(long n, String what) {
        if (n > size - pos) {
            throw new Qwen4jException(file + ": truncated file: " + what + " at byte " + pos + " needs " + n
                    + " bytes, only " + (size - pos) + " left (file has " + size + " bytes)");
        }
    }

    int u8(String what) {
        need(1, what);
        return Byte.toUnsignedInt(seg.get(ValueLayout.JAVA_BYTE, pos++));
    }

    int i8(String what) {
        need(1, what);
        return seg.get(ValueLayout.JAVA_BYTE, pos++);
    }

    int u16(String what) {
        need(2, what);
        int v = Short.toUnsignedInt(seg.get(SHORT, pos));
        pos += 2;
        return v;
    }

    int i16(String what) {
        need(2, what);
        short v = seg.get(SHORT, pos);
        pos += 2;
        return v;
    }

    int i32(String what) {
        need(4, what);
        int v = seg.get(INT, pos);
        pos += 4;
        return v;
    }

    long u32(String what) {
        return Integer.toUnsignedLong(i32(what));
    }

    long i64(String what) {
        need(8, what);
        long v = seg.get(LONG, pos);
        pos += 8;
        return v;
    }

    float f32(String what) {
        need(4, what);
        float v = seg.get(FLOAT, pos);
        pos += 4;
        return v;
    }

    double f64(String what) {
        need(8, what);
        double v = seg.get(DOUBLE, pos);
        pos += 8;
        return v;
    }

    /** A GGUF string: u64 length, then that many UTF-8 bytes. */
    String string(String what) {
        long at = pos;
        long len = i64(what + " length");
        if (len < 0 || len > limits.maxStringLength()) {
            throw error(at, what + ": string length " + Long.toUnsignedString(len) + " exceeds limit max-string-length="
                    + limits.maxStringLength());
        }
        if (len > size - pos) {
            throw error(at, what + " has length " + Long.toUnsignedString(len) + ", more than the "
                    + (size - pos) + " bytes left in the file");
        }
        byte[] b = new byte[(int) len];
        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, b, 0, (int) len);
        String s = new String(b, StandardCharsets.UTF_8);
        pos += len;
        return s;
    }
}
