package qwen4j.generate.constraint;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.Map;

/**
 * Proves that {@code oneOf} alternatives are disjoint, so that compiling them as a union is exact: a value the
 * compiler generates for one alternative is never valid against another (then it matches exactly one). Sound
 * but incomplete: {@code false} means "not proven", never "they overlap". What it proves: different JSON types,
 * a property every generated value has whose values cannot satisfy the other's schema for it (a discriminator
 * with different const/enum values), a property the other requires but this one never writes, a property this
 * one requires that the other forbids ({@code additionalProperties: false}), and disjoint length bounds.
 *
 * <p>The generating side follows what {@link JsonSchemaToGbnf} writes (only listed properties, {@code $ref}
 * before its siblings, {@code {"type":"object"}} alone is {@code {}}); the validating side follows JSON Schema.
 */
final class OneOfCheck {
    // value categories: "integer" is a number without a fraction (1.0 is one), "number" is both
    static final int OBJECT = 1, ARRAY = 2, STRING = 4, INTEGER = 8, FRACTION = 16, BOOLEAN = 32, NULL = 64, ANY = 127;
    /** Deeper than this (recursive $refs) counts as not proven. */
    private static final int MAX_DEPTH = 24;

    private JsonNode root;
    /** Steps left for all the checks of one compile: a hostile one cannot make the proof search blow up; past it, nothing is proven. */
    private int budget = 200_000;

    /** Whether no value generated for either schema is valid against the other; {@code $ref}s resolve in {@code root}. */
    boolean disjoint(JsonNode root, JsonNode a, JsonNode b) {
        this.root = root;
        return excludes(a, b, 0) && excludes(b, a, 0);
    }

    /** Whether no value the compiler generates for {@code gen} is valid against {@code sem}. */
    private boolean excludes(JsonNode gen, JsonNode sem, int depth) {
        if (depth > MAX_DEPTH || --budget < 0) return false;
        gen = generated(gen);
        if (gen == null) return false;
        if (gen.isBoolean()) return !gen.booleanValue(); // false generates nothing
        if (gen.has("const")) return !mayMatch(gen.get("const"), sem, depth + 1);
        if (gen.has("enum")) {
            for (JsonNode v : gen.get("enum")) if (mayMatch(v, sem, depth + 1)) return false;
            return true;
        }
        for (String k : new String[] {"anyOf", "oneOf"}) {
            if (!gen.has(k)) continue;
            for (JsonNode alt : gen.get(k)) if (!excludes(alt, sem, depth + 1)) return false;
            return true;
        }
        int types = generatedTypes(gen);
        for (int t = 1; t <= NULL; t <<= 1) {
            if ((types & t) != 0 && !excludesTyped(gen, types == ANY, t, sem, depth + 1)) return false;
        }
        return true;
    }

    /** No value of category {@code t} generated for {@code gen} ({@code any}: the any-value rule) satisfies {@code sem}. */
    private boolean excludesTyped(JsonNode gen, boolean any, int t, JsonNode sem, int depth) {
        if (depth > MAX_DEPTH || --budget < 0 || sem == null || sem.isMissingNode()) return false;
        if (sem.isBoolean()) return !sem.booleanValue();
        if (!sem.isObject()) return false;
        JsonNode target = refTarget(sem);
        if (target != null && excludesTyped(gen, any, t, target, depth + 1)) return true;
        if ((validTypes(sem) & t) == 0) return true;
        for (String k : new String[] {"anyOf", "oneOf"}) {
            if (!sem.path(k).isArray()) continue;
            boolean all = true;
            for (JsonNode alt : sem.get(k)) all &= excludesTyped(gen, any, t, alt, depth + 1);
            if (all) return true;
        }
        if (any || !onlyKnownKeywords(sem)) return false;
        return switch (t) {
            case OBJECT -> excludesObject(gen, sem, depth);
            case ARRAY -> excludesArray(gen, sem, depth);
            case STRING -> !gen.has("pattern") && !overlap(count(gen, "minLength", 0), count(gen, "maxLength", -1),
                    count(sem, "minLength", 0), count(sem, "maxLength", -1));
            default -> false;
        };
    }

    private boolean excludesObject(JsonNode gen, JsonNode sem, int depth) {
        JsonNode props = gen.path("properties");
        JsonNode extra = gen.get("additionalProperties");
        boolean map = props.isEmpty() && !gen.path("required").isArray() && extra != null && extra.isObject();
        if (map) return false; // any keys
        // a property sem requires that gen never writes
        for (JsonNode r : sem.path("required")) {
            if (!props.has(r.asText()) && !contains(gen.path("required"), r.asText())) return true;
        }
        // a property gen always writes whose every value sem refuses
        JsonNode semExtra = sem.get("additionalProperties");
        for (JsonNode r : gen.path("required")) {
            String name = r.asText();
            JsonNode genValue = props.get(name);
            JsonNode semValue = sem.path("properties").has(name) ? sem.path("properties").get(name) : semExtra;
            if (semValue == null) continue;
            if (semValue.isBoolean() && !semValue.booleanValue()) return true;
            if (genValue != null && excludes(genValue, semValue, depth + 1)) return true;
        }
        return false;
    }

    private boolean excludesArray(JsonNode gen, JsonNode sem, int depth) {
        int min = count(gen, "minItems", 0), max = count(gen, "maxItems", -1);
        if (!overlap(min, max, count(sem, "minItems", 0), count(sem, "maxItems", -1))) return true;
        JsonNode semItems = sem.get("items");
        return min >= 1 && gen.has("items") && semItems != null && (semItems.isObject() || semItems.isBoolean())
                && excludes(gen.get("items"), semItems, depth + 1);
    }

    /** False only when {@code v} is certainly not valid against {@code sem}. */
    private boolean mayMatch(JsonNode v, JsonNode sem, int depth) {
        if (depth > MAX_DEPTH || --budget < 0 || sem == null || sem.isMissingNode()) return true;
        if (sem.isBoolean()) return sem.booleanValue();
        if (!sem.isObject()) return true;
        JsonNode target = refTarget(sem);
        if (target != null && !mayMatch(v, target, depth + 1)) return false;
        if ((category(v) & validTypes(sem)) == 0) return false;
        if (sem.has("const") && !same(v, sem.get("const"))) return false;
        if (sem.path("enum").isArray()) {
            boolean found = false;
            for (JsonNode e : sem.get("enum")) found |= same(v, e);
            if (!found) return false;
        }
        for (String k : new String[] {"anyOf", "oneOf"}) {
            if (!sem.path(k).isArray()) continue;
            boolean some = false;
            for (JsonNode alt : sem.get(k)) some |= mayMatch(v, alt, depth + 1);
            if (!some) return false;
        }
        if (!onlyKnownKeywords(sem)) return true;
        if (v.isObject()) {
            for (JsonNode r : sem.path("required")) if (!v.has(r.asText())) return false;
            JsonNode extra = sem.get("additionalProperties");
            for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                JsonNode s = sem.path("properties").has(e.getKey()) ? sem.path("properties").get(e.getKey()) : extra;
                if (s != null && !mayMatch(e.getValue(), s, depth + 1)) return false;
            }
        } else if (v.isArray()) {
            if (!overlap(v.size(), v.size(), count(sem, "minItems", 0), count(sem, "maxItems", -1))) return false;
            JsonNode items = sem.get("items");
            if (items != null && (items.isObject() || items.isBoolean())) {
                for (JsonNode x : v) if (!mayMatch(x, items, depth + 1)) return false;
            }
        } else if (v.isTextual() && !sem.has("pattern")) {
            int n = v.asText().codePointCount(0, v.asText().length());
            if (!overlap(n, n, count(sem, "minLength", 0), count(sem, "maxLength", -1))) return false;
        }
        return true;
    }

    /** The schema the compiler generates from: {@code $ref}s followed (their siblings are not compiled); null: unknown. */
    private JsonNode generated(JsonNode s) {
        for (int hops = 0; s != null && s.isObject() && s.has("$ref"); hops++) {
            s = hops < MAX_DEPTH ? refTarget(s) : null;
        }
        return s == null || s.isMissingNode() || !(s.isObject() || s.isBoolean()) ? null : s;
    }

    /** The schema a supported {@code $ref} points to, or null. */
    private JsonNode refTarget(JsonNode s) {
        JsonNode ref = s.get("$ref");
        if (ref == null || !ref.isTextual() || root == null) return null;
        String r = ref.asText();
        if (r.equals("#")) return root;
        if (!r.startsWith("#/$defs/") && !r.startsWith("#/definitions/")) return null;
        JsonNode t = root.at(r.substring(1));
        return t.isMissingNode() ? null : t;
    }

    /** The categories the compiler generates for a schema without const, enum, anyOf or oneOf. */
    private static int generatedTypes(JsonNode s) {
        if (s.has("type")) return typeBits(s.get("type"));
        if (s.has("properties") || s.has("additionalProperties") || s.has("required")) return OBJECT;
        if (s.has("items") || s.has("minItems") || s.has("maxItems")) return ARRAY;
        if (s.has("pattern") || s.has("minLength") || s.has("maxLength")) return STRING;
        return ANY;
    }

    /** The categories {@code type}, {@code const} and {@code enum} of a schema let through. */
    private static int validTypes(JsonNode s) {
        int bits = s.has("type") ? typeBits(s.get("type")) : ANY;
        if (s.has("const")) bits &= category(s.get("const"));
        if (s.path("enum").isArray()) {
            int e = 0;
            for (JsonNode v : s.get("enum")) e |= category(v);
            bits &= e;
        }
        return bits;
    }

    private static int typeBits(JsonNode type) {
        if (type.isArray()) {
            int bits = 0;
            for (JsonNode t : type) bits |= typeBits(t);
            return bits;
        }
        return switch (type.asText()) {
            case "object" -> OBJECT;
            case "array" -> ARRAY;
            case "string" -> STRING;
            case "integer" -> INTEGER;
            case "number" -> INTEGER | FRACTION;
            case "boolean" -> BOOLEAN;
            case "null" -> NULL;
            default -> ANY; // an error elsewhere
        };
    }

    static int category(JsonNode v) {
        if (v.isObject()) return OBJECT;
        if (v.isArray()) return ARRAY;
        if (v.isTextual()) return STRING;
        if (v.isBoolean()) return BOOLEAN;
        if (v.isNull()) return NULL;
        if (v.isNumber()) return v.isIntegralNumber() || v.decimalValue().stripTrailingZeros().scale() <= 0 ? INTEGER : FRACTION;
        return ANY;
    }

    /** JSON Schema equality: numbers by value, objects regardless of key order. */
    static boolean same(JsonNode a, JsonNode b) {
        if (a.isNumber() && b.isNumber()) return a.decimalValue().compareTo(b.decimalValue()) == 0;
        if (a.isArray() && b.isArray()) {
            if (a.size() != b.size()) return false;
            for (int i = 0; i < a.size(); i++) if (!same(a.get(i), b.get(i))) return false;
            return true;
        }
        if (a.isObject() && b.isObject()) {
            if (a.size() != b.size()) return false;
            for (Iterator<Map.Entry<String, JsonNode>> it = a.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!b.has(e.getKey()) || !same(e.getValue(), b.get(e.getKey()))) return false;
            }
            return true;
        }
        return a.equals(b);
    }

    /** Keywords that could widen what a schema accepts (patternProperties, prefixItems...) make its details unusable. */
    private static boolean onlyKnownKeywords(JsonNode s) {
        for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!JsonSchemaToGbnf.SUPPORTED.contains(k) && !JsonSchemaToGbnf.ANNOTATIONS.contains(k)) return false;
        }
        return true;
    }

    private static boolean contains(JsonNode list, String name) {
        for (JsonNode x : list) if (x.asText().equals(name)) return true;
        return false;
    }

    private static int count(JsonNode s, String k, int dflt) {
        JsonNode v = s.get(k);
        return v != null && v.canConvertToInt() && v.isIntegralNumber() && v.intValue() >= 0 ? v.intValue() : dflt;
    }

    /** Whether [minA, maxA] and [minB, maxB] meet (max -1: unbounded). */
    private static boolean overlap(int minA, int maxA, int minB, int maxB) {
        return (maxB < 0 || minA <= maxB) && (maxA < 0 || minB <= maxA);
    }
}
