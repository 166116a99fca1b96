package qwen4j.tokenizer;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.Arrays;
import qwen4j.fuzz.FuzzOracle;

/**
 * Fuzz targets for the tokenizer: its two file sources (tokenizer.json; vocab.json + merges.txt)
 * and encode/decode of the real Qwen2.5 tokenizer on arbitrary text. Corpus:
 * src/test/resources/qwen4j/tokenizer/TokenizerFuzzTestInputs.
 *
 * <p>The round-trip property that truly holds: the Qwen2 tokenizer.json normalizer is NFC and the
 * tokenizer applies it before splitting, and its byte-level BPE covers every byte, so for any
 * string s, decode(encode(s)) equals NFC(s) (a lone surrogate cannot be encoded as UTF-8 and
 * becomes U+FFFD) whenever no added token was matched in s. Added tokens (all of them with special
 * tokens parsed; the non-special ones such as {@code <|fim_middle|>} or {@code <tool_call>} always)
 * are cut out first and the text between them is normalized piece by piece, as in HF tokenizers
 * (Qwen's added tokens are "normalized": false). So a combining mark right after an added token is
 * not composed with its last character, and then the result is NFC-equivalent to s:
 * NFC(decode(encode(s))) == NFC(s). Both found by this target (roundTrip/finding-07 and finding-09).
 */
class TokenizerFuzzTest {
    /**
     * Targets that read ../shared skip here when it is missing: an assumption inside a fuzz target
     * would be reported by Jazzer as a finding, not a skip.
     */
    @org.junit.jupiter.api.BeforeEach
    void needsSharedFixtures(org.junit.jupiter.api.TestInfo info) {
        if (java.util.Set.of("arbitraryBytes", "roundTrip").contains(info.getTestMethod().orElseThrow().getName())) qwen4j.Fixtures.shared();
    }

    private static final Path DIR;

    static {
        try {
            DIR = Files.createTempDirectory("qwen4j-tokenizer-fuzz");
            DIR.toFile().deleteOnExit();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path write(String name, byte[] b) {
        try {
            return Files.write(DIR.resolve(name), b);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest(maxDuration = "60s")
    void tokenizerJson(byte[] data) {
        Path json = write("tokenizer.json", data);
        Tokenizer t = FuzzOracle.validOrUserError(() -> Tokenizer.fromTokenizerJson(json));
        if (t != null) exercise(t);
    }

    /** Input: vocab.json bytes, a NUL byte, merges.txt bytes. */
    @FuzzTest(maxDuration = "60s")
    void vocabAndMerges(byte[] data) {
        int nul = 0;
        while (nul < data.length && data[nul] != 0) nul++;
        Path vocab = write("vocab.json", Arrays.copyOfRange(data, 0, nul));
        Path merges = write("merges.txt", Arrays.copyOfRange(data, Math.min(nul + 1, data.length), data.length));
        Tokenizer t = FuzzOracle.validOrUserError(() -> Tokenizer.fromVocabAndMerges(vocab, merges, null));
        if (t != null) exercise(t);
    }

    /** A tokenizer that loaded must encode and decode anything without failing. */
    private static void exercise(Tokenizer t) {
        String s = "Hello, wörld! 123 <|im_start|> \uD83D\uDE00 \uD835";
        int[] ids = t.encode(s, true);
        for (int id : ids) if (id < 0 || id >= t.size()) throw new AssertionError("id " + id + " out of range");
        t.decode(ids);
        t.decode(new int[] {-1, 0, t.size() - 1, t.size(), Integer.MAX_VALUE});
    }

    /** decode(encode(s)) == NFC(s) on the real tokenizer, for valid strings. */
    @FuzzTest(maxDuration = "60s")
    void roundTrip(FuzzedDataProvider in) {
        Tokenizer t = TokenizerFixtures.hfJson();
        boolean special = in.consumeBoolean();
        String s = in.consumeRemainingAsString();
        int[] ids = t.encode(s, special);
        String expected = Normalizer.normalize(replaceLoneSurrogates(s), Normalizer.Form.NFC);
        String back = t.decode(ids);
        String compared = Arrays.stream(ids).anyMatch(t::isAdded) ? Normalizer.normalize(back, Normalizer.Form.NFC) : back;
        if (!compared.equals(expected)) {
            int at = 0;
            while (at < Math.min(compared.length(), expected.length()) && compared.charAt(at) == expected.charAt(at)) at++;
            throw new AssertionError("round trip differs (special tokens " + special + ") at char " + at + ": expected "
                    + escape(expected.substring(Math.max(0, at - 20), Math.min(expected.length(), at + 20))) + ", got "
                    + escape(compared.substring(Math.max(0, at - 20), Math.min(compared.length(), at + 20))));
        }
        StreamingDecoder d = t.streamingDecoder();
        StringBuilder streamed = new StringBuilder();
        for (int id : ids) streamed.append(d.accept(id));
        streamed.append(d.flush());
        if (!streamed.toString().equals(back)) throw new AssertionError("streamed decode differs: " + escape(streamed.toString()));
    }

    /** The finding behind the round-trip property: exact with plain text, NFC-equivalent with special tokens. */
    @org.junit.jupiter.api.Test
    void combiningMarkAfterASpecialToken() {
        Tokenizer t = TokenizerFixtures.hfJson();
        String s = "<|im_start|>\u0338x"; // NFC composes '>' + U+0338 into U+226F
        org.assertj.core.api.Assertions.assertThat(t.decode(t.encode(s, false)))
                .isEqualTo(Normalizer.normalize(s, Normalizer.Form.NFC)).isEqualTo("<|im_start|\u226Fx");
        org.assertj.core.api.Assertions.assertThat(t.decode(t.encode(s, true))).isEqualTo(s);
        // a non-special added token is matched even without special-token parsing
        String fim = "<|fim_middle|>\u0338x";
        org.assertj.core.api.Assertions.assertThat(t.decode(t.encode(fim, false))).isEqualTo(fim);
        org.assertj.core.api.Assertions.assertThat(Normalizer.normalize(fim, Normalizer.Form.NFC)).isNotEqualTo(fim);
    }

    /** Arbitrary (often invalid) UTF-8 bytes as text, and the same bytes as token ids. */
    @FuzzTest(maxDuration = "60s")
    void arbitraryBytes(byte[] data) {
        Tokenizer t = TokenizerFixtures.hfJson();
        String s = new String(data, StandardCharsets.UTF_8); // invalid sequences become U+FFFD
        String nfc = Normalizer.normalize(s, Normalizer.Form.NFC);
        for (boolean special : new boolean[] {false, true}) {
            int[] encoded = t.encode(s, special);
            String back = t.decode(encoded);
            if (Arrays.stream(encoded).anyMatch(t::isAdded)) back = Normalizer.normalize(back, Normalizer.Form.NFC);
            if (!back.equals(nfc)) throw new AssertionError("round trip differs (special tokens " + special + "): " + escape(s));
        }
        int[] ids = new int[data.length / 3];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = ((data[3 * i] & 0xFF) << 16 | (data[3 * i + 1] & 0xFF) << 8 | (data[3 * i + 2] & 0xFF)) - 8;
        }
        t.decode(ids);
        t.decode(ids, true);
        StreamingDecoder d = t.streamingDecoder(true);
        for (int id : ids) d.accept(id);
        d.flush();
    }

    private static String replaceLoneSurrogates(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                b.append(c).append(s.charAt(++i));
            } else {
                b.append(Character.isSurrogate(c) ? '\uFFFD' : c);
            }
        }
        return b.toString();
    }

    private static String escape(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().forEach(cp -> b.append(cp < 0x20 || cp > 0x7e ? String.format("\\u{%x}", cp) : Character.toString(cp)));
        return b.toString();
    }
}
