package qwen4j.tokenizer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import qwen4j.Qwen4jException;

/** Reads the three tokenizer sources into a {@link TokenizerSpec}. Every user error is a one-line {@link Qwen4jException}. */
final class TokenizerLoader {
    /** The Qwen2 split regex as it appears in tokenizer.json; the scanner implements exactly this. */
    static final String QWEN2_REGEX =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    /**
     * Limit max-token-id: ids at or above this are rejected, so that a corrupt file cannot make us
     * allocate gigabytes (the id table is sized by the largest id; Qwen2.5 uses 151,665).
     */
    private static final int MAX_ID = 1 << 24;
    /** Limit max-tokenizer-file-bytes (real tokenizer.json: 7 MB). */
    private static final long MAX_JSON_BYTES = 1L << 30;

    private static String idLimit(long id) {
        return "id " + id + " exceeds limit max-token-id=" + (MAX_ID - 1);
    }

    /**
     * Field-name canonicalization/interning is off: vocabularies have 150k distinct keys, which
     * would only fill (and slow down) Jackson's symbol table.
     */
    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .build());

    private TokenizerLoader() {}

    // ---------------------------------------------------------------- HF folder

    static Tokenizer fromHfFolder(Path dir) {
        if (!Files.isDirectory(dir)) throw new Qwen4jException(dir + ": not a directory");
        Path json = dir.resolve("tokenizer.json");
        Path config = dir.resolve("tokenizer_config.json");
        Path cfg = Files.isRegularFile(config) ? config : null;
        if (Files.isRegularFile(json)) return fromTokenizerJson(json, cfg);
        Path vocab = dir.resolve("vocab.json");
        Path merges = dir.resolve("merges.txt");
        if (Files.isRegularFile(vocab) && Files.isRegularFile(merges)) return fromVocabAndMerges(vocab, merges, cfg);
        throw new Qwen4jException(dir + ": no tokenizer found (need tokenizer.json, or vocab.json and merges.txt)");
    }

    // ---------------------------------------------------------------- tokenizer.json

    static Tokenizer fromTokenizerJson(Path file, Path configOrNull) {
        String name = file.toString();
        TokenizerSpec spec = new TokenizerSpec(name);
        spec.mergeWhere = i -> name + ": model.merges[" + i + "]";
        boolean nfc = false;
        boolean sawModel = false, sawVocab = false, sawMerges = false;
        try (JsonParser p = openJson(file)) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw err(name, "expected a JSON object at the top level");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                switch (field) {
                    case "model" -> {
                        if (t != JsonToken.START_OBJECT) throw err(name, "field model must be an object");
                        sawModel = true;
                        while (p.nextToken() == JsonToken.FIELD_NAME) {
                            String mf = p.currentName();
                            JsonToken mt = p.nextToken();
                            switch (mf) {
                                case "type" -> {
                                    if (mt != JsonToken.VALUE_STRING || !"BPE".equals(p.getText())) {
                                        throw err(name, "model.type is " + p.getText() + "; only BPE is supported");
                                    }
                                }
                                case "vocab" -> {
                                    readVocab(p, name, "model.vocab", spec);
                                    sawVocab = true;
                                }
                                case "merges" -> {
                                    readMergesArray(p, name, spec);
                                    sawMerges = true;
                                }
                                case "continuing_subword_prefix", "end_of_word_suffix" -> {
                                    if (mt == JsonToken.VALUE_STRING && !p.getText().isEmpty()) {
                                        throw err(name, "model." + mf + " '" + p.getText() + "' is not supported");
                                    }
                                }
                                case "byte_fallback", "ignore_merges" -> {
                                    if (mt == JsonToken.VALUE_TRUE) throw err(name, "model." + mf + "=true is not supported");
                                }
                                default -> p.skipChildren();
                            }
                        }
                    }
                    case "added_tokens" -> readAddedTokens(p.readValueAsTree(), name, spec);
                    case "normalizer" -> nfc = checkNormalizer(p.readValueAsTree(), name);
                    case "pre_tokenizer" -> checkPreTokenizer(p.readValueAsTree(), name);
                    default -> p.skipChildren();
                }
            }
        } catch (JsonProcessingException e) {
            throw malformed(name, e);
        } catch (IOException e) {
            throw ioError(file, e);
        }
        if (!sawModel) throw err(name, "field model is missing");
        if (!sawVocab) throw err(name, "field model.vocab is missing");
        if (!sawMerges) throw err(name, "field model.merges is missing");
        if (configOrNull != null) readConfig(configOrNull, spec, false);
        return new Tokenizer(spec, nfc);
    }

    private static void readVocab(JsonParser p, String name, String field, TokenizerSpec spec) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) throw err(name, "field " + field + " must be an object of token: id");
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String token = p.currentName();
            if (p.nextToken() != JsonToken.VALUE_NUMBER_INT) {
                throw err(name, field + "[" + quote(token) + "] must be an integer id");
            }
            long id = p.getLongValue();
            if (id < 0) throw err(name, field + "[" + quote(token) + "]: id " + id + " is negative");
            if (id >= MAX_ID) throw err(name, field + "[" + quote(token) + "]: " + idLimit(id));
            if ((int) id < spec.regular.size() && spec.regular.get((int) id) != null) {
                throw err(name, field + ": id " + id + " is used by both " + quote(spec.regular.get((int) id)) + " and " + quote(token));
            }
            spec.setRegular((int) id, token);
        }
    }

    private static void readMergesArray(JsonParser p, String name, TokenizerSpec spec) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) throw err(name, "field model.merges must be an array");
        int i = 0;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            String where = "model.merges[" + i + "]";
            if (t == JsonToken.VALUE_STRING) {
                String line = p.getText();
                int sp = line.indexOf(' ');
                if (sp <= 0 || sp == line.length() - 1 || line.indexOf(' ', sp + 1) >= 0) {
                    throw err(name, where + ": expected two symbols separated by one space, got " + quote(line));
                }
                spec.addMerge(line.substring(0, sp), line.substring(sp + 1));
            } else if (t == JsonToken.START_ARRAY) {
                String a = p.nextToken() == JsonToken.VALUE_STRING ? p.getText() : null;
                String b = a != null && p.nextToken() == JsonToken.VALUE_STRING ? p.getText() : null;
                if (a == null || b == null || p.nextToken() != JsonToken.END_ARRAY) {
                    throw err(name, where + ": expected an array of two strings");
                }
                spec.addMerge(a, b);
            } else {
                throw err(name, where + ": expected \"a b\" or [\"a\", \"b\"]");
            }
            i++;
        }
    }

    private static void readAddedTokens(JsonNode arr, String name, TokenizerSpec spec) {
        if (arr == null || arr.isNull()) return;
        if (!arr.isArray()) throw err(name, "field added_tokens must be an array");
        for (int i = 0; i < arr.size(); i++) {
            JsonNode t = arr.get(i);
            String where = "added_tokens[" + i + "]";
            if (!t.isObject()) throw err(name, where + " must be an object");
            JsonNode id = t.get("id"), content = t.get("content");
            if (id == null) throw err(name, "field " + where + ".id is missing");
            if (!id.canConvertToInt() || !id.isIntegralNumber() || id.intValue() < 0) {
                throw err(name, where + ".id must be a non-negative integer");
            }
            if (id.intValue() >= MAX_ID) throw err(name, where + ".id: " + idLimit(id.intValue()));
            if (content == null) throw err(name, "field " + where + ".content is missing");
            if (!content.isTextual()) throw err(name, where + ".content must be a string");
            JsonNode sp = t.get("special");
            spec.added.add(new TokenizerSpec.AddedToken(id.intValue(), content.textValue(), sp != null && sp.asBoolean()));
        }
    }

    private static boolean checkNormalizer(JsonNode n, String name) {
        if (n == null || n.isNull()) return false;
        String type = n.path("type").asText("");
        if ("NFC".equals(type)) return true;
        if ("Sequence".equals(type) && n.path("normalizers").isArray() && n.path("normalizers").size() == 1) {
            return checkNormalizer(n.path("normalizers").get(0), name);
        }
        throw err(name, "normalizer " + (type.isEmpty() ? n.toString() : type) + " is not supported (only NFC)");
    }

    private static void checkPreTokenizer(JsonNode n, String name) {
        if (n == null || n.isNull()) return;
        List<String> regexes = new ArrayList<>();
        collectRegexes(n, regexes);
        for (String r : regexes) {
            if (!QWEN2_REGEX.equals(r)) throw err(name, "pre_tokenizer regex " + quote(r) + " is not supported (only the Qwen2 one)");
        }
    }

    private static void collectRegexes(JsonNode n, List<String> out) {
        if (n.isObject() && "ByteLevel".equals(n.path("type").asText()) && n.path("use_regex").asBoolean(false)) {
            out.add("ByteLevel(use_regex=true)"); // the GPT-2 regex: not Qwen2's
        }
        if (n.isObject()) {
            for (Map.Entry<String, JsonNode> e : n.properties()) {
                if (e.getKey().equals("Regex") && e.getValue().isTextual()) out.add(e.getValue().textValue());
                else collectRegexes(e.getValue(), out);
            }
        } else if (n.isArray()) {
            for (JsonNode c : n) collectRegexes(c, out);
        }
    }

    // ---------------------------------------------------------------- vocab.json + merges.txt

    static Tokenizer fromVocabAndMerges(Path vocabJson, Path mergesTxt, Path configOrNull) {
        String vname = vocabJson.toString();
        TokenizerSpec spec = new TokenizerSpec(vname);
        try (JsonParser p = openJson(vocabJson)) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw err(vname, "expected a JSON object of token: id");
            readVocab(p, vname, "vocab", spec);
        } catch (JsonProcessingException e) {
            throw malformed(vname, e);
        } catch (IOException e) {
            throw ioError(vocabJson, e);
        }
        String mname = mergesTxt.toString();
        List<Integer> lineOf = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(mergesTxt, StandardCharsets.UTF_8)) {
            String line;
            int no = 0;
            while ((line = r.readLine()) != null) {
                no++;
                if (no == 1 && !line.isEmpty() && line.charAt(0) == '\uFEFF') line = line.substring(1);
                if (line.isEmpty() || (no == 1 && line.startsWith("#version"))) continue;
                int sp = line.indexOf(' ');
                if (sp <= 0 || sp == line.length() - 1 || line.indexOf(' ', sp + 1) >= 0) {
                    throw err(mname + " line " + no, "expected two symbols separated by one space, got " + quote(line));
                }
                spec.addMerge(line.substring(0, sp), line.substring(sp + 1));
                lineOf.add(no);
            }
        } catch (CharacterCodingException e) {
            throw err(mname, "not valid UTF-8");
        } catch (IOException e) {
            throw ioError(mergesTxt, e);
        }
        spec.mergeWhere = i -> mname + " line " + lineOf.get(i);
        if (configOrNull != null) readConfig(configOrNull, spec, true);
        return new Tokenizer(spec, true);
    }

    /** Reads special-token names and (if {@code addedTokens}) the added-token table from tokenizer_config.json. */
    private static void readConfig(Path file, TokenizerSpec spec, boolean addedTokens) {
        String name = file.toString();
        JsonNode root;
        try (JsonParser p = openJson(file)) {
            root = p.readValueAsTree();
        } catch (JsonProcessingException e) {
            throw malformed(name, e);
        } catch (IOException e) {
            throw ioError(file, e);
        }
        if (root == null || !root.isObject()) throw err(name, "expected a JSON object at the top level");
        spec.bosToken = tokenName(root.get("bos_token"));
        spec.eosToken = tokenName(root.get("eos_token"));
        spec.padToken = tokenName(root.get("pad_token"));
        if (!addedTokens) return;
        JsonNode dec = root.get("added_tokens_decoder");
        if (dec == null || dec.isNull()) return;
        if (!dec.isObject()) throw err(name, "field added_tokens_decoder must be an object");
        for (Map.Entry<String, JsonNode> e : dec.properties()) {
            String where = "added_tokens_decoder[" + quote(e.getKey()) + "]";
            int id;
            try {
                id = Integer.parseInt(e.getKey());
            } catch (NumberFormatException x) {
                throw err(name, where + ": key must be a token id");
            }
            if (id < 0) throw err(name, where + ": id " + id + " is negative");
            if (id >= MAX_ID) throw err(name, where + ": " + idLimit(id));
            JsonNode t = e.getValue();
            JsonNode content = t.get("content");
            if (content == null) throw err(name, "field " + where + ".content is missing");
            if (!content.isTextual()) throw err(name, where + ".content must be a string");
            spec.added.add(new TokenizerSpec.AddedToken(id, content.textValue(), t.path("special").asBoolean(false)));
        }
    }

    private static String tokenName(JsonNode n) {
        if (n == null || n.isNull()) return null;
        if (n.isTextual()) return n.textValue();
        JsonNode c = n.get("content");
        return c != null && c.isTextual() ? c.textValue() : null;
    }

    // ---------------------------------------------------------------- GGUF metadata

    static Tokenizer fromGguf(Map<String, Object> md, String source) {
        String name = source == null ? "GGUF" : source;
        Object model = md.get("tokenizer.ggml.model");
        if (model == null) throw err(name, "metadata key tokenizer.ggml.model is missing");
        if (!"gpt2".equals(model)) throw err(name, "tokenizer.ggml.model is " + quote(String.valueOf(model)) + "; only gpt2 (byte-level BPE) is supported");
        Object pre = md.get("tokenizer.ggml.pre");
        if (pre != null && !"qwen2".equals(pre)) {
            throw err(name, "tokenizer.ggml.pre is " + quote(String.valueOf(pre)) + "; only qwen2 is supported");
        }
        List<String> tokens = stringList(md, "tokenizer.ggml.tokens", name);
        long[] types = longArray(md, "tokenizer.ggml.token_type", name);
        List<String> merges = stringList(md, "tokenizer.ggml.merges", name);
        if (types.length != tokens.size()) {
            throw err(name, "tokenizer.ggml.token_type has " + types.length + " entries but tokenizer.ggml.tokens has " + tokens.size());
        }
        TokenizerSpec spec = new TokenizerSpec(name);
        for (int id = 0; id < tokens.size(); id++) {
            String t = tokens.get(id);
            if (t == null) throw err(name, "tokenizer.ggml.tokens[" + id + "] is null");
            int type = (int) types[id];
            switch (type) {
                case 3, 4 -> spec.added.add(new TokenizerSpec.AddedToken(id, t, type == 3));
                case 5 -> spec.unused.add(id);
                case 1, 2, 6 -> spec.setRegular(id, t);
                default -> throw err(name, "tokenizer.ggml.token_type[" + id + "] = " + type + " is not a known token type");
            }
        }
        for (int i = 0; i < merges.size(); i++) {
            String line = merges.get(i);
            int sp = line == null ? -1 : line.indexOf(' ');
            if (sp <= 0 || sp == line.length() - 1 || line.indexOf(' ', sp + 1) >= 0) {
                throw err(name, "tokenizer.ggml.merges[" + i + "]: expected two symbols separated by one space, got " + quote(String.valueOf(line)));
            }
            spec.addMerge(line.substring(0, sp), line.substring(sp + 1));
        }
        spec.mergeWhere = i -> name + ": tokenizer.ggml.merges[" + i + "]";
        spec.bosId = optionalId(md, "tokenizer.ggml.bos_token_id", name);
        spec.eosId = optionalId(md, "tokenizer.ggml.eos_token_id", name);
        spec.padId = optionalId(md, "tokenizer.ggml.padding_token_id", name);
        return new Tokenizer(spec, true);
    }

    private static List<String> stringList(Map<String, Object> md, String key, String name) {
        Object v = md.get(key);
        if (v == null) throw err(name, "metadata key " + key + " is missing");
        if (v instanceof String[] a) return List.of(a);
        if (v instanceof List<?> l) {
            for (int i = 0; i < l.size(); i++) {
                if (!(l.get(i) instanceof String)) throw err(name, key + "[" + i + "] is not a string");
            }
            @SuppressWarnings("unchecked")
            List<String> ls = (List<String>) l;
            return ls;
        }
        throw err(name, key + " must be an array of strings, got " + v.getClass().getSimpleName());
    }

    private static long[] longArray(Map<String, Object> md, String key, String name) {
        Object v = md.get(key);
        if (v == null) throw err(name, "metadata key " + key + " is missing");
        if (v instanceof long[] a) return a;
        if (v instanceof int[] a) {
            long[] r = new long[a.length];
            for (int i = 0; i < a.length; i++) r[i] = a[i];
            return r;
        }
        if (v instanceof List<?> l) {
            long[] r = new long[l.size()];
            for (int i = 0; i < r.length; i++) {
                if (!(l.get(i) instanceof Number n)) throw err(name, key + "[" + i + "] is not an integer");
                r[i] = n.longValue();
            }
            return r;
        }
        throw err(name, key + " must be an array of integers, got " + v.getClass().getSimpleName());
    }

    private static Integer optionalId(Map<String, Object> md, String key, String name) {
        Object v = md.get(key);
        if (v == null) return null;
        if (!(v instanceof Number n)) throw err(name, key + " must be an integer");
        long id = n.longValue();
        return id >= 0 && id < MAX_ID ? (int) id : null;
    }

    // ---------------------------------------------------------------- helpers

    private static JsonParser openJson(Path file) throws IOException {
        if (Files.isRegularFile(file) && Files.size(file) > MAX_JSON_BYTES) {
            throw err(file.toString(), "file size " + Files.size(file) + " exceeds limit max-tokenizer-file-bytes="
                    + MAX_JSON_BYTES);
        }
        return MAPPER.createParser(Files.readAllBytes(file));
    }

    static Qwen4jException err(String where, String what) {
        return new Qwen4jException(oneLine(where + ": " + what));
    }

    private static Qwen4jException malformed(String name, JsonProcessingException e) {
        String msg = e.getOriginalMessage();
        var loc = e.getLocation();
        String at = loc == null ? "" : " at line " + loc.getLineNr() + " column " + loc.getColumnNr();
        return new Qwen4jException(oneLine(name + ": malformed JSON" + at + ": " + (msg == null ? e.getClass().getSimpleName() : msg)), e);
    }

    private static Qwen4jException ioError(Path file, IOException e) {
        if (e instanceof NoSuchFileException) return new Qwen4jException(file + ": file not found", e);
        if (Files.isDirectory(file)) return new Qwen4jException(file + ": is a directory, expected a file", e);
        return new Qwen4jException(oneLine(file + ": cannot read (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")"), e);
    }

    /** Keeps a message to one line of reasonable length. */
    static String oneLine(String s) {
        String one = s.replace("\r\n", " ").replace('\n', ' ').replace('\r', ' ');
        return one.length() > 400 ? one.substring(0, 400) + "..." : one;
    }

    private static String quote(String s) {
        String q = s.length() > 60 ? s.substring(0, 60) + "..." : s;
        StringBuilder b = new StringBuilder("'");
        for (int i = 0; i < q.length(); i++) {
            char c = q.charAt(i);
            if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('\'').toString();
    }
}
