package qwen4j.format;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;
import qwen4j.Qwen4jException;
import qwen4j.tensor.DType;

/**
 * Writes a GGUF v3 file: metadata key/values, tensor infos (GGUF names, ne order = reversed row-major
 * shape), then the tensor data, each tensor aligned to {@link #ALIGNMENT} bytes.
 *
 * <p>Tensor data is produced on demand, a band of rows at a time, by a {@link RowSource}: the writer never
 * holds more than one band (a few MB) of any tensor. The file is written to a temporary file in the
 * target folder and renamed over the final name only once complete, so a crash or an error never
 * leaves a half-written file under the final name.
 */
public final class GgufWriter {
    public static final int ALIGNMENT = 32;
    private static final int VERSION = 3;
    /** Bytes per write band (rounded to whole rows). */
    private static final long BAND_BYTES = 8L << 20;

    static final int T_UINT8 = 0, T_INT8 = 1, T_UINT16 = 2, T_INT16 = 3, T_UINT32 = 4, T_INT32 = 5,
            T_FLOAT32 = 6, T_BOOL = 7, T_STRING = 8, T_ARRAY = 9, T_UINT64 = 10, T_INT64 = 11, T_FLOAT64 = 12;

    /** Produces the stored bytes of rows [from, to) of a tensor into dst (exactly (to - from) * rowBytes bytes). */
    @FunctionalInterface
    public interface RowSource {
        void rows(int from, int to, MemorySegment dst);
    }

    private record Value(int type, Object value) {}

    private record PendingTensor(String name, DType type, long[] shape, long rows, long rowBytes, long bytes,
                                 RowSource source) {}

    private final Map<String, Value> kv = new LinkedHashMap<>();
    private final List<PendingTensor> tensors = new ArrayList<>();

    // ------------------------------------------------------------ metadata

    public GgufWriter putString(String key, String v) { return put(key, T_STRING, v); }
    public GgufWriter putU32(String key, long v) { return put(key, T_UINT32, v); }
    public GgufWriter putI32(String key, int v) { return put(key, T_INT32, (long) v); }
    public GgufWriter putF32(String key, float v) { return put(key, T_FLOAT32, v); }
    public GgufWriter putBool(String key, boolean v) { return put(key, T_BOOL, v); }
    public GgufWriter putStrings(String key, List<String> v) { return put(key, T_ARRAY, new Array(T_STRING, List.copyOf(v))); }
    public GgufWriter putI32s(String key, int[] v) { return put(key, T_ARRAY, new Array(T_INT32, v.clone())); }

    private record Array(int elementType, Object values) {}

    /**
     * Copies a value as {@link GgufFile} returns it (Long, Double, Boolean, String, arrays and lists).
     * Integers are written as INT32 when they fit, else INT64; floating point as FLOAT32.
     */
    public GgufWriter putRead(String key, Object v) {
        if (v instanceof String s) return putString(key, s);
        if (v instanceof Boolean b) return putBool(key, b);
        if (v instanceof Double d) return putF32(key, d.floatValue());
        if (v instanceof Float f) return putF32(key, f);
        if (v instanceof Number n) {
            long l = n.longValue();
            return l == (int) l ? put(key, T_INT32, l) : put(key, T_INT64, l);
        }
        if (v instanceof String[] a) return putStrings(key, List.of(a));
        if (v instanceof int[] a) return putI32s(key, a);
        if (v instanceof long[] a) {
            int[] i = new int[a.length];
            for (int k = 0; k < a.length; k++) i[k] = Math.toIntExact(a[k]);
            return putI32s(key, i);
        }
        if (v instanceof List<?> l) {
            if (l.stream().allMatch(e -> e instanceof String)) {
                return putStrings(key, l.stream().map(String.class::cast).toList());
            }
            if (l.stream().allMatch(e -> e instanceof Number)) {
                return putI32s(key, l.stream().mapToInt(e -> Math.toIntExact(((Number) e).longValue())).toArray());
            }
        }
        throw new IllegalArgumentException("metadata " + key + ": cannot write a " + v.getClass().getSimpleName());
    }

    private GgufWriter put(String key, int type, Object v) {
        kv.put(key, new Value(type, v));
        return this;
    }

    // ------------------------------------------------------------ tensors

    /**
     * Adds a tensor. {@code shape} is row-major (outermost first, as {@link qwen4j.tensor.Tensor});
     * the file gets it reversed as ggml's ne[]. The last dimension must be a multiple of the block size.
     */
    public GgufWriter addTensor(String name, DType type, long[] shape, RowSource source) {
        long cols = shape[shape.length - 1];
        if (cols % type.blockSize() != 0) {
            throw new Qwen4jException("tensor " + name + ": " + cols + " columns is not a multiple of the " + type
                    + " block size " + type.blockSize());
        }
        long rows = 1;
        for (int i = 0; i < shape.length - 1; i++) rows *= shape[i];
        long rowBytes = type.bytesFor(cols);
        tensors.add(new PendingTensor(name, type, shape.clone(), rows, rowBytes, rows * rowBytes, source));
        return this;
    }

    /** Total bytes of tensor data (with alignment padding). */
    public long dataBytes() {
        long n = 0;
        for (PendingTensor t : tensors) n = align(n) + t.bytes;
        return n;
    }

    /**
     * Writes the file. Refuses to replace an existing {@code out} unless {@code overwrite}.
     * {@code progress} receives the tensor-data bytes written so far.
     */
    public void write(Path out, boolean overwrite, LongConsumer progress) {
        Path abs = out.toAbsolutePath();
        Path dir = abs.getParent();
        checkTarget(out, overwrite);
        removeStalePartials(abs);
        // ".NAME.PID.partial": the next run can tell a dead conversion's leftover from a live one's file
        Path tmp = dir.resolve("." + abs.getFileName() + "." + ProcessHandle.current().pid() + ".partial");
        try {
            Files.deleteIfExists(tmp);
            // created like any new file, so its mode follows the umask (createTempFile made it 0600)
            Files.newByteChannel(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
        } catch (IOException e) {
            throw new Qwen4jException("cannot create a file in " + dir + ": " + e.getMessage(), e);
        }
        // Ctrl-C or a TERM signal while writing: the partial file goes too
        Thread cleanup = new Thread(() -> {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // best effort at exit
            }
        });
        Runtime.getRuntime().addShutdownHook(cleanup);
        boolean done = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writeTo(ch, progress);
                ch.force(true);
            }
            if (overwrite) {
                checkTarget(out, true); // still a regular file (or nothing) after the conversion
                try {
                    Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
                }
            } else {
                // a hard link fails if the name appeared meanwhile (a rename would silently replace it)
                try {
                    Files.createLink(abs, tmp);
                    Files.delete(tmp);
                } catch (UnsupportedOperationException | java.nio.file.FileSystemException e) {
                    if (e instanceof FileAlreadyExistsException f) throw f;
                    // a file system without hard links: a last check, then the rename
                    if (Files.exists(abs, java.nio.file.LinkOption.NOFOLLOW_LINKS)) throw new FileAlreadyExistsException(abs.toString());
                    Files.move(tmp, abs);
                }
            }
            done = true;
        } catch (FileAlreadyExistsException e) {
            throw new Qwen4jException(out + " appeared while converting (use --force to overwrite)", e);
        } catch (IOException e) {
            throw new Qwen4jException("cannot write " + out + ": " + e.getMessage(), e);
        } finally {
            if (!done) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort
                }
            }
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException exiting) {
                // the JVM is exiting: the hook runs
            }
        }
    }

    /**
     * The output name must be free, or (with overwrite) a regular file: never a folder, a link or a
     * device, which --force would otherwise replace.
     */
    public static void checkTarget(Path out, boolean overwrite) {
        Path abs = out.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null || !Files.isDirectory(dir)) throw new Qwen4jException(dir + ": no such folder");
        if (Files.isDirectory(abs)) throw new Qwen4jException(out + " is a folder: give the output file's name");
        if (!Files.exists(abs, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        if (!overwrite) throw new Qwen4jException(out + " already exists (use --force to overwrite)");
        if (!Files.isRegularFile(abs, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new Qwen4jException(out + " is not a regular file: --force replaces regular files only");
        }
    }

    /** Deletes ".NAME.PID.partial" files left by conversions whose process is gone (killed, crashed). */
    private static void removeStalePartials(Path abs) {
        String prefix = "." + abs.getFileName() + ".";
        try (var files = Files.newDirectoryStream(abs.getParent(), f -> {
            String n = f.getFileName().toString();
            return n.startsWith(prefix) && n.endsWith(".partial");
        })) {
            for (Path f : files) {
                String mid = f.getFileName().toString().substring(prefix.length());
                mid = mid.substring(0, mid.length() - ".partial".length());
                long pid;
                try {
                    pid = Long.parseLong(mid);
                } catch (NumberFormatException e) {
                    continue; // not ours
                }
                if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) continue;
                Files.deleteIfExists(f);
            }
        } catch (IOException | RuntimeException ignored) {
            // leftovers are tidied on a best-effort basis
        }
    }

    private void writeTo(FileChannel ch, LongConsumer progress) throws IOException {
        Header h = new Header();
        h.u32(GgufFile.MAGIC);
        h.u32(VERSION);
        h.u64(tensors.size());
        h.u64(kv.size());
        for (Map.Entry<String, Value> e : kv.entrySet()) {
            h.string(e.getKey());
            h.u32(e.getValue().type);
            h.value(e.getValue().type, e.getValue().value);
        }
        long offset = 0;
        for (PendingTensor t : tensors) {
            offset = align(offset);
            h.string(t.name);
            h.u32(t.shape.length);
            for (int i = t.shape.length - 1; i >= 0; i--) h.u64(t.shape[i]);
            h.u32(t.type.ggmlId());
            h.u64(offset);
            offset += t.bytes;
        }
        h.padTo(ALIGNMENT);
        writeFully(ch, h.buffer());

        long written = 0, pos = 0;
        try (Arena arena = Arena.ofShared()) {
            for (PendingTensor t : tensors) {
                long pad = align(pos) - pos;
                if (pad > 0) writeFully(ch, ByteBuffer.allocate((int) pad));
                pos += pad;
                long bandRows = Math.max(1, BAND_BYTES / Math.max(1, t.rowBytes));
                MemorySegment band = arena.allocate(Math.min(t.rows, bandRows) * t.rowBytes, 64);
                for (long r = 0; r < t.rows; r += bandRows) {
                    int from = Math.toIntExact(r), to = Math.toIntExact(Math.min(t.rows, r + bandRows));
                    MemorySegment dst = band.asSlice(0, (to - from) * t.rowBytes);
                    t.source.rows(from, to, dst);
                    writeFully(ch, dst.asByteBuffer());
                    written += dst.byteSize();
                    pos += dst.byteSize();
                    progress.accept(written);
                }
            }
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    static long align(long n) {
        return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    /** A growable little-endian buffer for the header. */
    private static final class Header {
        private ByteBuffer b = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private void ensure(int n) {
            if (b.remaining() >= n) return;
            ByteBuffer nb = ByteBuffer.allocate(Math.max(b.capacity() * 2, b.position() + n)).order(ByteOrder.LITTLE_ENDIAN);
            b.flip();
            nb.put(b);
            b = nb;
        }

        void u32(long v) { ensure(4); b.putInt((int) v); }
        void u64(long v) { ensure(8); b.putLong(v); }

        void string(String s) {
            byte[] u = s.getBytes(StandardCharsets.UTF_8);
            u64(u.length);
            ensure(u.length);
            b.put(u);
        }

        void value(int type, Object v) {
            switch (type) {
                case T_STRING -> string((String) v);
                case T_UINT32, T_INT32 -> u32((Long) v);
                case T_INT64, T_UINT64 -> u64((Long) v);
                case T_FLOAT32 -> { ensure(4); b.putFloat((Float) v); }
                case T_BOOL -> { ensure(1); b.put((byte) ((Boolean) v ? 1 : 0)); }
                case T_ARRAY -> {
                    Array a = (Array) v;
                    u32(a.elementType);
                    if (a.elementType == T_STRING) {
                        @SuppressWarnings("unchecked")
                        List<String> l = (List<String>) a.values;
                        u64(l.size());
                        for (String s : l) string(s);
                    } else {
                        int[] i = (int[]) a.values;
                        u64(i.length);
                        for (int x : i) u32(x);
                    }
                }
                default -> throw new IllegalStateException("type " + type);
            }
        }

        void padTo(int alignment) {
            int pad = (int) (align(b.position()) - b.position());
            ensure(pad);
            for (int i = 0; i < pad; i++) b.put((byte) 0);
        }

        ByteBuffer buffer() {
            return b.duplicate().flip();
        }
    }
}
