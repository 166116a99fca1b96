package qwen4j.generate.constraint;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import qwen4j.tokenizer.Tokenizer;

/**
 * Compiles constraints for a tokenizer's vocabulary and keeps the last {@value #CACHE_SIZE} of them, so a
 * repeated schema or grammar (every request of a client, usually) compiles once and reuses its masks.
 */
public final class Constraints {
    static final int CACHE_SIZE = 16;
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Map<Key, CompiledConstraint> CACHE = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Key, CompiledConstraint> e) { return size() > CACHE_SIZE; }
    };

    private record Key(String kind, String text, boolean strict, Tokenizer tokenizer, int vocabLimit, Set<Integer> eos) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && kind.equals(k.kind) && text.equals(k.text) && strict == k.strict
                    && tokenizer == k.tokenizer && vocabLimit == k.vocabLimit && eos.equals(k.eos);
        }

        @Override
        public int hashCode() { return text.hashCode() * 31 + System.identityHashCode(tokenizer); }
    }

    private Constraints() {}

    /**
     * Builds the vocabulary trie for a tokenizer now (once per tokenizer and vocabulary size; about a second for
     * Qwen's 151,665 tokens), so that the first constrained request does not wait for it.
     */
    public static void prepare(Tokenizer tokenizer, int vocabLimit) {
        VocabularyTrie.of(tokenizer, vocabLimit);
    }

    /** The constraint of a public {@link qwen4j.api.ResponseFormat} (its text compiled as its kind says). */
    public static CompiledConstraint of(qwen4j.api.ResponseFormat f, Tokenizer tokenizer, int vocabLimit, Set<Integer> eosIds) {
        return switch (f.kind()) {
            case JSON_OBJECT -> jsonObject(tokenizer, vocabLimit, eosIds);
            case JSON_SCHEMA -> jsonSchema(f.text(), f.strict(), tokenizer, vocabLimit, eosIds);
            case GRAMMAR -> gbnf(f.text(), tokenizer, vocabLimit, eosIds);
        };
    }

    /** Any JSON object (OpenAI's json_object mode). */
    public static CompiledConstraint jsonObject(Tokenizer tokenizer, int vocabLimit, Set<Integer> eosIds) {
        return get("gbnf", JsonSchemaToGbnf.JSON_OBJECT, true, tokenizer, vocabLimit, eosIds, "a JSON object");
    }

    /** A llama.cpp GBNF grammar. */
    public static CompiledConstraint gbnf(String grammar, Tokenizer tokenizer, int vocabLimit, Set<Integer> eosIds) {
        return get("gbnf", grammar, true, tokenizer, vocabLimit, eosIds, "the grammar");
    }

    /** A JSON Schema given as JSON text; {@code strict} false turns unsupported keywords into warnings. */
    public static CompiledConstraint jsonSchema(String schema, boolean strict, Tokenizer tokenizer, int vocabLimit,
                                                Set<Integer> eosIds) {
        return get("schema", schema, strict, tokenizer, vocabLimit, eosIds, "the JSON schema");
    }

    /** As {@link #jsonSchema(String, boolean, Tokenizer, int, Set)} for a parsed schema. */
    public static CompiledConstraint jsonSchema(JsonNode schema, boolean strict, Tokenizer tokenizer, int vocabLimit,
                                                Set<Integer> eosIds) {
        return jsonSchema(schema.toString(), strict, tokenizer, vocabLimit, eosIds);
    }

    private static CompiledConstraint get(String kind, String text, boolean strict, Tokenizer tokenizer, int vocabLimit,
                                          Set<Integer> eosIds, String description) {
        Key key = new Key(kind, text, strict, tokenizer, vocabLimit, Set.copyOf(eosIds));
        synchronized (CACHE) {
            CompiledConstraint c = CACHE.get(key);
            if (c != null) return c;
        }
        long t0 = System.nanoTime();
        Grammar g;
        List<String> warnings = List.of();
        if (kind.equals("schema")) {
            JsonNode node;
            try {
                node = MAPPER.readTree(text);
            } catch (JacksonException e) {
                throw new GrammarException("the JSON schema is not valid JSON: " + e.getOriginalMessage());
            }
            JsonSchemaToGbnf.Result r = JsonSchemaToGbnf.compile(node, strict);
            warnings = r.warnings();
            g = GbnfParser.parse(r.gbnf());
        } else {
            g = GbnfParser.parse(text);
        }
        CompiledConstraint c = new CompiledConstraint(g, tokenizer, vocabLimit, eosIds, description, warnings,
                System.nanoTime() - t0);
        synchronized (CACHE) {
            CACHE.put(key, c);
        }
        return c;
    }
}
