package qwen4j.generate.constraint;

import java.util.ArrayList;
import java.util.List;

/**
 * Compiles the regular subset of ECMA-262 patterns (JSON Schema's {@code pattern}) to a GBNF expression
 * that matches the pattern's strings as they appear inside a JSON string: characters JSON must escape are
 * produced escaped. Literals, {@code .}, classes, {@code \d \w \s} and their negations, groups,
 * alternation and quantifiers are supported; what is not a regular language (back-references,
 * lookaround, word boundaries) or not supported is rejected by name.
 */
final class RegexToGbnf {
    private final String re;
    private int pos;

    private RegexToGbnf(String re) {
        this.re = re;
    }

    /** The GBNF expression for the string content; unanchored ends allow any text around the match. */
    static String compile(String pattern) {
        RegexToGbnf p = new RegexToGbnf(pattern);
        boolean start = pattern.startsWith("^");
        if (start) p.pos = 1;
        String body = p.alternation();
        boolean end = false;
        if (p.pos < pattern.length() && pattern.charAt(p.pos) == '$' && p.pos == pattern.length() - 1) {
            end = true;
            p.pos++;
        }
        if (p.pos < pattern.length()) throw p.error("'" + pattern.charAt(p.pos) + "' here is not supported");
        // JSON Schema patterns match anywhere in the string unless anchored
        return (start ? "" : "char* ") + "(" + body + ")" + (end ? "" : " char*");
    }

    private String alternation() {
        List<String> alts = new ArrayList<>();
        alts.add(concatenation());
        while (pos < re.length() && re.charAt(pos) == '|') {
            pos++;
            alts.add(concatenation());
        }
        return String.join(" | ", alts);
    }

    private String concatenation() {
        StringBuilder sb = new StringBuilder();
        while (pos < re.length()) {
            char c = re.charAt(pos);
            if (c == '|' || c == ')') break;
            if (c == '$' && pos == re.length() - 1) break;
            String atom = atom();
            String q = quantifier();
            if (sb.length() > 0) sb.append(' ');
            sb.append(atom).append(q);
        }
        return sb.length() == 0 ? "\"\"" : sb.toString();
    }

    private String quantifier() {
        if (pos >= re.length()) return "";
        char c = re.charAt(pos);
        String q;
        if (c == '*' || c == '+' || c == '?') {
            pos++;
            q = String.valueOf(c);
        } else if (c == '{' && pos + 1 < re.length() && Character.isDigit(re.charAt(pos + 1))) {
            int close = re.indexOf('}', pos);
            if (close < 0) throw error("unclosed '{'");
            String inner = re.substring(pos + 1, close);
            if (!isRepetition(inner)) throw error("bad repetition {" + inner + "}");
            q = "{" + inner + "}";
            pos = close + 1;
        } else {
            return "";
        }
        if (pos < re.length() && re.charAt(pos) == '?') pos++; // lazy: same language
        if (pos < re.length() && (re.charAt(pos) == '*' || re.charAt(pos) == '+' || re.charAt(pos) == '{')) {
            throw error("a quantifier after a quantifier is not supported");
        }
        return q;
    }

    /** {@code m} or {@code m,} or {@code m,n}, at most 4 digits each. */
    private static boolean isRepetition(String s) {
        int comma = s.indexOf(',');
        String min = comma < 0 ? s : s.substring(0, comma), max = comma < 0 ? "" : s.substring(comma + 1);
        return !min.isEmpty() && min.length() <= 4 && digits(min) && max.length() <= 4 && digits(max);
    }

    private static boolean digits(String s) {
        for (int i = 0; i < s.length(); i++) if (s.charAt(i) < '0' || s.charAt(i) > '9') return false;
        return true;
    }

    private String atom() {
        char c = re.charAt(pos);
        switch (c) {
            case '(' -> {
                pos++;
                if (re.startsWith("?:", pos)) pos += 2;
                else if (re.startsWith("?=", pos) || re.startsWith("?!", pos) || re.startsWith("?<=", pos)
                        || re.startsWith("?<!", pos)) {
                    throw error("lookaround (?=, (?!, (?<=, (?<!) is not a regular language");
                } else if (re.startsWith("?<", pos)) {
                    int close = re.indexOf('>', pos);
                    if (close < 0) throw error("unclosed group name");
                    pos = close + 1;
                } else if (re.startsWith("?", pos)) throw error("group flags (?...) are not supported");
                String inner = alternation();
                if (pos >= re.length() || re.charAt(pos) != ')') throw error("unclosed '('");
                pos++;
                return "(" + inner + ")";
            }
            case '[' -> { return charClass(); }
            case '.' -> {
                pos++;
                return classToGbnf(Grammar.complement(new int[] {'\n', '\n', '\r', '\r', 0x2028, 0x2029}));
            }
            case '^' -> throw error("'^' is only supported at the start of the pattern");
            case '$' -> throw error("'$' is only supported at the end of the pattern");
            case '*', '+', '?' -> throw error("'" + c + "' has nothing before it to repeat");
            case '\\' -> {
                int[] set = escape(false);
                return set.length == 2 && set[0] == set[1] ? literal(set[0]) : classToGbnf(set);
            }
            default -> {
                int cp = re.codePointAt(pos);
                pos += Character.charCount(cp);
                return literal(cp);
            }
        }
    }

    private String charClass() {
        pos++;
        boolean negate = pos < re.length() && re.charAt(pos) == '^';
        if (negate) pos++;
        List<Integer> r = new ArrayList<>();
        boolean first = true;
        while (true) {
            if (pos >= re.length()) throw error("unclosed '['");
            char c = re.charAt(pos);
            if (c == ']' && !first) {
                pos++;
                break;
            }
            first = false;
            int[] lo = classChar();
            if (lo.length == 2 && lo[0] == lo[1] && pos + 1 < re.length() && re.charAt(pos) == '-' && re.charAt(pos + 1) != ']') {
                pos++;
                int[] hi = classChar();
                if (hi.length != 2 || hi[0] != hi[1] || hi[0] < lo[0]) throw error("bad range in character class");
                r.add(lo[0]);
                r.add(hi[0]);
            } else {
                for (int x : lo) r.add(x);
            }
        }
        int[] set = Grammar.normalize(ints(r));
        if (negate) set = Grammar.complement(set);
        return classToGbnf(set);
    }

    private int[] classChar() {
        if (re.charAt(pos) == '\\') return escape(true);
        int cp = re.codePointAt(pos);
        pos += Character.charCount(cp);
        return new int[] {cp, cp};
    }

    /** An escape as code-point ranges. */
    private int[] escape(boolean inClass) {
        pos++;
        if (pos >= re.length()) throw error("a '\\' at the end of the pattern");
        char e = re.charAt(pos++);
        int[] digit = {'0', '9'};
        int[] word = Grammar.normalize(new int[] {'0', '9', 'A', 'Z', '_', '_', 'a', 'z'});
        int[] space = Grammar.normalize(new int[] {' ', ' ', '\t', '\r', 0xA0, 0xA0, 0x2028, 0x2029, 0xFEFF, 0xFEFF});
        return switch (e) {
            case 'd' -> digit;
            case 'D' -> Grammar.complement(digit);
            case 'w' -> word;
            case 'W' -> Grammar.complement(word);
            case 's' -> space;
            case 'S' -> Grammar.complement(space);
            case 'n' -> new int[] {'\n', '\n'};
            case 'r' -> new int[] {'\r', '\r'};
            case 't' -> new int[] {'\t', '\t'};
            case 'f' -> new int[] {'\f', '\f'};
            case 'v' -> new int[] {0x0B, 0x0B};
            case '0' -> new int[] {0, 0};
            case 'x', 'u' -> {
                int n = e == 'x' ? 2 : 4;
                if (pos + n > re.length()) throw error("\\" + e + " needs " + n + " hex digits");
                int v;
                try {
                    v = Integer.parseInt(re.substring(pos, pos + n), 16);
                } catch (NumberFormatException ex) {
                    throw error("\\" + e + " needs " + n + " hex digits");
                }
                pos += n;
                yield new int[] {v, v};
            }
            case 'b' -> {
                if (inClass) yield new int[] {8, 8};
                throw error("word boundaries (\\b) are not a regular language here");
            }
            case 'B' -> throw error("\\B is not supported");
            case 'p', 'P' -> throw error("Unicode property classes (\\p{...}) are not supported");
            case 'k' -> throw error("back-references are not a regular language");
            default -> {
                if (e >= '1' && e <= '9') throw error("back-references (\\" + e + ") are not a regular language");
                if (Character.isLetterOrDigit(e)) throw error("unknown escape \\" + e);
                yield new int[] {e, e};
            }
        };
    }

    /** A GBNF literal producing code point {@code cp} inside a JSON string (escaped if JSON requires). */
    static String literal(int cp) {
        return "\"" + gbnfEscape(jsonEscape(cp)) + "\"";
    }

    /** JSON string content for one code point. */
    static String jsonEscape(int cp) {
        return switch (cp) {
            case '"' -> "\\\"";
            case '\\' -> "\\\\";
            case '\n' -> "\\n";
            case '\r' -> "\\r";
            case '\t' -> "\\t";
            case '\b' -> "\\b";
            case '\f' -> "\\f";
            default -> cp < 0x20 ? "\\u" + hex(cp, 4) : new String(Character.toChars(cp));
        };
    }

    /** Escapes text for a GBNF string literal. */
    static String gbnfEscape(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (cp == '"' || cp == '\\') sb.append('\\').appendCodePoint(cp);
            else if (cp < 0x20 || cp == 0x7f) sb.append("\\x").append(hex(cp, 2));
            else sb.appendCodePoint(cp);
        }
        return sb.toString();
    }

    /** A set of code points as they appear in JSON string content: plain ones as a class, others escaped. */
    static String classToGbnf(int[] set) {
        // characters JSON must escape cannot appear raw: the class keeps the rest, escapes are alternatives
        int[] plain = Grammar.normalize(intersect(set, new int[] {0x20, 0x21, 0x23, 0x5B, 0x5D, 0xD7FF, 0xE000, 0x10FFFF}));
        List<String> alts = new ArrayList<>();
        if (plain.length > 0) alts.add(classText(plain));
        for (int cp : new int[] {'"', '\\'}) if (Grammar.contains(set, cp)) alts.add(literal(cp));
        for (int cp = 0; cp < 0x20; cp++) if (Grammar.contains(set, cp)) alts.add(literal(cp));
        if (alts.isEmpty()) throw new GrammarException("a character class in the pattern matches nothing");
        return alts.size() == 1 ? alts.get(0) : "(" + String.join(" | ", alts) + ")";
    }

    static String classText(int[] ranges) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < ranges.length; i += 2) {
            sb.append(classEscape(ranges[i]));
            if (ranges[i + 1] != ranges[i]) sb.append('-').append(classEscape(ranges[i + 1]));
        }
        return sb.append(']').toString();
    }

    private static String classEscape(int cp) {
        if (cp == ']' || cp == '\\' || cp == '-' || cp == '^' || cp == '[' || cp == '"') return "\\" + (char) cp;
        if (cp < 0x20 || cp == 0x7f) return "\\x" + hex(cp, 2);
        if (cp > 0xFFFF) return "\\U" + hex(cp, 8);
        if (cp >= 0x80) return "\\u" + hex(cp, 4);
        return String.valueOf((char) cp);
    }

    /** Lowercase hex, zero-padded to {@code digits} (String.format's parser is slow the first time in a JVM). */
    static String hex(int v, int digits) {
        String h = Integer.toHexString(v);
        return "0".repeat(Math.max(0, digits - h.length())) + h;
    }

    static int[] ints(List<Integer> list) {
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) out[i] = list.get(i);
        return out;
    }

    private static int[] intersect(int[] a, int[] b) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < a.length; i += 2) {
            for (int j = 0; j < b.length; j += 2) {
                int lo = Math.max(a[i], b[j]), hi = Math.min(a[i + 1], b[j + 1]);
                if (lo <= hi) {
                    out.add(lo);
                    out.add(hi);
                }
            }
        }
        return ints(out);
    }

    private GrammarException error(String message) {
        return new GrammarException("pattern \"" + re + "\" at offset " + pos + ": " + message);
    }
}
