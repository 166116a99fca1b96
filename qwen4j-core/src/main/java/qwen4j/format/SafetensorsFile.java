package qwen4j.format;

import com.fasterxml.jackson.databind.JsonNode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import qwen4j.Qwen4jException;
import qwen4j.tensor.DType;
import qwen4j.tensor.Tensor;

/**
 * A memory-mapped safetensors file: an 8-byte little-endian header length, a JSON header
 * {@code {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}} and
 * the data region. Tensors are slices of the mapping (nothing is copied). The whole header is
 * validated before anything is exposed: offsets inside the data region, sizes matching shapes,
 * no overlaps, known dtypes.
 *
 * <p>Tensors whose dtype is a valid safetensors dtype that qwen4j has no {@link DType} for (U8,
 * BOOL, F8_E4M3, ...) are listed by {@link #unsupported()}; asking for one with {@link #tensor}
 * is an error naming the dtype.
 */
public final class SafetensorsFile implements AutoCloseable {
    private static final ValueLayout.OfLong LE_LONG =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Every dtype name of the safetensors format with its element size in bytes. */
    private static final Map<String, Integer> DTYPE_BYTES = Map.ofEntries(
            Map.entry("BOOL", 1), Map.entry("U8", 1), Map.entry("I8", 1),
            Map.entry("F8_E5M2", 1), Map.entry("F8_E4M3", 1), Map.entry("F8_E8M0", 1),
            Map.entry("I16", 2), Map.entry("U16", 2), Map.entry("F16", 2), Map.entry("BF16", 2),
            Map.entry("I32", 4), Map.entry("U32", 4), Map.entry("F32", 4),
            Map.entry("I64", 8), Map.entry("U64", 8), Map.entry("F64", 8));

    private final Path path;
    private final String name;
    private final Arena ownedArena;
    private final Map<String, Tensor> tensors;
    private final Map<String, String> unsupported;
    private final long dataStart;

    private SafetensorsFile(Path path, Arena ownedArena, Map<String, Tensor> tensors,
                            Map<String, String> unsupported, long dataStart) {
        this.path = path;
        this.name = MappedFiles.displayName(path);
        this.ownedArena = ownedArena;
        this.tensors = tensors;
        this.unsupported = unsupported;
        this.dataStart = dataStart;
    }

    /** Opens {@code file} in its own arena, closed by {@link #close()}. */
    public static SafetensorsFile open(Path file) {
        Arena arena = Arena.ofShared();
        try {
            return parse(file, arena, arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Opens {@code file} mapped into {@code arena}, which the caller owns and closes. */
    public static SafetensorsFile open(Path file, Arena arena) {
        return parse(file, arena, null);
    }

    private static SafetensorsFile parse(Path file, Arena arena, Arena owned) {
        return parse(file, MappedFiles.displayName(file), MappedFiles.map(file, arena), owned, Limits.DEFAULT);
    }

    /** Parses a safetensors file held in {@code seg} (for tests and fuzzing: no file system involved). */
    static SafetensorsFile parse(MemorySegment seg, String name, Limits limits) {
        return parse(Path.of(name), name, seg, null, limits);
    }

    private static SafetensorsFile parse(Path file, String name, MemorySegment seg, Arena owned, Limits limits) {
        long fileSize = seg.byteSize();
        if (fileSize < 8) {
            throw new Qwen4jException(name + ": truncated safetensors file (" + fileSize
                    + " bytes, the header length alone takes 8)");
        }
        long headerLen = seg.get(LE_LONG, 0);
        if (headerLen < 0 || headerLen > fileSize - 8) {
            throw new Qwen4jException(name + ": header length " + Long.toUnsignedString(headerLen)
                    + " at byte 0 runs past the end of the file (" + fileSize + " bytes)");
        }
        Limits.check(name, "header length", headerLen, "max-header-bytes", limits.maxHeaderBytes(),
                " (byte 0; not a safetensors file?)");
        if (headerLen < 2) {
            throw new Qwen4jException(name + ": header length " + headerLen + " at byte 0 is too small for a JSON header");
        }
        byte[] header = seg.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
        JsonNode root = Json.parse(header, name + " header", 8);
        if (!root.isObject()) {
            throw new Qwen4jException(name + ": header is JSON " + root.getNodeType().toString().toLowerCase()
                    + ", expected an object");
        }
        long dataStart = 8 + headerLen;
        long dataSize = fileSize - dataStart;
        Limits.check(name, "tensor count", root.size() - (root.has("__metadata__") ? 1 : 0), "max-tensor-count",
                limits.maxTensorCount(), " (header)");

        record Entry(String name, String dtype, DType type, long[] shape, long begin, long end) {}
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<String, JsonNode> f : root.properties()) {
            String tname = f.getKey();
            if (tname.equals("__metadata__")) continue;
            JsonNode info = f.getValue();
            String where = name + ": tensor " + Qwen4jException.shown(tname);
            if (!info.isObject()) {
                throw new Qwen4jException(where + ": header entry is " + Json.show(info) + ", expected an object");
            }
            JsonNode dt = info.get("dtype");
            if (dt == null || !dt.isTextual()) {
                throw new Qwen4jException(where + ": field dtype is " + Json.show(dt) + ", expected a string");
            }
            String dtype = dt.asText();
            Integer elemBytes = DTYPE_BYTES.get(dtype);
            if (elemBytes == null) {
                throw new Qwen4jException(where + ": unknown dtype " + Json.show(dt));
            }
            JsonNode shapeNode = info.get("shape");
            if (shapeNode != null && shapeNode.isArray()) {
                Limits.check(where, "dimension count", shapeNode.size(), "max-dims", limits.maxDims(), "");
            }
            long[] shape = longArray(shapeNode, where, "shape", -1);
            long[] offs = longArray(info.get("data_offsets"), where, "data_offsets", 2);
            long begin = offs[0], end = offs[1];
            if (begin > end) {
                throw new Qwen4jException(where + ": data_offsets [" + begin + ", " + end + "] end before they begin");
            }
            if (end > dataSize) {
                throw new Qwen4jException(where + ": data_offsets [" + begin + ", " + end + "] (bytes "
                        + (dataStart + begin) + " to " + (dataStart + end) + ") run past the end of the file ("
                        + fileSize + " bytes)");
            }
            long expected;
            try {
                long n = 1;
                for (long d : shape) n = Math.multiplyExact(n, d);
                expected = Math.multiplyExact(n, (long) elemBytes);
            } catch (ArithmeticException e) {
                throw new Qwen4jException(where + ": shape " + java.util.Arrays.toString(shape) + " overflows");
            }
            if (end - begin != expected) {
                throw new Qwen4jException(where + ": data_offsets [" + begin + ", " + end + "] hold " + (end - begin)
                        + " bytes, but " + dtype + " " + java.util.Arrays.toString(shape) + " needs " + expected);
            }
            entries.add(new Entry(tname, dtype, DType.fromSafetensors(dtype).orElse(null), shape, begin, end));
        }

        List<Entry> byOffset = new ArrayList<>(entries);
        byOffset.removeIf(e -> e.begin == e.end);
        byOffset.sort(Comparator.comparingLong(Entry::begin));
        for (int i = 1; i < byOffset.size(); i++) {
            Entry a = byOffset.get(i - 1), b = byOffset.get(i);
            if (b.begin < a.end) {
                throw new Qwen4jException(name + ": tensors " + Qwen4jException.shown(a.name) + " and "
                        + Qwen4jException.shown(b.name) + " overlap (bytes "
                        + (dataStart + b.begin) + " to " + (dataStart + Math.min(a.end, b.end)) + ")");
            }
        }

        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> unsupported = new LinkedHashMap<>();
        for (Entry e : entries) {
            if (e.type == null) {
                unsupported.put(e.name, e.dtype);
            } else {
                MemorySegment data = seg.asSlice(dataStart + e.begin, e.end - e.begin);
                tensors.put(e.name, new Tensor(e.name, e.type, e.shape, data, name));
            }
        }
        return new SafetensorsFile(file, owned, Collections.unmodifiableMap(tensors),
                Collections.unmodifiableMap(unsupported), dataStart);
    }

    private static long[] longArray(JsonNode n, String where, String field, int exactLength) {
        if (n == null || !n.isArray() || (exactLength >= 0 && n.size() != exactLength)) {
            String want = exactLength >= 0 ? "an array of " + exactLength + " non-negative integers"
                    : "an array of non-negative integers";
            throw new Qwen4jException(where + ": field " + field + " is " + Json.show(n) + ", expected " + want);
        }
        long[] out = new long[n.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = n.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0) {
                throw new Qwen4jException(where + ": field " + field + " has " + Json.show(v)
                        + " at index " + i + ", expected a non-negative integer");
            }
            out[i] = v.asLong();
        }
        return out;
    }

    public Path path() { return path; }

    /** The file name, as used in error messages and {@link Tensor#source()}. */
    public String name() { return name; }

    /** Byte offset of the data region (8 + header length). */
    public long dataStart() { return dataStart; }

    /** Tensors with a dtype qwen4j knows, in header order. */
    public Map<String, Tensor> tensors() { return tensors; }

    /** Tensors with a valid safetensors dtype that qwen4j does not support: name -> dtype. */
    public Map<String, String> unsupported() { return unsupported; }

    public boolean contains(String tensorName) {
        return tensors.containsKey(tensorName) || unsupported.containsKey(tensorName);
    }

    /** The tensor, empty if absent; an error if present with an unsupported dtype. */
    public Optional<Tensor> find(String tensorName) {
        String dt = unsupported.get(tensorName);
        if (dt != null) {
            throw new Qwen4jException(name + ": tensor " + tensorName + " has dtype " + dt
                    + ", which qwen4j does not support (BF16, F16 and F32 are)");
        }
        return Optional.ofNullable(tensors.get(tensorName));
    }

    /** The tensor, or an error naming the file and the tensor. */
    public Tensor tensor(String tensorName) {
        return find(tensorName).orElseThrow(
                () -> new Qwen4jException(name + ": tensor " + tensorName + " is missing"));
    }

    /** Closes the mapping if this file owns its arena; otherwise the arena's owner does. */
    @Override
    public void close() {
        if (ownedArena != null && ownedArena.scope().isAlive()) ownedArena.close();
    }
}
