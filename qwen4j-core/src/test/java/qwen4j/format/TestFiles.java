package qwen4j.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import qwen4j.Qwen4jException;
import qwen4j.tensor.DType;

/** Test support: the shared fixtures, byte builders for GGUF and safetensors, error assertions. */
final class TestFiles {
    private TestFiles() {}

    /** The tiny fixtures folder; skips the test (visibly) when the shared data is absent. */
    static Path tiny() {
        String shared = System.getProperty("qwen4j.shared");
        assumeTrue(shared != null, "system property qwen4j.shared is not set: skipping fixture test");
        Path p = Path.of(shared, "fixtures", "tiny");
        assumeTrue(Files.isDirectory(p), p + " is absent: skipping fixture test");
        return p;
    }

    /** Asserts {@code call} throws a one-line Qwen4jException whose message contains every part. */
    static String assertError(ThrowingCallable call, String... parts) {
        Throwable t = catchThrowable(call);
        assertThat(t).as("expected a Qwen4jException").isInstanceOf(Qwen4jException.class);
        String m = t.getMessage();
        if (System.getProperty("qwen4j.printErrors") != null) System.out.println("ERROR MESSAGE: " + m);
        assertThat(m).doesNotContain("\n").doesNotContain("\r");
        for (String p : parts) assertThat(m).contains(p);
        return m;
    }

    static Path write(Path p, byte[] b) {
        try {
            return Files.write(p, b);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int indexOf(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = from; i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }

    /** Little-endian byte writer. */
    static final class Le {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Le u8(int v) { out.write(v); return this; }
        Le u16(int v) { return u8(v).u8(v >>> 8); }
        Le u32(long v) { return u16((int) v).u16((int) (v >>> 16)); }
        Le u64(long v) { return u32(v).u32(v >>> 32); }
        Le f32(float v) { return u32(Float.floatToRawIntBits(v)); }
        Le f64(double v) { return u64(Double.doubleToRawLongBits(v)); }
        Le bytes(byte[] b) { out.writeBytes(b); return this; }
        Le str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            return u64(b.length).bytes(b);
        }
        int size() { return out.size(); }
        byte[] toBytes() { return out.toByteArray(); }
    }

    /**
     * Builds GGUF files, valid by default; every field can be overridden to make hostile ones.
     * Tensor data offsets are assigned (aligned to 32) unless given.
     */
    static final class GgufBuilder {
        int magic = GgufFile.MAGIC;
        long version = 3;
        Long tensorCount, kvCount;
        long alignment = 32;
        final List<Consumer<Le>> kvs = new ArrayList<>();
        final List<Object[]> tensors = new ArrayList<>(); // name, ne, typeId, offset (Long or null), data

        GgufBuilder kv(String key, int type, Consumer<Le> value) {
            kvs.add(le -> { le.str(key).u32(type); value.accept(le); });
            return this;
        }

        GgufBuilder kvString(String key, String v) { return kv(key, GgufFile.T_STRING, le -> le.str(v)); }
        GgufBuilder kvU32(String key, long v) { return kv(key, GgufFile.T_UINT32, le -> le.u32(v)); }
        GgufBuilder kvF32(String key, float v) { return kv(key, GgufFile.T_FLOAT32, le -> le.f32(v)); }

        GgufBuilder tensor(String name, DType type, long[] ne, byte[] data) {
            tensors.add(new Object[] {name, ne, type.ggmlId(), null, data});
            return this;
        }

        GgufBuilder tensorRaw(String name, long[] ne, int typeId, long offset, byte[] data) {
            tensors.add(new Object[] {name, ne, typeId, offset, data});
            return this;
        }

        /** An F32 tensor filled with value i * scale at element i. */
        GgufBuilder f32(String name, float scale, long... ne) {
            long n = 1;
            for (long d : ne) n *= d;
            Le d = new Le();
            for (int i = 0; i < n; i++) d.f32(i * scale);
            return tensor(name, DType.F32, ne, d.toBytes());
        }

        byte[] build() {
            Le h = new Le();
            h.u32(magic).u32(version);
            h.u64(tensorCount != null ? tensorCount : tensors.size());
            h.u64(kvCount != null ? kvCount : kvs.size());
            for (Consumer<Le> kv : kvs) kv.accept(h);
            long next = 0;
            List<Long> offsets = new ArrayList<>();
            for (Object[] t : tensors) {
                long[] ne = (long[]) t[1];
                h.str((String) t[0]).u32(ne.length);
                for (long d : ne) h.u64(d);
                h.u32((Integer) t[2]);
                long off;
                if (t[3] != null) {
                    off = (Long) t[3];
                } else {
                    off = next;
                    next = align(next + ((byte[]) t[4]).length);
                }
                offsets.add(off);
                h.u64(off);
            }
            while (h.size() % alignment != 0) h.u8(0);
            long dataStart = h.size();
            byte[] header = h.toBytes();
            long end = dataStart;
            for (int i = 0; i < tensors.size(); i++) {
                byte[] d = (byte[]) tensors.get(i)[4];
                if (d != null) end = Math.max(end, dataStart + offsets.get(i) + d.length);
            }
            byte[] file = new byte[(int) end];
            System.arraycopy(header, 0, file, 0, header.length);
            for (int i = 0; i < tensors.size(); i++) {
                byte[] d = (byte[]) tensors.get(i)[4];
                if (d != null) System.arraycopy(d, 0, file, (int) (dataStart + offsets.get(i)), d.length);
            }
            return file;
        }

        private long align(long x) {
            return (x + alignment - 1) / alignment * alignment;
        }
    }

    /** A safetensors file: 8-byte LE header length, the header, the data. */
    static byte[] safetensors(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return new Le().u64(h.length).bytes(h).bytes(data).toBytes();
    }
}
