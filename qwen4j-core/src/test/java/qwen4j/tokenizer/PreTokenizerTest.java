package qwen4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The hand-written scanner against the regex it implements. */
class PreTokenizerTest {

    static List<String> split(String s) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < s.length(); ) {
            int j = Qwen2PreTokenizer.next(s, i, s.length());
            assertThat(j).isGreaterThan(i);
            out.add(s.substring(i, j));
            i = j;
        }
        return out;
    }

    /**
     * Oracle: the same regex in java.util.regex, a backtracking engine like Oniguruma, with
     * Unicode classes. In UNICODE_CHARACTER_CLASS mode Java's \s is the White_Space property.
     */
    private static final Pattern ORACLE = Pattern.compile(TokenizerLoader.QWEN2_REGEX,
            Pattern.UNICODE_CHARACTER_CLASS | Pattern.UNICODE_CASE);

    static List<String> oracleSplit(String s) {
        List<String> out = new ArrayList<>();
        Matcher m = ORACLE.matcher(s);
        int last = 0;
        while (m.find()) {
            if (m.start() > last) out.add(s.substring(last, m.start())); // "Isolated": gaps are pieces too
            out.add(m.group());
            last = m.end();
        }
        if (last < s.length()) out.add(s.substring(last));
        return out;
    }

    @Test
    void knownSplits() {
        assertThat(split("Hello world")).containsExactly("Hello", " world");
        assertThat(split("   Hello")).containsExactly("  ", " Hello");
        assertThat(split("    Hello\n    Hello")).containsExactly("   ", " Hello", "\n", "   ", " Hello");
        assertThat(split("\n =")).containsExactly("\n", " =");
        assertThat(split(" (normal)")).containsExactly(" (", "normal", ")");
        assertThat(split("333")).containsExactly("3", "3", "3");
        assertThat(split("I've 'RE we'Ve a'lL")).containsExactly("I", "'ve", " '", "RE", " we", "'Ve", " a", "'lL");
        assertThat(split("a  \n\n  b")).containsExactly("a", "  \n\n", " ", " b");
        assertThat(split("x  ")).containsExactly("x", "  ");
        assertThat(split("\tHello")).containsExactly("\tHello");
        assertThat(split("!!\n\nx")).containsExactly("!!\n\n", "x");
        assertThat(split("🦙.cpp")).containsExactly("🦙.", "cpp");
        assertThat(split("𝐀𝐁 𝟎𝟏")).containsExactly("𝐀𝐁", " ", "𝟎", "𝟏"); // non-BMP letters and digits
        assertThat(split("")).isEmpty();
    }

    @Test
    void whiteSpaceIsTheUnicodeProperty() {
        // U+001C..U+001F are Java whitespace but not Unicode White_Space: they are "other" here
        assertThat(split("a\u001Cb")).containsExactly("a", "\u001Cb");
        assertThat(split("a\u00A0b")).containsExactly("a", "\u00A0b");
        assertThat(split("a\u3000\u3000b")).containsExactly("a", "\u3000", "\u3000b");
        assertThat(split("a\u0085\u0085")).containsExactly("a", "\u0085\u0085");
    }

    @Test
    void matchesTheRegexOnRandomText() {
        String[] alphabet = {
            " ", " ", " ", "\n", "\r", "\t", "\u000B", "\f", "\u00A0", "\u3000", "\u2028", "\u0085", "\u001C", "\u200B",
            "a", "b", "Z", "é", "ß", "ſ", "K", "Ж", "中", "ｱ", "ǅ", "ʰ", "𝐀", "𐐀",
            "0", "7", "½", "²", "Ⅻ", "٣", "𝟎",
            "'", "'", "s", "S", "t", "re", "RE", "ve", "m", "ll", "lL", "d", "D",
            ".", ",", "!", "?", "-", "(", ")", "\"", "`", "#", "€", "😀", "🦙", "\u0301", "\u200D", "\uFE0F",
            "\uD800", "\uDC00" // unpaired surrogates
        };
        SplittableRandom rnd = new SplittableRandom(42);
        for (int iter = 0; iter < 20_000; iter++) {
            StringBuilder sb = new StringBuilder();
            int len = rnd.nextInt(1, 16);
            for (int k = 0; k < len; k++) sb.append(alphabet[rnd.nextInt(alphabet.length)]);
            String s = sb.toString();
            List<String> expected = oracleSplit(s);
            if (!split(s).equals(expected)) {
                throw new AssertionError("split differs for " + escape(s) + ": got " + escapeAll(split(s)) + ", regex gives " + escapeAll(expected));
            }
        }
    }

    @Test
    void allBmpCodePointsClassifyLikeTheRegexClasses() {
        Pattern letter = Pattern.compile("\\p{L}"), number = Pattern.compile("\\p{N}");
        Pattern space = Pattern.compile("\\s", Pattern.UNICODE_CHARACTER_CLASS);
        for (int cp = 0; cp < 0x30000; cp++) {
            if (cp >= 0xD800 && cp <= 0xDFFF) continue;
            String s = Character.toString(cp);
            int expected = space.matcher(s).matches() ? Qwen2PreTokenizer.SPACE
                    : letter.matcher(s).matches() ? Qwen2PreTokenizer.LETTER
                    : number.matcher(s).matches() ? Qwen2PreTokenizer.NUMBER : 0;
            if (Qwen2PreTokenizer.classOf(cp) != expected) throw new AssertionError("class of U+" + Integer.toHexString(cp));
        }
    }

    static String escape(String s) {
        StringBuilder b = new StringBuilder("\"");
        s.chars().forEach(c -> b.append(c < 0x20 || c > 0x7E ? String.format("\\u%04X", c) : String.valueOf((char) c)));
        return b.append('"').toString();
    }

    static String escapeAll(List<String> l) {
        return l.stream().map(PreTokenizerTest::escape).toList().toString();
    }
}
