package qwen4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The 46 llama.cpp test texts and the 3 transformers sequences, with ids produced by HF tokenizers,
 * through every tokenizer source.
 */
class TestVectorsTest {

    @Test
    void testFilesHaveTheExpectedShape() {
        List<TokenizerFixtures.Case> llama = TokenizerFixtures.llamaCases();
        assertThat(llama).hasSize(46);
        assertThat(llama.get(0).text()).isEqualTo("ied 4 ½ months");
        assertThat(llama.get(2).text()).isEmpty();
        assertThat(llama.get(2).ids()).isEmpty();
        assertThat(llama.get(6).text()).isEqualTo("\t");
        assertThat(llama.get(7).text()).isEqualTo("\n");
        assertThat(llama.get(10).text()).isEqualTo("\t\n");
        assertThat(TokenizerFixtures.transformersCases()).hasSize(3);
    }

    @TestFactory
    Stream<DynamicNode> encodeMatchesHfIds() {
        TokenizerFixtures.shared();
        List<TokenizerFixtures.Case> cases = TokenizerFixtures.allCases();
        List<DynamicNode> perSource = new ArrayList<>();
        for (String source : TokenizerFixtures.SOURCES) {
            List<DynamicNode> tests = new ArrayList<>();
            for (TokenizerFixtures.Case c : cases) {
                tests.add(dynamicTest(c.name(), () -> {
                    Tokenizer t = TokenizerFixtures.byName(source);
                    assertThat(t.encode(c.text())).as("encode %s", c.name()).containsExactly(c.ids());
                    assertThat(t.encode(c.text(), false)).as("encode without special-token parsing").containsExactly(c.ids());
                }));
            }
            perSource.add(DynamicContainer.dynamicContainer(source, tests));
        }
        return perSource.stream();
    }

    @TestFactory
    Stream<DynamicNode> decodeOfEncodeIsNfcText() {
        TokenizerFixtures.shared();
        List<DynamicNode> tests = new ArrayList<>();
        for (TokenizerFixtures.Case c : TokenizerFixtures.allCases()) {
            tests.add(dynamicTest(c.name(), () -> {
                Tokenizer t = TokenizerFixtures.hfJson();
                String nfc = Normalizer.normalize(c.text(), Normalizer.Form.NFC);
                assertThat(t.decode(t.encode(c.text()))).isEqualTo(nfc);
                assertThat(t.decode(c.ids())).as("decode of the HF ids").isEqualTo(nfc);
            }));
        }
        return tests.stream();
    }
}
