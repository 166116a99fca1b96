package qwen4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class StreamingDecoderTest {

    private static int byteToken(Tokenizer t, int b) {
        return t.tokenId(String.valueOf(ByteLevel.byteToChar(b))).orElseThrow();
    }

    @Test
    void emojiSplitAcrossTokensIsHeldBackUntilComplete() {
        Tokenizer t = TokenizerFixtures.hfJson();
        // " this is 🦙.cpp" from the llama.cpp vectors: the llama's 4 bytes are spread over 11162, 99, 247
        int[] ids = {419, 374, 11162, 99, 247, 13, 10821};
        assertThat(t.tokenBytes(99)).hasSize(1);
        StreamingDecoder d = t.streamingDecoder();
        List<String> out = new ArrayList<>();
        for (int id : ids) out.add(d.accept(id));
        out.add(d.flush());
        assertThat(out).containsExactly(" this", " is", " ", "", "🦙", ".", "cpp", "");
        assertThat(String.join("", out)).isEqualTo(t.decode(ids)).isEqualTo(" this is 🦙.cpp");
    }

    @Test
    void streamingEqualsDecodeOnAllTestVectors() {
        Tokenizer t = TokenizerFixtures.hfJson();
        for (TokenizerFixtures.Case c : TokenizerFixtures.allCases()) {
            StreamingDecoder d = t.streamingDecoder();
            StringBuilder sb = new StringBuilder();
            for (int id : c.ids()) {
                String piece = d.accept(id);
                assertThat(piece).as(c.name()).doesNotContain("\uFFFD");
                sb.append(piece);
            }
            assertThat(d.pendingBytes()).as(c.name()).isZero();
            sb.append(d.flush());
            assertThat(sb.toString()).as(c.name()).isEqualTo(t.decode(c.ids()));
        }
    }

    @Test
    void chineseTextByteByByte() {
        Tokenizer t = TokenizerFixtures.hfJson();
        String s = "提供了可以轻松地下载 🤗 и ½";
        byte[] utf8 = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        StreamingDecoder d = t.streamingDecoder();
        StringBuilder sb = new StringBuilder();
        for (byte b : utf8) {
            String piece = d.accept(byteToken(t, b & 0xFF));
            assertThat(piece).doesNotContain("\uFFFD");
            sb.append(piece);
        }
        assertThat(sb.append(d.flush()).toString()).isEqualTo(s);
    }

    @Test
    void invalidBytesBecomeReplacementCharacters() {
        Tokenizer t = TokenizerFixtures.hfJson();
        StreamingDecoder d = t.streamingDecoder();
        assertThat(d.accept(byteToken(t, 0xFF))).isEqualTo("\uFFFD"); // never valid: emitted at once
        assertThat(d.accept(byteToken(t, 0x80))).isEqualTo("\uFFFD"); // stray continuation byte
        assertThat(d.accept(byteToken(t, 0xE4))).isEmpty(); // lead byte: wait
        assertThat(d.accept(byteToken(t, 'a'))).isEqualTo("\uFFFDa"); // sequence broken by 'a'
        assertThat(d.accept(byteToken(t, 0xF0))).isEmpty();
        assertThat(d.accept(byteToken(t, 0x9F))).isEmpty();
        assertThat(d.pendingBytes()).isEqualTo(2);
        assertThat(d.flush()).isEqualTo("\uFFFD"); // incomplete at the end: one replacement
        assertThat(d.flush()).isEmpty();
        assertThat(d.accept(byteToken(t, 0xED))).isEmpty();
        assertThat(d.accept(byteToken(t, 0xA0))).isEqualTo("\uFFFD\uFFFD"); // surrogate range: ED A0 is invalid
        // decode agrees with from_utf8_lossy's rule
        assertThat(t.decode(new int[] {byteToken(t, 0xE4), byteToken(t, 0xB8)})).isEqualTo("\uFFFD");
        assertThat(t.decode(new int[] {byteToken(t, 0xC0), byteToken(t, 0x80)})).isEqualTo("\uFFFD\uFFFD");
    }

    @Test
    void specialTokensCanBeSkipped() {
        Tokenizer t = TokenizerFixtures.hfJson();
        int[] ids = {151644, 9707, 151645};
        StreamingDecoder keep = t.streamingDecoder(), skip = t.streamingDecoder(true);
        StringBuilder a = new StringBuilder(), b = new StringBuilder();
        for (int id : ids) {
            a.append(keep.accept(id));
            b.append(skip.accept(id));
        }
        assertThat(a.toString()).isEqualTo("<|im_start|>Hello<|im_end|>");
        assertThat(b.toString()).isEqualTo("Hello").isEqualTo(t.decode(ids, true));
        assertThat(keep.accept(10_000_000)).isEmpty(); // ids without a token add nothing
    }
}
