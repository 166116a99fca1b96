package qwen4j.format;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import qwen4j.Qwen4jException;
import qwen4j.tensor.DType;
import qwen4j.tensor.Tensor;

/**
 * A memory-mapped GGUF file (versions 2 and 3, little-endian), or all parts of a split GGUF
 * ({@code name-00001-of-0000N.gguf}, as llama-gguf-split writes them).
 *
 * <p>Metadata values have these Java types: integer scalars {@link Long} (UINT64 values above
 * {@code Long.MAX_VALUE} wrap to negative), floats {@link Double}, bools {@link Boolean}, strings
 * {@link String}; arrays of strings {@code List<String>}, of any integer type {@code long[]}, of
 * floats {@code double[]}, of bools {@code boolean[]}, of arrays {@code List<Object>} (elements
 * converted by the same rules).
 *
 * <p>Everything read from the file is checked against the file size before it is used or
 * allocated; every failure is a one-line {@link Qwen4jException} naming the file, the key or the
 * tensor, and the byte offset.
 */
public final class GgufFile implements AutoCloseable {
    public static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
    public static final long DEFAULT_ALIGNMENT = 32;
    private static final Pattern SPLIT = Pattern.compile("(.+)-(\\d{5})-of-(\\d{5})\\.gguf");

    // GGUF metadata value types
    static final int T_UINT8 = 0, T_INT8 = 1, T_UINT16 = 2, T_INT16 = 3, T_UINT32 = 4, T_INT32 = 5,
            T_FLOAT32 = 6, T_BOOL = 7, T_STRING = 8, T_ARRAY = 9, T_UINT64 = 10, T_INT64 = 11, T_FLOAT64 = 12;

    /**
     * One tensor as the header describes it.
     *
     * @param ne     ggml dimensions, innermost first (shape reversed)
     * @param offset absolute byte offset of the data in {@code file}
     * @param file   the file (part) holding the data
     */
    public record TensorInfo(String name, DType type, long[] ne, long offset, long byteSize, String file) {
        /** Row-major shape, outermost first (ne reversed). */
        public long[] shape() {
            long[] s = new long[ne.length];
            for (int i = 0; i < ne.length; i++) s[i] = ne[ne.length - 1 - i];
            return s;
        }

        @Override
        public String toString() {
            return name + " " + type + " " + Arrays.toString(shape()) + " @" + offset + " (" + file + ")";
        }
    }

    private record Part(Path path, String name, int version, long alignment, Map<String, Object> metadata,
                        List<TensorInfo> infos, Map<String, Tensor> tensors, long dataStart) {}

    private final List<Part> parts;
    private final Arena ownedArena;
    private final Map<String, Tensor> tensors;
    private final List<TensorInfo> infos;

    private GgufFile(List<Part> parts, Arena ownedArena) {
        this.parts = parts;
        this.ownedArena = ownedArena;
        Map<String, Tensor> t = new LinkedHashMap<>();
        List<TensorInfo> i = new ArrayList<>();
        for (Part p : parts) {
            for (TensorInfo info : p.infos) {
                if (t.containsKey(info.name)) {
                    throw new Qwen4jException(p.name + ": tensor " + Qwen4jException.shown(info.name) + " is also in "
                            + t.get(info.name).source());
                }
                t.put(info.name, p.tensors.get(info.name));
                i.add(info);
            }
        }
        this.tensors = Collections.unmodifiableMap(t);
        this.infos = Collections.unmodifiableList(i);
    }

    /** Opens {@code file} (any part of a split GGUF opens all parts) in its own arena. */
    public static GgufFile open(Path file) {
        Arena arena = Arena.ofShared();
        try {
            return open(file, arena, arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Opens {@code file} mapped into {@code arena}, which the caller owns and closes. */
    public static GgufFile open(Path file, Arena arena) {
        return open(file, arena, null);
    }

    private static GgufFile open(Path file, Arena arena, Arena owned) {
        String fname = MappedFiles.displayName(file);
        if (!Files.exists(file)) throw new Qwen4jException(file + ": no such file");
        Matcher m = SPLIT.matcher(fname);
        if (!m.matches()) {
            Part p = parsePart(file, arena);
            Long count = splitKey(p, "split.count");
            if (count != null && count > 1) {
                throw new Qwen4jException(fname + ": split.count is " + count
                        + " but the file name does not end in -00001-of-" + String.format("%05d", count)
                        + ".gguf, so its other parts cannot be found");
            }
            return new GgufFile(List.of(p), owned);
        }
        String prefix = m.group(1);
        int k = Integer.parseInt(m.group(2)), n = Integer.parseInt(m.group(3));
        if (n < 1 || k < 1 || k > n) {
            throw new Qwen4jException(fname + ": split file name says part " + k + " of " + n);
        }
        List<Path> paths = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            Path p = file.resolveSibling(String.format("%s-%05d-of-%05d.gguf", prefix, i, n));
            if (!Files.isRegularFile(p)) {
                throw new Qwen4jException(p + ": no such file (part " + i + " of " + n + " of split GGUF " + fname + ")");
            }
            paths.add(p);
        }
        List<Part> parts = new ArrayList<>();
        long tensorCount = 0;
        for (int i = 0; i < n; i++) {
            Part p = parsePart(paths.get(i), arena);
            Long count = splitKey(p, "split.count");
            Long no = splitKey(p, "split.no");
            if (n > 1 && i == 0 && count == null) {
                throw new Qwen4jException(p.name + ": metadata key split.count is missing (the name says part 1 of " + n + ")");
            }
            if (count != null && count != n) {
                throw new Qwen4jException(p.name + ": split.count is " + count + ", the file name says " + n + " parts");
            }
            if (no != null && no != i) {
                throw new Qwen4jException(p.name + ": split.no is " + no + ", expected " + i + " for part " + (i + 1));
            }
            tensorCount += p.infos.size();
            parts.add(p);
        }
        Long expected = splitKey(parts.getFirst(), "split.tensors.count");
        if (expected != null && expected != tensorCount) {
            throw new Qwen4jException(parts.getFirst().name + ": split.tensors.count is " + expected + " but the "
                    + n + " parts hold " + tensorCount + " tensors");
        }
        return new GgufFile(List.copyOf(parts), owned);
    }

    private static Long splitKey(Part p, String key) {
        Object v = p.metadata.get(key);
        if (v == null) return null;
        if (!(v instanceof Long l)) {
            throw new Qwen4jException(p.name + ": metadata key " + key + " is " + typeName(v) + ", expected an integer");
        }
        return l;
    }

    private static Part parsePart(Path path, Arena arena) {
        return parsePart(path, MappedFiles.displayName(path), MappedFiles.map(path, arena), Limits.DEFAULT);
    }

    /**
     * Parses one GGUF file held in {@code seg} (for tests and fuzzing: no file system involved);
     * split keys are not followed.
     */
    static GgufFile parse(MemorySegment seg, String name, Limits limits) {
        return new GgufFile(List.of(parsePart(Path.of(name), name, seg, limits)), null);
    }

    private static Part parsePart(Path path, String name, MemorySegment seg, Limits limits) {
        GgufCursor c = new GgufCursor(seg, name, limits);
        if (seg.byteSize() < 4) {
            throw new Qwen4jException(name + ": not a GGUF file (" + seg.byteSize() + " bytes, too short for the magic)");
        }
        int magic = c.i32("magic");
        if (magic != MAGIC) {
            byte[] b = {(byte) magic, (byte) (magic >> 8), (byte) (magic >> 16), (byte) (magic >>> 24)};
            StringBuilder hex = new StringBuilder();
            for (byte x : b) hex.append(String.format("%02x", x));
            throw new Qwen4jException(name + ": not a GGUF file (magic at byte 0 is 0x" + hex + ", expected \"GGUF\")");
        }
        long version = c.u32("version");
        if (version != 2 && version != 3) {
            if (version >= 0x01000000L && (version & 0xFFFF) == 0) {
                throw new Qwen4jException(name + ": big-endian GGUF is not supported (version field at byte 4)");
            }
            throw new Qwen4jException(name + ": GGUF version " + version + " is not supported (qwen4j reads versions 2 and 3)");
        }
        long tensorCount = c.i64("tensor count");
        long kvCount = c.i64("metadata count");
        Limits.check(name, "tensor count", tensorCount, "max-tensor-count", limits.maxTensorCount(), " (byte 8)");
        Limits.check(name, "metadata count", kvCount, "max-metadata-entries", limits.maxMetadataEntries(), " (byte 16)");
        // Each metadata entry takes at least 13 bytes (8 key length + 4 type + 1 value), each tensor
        // info at least 32 (8 name length + 4 n_dims + 8 one ne + 4 type + 8 offset).
        long rem = c.remaining();
        if (tensorCount < 0 || tensorCount > rem / 32) {
            throw new Qwen4jException(name + ": tensor count " + Long.toUnsignedString(tensorCount)
                    + " at byte 8 is absurd for a file of " + c.size() + " bytes");
        }
        if (kvCount < 0 || kvCount > rem / 13 || kvCount * 13 + tensorCount * 32 > rem) {
            throw new Qwen4jException(name + ": metadata count " + Long.toUnsignedString(kvCount)
                    + " at byte 16 is absurd for a file of " + c.size() + " bytes");
        }

        Map<String, Object> md = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            long at = c.pos();
            String key = c.string("metadata key #" + i);
            String k = Qwen4jException.shown(key);
            if (md.containsKey(key)) throw c.error(at, "metadata key " + k + " appears twice");
            long typeAt = c.pos();
            int type = c.i32("type of metadata key " + k);
            md.put(key, readValue(c, type, typeAt, "metadata key " + k, 0));
        }

        long alignment = DEFAULT_ALIGNMENT;
        Object al = md.get("general.alignment");
        if (al != null) {
            if (!(al instanceof Long l) || l <= 0 || (l & (l - 1)) != 0 || l > (1L << 30)) {
                throw new Qwen4jException(name + ": metadata key general.alignment is " + show(al)
                        + ", expected a power of two");
            }
            alignment = l;
        }

        List<TensorInfo> raw = new ArrayList<>();
        Map<String, Long> seen = new LinkedHashMap<>();
        for (long i = 0; i < tensorCount; i++) {
            long at = c.pos();
            String tname = c.string("name of tensor #" + i);
            String tn = Qwen4jException.shown(tname);
            if (seen.containsKey(tname)) throw c.error(at, "tensor " + tn + " appears twice");
            seen.put(tname, at);
            long dimsAt = c.pos();
            long nDims = c.u32("n_dims of tensor " + tn);
            if (nDims > limits.maxDims()) {
                throw c.error(dimsAt, "tensor " + tn + ": dimension count " + nDims + " exceeds limit max-dims="
                        + limits.maxDims());
            }
            if (nDims < 1) throw c.error(dimsAt, "tensor " + tn + " has 0 dimensions, expected at least 1");
            long[] ne = new long[(int) nDims];
            for (int d = 0; d < nDims; d++) {
                ne[d] = c.i64("ne[" + d + "] of tensor " + tn);
                if (ne[d] < 0) {
                    throw c.error(at, "tensor " + tn + " has dimension ne[" + d + "] = "
                            + Long.toUnsignedString(ne[d]));
                }
            }
            long typeAt = c.pos();
            int typeId = c.i32("type of tensor " + tn);
            DType type = DType.fromGgmlId(typeId).orElseThrow(() -> c.error(typeAt,
                    "tensor " + tn + " has unknown ggml type id " + Integer.toUnsignedString(typeId)));
            long offAt = c.pos();
            long offset = c.i64("offset of tensor " + tn);
            if (ne[0] % type.blockSize() != 0) {
                throw c.error(at, "tensor " + tn + " has ne[0] = " + ne[0] + ", not a multiple of the "
                        + type + " block size " + type.blockSize());
            }
            long bytes;
            try {
                long elems = 1;
                for (long d : ne) elems = Math.multiplyExact(elems, d);
                bytes = type.bytesFor(elems);
            } catch (ArithmeticException e) {
                throw c.error(at, "tensor " + tn + " with ne " + Arrays.toString(ne) + " has an element count that overflows");
            }
            if (offset < 0 || offset % alignment != 0) {
                throw c.error(offAt, "tensor " + tn + " has data offset " + Long.toUnsignedString(offset)
                        + ", not a multiple of the alignment " + alignment);
            }
            raw.add(new TensorInfo(tname, type, ne, offset, bytes, name));
        }

        long headerEnd = c.pos();
        long dataStart = headerEnd + (alignment - headerEnd % alignment) % alignment;
        long dataSize = Math.max(0, c.size() - dataStart);
        if (!raw.isEmpty() && dataStart > c.size()) {
            // fuzz finding: an empty tensor (a 0 dimension) passed the size checks below, and slicing the
            // mapping at a data section that starts past the end of the file threw IndexOutOfBounds
            throw new Qwen4jException(name + ": the data section would start at byte " + dataStart
                    + ", past the end of the file (" + c.size() + " bytes), but the file lists " + raw.size() + " tensors");
        }
        List<TensorInfo> infos = new ArrayList<>(raw.size());
        for (TensorInfo t : raw) {
            if (t.offset > dataSize || t.byteSize > dataSize - t.offset) {
                throw new Qwen4jException(name + ": tensor " + Qwen4jException.shown(t.name) + " (" + t.byteSize + " bytes at data offset "
                        + t.offset + ", byte " + (dataStart + t.offset) + ") runs past the end of the file ("
                        + c.size() + " bytes)");
            }
            infos.add(new TensorInfo(t.name, t.type, t.ne, dataStart + t.offset, t.byteSize, name));
        }
        List<TensorInfo> sorted = new ArrayList<>(infos);
        sorted.removeIf(t -> t.byteSize == 0);
        sorted.sort(Comparator.comparingLong(TensorInfo::offset));
        for (int i = 1; i < sorted.size(); i++) {
            TensorInfo a = sorted.get(i - 1), b = sorted.get(i);
            if (b.offset < a.offset + a.byteSize) {
                throw new Qwen4jException(name + ": tensors " + Qwen4jException.shown(a.name) + " and " + Qwen4jException.shown(b.name)
                        + " overlap (" + Qwen4jException.shown(a.name) + " ends at byte " + (a.offset + a.byteSize) + ", "
                        + Qwen4jException.shown(b.name)
                        + " starts at byte " + b.offset + ")");
            }
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (TensorInfo t : infos) {
            tensors.put(t.name, new Tensor(t.name, t.type, t.shape(), seg.asSlice(t.offset, t.byteSize), name));
        }
        return new Part(path, name, (int) version, alignment, Collections.unmodifiableMap(md),
                Collections.unmodifiableList(infos), tensors, dataStart);
    }

    /** Minimum bytes one element of {@code type} takes in the file; -1 for an unknown type. */
    private static long minBytes(int type) {
        return switch (type) {
            case T_UINT8, T_INT8, T_BOOL -> 1;
            case T_UINT16, T_INT16 -> 2;
            case T_UINT32, T_INT32, T_FLOAT32 -> 4;
            case T_UINT64, T_INT64, T_FLOAT64, T_STRING -> 8;
            case T_ARRAY -> 12;
            default -> -1;
        };
    }

    private static Object readValue(GgufCursor c, int type, long typeAt, String what, int depth) {
        return switch (type) {
            case T_UINT8 -> (long) c.u8(what);
            case T_INT8 -> (long) c.i8(what);
            case T_UINT16 -> (long) c.u16(what);
            case T_INT16 -> (long) c.i16(what);
            case T_UINT32 -> c.u32(what);
            case T_INT32 -> (long) c.i32(what);
            case T_UINT64, T_INT64 -> c.i64(what);
            case T_FLOAT32 -> (double) c.f32(what);
            case T_FLOAT64 -> c.f64(what);
            case T_BOOL -> c.u8(what) != 0;
            case T_STRING -> c.string(what);
            case T_ARRAY -> readArray(c, what, depth);
            default -> throw c.error(typeAt, what + " has unknown value type " + Integer.toUnsignedString(type));
        };
    }

    private static Object readArray(GgufCursor c, String what, int depth) {
        int maxDepth = c.limits().maxArrayDepth();
        if (depth >= maxDepth) {
            throw c.error(c.pos(), what + ": array nesting depth " + (depth + 1) + " exceeds limit max-array-depth=" + maxDepth);
        }
        long typeAt = c.pos();
        int et = c.i32("element type of " + what);
        long min = minBytes(et);
        if (min < 0) {
            throw c.error(typeAt, what + " is an array of unknown value type " + Integer.toUnsignedString(et));
        }
        long countAt = c.pos();
        long n = c.i64("element count of " + what);
        long maxLen = c.limits().maxArrayLength();
        if (n < 0 || n > maxLen) {
            throw c.error(countAt, what + ": array length " + Long.toUnsignedString(n)
                    + " exceeds limit max-array-length=" + maxLen);
        }
        if (n > c.remaining() / min) {
            throw c.error(countAt, what + " has array count " + Long.toUnsignedString(n)
                    + ", more than the " + c.remaining() + " bytes left in the file can hold");
        }
        int count = (int) n;
        try {
            return readElements(c, et, count, typeAt, what, depth);
        } catch (OutOfMemoryError e) {
            // Lengths are bounded by the file size, but a long[] takes up to 8x the bytes of a u8 array.
            throw c.error(countAt, what + " has array count " + count + ", too many to hold in memory");
        }
    }

    private static Object readElements(GgufCursor c, int et, int count, long typeAt, String what, int depth) {
        // Lists start small and grow with what is actually read.
        int initial = Math.min(count, 1 << 16);
        switch (et) {
            case T_STRING -> {
                List<String> out = new ArrayList<>(initial);
                for (int i = 0; i < count; i++) out.add(c.string(what + "[" + i + "]"));
                return Collections.unmodifiableList(out);
            }
            case T_ARRAY -> {
                List<Object> out = new ArrayList<>(initial);
                for (int i = 0; i < count; i++) out.add(readArray(c, what + "[" + i + "]", depth + 1));
                return Collections.unmodifiableList(out);
            }
            case T_FLOAT32, T_FLOAT64 -> {
                double[] out = new double[count];
                for (int i = 0; i < count; i++) out[i] = et == T_FLOAT32 ? c.f32(what) : c.f64(what);
                return out;
            }
            case T_BOOL -> {
                boolean[] out = new boolean[count];
                for (int i = 0; i < count; i++) out[i] = c.u8(what) != 0;
                return out;
            }
            default -> {
                long[] out = new long[count];
                for (int i = 0; i < count; i++) out[i] = (Long) readValue(c, et, typeAt, what, depth);
                return out;
            }
        }
    }

    static String typeName(Object v) {
        if (v == null) return "missing";
        return switch (v) {
            case Long l -> "integer " + l;
            case Double d -> "float " + d;
            case Boolean b -> "bool " + b;
            case String s -> "string " + show(s);
            case long[] a -> "integer array[" + a.length + "]";
            case double[] a -> "float array[" + a.length + "]";
            case boolean[] a -> "bool array[" + a.length + "]";
            case List<?> l -> "array[" + l.size() + "]";
            default -> v.getClass().getSimpleName();
        };
    }

    static String show(Object v) {
        if (v instanceof String s) {
            return "\"" + Qwen4jException.shown(s) + "\"";
        }
        if (v instanceof Long || v instanceof Double || v instanceof Boolean) return String.valueOf(v);
        return typeName(v);
    }

    /** The first part's path (the file for an unsplit GGUF). */
    public Path path() { return parts.getFirst().path; }

    /** The first part's file name, as used in error messages. */
    public String name() { return parts.getFirst().name; }

    /** Paths of all parts, in order (one for an unsplit GGUF). */
    public List<Path> parts() { return parts.stream().map(Part::path).toList(); }

    public int version() { return parts.getFirst().version; }

    /** Data alignment of the first part (general.alignment, default 32). */
    public long alignment() { return parts.getFirst().alignment; }

    /** Absolute byte offset of the first part's data section. */
    public long dataStart() { return parts.getFirst().dataStart; }

    /** Metadata of the first part (the model's metadata for a split GGUF). */
    public Map<String, Object> metadata() { return parts.getFirst().metadata; }

    /** Tensor descriptions of all parts, in file order. */
    public List<TensorInfo> tensorInfos() { return infos; }

    /** Tensors of all parts by name, in file order. */
    public Map<String, Tensor> tensors() { return tensors; }

    public Optional<Tensor> find(String tensorName) { return Optional.ofNullable(tensors.get(tensorName)); }

    public Tensor tensor(String tensorName) {
        return find(tensorName).orElseThrow(() -> new Qwen4jException(name() + ": tensor " + tensorName + " is missing"));
    }

    /** All tensors grouped by the file (part) name that holds them. */
    public Map<String, List<Tensor>> tensorsByFile() {
        Map<String, List<Tensor>> out = new LinkedHashMap<>();
        for (Part p : parts) out.put(p.name, List.copyOf(p.tensors.values()));
        return Collections.unmodifiableMap(out);
    }

    @Override
    public void close() {
        if (ownedArena != null && ownedArena.scope().isAlive()) ownedArena.close();
    }
}
