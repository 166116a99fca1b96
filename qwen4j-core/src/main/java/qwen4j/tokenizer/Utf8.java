package qwen4j.tokenizer;

/**
 * Lenient UTF-8 decoding with the same replacement rule as Rust's {@code String::from_utf8_lossy}
 * (and the Unicode "maximal subpart" practice): each maximal prefix of a well-formed sequence that
 * cannot be completed becomes one U+FFFD.
 */
final class Utf8 {
    private Utf8() {}

    /**
     * Decodes {@code b[from, to)} into {@code out}. If {@code endOfInput} is false, an incomplete but
     * so-far valid sequence at the very end is not decoded. Returns the index of the first byte not
     * consumed ({@code to} when {@code endOfInput}).
     */
    static int decode(byte[] b, int from, int to, boolean endOfInput, StringBuilder out) {
        int i = from;
        while (i < to) {
            int b0 = b[i] & 0xFF;
            if (b0 < 0x80) {
                out.append((char) b0);
                i++;
                continue;
            }
            int need;
            int lo = 0x80, hi = 0xBF; // allowed range of the second byte
            if (b0 >= 0xC2 && b0 <= 0xDF) {
                need = 1;
            } else if (b0 >= 0xE0 && b0 <= 0xEF) {
                need = 2;
                if (b0 == 0xE0) lo = 0xA0;
                else if (b0 == 0xED) hi = 0x9F;
            } else if (b0 >= 0xF0 && b0 <= 0xF4) {
                need = 3;
                if (b0 == 0xF0) lo = 0x90;
                else if (b0 == 0xF4) hi = 0x8F;
            } else {
                out.append('\uFFFD');
                i++;
                continue;
            }
            int cp = b0 & (0x3F >> need);
            int j = 1;
            boolean bad = false;
            for (; j <= need; j++) {
                if (i + j >= to) break;
                int bj = b[i + j] & 0xFF;
                int l = j == 1 ? lo : 0x80, h = j == 1 ? hi : 0xBF;
                if (bj < l || bj > h) {
                    bad = true;
                    break;
                }
                cp = (cp << 6) | (bj & 0x3F);
            }
            if (j > need) {
                out.appendCodePoint(cp);
                i += need + 1;
            } else if (bad || endOfInput) {
                out.append('\uFFFD');
                i += j;
            } else {
                return i; // incomplete sequence at the end: wait for more bytes
            }
        }
        return to;
    }

    static String decode(byte[] b, int from, int to) {
        StringBuilder sb = new StringBuilder(to - from);
        decode(b, from, to, true, sb);
        return sb.toString();
    }
}
