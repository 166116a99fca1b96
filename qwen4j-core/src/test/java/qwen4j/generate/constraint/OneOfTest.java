package qwen4j.generate.constraint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.InputFormat;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import qwen4j.Fixtures;
import qwen4j.tokenizer.Tokenizer;

/**
 * oneOf is compiled as the union of its alternatives only where they are provably disjoint. Accepted schemas:
 * random token walks through the mask all validate with networknt's validator. Rejected ones: a witness value
 * the validator finds valid against two alternatives shows the rejection is real.
 */
class OneOfTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final SchemaRegistry VALIDATORS = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    static final int IM_END = 151645, ENDOFTEXT = 151643;
    static Tokenizer tok;

    @BeforeAll
    static void load() {
        tok = Tokenizer.fromHfFolder(Fixtures.tokenizerDir());
    }

    static final List<String> DISJOINT = List.of(
            // different types
            """
            {"oneOf":[{"type":"integer"},{"type":"string","maxLength":3},{"type":"array","maxItems":1,"items":{"type":"null"}}]}""",
            // a discriminator: the same required property with different consts
            """
            {"oneOf":[{"type":"object","properties":{"kind":{"const":"a"},"x":{"type":"integer"}},"required":["kind","x"]},
                      {"type":"object","properties":{"kind":{"const":"b"},"y":{"type":"boolean"}},"required":["kind"]}]}""",
            // enums that do not meet, through $refs
            """
            {"$defs":{"p":{"type":"object","properties":{"t":{"enum":[1,2]}},"required":["t"],"additionalProperties":false},
                      "q":{"type":"object","properties":{"t":{"enum":[3,"1"]},"u":{"type":"null"}},"required":["t","u"]}},
             "oneOf":[{"$ref":"#/$defs/p"},{"$ref":"#/$defs/q"}]}""",
            // a required property the other forbids (and one the other never writes)
            """
            {"oneOf":[{"type":"object","properties":{"a":{"type":"string","maxLength":2}},"required":["a"],"additionalProperties":false},
                      {"type":"object","properties":{"b":{"type":"integer"}},"required":["b"],"additionalProperties":false}]}""",
            // objects without "type": non-objects match both, but only objects are generated
            """
            {"oneOf":[{"properties":{"v":{"const":true}},"required":["v"]},{"properties":{"v":{"const":false}},"required":["v"]}]}""",
            // disjoint lengths, and a first item that cannot satisfy the other's items
            """
            {"type":"object","properties":{"s":{"oneOf":[{"type":"string","maxLength":2},{"type":"string","minLength":3,"maxLength":4}]},
              "l":{"oneOf":[{"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":2},
                            {"type":"array","items":{"type":"boolean"},"minItems":1,"maxItems":2}]}},
             "required":["s","l"],"additionalProperties":false}""");

    /** Each overlapping oneOf with a value valid against two of its alternatives. */
    static final List<String[]> OVERLAPPING = List.of(
            new String[] {"""
                    {"oneOf":[{"type":"integer"},{"type":"number"}]}""", "3"},
            new String[] {"""
                    {"oneOf":[{"type":"string"},{"type":"string","maxLength":3}]}""", "\"ab\""},
            // optional properties: {} matches both
            new String[] {"""
                    {"oneOf":[{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false},
                              {"type":"object","properties":{"b":{"type":"string"}},"additionalProperties":false}]}""", "{}"},
            // the discriminator is not required
            new String[] {"""
                    {"oneOf":[{"type":"object","properties":{"k":{"const":1}}},{"type":"object","properties":{"k":{"const":2}}}]}""", "{}"},
            // const true against a boolean
            new String[] {"""
                    {"oneOf":[{"const":true},{"type":"boolean"}]}""", "true"},
            // 1 and 1.0 are the same number
            new String[] {"""
                    {"oneOf":[{"enum":[1.0,"x"]},{"type":"integer"}]}""", "1"});

    @Test
    void disjointOneOfCompilesAndEveryWalkValidates() throws Exception {
        for (String schema : DISJOINT) {
            JsonSchemaToGbnf.Result r = JsonSchemaToGbnf.compile(JSON.readTree(schema), true);
            assertThat(r.warnings()).as(schema).isEmpty();
            CompiledConstraint c = Constraints.jsonSchema(schema, true, tok, tok.size(), Set.of(IM_END, ENDOFTEXT));
            var validator = VALIDATORS.getSchema(schema);
            SplittableRandom random = new SplittableRandom(schema.hashCode());
            int complete = 0;
            for (int i = 0; i < 300; i++) {
                String text = walk(c, random);
                if (text == null) continue;
                complete++;
                assertThat(validator.validate(text, InputFormat.JSON)).as("%s\n%s", schema, text).isEmpty();
            }
            assertThat(complete).as(schema).isGreaterThan(200);
        }
    }

    /** A random walk through the mask (the end as soon as it is allowed); null if it ran past 60 tokens. */
    static String walk(CompiledConstraint c, SplittableRandom random) {
        Constraint k = c.newSequence();
        float[] logits = new float[tok.size()];
        List<Integer> ids = new ArrayList<>();
        while (ids.size() < 60) {
            if (k.isComplete()) return tok.decode(ids.stream().mapToInt(Integer::intValue).toArray());
            for (int i = 0; i < logits.length; i++) logits[i] = (float) random.nextDouble();
            k.mask(logits);
            int best = 0;
            for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
            k.accept(best);
            ids.add(best);
        }
        return null;
    }

    @Test
    void overlappingOneOfIsRejectedNamingItsPath() throws Exception {
        for (String[] o : OVERLAPPING) {
            JsonNode schema = JSON.readTree(o[0]);
            int valid = 0;
            for (JsonNode alt : schema.get("oneOf")) valid += VALIDATORS.getSchema(alt.toString()).validate(o[1], InputFormat.JSON).isEmpty() ? 1 : 0;
            assertThat(valid).as("the witness %s matches two alternatives of %s", o[1], o[0]).isGreaterThanOrEqualTo(2);
            assertThatThrownBy(() -> JsonSchemaToGbnf.compile(schema, true)).as(o[0])
                    .isInstanceOf(GrammarException.class)
                    .hasMessageStartingWith("unsupported JSON Schema keyword 'oneOf' at #: alternatives 0 and 1 may both match one value");
            assertThat(JsonSchemaToGbnf.compile(schema, false).warnings()).containsExactly(
                    "unsupported JSON Schema keyword 'oneOf' at #: alternatives 0 and 1 may both match one value; it was compiled as anyOf");
            // and the walks that validate the disjoint ones do catch it: as anyOf, some output fails the validator
            CompiledConstraint c = Constraints.jsonSchema(o[0], false, tok, tok.size(), Set.of(IM_END, ENDOFTEXT));
            var validator = VALIDATORS.getSchema(o[0]);
            SplittableRandom random = new SplittableRandom(1);
            boolean caught = false;
            for (int i = 0; i < 300 && !caught; i++) {
                String text = walk(c, random);
                caught = text != null && !validator.validate(text, InputFormat.JSON).isEmpty();
            }
            assertThat(caught).as(o[0]).isTrue();
        }
        String nested = """
                {"type":"object","properties":{"n":{"oneOf":[{"type":"boolean"},{"type":"number"},{"type":"integer"}]}}}""";
        assertThatThrownBy(() -> JsonSchemaToGbnf.compile(JSON.readTree(nested), true))
                .hasMessageStartingWith("unsupported JSON Schema keyword 'oneOf' at #/properties/n: alternatives 1 and 2");
    }

    @Test
    void recursiveSchemasEndTheSearch() throws Exception {
        // each alternative refers to the whole schema: the proof search is bounded and still decides
        String tree = """
                {"oneOf":[{"type":"object","properties":{"leaf":{"type":"integer"}},"required":["leaf"],"additionalProperties":false},
                          {"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#"}}},"required":["kids"],
                           "additionalProperties":false}]}""";
        assertThat(JsonSchemaToGbnf.compile(JSON.readTree(tree), true).warnings()).isEmpty();
        String loop = """
                {"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"oneOf":[{"$ref":"#/$defs/a"},{"type":"null"}]}""";
        assertThat(new OneOfCheck().disjoint(JSON.readTree(loop), JSON.readTree(loop).get("oneOf").get(0),
                JSON.readTree(loop).get("oneOf").get(1))).isFalse();
    }
}
