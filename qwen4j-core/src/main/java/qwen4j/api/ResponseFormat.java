package qwen4j.api;

import java.util.Objects;

/**
 * A language the generated text is held to: at each step only tokens that keep the output a prefix of a
 * valid document may be chosen, and end-of-sequence only once it is complete. See docs/STRUCTURED-OUTPUT.md
 * for the JSON Schema subset and GBNF.
 *
 * @param kind   what {@code text} is
 * @param text   the JSON Schema or GBNF grammar (empty for {@link Kind#JSON_OBJECT})
 * @param source what errors in {@code text} are reported against (say, its file name); null: none
 * @param strict for a JSON Schema: whether a keyword that cannot be enforced is an error (true) or only a
 *               warning ({@link Qwen#compile}) while the rest is enforced
 */
public record ResponseFormat(Kind kind, String text, String source, boolean strict) {
    /** The kinds of format. */
    public enum Kind {
        /** Any one JSON object. */
        JSON_OBJECT,
        /** JSON valid against a JSON Schema. */
        JSON_SCHEMA,
        /** A llama.cpp GBNF grammar (start rule {@code root}). */
        GRAMMAR
    }

    public ResponseFormat {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(text, "text");
    }

    /** A strict format. */
    public ResponseFormat(Kind kind, String text, String source) { this(kind, text, source, true); }

    /** Any one JSON object. */
    public static ResponseFormat jsonObject() { return new ResponseFormat(Kind.JSON_OBJECT, "", null); }

    /** JSON valid against {@code schema} (a JSON Schema document). */
    public static ResponseFormat jsonSchema(String schema) { return new ResponseFormat(Kind.JSON_SCHEMA, schema, null); }

    /** JSON valid against {@code schema}; not {@code strict}: keywords that cannot be enforced are skipped with a warning. */
    public static ResponseFormat jsonSchema(String schema, boolean strict) {
        return new ResponseFormat(Kind.JSON_SCHEMA, schema, null, strict);
    }

    /** Text in the language of a GBNF {@code grammar}. */
    public static ResponseFormat grammar(String gbnf) { return new ResponseFormat(Kind.GRAMMAR, gbnf, null); }

    /** This format, its errors starting with {@code source} (e.g. the file it was read from). */
    public ResponseFormat from(String source) { return new ResponseFormat(kind, text, source, strict); }
}
