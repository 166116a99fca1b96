package qwen4j.tokenizer;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Shared test data: the real Qwen2.5 tokenizer files under {@code qwen4j.shared} and the test
 * vectors. Tests that need them skip (JUnit assumption) when the folder is absent. Tokenizers are
 * loaded once per JVM.
 */
final class TokenizerFixtures {
    private TokenizerFixtures() {}

    record Case(String name, String text, int[] ids) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Path shared() {
        String p = System.getProperty("qwen4j.shared");
        assumeTrue(p != null && Files.isDirectory(Path.of(p, "qwen-tokenizer")),
                "shared test data not found (system property qwen4j.shared=" + p + "); skipping");
        return Path.of(p);
    }

    static Path qwenDir() {
        return shared().resolve("qwen-tokenizer");
    }

    private static Tokenizer hfJson, vocabMerges, hfSharded, tinyHf, ggufFromHfFiles, ggufFile;

    /** tokenizer.json. */
    static synchronized Tokenizer hfJson() {
        if (hfJson == null) hfJson = Tokenizer.fromTokenizerJson(qwenDir().resolve("tokenizer.json"));
        return hfJson;
    }

    /** vocab.json + merges.txt + tokenizer_config.json. */
    static synchronized Tokenizer vocabMerges() {
        if (vocabMerges == null) {
            Path d = qwenDir();
            vocabMerges = Tokenizer.fromVocabAndMerges(d.resolve("vocab.json"), d.resolve("merges.txt"), d.resolve("tokenizer_config.json"));
        }
        return vocabMerges;
    }

    /** The tiny model's HF folder without tokenizer.json (vocab.json + merges.txt). */
    static synchronized Tokenizer hfSharded() {
        if (hfSharded == null) {
            Path d = shared().resolve("fixtures/tiny/hf-sharded");
            assumeTrue(Files.isDirectory(d), "fixtures/tiny/hf-sharded not found; skipping");
            hfSharded = Tokenizer.fromHfFolder(d);
        }
        return hfSharded;
    }

    /** The tiny model's HF folder (tokenizer.json + tokenizer_config.json). */
    static synchronized Tokenizer tinyHf() {
        if (tinyHf == null) {
            Path d = shared().resolve("fixtures/tiny/hf");
            assumeTrue(Files.isDirectory(d), "fixtures/tiny/hf not found; skipping");
            tinyHf = Tokenizer.fromHfFolder(d);
        }
        return tinyHf;
    }

    /** GGUF metadata built in the test from vocab.json / merges.txt / tokenizer_config.json, as a converter would. */
    static synchronized Tokenizer ggufFromHfFiles() {
        if (ggufFromHfFiles == null) ggufFromHfFiles = Tokenizer.fromGgufMetadata(ggufMetadataFromHfFiles(qwenDir()), "built-metadata");
        return ggufFromHfFiles;
    }

    /** Metadata read from the real qwen2.5-vocab-only.gguf by a minimal reader in this test. */
    static synchronized Tokenizer ggufFile() {
        if (ggufFile == null) {
            Path f = qwenDir().resolve("qwen2.5-vocab-only.gguf");
            ggufFile = Tokenizer.fromGgufMetadata(readGgufMetadata(f), f.toString());
        }
        return ggufFile;
    }

    static Tokenizer byName(String name) {
        return switch (name) {
            case "tokenizer.json" -> hfJson();
            case "vocab.json+merges.txt" -> vocabMerges();
            case "hf-sharded folder" -> hfSharded();
            case "tiny hf folder" -> tinyHf();
            case "GGUF metadata (built)" -> ggufFromHfFiles();
            case "GGUF metadata (qwen2.5-vocab-only.gguf)" -> ggufFile();
            default -> throw new IllegalArgumentException(name);
        };
    }

    static final List<String> SOURCES = List.of("tokenizer.json", "vocab.json+merges.txt", "hf-sharded folder", "tiny hf folder",
            "GGUF metadata (built)", "GGUF metadata (qwen2.5-vocab-only.gguf)");

    // ---------------------------------------------------------------- test vectors

    /**
     * llama.cpp's test file: each text is followed by {@code "\n__ggml_vocab_test__\n"} (so a text's
     * own trailing newlines are kept, the separator's newline is not); the .out file has one line
     * of ids per text.
     */
    static List<Case> llamaCases() {
        Path d = qwenDir();
        String inp = read(d.resolve("ggml-vocab-qwen2.gguf.inp"));
        String out = read(d.resolve("ggml-vocab-qwen2.gguf.out"));
        String sep = "\n__ggml_vocab_test__\n";
        List<String> texts = new ArrayList<>();
        int pos = 0;
        while (pos < inp.length()) {
            int at = inp.indexOf(sep, pos);
            if (at < 0) throw new IllegalStateException(".inp: text after the last separator");
            texts.add(inp.substring(pos, at));
            pos = at + sep.length();
        }
        String[] lines = out.split("\n", -1);
        List<String> idLines = new ArrayList<>(List.of(lines));
        if (idLines.get(idLines.size() - 1).isEmpty()) idLines.remove(idLines.size() - 1);
        if (idLines.size() != texts.size()) {
            throw new IllegalStateException(".inp has " + texts.size() + " cases, .out " + idLines.size());
        }
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            String l = idLines.get(i).trim();
            int[] ids = l.isEmpty() ? new int[0] : java.util.Arrays.stream(l.split("\\s+")).mapToInt(Integer::parseInt).toArray();
            cases.add(new Case("llama.cpp #" + (i + 1) + " " + abbrev(texts.get(i)), texts.get(i), ids));
        }
        return cases;
    }

    static List<Case> transformersCases() {
        JsonNode root = json(qwenDir().resolve("transformers-qwen2-sequences.json"));
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < root.size(); i++) {
            JsonNode c = root.get(i);
            int[] ids = new int[c.get("ids").size()];
            for (int k = 0; k < ids.length; k++) ids[k] = c.get("ids").get(k).intValue();
            cases.add(new Case("transformers #" + (i + 1) + " " + abbrev(c.get("text").textValue()), c.get("text").textValue(), ids));
        }
        return cases;
    }

    static List<Case> allCases() {
        List<Case> all = new ArrayList<>(llamaCases());
        all.addAll(transformersCases());
        return all;
    }

    static String abbrev(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().limit(24).forEach(cp -> {
            if (cp == '\n') b.append("\\n");
            else if (cp == '\r') b.append("\\r");
            else if (cp == '\t') b.append("\\t");
            else b.appendCodePoint(cp);
        });
        return "[" + b + (s.codePointCount(0, s.length()) > 24 ? "...]" : "]");
    }

    static String read(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode json(Path p) {
        try {
            return new ObjectMapper().readTree(p.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---------------------------------------------------------------- GGUF metadata

    /**
     * What a GGUF converter writes for this tokenizer: every id's token string (regular tokens from
     * vocab.json, added ones from tokenizer_config.json), type 1 for regular, 3 (control) for
     * special added tokens and 4 (user-defined) for the others, merges as "a b" strings.
     */
    static Map<String, Object> ggufMetadataFromHfFiles(Path dir) {
        JsonNode vocab = json(dir.resolve("vocab.json"));
        JsonNode config = json(dir.resolve("tokenizer_config.json"));
        int n = vocab.size();
        for (var e : config.get("added_tokens_decoder").properties()) n = Math.max(n, Integer.parseInt(e.getKey()) + 1);
        String[] tokens = new String[n];
        long[] types = new long[n];
        for (var e : vocab.properties()) {
            tokens[e.getValue().intValue()] = e.getKey();
            types[e.getValue().intValue()] = 1;
        }
        for (var e : config.get("added_tokens_decoder").properties()) {
            int id = Integer.parseInt(e.getKey());
            tokens[id] = e.getValue().get("content").textValue();
            types[id] = e.getValue().get("special").booleanValue() ? 3 : 4;
        }
        List<String> merges = new ArrayList<>();
        for (String line : read(dir.resolve("merges.txt")).split("\n")) {
            if (!line.isEmpty() && !line.startsWith("#version")) merges.add(line);
        }
        Map<String, Object> md = new LinkedHashMap<>();
        md.put("general.architecture", "qwen2");
        md.put("tokenizer.ggml.model", "gpt2");
        md.put("tokenizer.ggml.pre", "qwen2");
        md.put("tokenizer.ggml.tokens", List.of(tokens));
        md.put("tokenizer.ggml.token_type", types);
        md.put("tokenizer.ggml.merges", merges);
        md.put("tokenizer.ggml.eos_token_id", 151645L);
        md.put("tokenizer.ggml.padding_token_id", 151643L);
        md.put("tokenizer.ggml.bos_token_id", 151643L);
        return md;
    }

    /** A minimal GGUF metadata reader (header and key/values only), mapping to the agreed Map contract. */
    static Map<String, Object> readGgufMetadata(Path file) {
        ByteBuffer b;
        try {
            b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (b.getInt() != 0x46554747) throw new IllegalStateException("not GGUF");
        int version = b.getInt();
        if (version < 2) throw new IllegalStateException("GGUF v" + version);
        b.getLong(); // tensor count
        long kvs = b.getLong();
        Map<String, Object> md = new LinkedHashMap<>();
        for (long i = 0; i < kvs; i++) {
            String key = ggufString(b);
            int type = b.getInt();
            md.put(key, ggufValue(b, type));
        }
        return md;
    }

    private static String ggufString(ByteBuffer b) {
        int len = (int) b.getLong();
        byte[] s = new byte[len];
        b.get(s);
        return new String(s, StandardCharsets.UTF_8);
    }

    private static Object ggufValue(ByteBuffer b, int type) {
        return switch (type) {
            case 0 -> (long) (b.get() & 0xFF);
            case 1 -> (long) b.get();
            case 2 -> (long) (b.getShort() & 0xFFFF);
            case 3 -> (long) b.getShort();
            case 4 -> b.getInt() & 0xFFFFFFFFL;
            case 5 -> (long) b.getInt();
            case 6 -> (double) b.getFloat();
            case 7 -> b.get() != 0;
            case 8 -> ggufString(b);
            case 10, 11 -> b.getLong();
            case 12 -> b.getDouble();
            case 9 -> {
                int et = b.getInt();
                int n = (int) b.getLong();
                if (et == 8) {
                    List<String> l = new ArrayList<>(n);
                    for (int k = 0; k < n; k++) l.add(ggufString(b));
                    yield l;
                }
                if (et <= 5 || et == 10 || et == 11) {
                    long[] a = new long[n];
                    for (int k = 0; k < n; k++) a[k] = (Long) ggufValue(b, et);
                    yield a;
                }
                List<Object> l = new ArrayList<>(n);
                for (int k = 0; k < n; k++) l.add(ggufValue(b, et));
                yield l;
            }
            default -> throw new IllegalStateException("GGUF type " + type);
        };
    }

    // ---------------------------------------------------------------- synthetic tokenizers

    /**
     * A tiny tokenizer: the 256 byte tokens (id = byte value), then the given merges (each adds the
     * merged token), then the given added tokens ("!" prefix = special).
     */
    static Tokenizer synthetic(List<String> merges, List<String> added) {
        List<String> tokens = new ArrayList<>();
        List<Long> types = new ArrayList<>();
        for (int bt = 0; bt < 256; bt++) {
            tokens.add(String.valueOf(ByteLevel.byteToChar(bt)));
            types.add(1L);
        }
        List<String> ggufMerges = new ArrayList<>();
        for (String m : merges) {
            String[] ab = m.split(" ");
            String a = ByteLevel.encode(ab[0].getBytes(StandardCharsets.UTF_8));
            String c = ByteLevel.encode(ab[1].getBytes(StandardCharsets.UTF_8));
            ggufMerges.add(a + " " + c);
            if (!tokens.contains(a + c)) {
                tokens.add(a + c);
                types.add(1L);
            }
        }
        for (String a : added) {
            boolean special = a.startsWith("!");
            tokens.add(special ? a.substring(1) : a);
            types.add(special ? 3L : 4L);
        }
        Map<String, Object> md = new LinkedHashMap<>();
        md.put("tokenizer.ggml.model", "gpt2");
        md.put("tokenizer.ggml.pre", "qwen2");
        md.put("tokenizer.ggml.tokens", tokens);
        md.put("tokenizer.ggml.token_type", types.stream().mapToLong(Long::longValue).toArray());
        md.put("tokenizer.ggml.merges", ggufMerges);
        return Tokenizer.fromGgufMetadata(md, "synthetic");
    }
}
