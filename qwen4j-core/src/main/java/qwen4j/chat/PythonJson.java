package qwen4j.chat;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/** JSON text exactly as Python's {@code json.dumps(x, ensure_ascii=False)} writes it (", " and ": " separators). */
final class PythonJson {
    private PythonJson() {}

    static String dumps(Object value) {
        StringBuilder sb = new StringBuilder();
        write(value, sb, -1, false, 0);
        return sb.toString();
    }

    /** {@code indent} < 0: one line; otherwise Python's indent=N layout (separators "," and ": "). */
    static void write(Object value, StringBuilder sb, int indent, boolean sortKeys, int level) {
        switch (value) {
            case null -> sb.append("null");
            case String s -> string(s, sb);
            case Boolean b -> sb.append(b ? "true" : "false");
            case Double d -> sb.append(pyFloat(d));
            case Float f -> sb.append(pyFloat(f.doubleValue()));
            case Number n -> sb.append(n.toString());
            case Map<?, ?> map -> {
                if (map.isEmpty()) {
                    sb.append("{}");
                    return;
                }
                List<Map.Entry<?, ?>> entries = new ArrayList<>(map.entrySet());
                if (sortKeys) entries.sort((a, b) -> String.valueOf(a.getKey()).compareTo(String.valueOf(b.getKey())));
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : entries) {
                    if (!first) sb.append(indent < 0 ? ", " : ",");
                    first = false;
                    newline(sb, indent, level + 1);
                    string(String.valueOf(e.getKey()), sb);
                    sb.append(": ");
                    write(e.getValue(), sb, indent, sortKeys, level + 1);
                }
                newline(sb, indent, level);
                sb.append('}');
            }
            case Collection<?> list -> {
                if (list.isEmpty()) {
                    sb.append("[]");
                    return;
                }
                sb.append('[');
                boolean first = true;
                for (Object o : list) {
                    if (!first) sb.append(indent < 0 ? ", " : ",");
                    first = false;
                    newline(sb, indent, level + 1);
                    write(o, sb, indent, sortKeys, level + 1);
                }
                newline(sb, indent, level);
                sb.append(']');
            }
            default -> string(value.toString(), sb);
        }
    }

    private static void newline(StringBuilder sb, int indent, int level) {
        if (indent < 0) return;
        sb.append('\n');
        sb.append(" ".repeat(indent * level));
    }

    /** Python's float repr: shortest round-trip digits, "1e+20" style exponents, "NaN"/"Infinity". */
    static String pyFloat(double d) {
        if (Double.isNaN(d)) return "NaN";
        if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
        if (d == Math.rint(d) && Math.abs(d) < 1e16) {
            String s = new java.math.BigDecimal(d).toPlainString();
            return (d == 0 && 1 / d < 0 ? "-" : "") + s + ".0";
        }
        String s = Double.toString(d);
        int e = s.indexOf('E');
        if (e < 0) return s;
        String mantissa = s.substring(0, e);
        if (mantissa.endsWith(".0")) mantissa = mantissa.substring(0, mantissa.length() - 2);
        int exp = Integer.parseInt(s.substring(e + 1));
        if (exp >= -4 && exp < 16) return new java.math.BigDecimal(s).toPlainString();
        return mantissa + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    }

    private static void string(String s, StringBuilder sb) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }
}
