package qwen4j.tokenizer;

/**
 * Hand-written scanner equivalent to the Qwen2 split regex (with HF's "Isolated" behaviour)
 *
 * <pre>
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * </pre>
 *
 * evaluated as a backtracking engine does (first alternative that matches wins, quantifiers
 * greedy), with Unicode classes: {@code \p{L}} = general categories Lu Ll Lt Lm Lo,
 * {@code \p{N}} = Nd Nl No, {@code \s} = the Unicode White_Space property (U+0009-U+000D, U+0020,
 * U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000). The regex covers
 * every character, so the pieces tile the input. Works on code points, so non-BMP letters, digits
 * and symbols are handled as single characters.
 */
final class Qwen2PreTokenizer {
    static final int LETTER = 1;
    static final int NUMBER = 2;
    static final int SPACE = 4;

    private static final byte[] BMP_CLASS = new byte[65536];

    static {
        for (int c = 0; c < 65536; c++) BMP_CLASS[c] = (byte) computeClass(c);
    }

    private Qwen2PreTokenizer() {}

    static int computeClass(int cp) {
        if (isWhiteSpace(cp)) return SPACE;
        switch (Character.getType(cp)) {
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                    Character.MODIFIER_LETTER, Character.OTHER_LETTER:
                return LETTER;
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER:
                return NUMBER;
            default:
                return 0;
        }
    }

    /** The Unicode White_Space property (PropList.txt), which is what {@code \s} means in Unicode mode. */
    static boolean isWhiteSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F
                || cp == 0x205F || cp == 0x3000;
    }

    static int classOf(int cp) {
        return cp < 65536 ? BMP_CLASS[cp] : computeClass(cp);
    }

    /** Class of the code point starting at index i (an unpaired surrogate is class 0). */
    private static int classAt(CharSequence s, int i, int end) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c) && i + 1 < end) {
            char d = s.charAt(i + 1);
            if (Character.isLowSurrogate(d)) return computeClass(Character.toCodePoint(c, d));
        }
        return BMP_CLASS[c];
    }

    /** Length in chars of the code point starting at index i. */
    private static int lenAt(CharSequence s, int i, int end) {
        return Character.isHighSurrogate(s.charAt(i)) && i + 1 < end && Character.isLowSurrogate(s.charAt(i + 1)) ? 2 : 1;
    }

    private static int skipClass(CharSequence s, int i, int end, int cls) {
        while (i < end && classAt(s, i, end) == cls) i += lenAt(s, i, end);
        return i;
    }

    /**
     * End (exclusive) of the piece that starts at {@code start}; {@code start < end}. Call repeatedly
     * to split {@code s[start, end)}.
     */
    static int next(CharSequence s, int start, int end) {
        final int i = start;
        final char c0 = s.charAt(i);

        // 1. (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if (c0 == '\'' && i + 1 < end) {
            char c1 = s.charAt(i + 1);
            switch (c1) {
                case 's', 'S', '\u017F', 't', 'T', 'm', 'M', 'd', 'D':
                    return i + 2;
                case 'r', 'R', 'v', 'V':
                    if (i + 2 < end && (s.charAt(i + 2) == 'e' || s.charAt(i + 2) == 'E')) return i + 3;
                    break;
                case 'l', 'L':
                    if (i + 2 < end && (s.charAt(i + 2) == 'l' || s.charAt(i + 2) == 'L')) return i + 3;
                    break;
                default:
                    break;
            }
        }

        final int cls0 = classAt(s, i, end);
        final int n0 = lenAt(s, i, end);

        // 2. [^\r\n\p{L}\p{N}]?\p{L}+
        if (cls0 == LETTER) return skipClass(s, i + n0, end, LETTER);
        if (cls0 != NUMBER && c0 != '\r' && c0 != '\n' && i + n0 < end && classAt(s, i + n0, end) == LETTER) {
            return skipClass(s, i + n0, end, LETTER);
        }

        // 3. \p{N}
        if (cls0 == NUMBER) return i + n0;

        // 4. ' '?[^\s\p{L}\p{N}]+[\r\n]*
        int k = c0 == ' ' ? i + 1 : i;
        if (k < end && classAt(s, k, end) == 0) {
            int j = skipClass(s, k, end, 0);
            while (j < end && (s.charAt(j) == '\r' || s.charAt(j) == '\n')) j++;
            return j;
        }

        // Here c0 is white space (every other case matched above). White-space chars are all BMP.
        int e = i;
        int lastNewline = -1;
        while (e < end) {
            char c = s.charAt(e);
            if (BMP_CLASS[c] != SPACE) break;
            if (c == '\r' || c == '\n') lastNewline = e;
            e++;
        }
        // 5. \s*[\r\n]+  (backtracking leaves the match ending just after the run's last CR/LF)
        if (lastNewline >= 0) return lastNewline + 1;
        // 6. \s+(?!\S)  (whole run at end of text, else all but the run's last char)
        if (e == end) return e;
        if (e - i >= 2) return e - 1;
        // 7. \s+
        return e;
    }
}
