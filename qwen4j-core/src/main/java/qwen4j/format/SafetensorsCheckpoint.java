package qwen4j.format;

import com.fasterxml.jackson.databind.JsonNode;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import qwen4j.Qwen4jException;
import qwen4j.tensor.Tensor;

/**
 * The safetensors weights of a Hugging Face folder: either {@code model.safetensors} or the shards
 * listed by {@code model.safetensors.index.json} (each shard opened once). All files are mapped
 * into the caller's arena.
 */
public final class SafetensorsCheckpoint {
    public static final String SINGLE = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";

    private final Path folder;
    private final List<SafetensorsFile> files;
    /** tensor name -> the file that holds it */
    private final Map<String, SafetensorsFile> where;
    private final String indexName;

    private SafetensorsCheckpoint(Path folder, List<SafetensorsFile> files, Map<String, SafetensorsFile> where,
                                  String indexName) {
        this.folder = folder;
        this.files = files;
        this.where = where;
        this.indexName = indexName;
    }

    public static SafetensorsCheckpoint open(Path folder, Arena arena) {
        Path index = folder.resolve(INDEX);
        Path single = folder.resolve(SINGLE);
        if (Files.isRegularFile(index)) return openSharded(folder, index, arena);
        if (Files.isRegularFile(single)) {
            SafetensorsFile f = SafetensorsFile.open(single, arena);
            Map<String, SafetensorsFile> where = new LinkedHashMap<>();
            for (String n : f.tensors().keySet()) where.put(n, f);
            for (String n : f.unsupported().keySet()) where.put(n, f);
            return new SafetensorsCheckpoint(folder, List.of(f), where, null);
        }
        String hint = Files.exists(folder.resolve("pytorch_model.bin"))
                || Files.exists(folder.resolve("pytorch_model.bin.index.json"))
                ? " (pytorch_model.bin is not supported: convert the model to safetensors)" : "";
        throw new Qwen4jException(folder + ": no " + SINGLE + " or " + INDEX + hint);
    }

    private static SafetensorsCheckpoint openSharded(Path folder, Path index, Arena arena) {
        Map<String, String> tensorToShard = parseIndex(Json.readFile(index));
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        Map<String, SafetensorsFile> where = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : tensorToShard.entrySet()) {
            String shard = e.getValue();
            SafetensorsFile f = shards.get(shard);
            if (f == null) {
                Path p = folder.resolve(shard);
                if (!Files.isRegularFile(p)) {
                    throw new Qwen4jException(INDEX + ": shard " + shard + " (holding tensor " + Qwen4jException.shown(e.getKey())
                            + ") not found in " + folder);
                }
                f = SafetensorsFile.open(p, arena);
                shards.put(shard, f);
            }
            if (!f.contains(e.getKey())) {
                throw new Qwen4jException(shard + ": tensor " + Qwen4jException.shown(e.getKey()) + " is missing (" + INDEX
                        + " says this shard holds it)");
            }
            where.put(e.getKey(), f);
        }
        return new SafetensorsCheckpoint(folder, List.copyOf(shards.values()), Collections.unmodifiableMap(where),
                INDEX);
    }

    /**
     * The tensor -> shard file map of a parsed {@code model.safetensors.index.json}; shard names
     * must be plain file names in the same folder (no path separators, no "..").
     */
    static Map<String, String> parseIndex(JsonNode root) {
        JsonNode map = root.isObject() ? root.get("weight_map") : null;
        if (map == null || !map.isObject()) {
            throw new Qwen4jException(INDEX + ": field weight_map is " + Json.show(map) + ", expected an object");
        }
        if (map.isEmpty()) {
            throw new Qwen4jException(INDEX + ": field weight_map is empty");
        }
        Limits.check(INDEX, "weight_map size", map.size(), "max-tensor-count", Limits.DEFAULT.maxTensorCount(), "");
        Map<String, String> tensorToShard = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            JsonNode v = e.getValue();
            if (!v.isTextual()) {
                throw new Qwen4jException(INDEX + ": field weight_map." + Qwen4jException.shown(e.getKey()) + " is " + Json.show(v)
                        + ", expected a file name");
            }
            String shard = v.asText();
            if (shard.isEmpty() || shard.contains("/") || shard.contains("\\") || shard.equals("..")
                    || shard.equals(".")) {
                throw new Qwen4jException(INDEX + ": field weight_map." + Qwen4jException.shown(e.getKey()) + " is " + Json.show(v)
                        + ", expected a file name in the same folder");
            }
            try {
                Path.of(shard); // a NUL byte or the like would otherwise fail later, inside the JDK
            } catch (java.nio.file.InvalidPathException bad) {
                throw new Qwen4jException(INDEX + ": field weight_map." + Qwen4jException.shown(e.getKey()) + " is " + Json.show(v)
                        + ", not a valid file name (" + bad.getReason() + ")");
            }
            tensorToShard.put(e.getKey(), shard);
        }
        return tensorToShard;
    }

    public Path folder() { return folder; }

    /** The opened files, each once. */
    public List<SafetensorsFile> files() { return files; }

    /** True when the weights come from model.safetensors.index.json. */
    public boolean sharded() { return indexName != null; }

    /** The tensor if the checkpoint has it. */
    public Optional<Tensor> find(String name) {
        SafetensorsFile f = where.get(name);
        return f == null ? Optional.empty() : f.find(name);
    }

    /** The tensor, or an error naming where it should have been. */
    public Tensor tensor(String name) {
        return find(name).orElseThrow(() -> new Qwen4jException(
                (sharded() ? indexName : files.getFirst().name()) + ": tensor " + name + " is missing"));
    }

    /** All tensors, grouped by file name. */
    public Map<String, List<Tensor>> tensorsByFile() {
        Map<String, List<Tensor>> out = new LinkedHashMap<>();
        for (SafetensorsFile f : files) out.put(f.name(), List.copyOf(new ArrayList<>(f.tensors().values())));
        return Collections.unmodifiableMap(out);
    }
}
