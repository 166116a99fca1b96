package qwen4j.tokenizer;

import java.util.ArrayList;
import java.util.List;
import qwen4j.Qwen4jException;

/**
 * Keeps special-token text inside untrusted strings (chat message content) from becoming special
 * tokens once a chat template has pasted them between its own markers. Before rendering,
 * {@link #protect} replaces the first character of each special token written in a string (and of
 * a special token's beginning at the string's end, which the template's next text could complete)
 * with an escape pair; {@link #encode} then tokenizes the rendered prompt with special tokens
 * recognized (the template's own markers) and undoes the escapes in the text between them, so the
 * message text comes out exactly as {@code encode(text, false)} would tokenize it.
 *
 * <p>The escape character is one the template (trusted text) never contains; an escape character
 * in the untrusted text is itself escaped, so any text round-trips.
 */
public final class LiteralSpecials {
    private final Tokenizer tokenizer;
    private final char escape;
    /** The distinct first characters of special tokens; the k-th is escaped as escape + code(k). */
    private final String firsts;
    private final String[][] byFirst;

    private LiteralSpecials(Tokenizer tokenizer, char escape, String firsts, String[][] byFirst) {
        this.tokenizer = tokenizer;
        this.escape = escape;
        this.firsts = firsts;
        this.byFirst = byFirst;
    }

    /** For {@code tokenizer}'s special tokens; {@code trusted} is all text the template itself may emit (its source). */
    public static LiteralSpecials of(Tokenizer tokenizer, String trusted) {
        StringBuilder firsts = new StringBuilder();
        List<List<String>> groups = new ArrayList<>();
        for (String t : tokenizer.specialTokenContents()) {
            int k = firsts.indexOf(String.valueOf(t.charAt(0)));
            if (k < 0) {
                k = firsts.length();
                firsts.append(t.charAt(0));
                groups.add(new ArrayList<>());
            }
            groups.get(k).add(t);
        }
        String[][] byFirst = new String[groups.size()][];
        for (int k = 0; k < byFirst.length; k++) byFirst[k] = groups.get(k).toArray(new String[0]);
        // Unicode noncharacters first (never meaningful in text), then the private use area; codes
        // other than digits live at U+F000.., so the escape is chosen below that
        int[] ranges = {0xFDD0, 0xFDEF, 0xE000, 0xEFFF};
        for (int r = 0; r < ranges.length; r += 2) {
            for (int c = ranges[r]; c <= ranges[r + 1]; c++) {
                char e = (char) c;
                if (trusted.indexOf(e) < 0 && firsts.indexOf(String.valueOf(e)) < 0) {
                    return new LiteralSpecials(tokenizer, e, firsts.toString(), byFirst);
                }
            }
        }
        throw new Qwen4jException("the chat template uses every private-use character; cannot keep message text apart");
    }

    private static char code(int k) {
        return k < 9 ? (char) ('1' + k) : (char) (0xF000 + k);
    }

    private static int index(char code) {
        if (code >= '1' && code <= '9') return code - '1';
        return code >= 0xF000 + 9 ? code - 0xF000 : -1;
    }

    /** {@code s} with special-token text escaped, to be rendered into a template. */
    public String protect(String s) {
        StringBuilder b = null;
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            String replacement = null;
            if (c == escape) {
                replacement = escape + "0";
            } else {
                int k = firsts.indexOf(c);
                if (k >= 0 && startsSpecial(s, i, byFirst[k])) replacement = escape + String.valueOf(code(k));
            }
            if (replacement != null && b == null) b = new StringBuilder(n + 16).append(s, 0, i);
            if (b != null) {
                if (replacement != null) b.append(replacement);
                else b.append(c);
            }
        }
        return b == null ? s : b.toString();
    }

    /** Whether a special token starts at {@code i}, or {@code s[i..]} is the beginning of one. */
    private static boolean startsSpecial(String s, int i, String[] tokens) {
        int rest = s.length() - i;
        for (String t : tokens) {
            if (rest >= t.length() ? s.startsWith(t, i) : t.regionMatches(0, s, i, rest)) return true;
        }
        return false;
    }

    /** Undoes {@link #protect} in one stretch of plain text (a lone escape stays as it is). */
    String restore(String s) {
        int at = s.indexOf(escape);
        if (at < 0) return s;
        StringBuilder b = new StringBuilder(s.length()).append(s, 0, at);
        for (int i = at; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == escape && i + 1 < s.length()) {
                char d = s.charAt(i + 1);
                int k = index(d);
                if (d == '0') {
                    b.append(escape);
                    i++;
                    continue;
                }
                if (k >= 0 && k < firsts.length()) {
                    b.append(firsts.charAt(k));
                    i++;
                    continue;
                }
            }
            b.append(c);
        }
        return b.toString();
    }

    /** Tokenizes a rendered prompt: special tokens the template wrote are special, protected text is plain. */
    public int[] encode(String rendered) {
        return tokenizer.encode(rendered, true, this::restore);
    }
}
