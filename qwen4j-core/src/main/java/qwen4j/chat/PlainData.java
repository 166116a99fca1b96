package qwen4j.chat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import qwen4j.Qwen4jException;

/**
 * Copies template inputs into plain data: LinkedHashMap (string keys, insertion order kept), ArrayList,
 * String, Long, Double, Boolean and null. Anything else (arbitrary Java objects) is refused, so a template
 * never sees an object whose methods it could call.
 */
public final class PlainData {
    private static final int MAX_DEPTH = 64;

    private PlainData() {}

    public static Object copy(Object value) {
        return copy(value, 0);
    }

    private static Object copy(Object value, int depth) {
        if (depth > MAX_DEPTH) throw new Qwen4jException("chat template input nested too deeply");
        return switch (value) {
            case null -> null;
            case String s -> s;
            case Boolean b -> b;
            case Integer i -> i.longValue();
            case Long l -> l;
            case Short s -> s.longValue();
            case Byte b -> b.longValue();
            case Float f -> f.doubleValue();
            case Double d -> d;
            case Character c -> String.valueOf(c);
            case JsonNode node -> fromJson(node, depth);
            case Map<?, ?> map -> {
                Map<String, Object> out = new LinkedHashMap<>();
                for (Map.Entry<?, ?> e : map.entrySet()) out.put(String.valueOf(e.getKey()), copy(e.getValue(), depth + 1));
                yield out;
            }
            case List<?> list -> {
                List<Object> out = new ArrayList<>(list.size());
                for (Object o : list) out.add(copy(o, depth + 1));
                yield out;
            }
            case Message m -> copy(m.toMap(), depth);
            default -> throw new Qwen4jException("chat template input: unsupported value of type "
                    + value.getClass().getSimpleName());
        };
    }

    private static Object fromJson(JsonNode node, int depth) {
        if (node == null || node.isNull() || node.isMissingNode()) return null;
        if (node.isTextual()) return node.asText();
        if (node.isBoolean()) return node.booleanValue();
        if (node.isIntegralNumber()) return node.canConvertToLong() ? (Object) node.longValue() : node.asText();
        if (node.isNumber()) return node.doubleValue();
        if (node.isArray()) {
            List<Object> out = new ArrayList<>(node.size());
            for (JsonNode n : node) out.add(copy(n, depth + 1));
            return out;
        }
        if (node.isObject()) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                out.put(e.getKey(), copy(e.getValue(), depth + 1));
            }
            return out;
        }
        throw new Qwen4jException("chat template input: unsupported JSON node " + node.getNodeType());
    }
}
