package qwen4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** The same vocabulary loaded from every source gives the same tokens. */
class SourcesAgreeTest {

    @Test
    void everySourceHasTheSameTokensAndFlags() {
        Tokenizer ref = TokenizerFixtures.hfJson();
        assertThat(ref.size()).isEqualTo(151665);
        assertThat(ref.mergeCount()).isEqualTo(151387);
        for (String name : TokenizerFixtures.SOURCES) {
            Tokenizer t = TokenizerFixtures.byName(name);
            assertThat(t.mergeCount()).as(name).isEqualTo(151387);
            assertThat(t.size()).as(name).isGreaterThanOrEqualTo(ref.size());
            for (int id = 0; id < ref.size(); id++) {
                if (!java.util.Arrays.equals(t.tokenBytes(id), ref.tokenBytes(id))) {
                    throw new AssertionError(name + ": token " + id + " differs: " + t.piece(id) + " vs " + ref.piece(id));
                }
                if (t.isAdded(id) != ref.isAdded(id)) throw new AssertionError(name + ": isAdded(" + id + ") differs");
            }
            // ids past the tokenizer (the model's padded vocabulary) decode to nothing
            for (int id = ref.size(); id < t.size(); id++) assertThat(t.tokenBytes(id)).as(name + " id " + id).isEmpty();
        }
    }

    @Test
    void specialFlagsFollowTheSource() {
        Tokenizer hf = TokenizerFixtures.hfJson();
        for (int id = 151643; id <= 151656; id++) assertThat(hf.isSpecial(id)).as("id " + id).isTrue();
        for (int id = 151657; id <= 151664; id++) assertThat(hf.isSpecial(id)).as("id " + id).isFalse();
        assertThat(hf.isSpecial(0)).isFalse();
        assertThat(hf.isSpecial(-1)).isFalse();
        assertThat(hf.isSpecial(10_000_000)).isFalse();
        for (String name : new String[] {"vocab.json+merges.txt", "hf-sharded folder", "GGUF metadata (built)"}) {
            Tokenizer t = TokenizerFixtures.byName(name);
            for (int id = 0; id < hf.size(); id++) assertThat(t.isSpecial(id)).as(name + " id " + id).isEqualTo(hf.isSpecial(id));
        }
    }

    @Test
    void vocabularyLookups() {
        Tokenizer t = TokenizerFixtures.hfJson();
        assertThat(t.tokenId("<|im_start|>")).isEqualTo(OptionalInt.of(151644));
        assertThat(t.tokenId("<|im_end|>")).isEqualTo(OptionalInt.of(151645));
        assertThat(t.tokenId("<|endoftext|>")).isEqualTo(OptionalInt.of(151643));
        assertThat(t.tokenId("Hello")).isEqualTo(OptionalInt.of(9707)); // from the test vectors
        assertThat(t.tokenId("ĠHello")).isEqualTo(OptionalInt.of(21927));
        assertThat(t.tokenId("no such token here")).isEmpty();
        assertThat(t.piece(21927)).isEqualTo(" Hello");
        assertThat(t.tokenString(21927)).isEqualTo("ĠHello");
        assertThat(t.piece(151645)).isEqualTo("<|im_end|>");
        assertThat(t.tokenBytes(220)).containsExactly(' ');
        assertThatThrownBy(() -> t.piece(-1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> t.piece(t.size())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> t.tokenBytes(t.size())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void specialTokenIds() {
        assertThat(TokenizerFixtures.hfJson().eosTokenId()).isEmpty(); // tokenizer.json alone names none
        Tokenizer folder = Tokenizer.fromHfFolder(TokenizerFixtures.qwenDir()); // tokenizer.json + tokenizer_config.json
        assertThat(folder.eosTokenId()).isEqualTo(OptionalInt.of(151645));
        assertThat(folder.padTokenId()).isEqualTo(OptionalInt.of(151643));
        assertThat(folder.bosTokenId()).isEmpty();
        assertThat(TokenizerFixtures.vocabMerges().eosTokenId()).isEqualTo(OptionalInt.of(151645));
        assertThat(TokenizerFixtures.ggufFromHfFiles().eosTokenId()).isEqualTo(OptionalInt.of(151645));
    }

    @Test
    void ggufFileHasPaddingIdsThatDecodeToNothing() {
        Tokenizer g = TokenizerFixtures.ggufFile();
        Tokenizer hf = TokenizerFixtures.hfJson();
        int[] ids = {9707, g.size() - 1, 151700, 10_000_000, 1879};
        assertThat(g.decode(ids)).isEqualTo(hf.decode(ids)).isEqualTo("Hello world");
    }
}
