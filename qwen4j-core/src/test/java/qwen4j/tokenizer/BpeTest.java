package qwen4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BpeTest {

    @Test
    void lowestRankMergesFirst() {
        // ids: bytes 0..255, then the merged tokens in merge order
        Tokenizer t = TokenizerFixtures.synthetic(List.of("b c", "a b"), List.of()); // "bc" = 256, "ab" = 257
        assertThat(t.encode("abc")).containsExactly('a', 256);
        Tokenizer u = TokenizerFixtures.synthetic(List.of("a b", "b c"), List.of()); // "ab" = 256, "bc" = 257
        assertThat(u.encode("abc")).containsExactly(256, 'c');
    }

    @Test
    void equalRanksMergeLeftmostFirst() {
        Tokenizer t = TokenizerFixtures.synthetic(List.of("a a"), List.of()); // "aa" = 256
        assertThat(t.encode("aaa")).containsExactly(256, 'a');
        assertThat(t.encode("aaaaa")).containsExactly(256, 256, 'a');
        Tokenizer u = TokenizerFixtures.synthetic(List.of("a a", "aa aa"), List.of()); // 256 = "aa", 257 = "aaaa"
        assertThat(u.encode("aaaaaaa")).containsExactly(257, 256, 'a');
    }

    @Test
    void mergedTokensAreMergedFurther() {
        Tokenizer t = TokenizerFixtures.synthetic(List.of("h e", "l l", "he ll", "hell o"), List.of());
        // 256 he, 257 ll, 258 hell, 259 hello
        assertThat(t.encode("hello")).containsExactly(259);
        assertThat(t.encode("hellohello")).containsExactly(259, 259);
        assertThat(t.encode("hellhello")).containsExactly(258, 259); // he,ll,he,ll,o -> hell,hell,o -> hell,hello
        assertThat(t.piece(259)).isEqualTo("hello");
    }

    @Test
    void scanAndHeapAgreeOnRandomWords() {
        Tokenizer t = TokenizerFixtures.hfJson();
        Bpe bpe = t.bpe();
        SplittableRandom rnd = new SplittableRandom(7);
        String[] pieces = {"the", "ing", " ", "a", "e", "tion", "中", "文", "é", "😀", "-", "=", "0", "\n", "ab", "er", "qu", "x"};
        for (int iter = 0; iter < 3000; iter++) {
            byte[] word;
            if (iter % 3 == 0) {
                word = new byte[rnd.nextInt(2, 120)];
                for (int i = 0; i < word.length; i++) word[i] = (byte) rnd.nextInt(256);
            } else {
                StringBuilder sb = new StringBuilder();
                int n = rnd.nextInt(1, 40);
                for (int i = 0; i < n; i++) sb.append(pieces[rnd.nextInt(pieces.length)]);
                word = sb.toString().getBytes(StandardCharsets.UTF_8);
            }
            int[] a = new int[word.length], b = new int[word.length];
            for (int i = 0; i < word.length; i++) a[i] = b[i] = t.byteId(word[i]);
            int na = bpe.mergeByScan(a, a.length), nb = bpe.mergeByHeap(b, b.length);
            assertThat(Arrays.copyOf(b, nb)).as("iteration %d", iter).containsExactly(Arrays.copyOf(a, na));
            // and merging changes nothing about the bytes
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            for (int i = 0; i < na; i++) out.writeBytes(t.tokenBytes(a[i]));
            assertThat(out.toByteArray()).isEqualTo(word);
        }
    }

    @Test
    void longWordsAreFast() {
        Tokenizer t = TokenizerFixtures.hfJson();
        for (String unit : new String[] {"a", "ab", "-", " ", "\n", "中", "😀", "3"}) {
            String s = unit.repeat(100_000 / unit.length());
            long t0 = System.nanoTime();
            int[] ids = t.encode(s);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertThat(t.decode(ids)).isEqualTo(s);
            assertThat(ms).as("encoding 100k chars of '%s' took %d ms", unit, ms).isLessThan(5_000);
        }
    }
}
