package qwen4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.api.Test;

class SpecialTokensTest {

    @Test
    void specialTokensAreParsedOnlyWhenAsked() {
        Tokenizer t = TokenizerFixtures.hfJson();
        String text = "<|im_start|>user\nHello world<|im_end|>\n";
        int[] on = t.encode(text);
        int[] off = t.encode(text, false);
        assertThat(on[0]).isEqualTo(151644);
        assertThat(on).contains(151645, 9707 /* Hello */, 1879 /* " world" */);
        assertThat(on).hasSize(7); // <|im_start|> user \n Hello " world" <|im_end|> \n
        assertThat(java.util.Arrays.stream(off).max().orElse(0)).isLessThan(151643);
        assertThat(t.decode(on)).isEqualTo(text);
        assertThat(t.decode(off)).isEqualTo(text);
        // with parsing off the text is encoded as if the tokens did not exist
        Tokenizer plain = Tokenizer.fromVocabAndMerges(TokenizerFixtures.qwenDir().resolve("vocab.json"),
                TokenizerFixtures.qwenDir().resolve("merges.txt"), null);
        assertThat(off).containsExactly(plain.encode(text));
    }

    @Test
    void nonSpecialAddedTokensAreAlwaysRecognized() {
        // HF matches added tokens that are not special even with split_special_tokens; so do we
        Tokenizer t = TokenizerFixtures.hfJson();
        assertThat(t.encode("<tool_call>", false)).containsExactly(151657);
        assertThat(t.encode("<|im_end|>", false)).doesNotContain(151645);
    }

    @Test
    void adjacentAndBoundarySpecialTokens() {
        Tokenizer t = TokenizerFixtures.hfJson();
        assertThat(t.encode("<|im_end|><|im_end|>")).containsExactly(151645, 151645);
        assertThat(t.encode("<|endoftext|>")).containsExactly(151643);
        assertThat(t.encode("Hello<|endoftext|> world")).containsExactly(9707, 151643, 1879);
        // normalization is per segment: a combining accent after a special token stays alone
        String s = "e<|im_end|>\u0301";
        assertThat(t.decode(t.encode(s))).isEqualTo(s);
        assertThat(t.encode("<|im_end")).doesNotContain(151645);
    }

    @Test
    void textIsNfcNormalizedBeforeSplitting() {
        Tokenizer t = TokenizerFixtures.hfJson();
        int[] expected = TokenizerFixtures.llamaCases().get(1).ids(); // "Führer", precomposed
        assertThat(TokenizerFixtures.llamaCases().get(1).text()).isEqualTo("F\u00fchrer");
        assertThat(t.encode("Fu\u0308hrer")).containsExactly(expected); // decomposed input
        assertThat(t.decode(t.encode("Fu\u0308hrer"))).isEqualTo("F\u00fchrer");
    }

    @Test
    void longestMatchWinsAtOnePosition() {
        Tokenizer t = TokenizerFixtures.synthetic(List.of(), List.of("!<x>", "!<x><y>", "<q>"));
        int x = 256, xy = 257, q = 258;
        assertThat(t.encode("<x><y>z")).containsExactly(xy, 'z');
        assertThat(t.encode("<x><z>")).containsExactly(x, '<', 'z', '>');
        assertThat(t.encode("a<x>")).containsExactly('a', x);
        assertThat(t.encode("<x><y>", false)).doesNotContain(x, xy);
        assertThat(t.encode("<q><x>", false)).startsWith(q);
        assertThat(t.isSpecial(x)).isTrue();
        assertThat(t.isSpecial(q)).isFalse();
        assertThat(t.isAdded(q)).isTrue();
    }

    /** The fixture prompts (ids from the goldens, made by HF): decoding then encoding gives them back. */
    @Test
    void goldenPromptsRoundTrip() {
        var golden = TokenizerFixtures.shared().resolve("fixtures/tiny/golden.json");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.exists(golden), "golden.json not found; skipping");
        Tokenizer t = TokenizerFixtures.hfJson();
        int checked = 0;
        for (JsonNode c : TokenizerFixtures.json(golden).get("cases")) {
            int[] ids = new int[c.get("prompt_ids").size()];
            for (int i = 0; i < ids.length; i++) ids[i] = c.get("prompt_ids").get(i).intValue();
            assertThat(t.encode(t.decode(ids))).as(c.get("prompt").asText()).containsExactly(ids);
            checked++;
        }
        assertThat(checked).isPositive();
    }
}
