package qwen4j.generate.constraint;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compiles a JSON Schema to GBNF (then to the common {@link Grammar}). Supported: {@code type} (one or a
 * list), {@code properties}, {@code required}, {@code additionalProperties} (false; a schema for maps),
 * {@code enum}, {@code const}, {@code items}, {@code minItems}, {@code maxItems}, {@code anyOf}, {@code oneOf} (provably disjoint alternatives),
 * {@code $ref} to {@code #/$defs/...} or {@code #/definitions/...}, {@code minLength}, {@code maxLength},
 * {@code pattern} (regular subset). Annotations (title, description, ...) are ignored. Any other keyword is
 * an error naming it, or, when not strict, a warning and ignored. Objects list properties in schema order;
 * no extra properties are generated (still valid when they would be allowed).
 */
public final class JsonSchemaToGbnf {
    static final Set<String> ANNOTATIONS = Set.of("title", "description", "$schema", "$id", "$comment", "default",
            "examples", "deprecated", "readOnly", "writeOnly", "$defs", "definitions", "strict");
    static final Set<String> SUPPORTED = Set.of("type", "properties", "required", "additionalProperties", "enum",
            "const", "items", "minItems", "maxItems", "anyOf", "oneOf", "$ref", "minLength", "maxLength", "pattern");

    /** The JSON value grammar's shared rules (also the json_object grammar's). */
    static final String VALUE_RULES = """
            value ::= object | array | string | number | "true" | "false" | "null"
            object ::= "{" ws ( string ws ":" ws value ws ( "," ws string ws ":" ws value ws )* )? "}"
            array ::= "[" ws ( value ws ( "," ws value ws )* )? "]"
            string ::= "\\"" char* "\\""
            char ::= [^"\\\\\\x00-\\x1f] | "\\\\" ( ["\\\\/bfnrt] | "u" ( [0-9a-cA-Ce-fE-F] hex hex hex | [dD] [0-7] hex hex ) )
            hex ::= [0-9a-fA-F]
            integer ::= "-"? ( "0" | [1-9] [0-9]{0,15} )
            number ::= integer ( "." [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,2} )?
            boolean ::= "true" | "false"
            null ::= "null"
            # one optional space: compact JSON (free whitespace lets a weak model pad instead of answering)
            ws ::= " "?
            """;

    /** Any JSON object (OpenAI's {@code json_object} mode). */
    public static final String JSON_OBJECT = "root ::= object\n" + VALUE_RULES;

    /** Any JSON value. */
    public static final String JSON_VALUE = "root ::= value\n" + VALUE_RULES;

    private JsonNode root;
    private boolean strict;
    private final List<String> warnings = new ArrayList<>();
    private final Map<String, String> rules = new LinkedHashMap<>();
    private final Map<String, String> refRules = new HashMap<>();
    private final Map<String, String> ruleByBody = new HashMap<>();
    private int counter;
    private final OneOfCheck oneOf = new OneOfCheck();

    /** The GBNF text and the keywords ignored (non-strict only). */
    public record Result(String gbnf, List<String> warnings) {}

    private JsonSchemaToGbnf(JsonNode root, boolean strict) {
        this.root = root;
        this.strict = strict;
    }

    public static Result compile(JsonNode schema, boolean strict) {
        JsonSchemaToGbnf c = new JsonSchemaToGbnf(schema, strict);
        String top = c.schema(schema, "#");
        StringBuilder sb = new StringBuilder("root ::= ").append(top).append('\n');
        for (Map.Entry<String, String> r : c.rules.entrySet()) sb.append(r.getKey()).append(" ::= ").append(r.getValue()).append('\n');
        sb.append(VALUE_RULES);
        return new Result(sb.toString(), List.copyOf(c.warnings));
    }

    /** A function the model may call: its name and the JSON Schema of its arguments. */
    public record Tool(String name, JsonNode parameters, boolean strict) {}

    /**
     * Qwen2.5's tool-call block, {@code <tool_call>\n{"name": "NAME", "arguments": {...}}\n</tool_call>}, for one
     * of the tools (the name picks the schema the arguments must satisfy).
     */
    public static String toolCall(List<Tool> tools) {
        JsonSchemaToGbnf c = new JsonSchemaToGbnf(null, true);
        List<String> alts = new ArrayList<>();
        for (Tool t : tools) {
            c.root = t.parameters();
            c.strict = t.strict();
            c.refRules.clear();
            String args = c.schema(t.parameters(), "#");
            String head = "<tool_call>\n{\"name\": " + jsonText(com.fasterxml.jackson.databind.node.TextNode.valueOf(t.name()))
                    + ", \"arguments\": ";
            alts.add("\"" + RegexToGbnf.gbnfEscape(head) + "\" " + args + " \"" + RegexToGbnf.gbnfEscape("}\n</tool_call>") + "\"");
        }
        StringBuilder sb = new StringBuilder("root ::= ").append(String.join(" | ", alts)).append('\n');
        for (Map.Entry<String, String> r : c.rules.entrySet()) sb.append(r.getKey()).append(" ::= ").append(r.getValue()).append('\n');
        sb.append(VALUE_RULES);
        return sb.toString();
    }

    /** A GBNF expression for values valid against {@code s}. */
    private String schema(JsonNode s, String path) {
        if (s == null || s.isMissingNode()) return "value";
        if (s.isBoolean()) {
            if (s.booleanValue()) return "value";
            throw new GrammarException("JSON Schema at " + path + " is false: no value is valid");
        }
        if (!s.isObject()) throw new GrammarException("JSON Schema at " + path + " must be an object or a boolean");
        checkKeywords(s, path);
        if (s.has("$ref")) return ref(s.get("$ref").asText(), path);
        if (s.has("const")) return literal(s.get("const"));
        if (s.has("enum")) {
            JsonNode e = s.get("enum");
            if (!e.isArray() || e.isEmpty()) throw new GrammarException("JSON Schema at " + path + ": enum must be a non-empty array");
            List<String> alts = new ArrayList<>();
            for (JsonNode v : e) alts.add(literal(v));
            return "(" + String.join(" | ", alts) + ")";
        }
        for (String k : new String[] {"anyOf", "oneOf"}) {
            if (!s.has(k)) continue;
            JsonNode list = s.get(k);
            if (!list.isArray() || list.isEmpty()) throw new GrammarException("JSON Schema at " + path + ": " + k + " must be a non-empty array");
            for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (!f.equals(k) && !ANNOTATIONS.contains(f)) {
                    throw new GrammarException("JSON Schema at " + path + ": '" + f + "' next to '" + k + "' is not supported (move it into each alternative)");
                }
            }
            List<String> alts = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) alts.add(schema(list.get(i), path + "/" + k + "/" + i));
            if (k.equals("oneOf")) checkDisjoint(list, path);
            return rule("(" + String.join(" | ", alts) + ")");
        }
        JsonNode type = s.get("type");
        if (type == null) {
            if (s.has("properties") || s.has("additionalProperties") || s.has("required")) return object(s, path);
            if (s.has("items") || s.has("minItems") || s.has("maxItems")) return array(s, path);
            if (s.has("pattern") || s.has("minLength") || s.has("maxLength")) return string(s, path);
            return "value";
        }
        if (type.isArray()) {
            List<String> alts = new ArrayList<>();
            for (JsonNode t : type) alts.add(typed(s, t.asText(), path));
            if (alts.isEmpty()) throw new GrammarException("JSON Schema at " + path + ": type is an empty list");
            return "(" + String.join(" | ", alts) + ")";
        }
        return typed(s, type.asText(), path);
    }

    private String typed(JsonNode s, String type, String path) {
        return switch (type) {
            case "object" -> object(s, path);
            case "array" -> array(s, path);
            case "string" -> string(s, path);
            case "integer" -> "integer";
            case "number" -> "number";
            case "boolean" -> "boolean";
            case "null" -> "null";
            default -> throw new GrammarException("JSON Schema at " + path + ": unknown type '" + type + "'");
        };
    }

    private void checkKeywords(JsonNode s, String path) {
        for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (SUPPORTED.contains(k) || ANNOTATIONS.contains(k)) continue;
            String what = "unsupported JSON Schema keyword '" + k + "' at " + path;
            if (strict) throw new GrammarException(what + " (supported: " + String.join(", ", new java.util.TreeSet<>(SUPPORTED)) + ")");
            warnings.add(what + " was ignored");
        }
    }

    /**
     * oneOf compiles as the union of its alternatives, which is exact only when no generated value matches two
     * of them; unless that is proven, it is an unsupported construct (or, not strict, anyOf with a warning).
     */
    private void checkDisjoint(JsonNode list, String path) {
        for (int i = 0; i < list.size(); i++) {
            for (int j = i + 1; j < list.size(); j++) {
                if (oneOf.disjoint(root, list.get(i), list.get(j))) continue;
                String what = "unsupported JSON Schema keyword 'oneOf' at " + path + ": alternatives " + i + " and " + j
                        + " may both match one value";
                if (strict) {
                    throw new GrammarException(what + " (oneOf is supported when its alternatives are provably disjoint: "
                            + "different types, a required property with different const/enum values, or a required "
                            + "property the other forbids with additionalProperties false; else use anyOf)");
                }
                warnings.add(what + "; it was compiled as anyOf");
                return;
            }
        }
    }

    private String ref(String ref, String path) {
        String done = refRules.get(ref);
        if (done != null) return done;
        JsonNode target;
        if (ref.equals("#")) target = root;
        else if (ref.startsWith("#/$defs/") || ref.startsWith("#/definitions/")) target = root.at(ref.substring(1));
        else throw new GrammarException("JSON Schema at " + path + ": $ref '" + ref + "' is not supported (only #, #/$defs/... and #/definitions/...)");
        if (target.isMissingNode()) throw new GrammarException("JSON Schema at " + path + ": $ref '" + ref + "' points to nothing");
        String name = "ref-" + (++counter);
        refRules.put(ref, name);
        rules.put(name, ""); // reserve: recursive refs see the name
        rules.put(name, schema(target, ref));
        return name;
    }

    private String object(JsonNode s, String path) {
        JsonNode props = s.get("properties");
        Map<String, JsonNode> all = new LinkedHashMap<>();
        if (props != null) {
            if (!props.isObject()) throw new GrammarException("JSON Schema at " + path + ": properties must be an object");
            for (Iterator<Map.Entry<String, JsonNode>> it = props.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                all.put(e.getKey(), e.getValue());
            }
        }
        Set<String> required = new LinkedHashSet<>();
        if (s.has("required")) for (JsonNode r : s.get("required")) required.add(r.asText());
        for (String r : required) all.putIfAbsent(r, null);
        JsonNode extra = s.get("additionalProperties");
        if (all.isEmpty() && extra != null && extra.isObject()) {
            String v = schema(extra, path + "/additionalProperties");
            String kv = "string ws \":\" ws " + v;
            return rule("\"{\" ws ( " + kv + " ( ws \",\" ws " + kv + " )* ws )? \"}\"");
        }
        if (all.isEmpty()) return rule("\"{\" ws \"}\"");
        List<String> names = new ArrayList<>(all.keySet());
        int n = names.size();
        // after: properties i.. once something was written; first: the same, nothing written yet (null: empty)
        String after = null, first = null;
        for (int i = n - 1; i >= 0; i--) {
            String name = names.get(i);
            String kv = literal(com.fasterxml.jackson.databind.node.TextNode.valueOf(name)) + " ws \":\" ws "
                    + schema(all.get(name), path + "/properties/" + name);
            String rest = after == null ? "" : " " + after;
            String a = "ws \",\" ws " + kv + rest;
            String f = kv + rest;
            if (!required.contains(name)) {
                a = after == null ? "( " + a + " )?" : "( " + a + " ) | " + after;
                f = first == null ? "( " + f + " )?" : "( " + f + " ) | " + first;
            }
            after = rule(a);
            first = rule(f);
        }
        return rule("\"{\" ws " + first + " ws \"}\"");
    }

    private String array(JsonNode s, String path) {
        String item = schema(s.get("items"), path + "/items");
        int min = intKeyword(s, "minItems", 0, path);
        int max = intKeyword(s, "maxItems", -1, path);
        if (max >= 0 && max < min) throw new GrammarException("JSON Schema at " + path + ": maxItems is below minItems");
        if (max == 0) return rule("\"[\" ws \"]\"");
        String more = "( ws \",\" ws " + item + " )" + repeat(Math.max(0, min - 1), max < 0 ? -1 : max - 1);
        String body = item + " " + more;
        return rule("\"[\" ws " + (min == 0 ? "( " + body + " ws )?" : body + " ws") + " \"]\"");
    }

    private String string(JsonNode s, String path) {
        int min = intKeyword(s, "minLength", 0, path);
        int max = intKeyword(s, "maxLength", -1, path);
        if (max >= 0 && max < min) throw new GrammarException("JSON Schema at " + path + ": maxLength is below minLength");
        if (s.has("pattern")) {
            if (s.has("minLength") || s.has("maxLength")) {
                throw new GrammarException("JSON Schema at " + path + ": pattern together with minLength/maxLength is not supported");
            }
            return rule("\"\\\"\" " + RegexToGbnf.compile(s.get("pattern").asText()) + " \"\\\"\"");
        }
        if (min == 0 && max < 0) return "string";
        return rule("\"\\\"\" char" + repeat(min, max) + " \"\\\"\"");
    }

    private static String repeat(int min, int max) {
        if (Math.max(min, max) > GbnfParser.MAX_REPEAT) {
            throw new GrammarException("JSON Schema length or item bounds over " + GbnfParser.MAX_REPEAT + " are not supported");
        }
        if (max < 0) return min == 0 ? "*" : "{" + min + ",}";
        return "{" + min + "," + max + "}";
    }

    private static int intKeyword(JsonNode s, String k, int dflt, String path) {
        JsonNode v = s.get(k);
        if (v == null) return dflt;
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.intValue() < 0) {
            throw new GrammarException("JSON Schema at " + path + ": " + k + " must be a non-negative integer");
        }
        return v.intValue();
    }

    /** A named rule for an expression (identical bodies share one rule). */
    private String rule(String body) {
        String name = ruleByBody.get(body);
        if (name != null) return name;
        name = "s-" + (++counter);
        rules.put(name, body);
        ruleByBody.put(body, name);
        return name;
    }

    private static String literal(JsonNode v) {
        return "\"" + RegexToGbnf.gbnfEscape(jsonText(v)) + "\"";
    }

    /**
     * Compact JSON text of a value. Written here rather than by an ObjectMapper: Jackson's serializer setup costs
     * tens of ms the first time in a JVM, most of a cold schema compile.
     */
    static String jsonText(JsonNode v) {
        StringBuilder sb = new StringBuilder();
        writeJson(v, sb);
        return sb.toString();
    }

    private static void writeJson(JsonNode v, StringBuilder sb) {
        if (v.isTextual()) {
            sb.append('"').append(JsonStringEncoder.getInstance().quoteAsString(v.textValue())).append('"');
        } else if (v.isArray()) {
            sb.append('[');
            for (int i = 0; i < v.size(); i++) {
                if (i > 0) sb.append(',');
                writeJson(v.get(i), sb);
            }
            sb.append(']');
        } else if (v.isObject()) {
            sb.append('{');
            boolean first = true;
            for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); first = false) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!first) sb.append(',');
                sb.append('"').append(JsonStringEncoder.getInstance().quoteAsString(e.getKey())).append("\":");
                writeJson(e.getValue(), sb);
            }
            sb.append('}');
        } else {
            sb.append(v.asText()); // numbers as parsed, true, false, null
        }
    }

}
