package qwen4j.generate.constraint;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses llama.cpp's GBNF grammar format into a {@link Grammar}: {@code name ::= alternatives} rules, string
 * literals, character classes ({@code [a-z]}, {@code [^"]}), {@code .}, groups, {@code | * + ?} and
 * {@code {m}, {m,}, {m,n}} repetition, {@code #} comments. The rule named {@code root} is the start. Errors
 * name the line and column.
 */
public final class GbnfParser {
    /** Repetition bounds past this are refused: each repeat becomes rules, and nobody needs 10k of them. */
    static final int MAX_REPEAT = 1000;

    private final String src;
    private int pos;
    private final Grammar.Builder b = new Grammar.Builder();
    private final Map<String, Integer> ruleIds = new HashMap<>();
    private final Map<String, Integer> firstUse = new HashMap<>();
    private int helpers;

    private GbnfParser(String src) {
        this.src = src;
    }

    /** Parses GBNF text; throws {@link GrammarException} with "line L:C" on any error. */
    public static Grammar parse(String gbnf) {
        return new GbnfParser(gbnf).parseGrammar();
    }

    private Grammar parseGrammar() {
        ruleId("root"); // rule 0 is the root
        firstUse.remove("root");
        boolean any = false;
        while (true) {
            skip(true);
            if (pos >= src.length()) break;
            parseRule();
            any = true;
        }
        if (!any) throw error(0, "the grammar is empty: it needs at least a root ::= ... rule");
        if (!b.isDefined(0)) throw error(0, "the grammar has no 'root' rule (the start symbol)");
        for (Map.Entry<String, Integer> e : firstUse.entrySet()) {
            if (!b.isDefined(ruleIds.get(e.getKey()))) throw error(e.getValue(), "undefined rule '" + e.getKey() + "'");
        }
        return b.build();
    }

    private void parseRule() {
        int start = pos;
        String name = name();
        if (name.isEmpty()) throw error(pos, "expected a rule name, found " + found());
        skip(false);
        if (!src.startsWith("::=", pos)) throw error(pos, "expected '::=' after rule name '" + name + "', found " + found());
        pos += 3;
        int id = ruleId(name);
        if (b.isDefined(id)) throw error(start, "rule '" + name + "' is defined twice");
        firstUse.remove(name);
        skip(true);
        b.define(id, alternatives(name, false));
        skip(false);
        if (pos < src.length() && src.charAt(pos) != '\n' && src.charAt(pos) != '\r') {
            throw error(pos, "expected the end of the line after rule '" + name + "', found " + found());
        }
    }

    private List<int[]> alternatives(String rule, boolean nested) {
        List<int[]> alts = new ArrayList<>();
        alts.add(sequence(rule, nested));
        while (pos < src.length() && src.charAt(pos) == '|') {
            pos++;
            skip(true);
            alts.add(sequence(rule, nested));
        }
        return alts;
    }

    private int[] sequence(String rule, boolean nested) {
        List<Integer> seq = new ArrayList<>();
        int lastStart = -1;
        while (true) {
            skip(nested);
            if (pos >= src.length()) break;
            char c = src.charAt(pos);
            int at = pos;
            if (c == '"') {
                pos++;
                lastStart = seq.size();
                boolean empty = true;
                while (true) {
                    if (pos >= src.length() || src.charAt(pos) == '\n') throw error(at, "unterminated string literal");
                    if (src.charAt(pos) == '"') {
                        pos++;
                        break;
                    }
                    int cp = literalChar();
                    seq.add(b.set(new int[] {cp, cp}));
                    empty = false;
                }
                if (empty) lastStart = -1; // "" matches nothing: nothing to repeat
            } else if (c == '[') {
                lastStart = seq.size();
                seq.add(charClass());
            } else if (c == '.') {
                pos++;
                lastStart = seq.size();
                seq.add(b.set(new int[] {0, 0x10FFFF}));
            } else if (c == '(') {
                pos++;
                skip(true);
                List<int[]> alts = alternatives(rule, true);
                skip(true);
                if (pos >= src.length() || src.charAt(pos) != ')') throw error(at, "unclosed '(' (expected ')')");
                pos++;
                lastStart = seq.size();
                seq.add(Grammar.Builder.ref(b.add(rule + "-" + (++helpers), alts)));
            } else if (isNameChar(c)) {
                String name = name();
                lastStart = seq.size();
                seq.add(Grammar.Builder.ref(refId(name, at)));
            } else if (c == '*' || c == '+' || c == '?' || c == '{') {
                if (lastStart < 0) throw error(pos, "'" + c + "' has nothing before it to repeat");
                int min, max;
                pos++;
                if (c == '*') { min = 0; max = -1; }
                else if (c == '+') { min = 1; max = -1; }
                else if (c == '?') { min = 0; max = 1; }
                else {
                    skip(false);
                    min = number();
                    skip(false);
                    max = min;
                    if (pos < src.length() && src.charAt(pos) == ',') {
                        pos++;
                        skip(false);
                        max = pos < src.length() && Character.isDigit(src.charAt(pos)) ? number() : -1;
                        skip(false);
                    }
                    if (pos >= src.length() || src.charAt(pos) != '}') throw error(at, "expected '}' to close the repetition");
                    pos++;
                    if (max >= 0 && max < min) throw error(at, "repetition {" + min + "," + max + "}: the maximum is below the minimum");
                    if (Math.max(min, max) > MAX_REPEAT) throw error(at, "repetition bound over " + MAX_REPEAT);
                }
                List<Integer> item = new ArrayList<>(seq.subList(lastStart, seq.size()));
                seq.subList(lastStart, seq.size()).clear();
                seq.addAll(repeat(rule, item, min, max));
                lastStart = -1; // "x**" is a mistake, not a repeat of a repeat
            } else {
                break;
            }
        }
        return RegexToGbnf.ints(seq);
    }

    /** Expands {@code item{min,max}} (max -1: unbounded) into elements plus helper rules. */
    private List<Integer> repeat(String rule, List<Integer> item, int min, int max) {
        int[] x = RegexToGbnf.ints(item);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < min; i++) out.addAll(item);
        if (max < 0) {
            // star ::= x star | ()
            int star = b.declare(rule + "-" + (++helpers));
            int[] loop = java.util.Arrays.copyOf(x, x.length + 1);
            loop[x.length] = star;
            b.define(star, List.of(loop, new int[0]));
            out.add(star);
        } else if (max > min) {
            // opt_k ::= x opt_{k-1} | (), nested so that at most max-min more copies fit
            int next = -1;
            for (int k = 0; k < max - min; k++) {
                int opt = b.declare(rule + "-" + (++helpers));
                int[] alt = next < 0 ? x : java.util.Arrays.copyOf(x, x.length + 1);
                if (next >= 0) alt[x.length] = next;
                b.define(opt, List.of(alt, new int[0]));
                next = opt;
            }
            out.add(next);
        }
        return out;
    }

    private int charClass() {
        int at = pos;
        pos++; // [
        boolean negate = pos < src.length() && src.charAt(pos) == '^';
        if (negate) pos++;
        List<Integer> ranges = new ArrayList<>();
        while (true) {
            if (pos >= src.length() || src.charAt(pos) == '\n') throw error(at, "unterminated character class (expected ']')");
            if (src.charAt(pos) == ']') {
                pos++;
                break;
            }
            int lo = literalChar();
            int hi = lo;
            if (pos + 1 < src.length() && src.charAt(pos) == '-' && src.charAt(pos + 1) != ']' && src.charAt(pos + 1) != '\n') {
                pos++;
                hi = literalChar();
                if (hi < lo) throw error(at, "character range out of order");
            }
            ranges.add(lo);
            ranges.add(hi);
        }
        int[] r = RegexToGbnf.ints(ranges);
        if (negate) r = Grammar.complement(r);
        if (r.length == 0) throw error(at, "the character class matches nothing");
        return b.set(r);
    }

    /** One character of a literal or class, escapes decoded. */
    private int literalChar() {
        int at = pos;
        int c = src.codePointAt(pos);
        pos += Character.charCount(c);
        if (c != '\\') return c;
        if (pos >= src.length()) throw error(at, "a '\\' at the end of the input");
        char e = src.charAt(pos++);
        return switch (e) {
            case 'n' -> '\n';
            case 'r' -> '\r';
            case 't' -> '\t';
            case '\\', '"', '[', ']', '-', '/', '^' -> e;
            case 'x' -> hex(at, 2);
            case 'u' -> hex(at, 4);
            case 'U' -> hex(at, 8);
            default -> throw error(at, "unknown escape '\\" + e + "'");
        };
    }

    private int hex(int at, int digits) {
        if (pos + digits > src.length()) throw error(at, "expected " + digits + " hex digits after the escape");
        int v;
        try {
            v = Integer.parseInt(src.substring(pos, pos + digits), 16);
        } catch (NumberFormatException e) {
            throw error(at, "expected " + digits + " hex digits after the escape");
        }
        if (v < 0 || v > 0x10FFFF) throw error(at, "code point out of range");
        pos += digits;
        return v;
    }

    private int number() {
        int start = pos;
        while (pos < src.length() && Character.isDigit(src.charAt(pos))) pos++;
        if (start == pos) throw error(pos, "expected a number, found " + found());
        if (pos - start > 6) throw error(start, "repetition bound over " + MAX_REPEAT);
        return Integer.parseInt(src.substring(start, pos));
    }

    private String name() {
        int start = pos;
        while (pos < src.length() && isNameChar(src.charAt(pos))) pos++;
        return src.substring(start, pos);
    }

    private static boolean isNameChar(char c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_';
    }

    private int ruleId(String name) {
        Integer id = ruleIds.get(name);
        if (id == null) ruleIds.put(name, id = b.declare(name));
        return id;
    }

    private int refId(String name, int at) {
        int id = ruleId(name);
        if (!b.isDefined(id)) firstUse.putIfAbsent(name, at);
        return id;
    }

    /** Skips blanks and comments; newlines too when {@code newlines}. */
    private void skip(boolean newlines) {
        while (pos < src.length()) {
            char c = src.charAt(pos);
            if (c == ' ' || c == '\t' || (newlines && (c == '\n' || c == '\r'))) pos++;
            else if (c == '\r' && pos + 1 < src.length() && src.charAt(pos + 1) == '\n' && newlines) pos++;
            else if (c == '#') {
                while (pos < src.length() && src.charAt(pos) != '\n') pos++;
            } else break;
        }
    }

    private String found() {
        if (pos >= src.length()) return "the end of the grammar";
        int cp = src.codePointAt(pos);
        return cp == '\n' || cp == '\r' ? "the end of the line" : "'" + new String(Character.toChars(cp)) + "'";
    }

    private GrammarException error(int at, String message) {
        int line = 1, col = 1;
        for (int i = 0; i < at && i < src.length(); i++) {
            if (src.charAt(i) == '\n') {
                line++;
                col = 1;
            } else col++;
        }
        return new GrammarException("grammar line " + line + ":" + col + ": " + message);
    }
}
