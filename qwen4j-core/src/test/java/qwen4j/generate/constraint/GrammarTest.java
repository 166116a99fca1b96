package qwen4j.generate.constraint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import qwen4j.Fixtures;
import qwen4j.tokenizer.Tokenizer;

/** The grammar forms, their errors, and token masks over the real Qwen2.5 vocabulary. */
class GrammarTest {
    static Tokenizer tok;
    static final int IM_END = 151645, ENDOFTEXT = 151643, IM_START = 151644;

    @BeforeAll
    static void load() {
        tok = Tokenizer.fromHfFolder(Fixtures.tokenizerDir());
    }

    static boolean matches(String gbnf, String text) {
        PushdownMatcher m = new PushdownMatcher(GbnfParser.parse(gbnf));
        PushdownMatcher.State s = m.initial;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            s = s.next(cp);
            if (s == m.dead) return false;
        }
        return s.accepting;
    }

    static boolean schemaMatches(String schema, String text) throws Exception {
        String gbnf = JsonSchemaToGbnf.compile(new com.fasterxml.jackson.databind.ObjectMapper().readTree(schema), true).gbnf();
        return matches(gbnf, text);
    }

    @Test
    void gbnfLanguage() {
        String g = """
                root ::= item ("," item){0,2}   # comma list
                item ::= [a-c]+ | "\\x41" | "é"?"x"
                """;
        assertThat(matches(g, "abc,A,x")).isTrue();
        assertThat(matches(g, "éx")).isTrue();
        assertThat(matches(g, "a,b,c,a")).isFalse(); // at most 3 items
        assertThat(matches(g, "ad")).isFalse();
        assertThat(matches(g, "")).isFalse();
        assertThat(matches("root ::= [^a]*", "bcd\n")).isTrue();
        assertThat(matches("root ::= [^a]*", "bad")).isFalse();
        assertThat(matches("root ::= (\n  \"a\"\n  | \"b\"\n)", "b")).isTrue();
    }

    @Test
    void badGbnfSaysLineAndColumn() {
        assertThatThrownBy(() -> GbnfParser.parse("root ::= a\na ::= \"x\" b\n"))
                .isInstanceOf(GrammarException.class).hasMessage("grammar line 2:11: undefined rule 'b'");
        assertThatThrownBy(() -> GbnfParser.parse("root ::= \"abc\n"))
                .hasMessage("grammar line 1:10: unterminated string literal");
        assertThatThrownBy(() -> GbnfParser.parse("root = \"a\""))
                .hasMessageStartingWith("grammar line 1:6: expected '::=' after rule name 'root'");
        assertThatThrownBy(() -> GbnfParser.parse("item ::= \"a\""))
                .hasMessageContaining("no 'root' rule");
        assertThatThrownBy(() -> GbnfParser.parse("root ::= [a-"))
                .hasMessageStartingWith("grammar line 1:10: unterminated character class");
        assertThatThrownBy(() -> GbnfParser.parse("root ::= \"a\" (\"b\" | \"c\""))
                .hasMessageStartingWith("grammar line 1:14: unclosed '('");
        assertThatThrownBy(() -> GbnfParser.parse("root ::= root \"a\" | \"b\""))
                .hasMessageContaining("'root' is left-recursive");
        assertThatThrownBy(() -> GbnfParser.parse("root ::= \"a\"{3,1}"))
                .hasMessageContaining("line 1:13").hasMessageContaining("maximum is below the minimum");
    }

    @Test
    void schemaKeywords() throws Exception {
        String s = """
                {"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string","maxLength":2},
                 "c":{"enum":["x",1]}},"required":["a"],"additionalProperties":false}""";
        assertThat(schemaMatches(s, "{\"a\": 1}")).isTrue();
        assertThat(schemaMatches(s, "{\"a\":-20,\"b\":\"xy\",\"c\":1}")).isTrue();
        assertThat(schemaMatches(s, "{\"a\":1,\"c\":\"x\"}")).isTrue();
        assertThat(schemaMatches(s, "{\"b\":\"xy\"}")).isFalse();          // a is required
        assertThat(schemaMatches(s, "{\"a\":1.5}")).isFalse();            // integer
        assertThat(schemaMatches(s, "{\"a\":1,\"b\":\"xyz\"}")).isFalse(); // maxLength
        assertThat(schemaMatches(s, "{\"a\":1,\"d\":2}")).isFalse();      // no extra properties
        assertThat(schemaMatches("{\"type\":\"string\",\"pattern\":\"^a\\\"b$\"}", "\"a\\\"b\"")).isTrue(); // escaped quote
        assertThat(schemaMatches("{\"type\":\"string\",\"pattern\":\"^\\\\d+$\"}", "\"12\"")).isTrue();
        assertThat(schemaMatches("{\"type\":\"string\",\"pattern\":\"^\\\\d+$\"}", "\"1a\"")).isFalse();
        assertThat(schemaMatches("{\"type\":\"string\",\"pattern\":\"b\"}", "\"abc\"")).isTrue(); // unanchored
        String tree = """
                {"$defs":{"n":{"type":"object","properties":{"k":{"type":"array","items":{"$ref":"#/$defs/n"}}},
                 "required":["k"],"additionalProperties":false}},"$ref":"#/$defs/n"}""";
        assertThat(schemaMatches(tree, "{\"k\":[{\"k\":[]},{\"k\":[{\"k\":[]}]}]}")).isTrue();
    }

    @Test
    void constTextIsWhatJacksonWrites() throws Exception {
        com.fasterxml.jackson.databind.ObjectMapper m = new com.fasterxml.jackson.databind.ObjectMapper();
        for (String v : java.util.List.of("\"a\\\"b\\\\ \\u0001\\n é/\"", "[1,2.5,-3e10,true,null,{\"k\":[\"\\t\"],\"\":{}}]",
                "12345678901234567890", "1.0", "-0", "[]")) {
            com.fasterxml.jackson.databind.JsonNode n = m.readTree(v);
            assertThat(JsonSchemaToGbnf.jsonText(n)).as(v).isEqualTo(m.writeValueAsString(n));
        }
    }

    @Test
    void rejectedSchemasNameTheProblem() throws Exception {
        com.fasterxml.jackson.databind.ObjectMapper m = new com.fasterxml.jackson.databind.ObjectMapper();
        assertThatThrownBy(() -> JsonSchemaToGbnf.compile(m.readTree("{\"type\":\"integer\",\"minimum\":3}"), true))
                .isInstanceOf(GrammarException.class).hasMessageStartingWith("unsupported JSON Schema keyword 'minimum' at #");
        assertThatThrownBy(() -> JsonSchemaToGbnf.compile(m.readTree(
                "{\"properties\":{\"a\":{\"type\":\"string\",\"format\":\"email\"}}}"), true))
                .hasMessageStartingWith("unsupported JSON Schema keyword 'format' at #/properties/a");
        assertThat(JsonSchemaToGbnf.compile(m.readTree("{\"type\":\"integer\",\"minimum\":3}"), false).warnings())
                .containsExactly("unsupported JSON Schema keyword 'minimum' at # was ignored");
        assertThatThrownBy(() -> JsonSchemaToGbnf.compile(m.readTree("{\"type\":\"string\",\"pattern\":\"^(a)\\\\1$\"}"), true))
                .hasMessageContaining("back-references");
        assertThatThrownBy(() -> JsonSchemaToGbnf.compile(m.readTree("{\"type\":\"string\",\"pattern\":\"^(?=a)b$\"}"), true))
                .hasMessageContaining("lookaround");
        assertThatThrownBy(() -> JsonSchemaToGbnf.compile(m.readTree("{\"$ref\":\"http://x/y.json\"}"), true))
                .hasMessageContaining("$ref 'http://x/y.json' is not supported");
        assertThatThrownBy(() -> JsonSchemaToGbnf.compile(m.readTree("{\"type\":\"strin\"}"), true))
                .hasMessageContaining("unknown type 'strin'");
    }

    static int byteToken(int b) {
        for (int id = 0; id < tok.size(); id++) {
            if (tok.hasToken(id) && !tok.isSpecial(id)) {
                byte[] x = tok.tokenBytes(id);
                if (x.length == 1 && (x[0] & 0xff) == b) return id;
            }
        }
        throw new AssertionError("no token for byte " + b);
    }

    @Test
    void masksFollowUtf8AcrossTokensAndGateEos() {
        CompiledConstraint c = Constraints.gbnf("root ::= \"日\" [0-9]", tok, tok.size(), Set.of(IM_END, ENDOFTEXT));
        Constraint k = c.newSequence();
        int e6 = byteToken(0xE6), x97 = byteToken(0x97), a5 = byteToken(0xA5), e7 = byteToken(0xE7);
        int digit = tok.encode("7")[0], whole = tok.encode("日")[0];
        assertThat(k.allows(whole)).isTrue();
        assertThat(k.allows(e6)).isTrue();       // 日 = E6 97 A5 may come one byte at a time
        assertThat(k.allows(e7)).isFalse();      // starts no character the grammar allows
        assertThat(k.allows(digit)).isFalse();
        assertThat(k.allows(IM_END)).isFalse();  // eos only once complete
        assertThat(k.allows(IM_START)).isFalse(); // special tokens never
        k.accept(e6);
        assertThat(k.isComplete()).isFalse();
        assertThat(k.allows(x97)).isTrue();
        assertThat(k.allows(a5)).isFalse();
        k.accept(x97);
        k.accept(a5);
        assertThat(k.allows(digit)).isTrue();
        assertThat(k.allows(ENDOFTEXT)).isFalse();
        k.accept(digit);
        assertThat(k.isComplete()).isTrue();
        float[] logits = new float[tok.size()];
        k.mask(logits);
        for (int id = 0; id < logits.length; id++) {
            boolean eos = id == IM_END || id == ENDOFTEXT;
            assertThat(logits[id] == Float.NEGATIVE_INFINITY).as("id %d", id).isEqualTo(!eos);
        }
        assertThatThrownBy(() -> c.newSequence().accept(digit)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void masksAgreeWithABruteForceCheckAndAreCachedPerState() {
        CompiledConstraint c = Constraints.jsonObject(tok, tok.size(), Set.of(IM_END));
        Constraint k = c.newSequence();
        for (int id : tok.encode("{\"a\": [1, \"x")) k.accept(id);
        long before = c.maskWalks();
        float[] logits = new float[tok.size()];
        k.mask(logits);
        // brute force: a token is allowed iff the text so far plus its bytes is a valid prefix of the language
        String prefix = "{\"a\": [1, \"x";
        int checked = 0;
        for (int id = 0; id < tok.size(); id += 7) {
            if (!tok.hasToken(id) || tok.isSpecial(id)) continue;
            String piece = new String(tok.tokenBytes(id), java.nio.charset.StandardCharsets.UTF_8);
            if (piece.contains("\uFFFD")) continue; // partial characters: covered by the UTF-8 test
            boolean valid = c.feedText(prefix + piece) != null;
            assertThat(logits[id] != Float.NEGATIVE_INFINITY).as("token %d %s", id, piece).isEqualTo(valid);
            checked++;
        }
        assertThat(checked).isGreaterThan(15_000);
        k.accept(tok.encode("y")[0]); // still inside the string: the same parse state
        k.mask(new float[tok.size()]);
        assertThat(c.maskWalks()).isEqualTo(before + 1);
    }
}
