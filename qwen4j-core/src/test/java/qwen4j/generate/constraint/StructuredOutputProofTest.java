package qwen4j.generate.constraint;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import qwen4j.Fixtures;
import qwen4j.generate.Engine;
import qwen4j.generate.Generation;
import qwen4j.generate.Generator;
import qwen4j.generate.Sampler;
import qwen4j.generate.SamplerSettings;
import qwen4j.model.Options;
import qwen4j.model.Session;

/**
 * The proof: the tiny fixture has random weights and the real Qwen2.5 vocabulary, so it knows no JSON; at
 * temperature 1.0 every output that parses and validates is the constraint engine's doing. Schemas are checked
 * by networknt's JSON Schema validator, grammars by an equivalent java.util.regex written independently.
 */
class StructuredOutputProofTest {
    static final int RUNS = 200;
    static final int MAX_TOKENS = 64;
    static final ObjectMapper JSON = new ObjectMapper();
    static final SchemaRegistry VALIDATORS = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    static Engine engine;
    static Session session;
    static int[] prompt;

    @BeforeAll
    static void open() {
        engine = Engine.open(Fixtures.tiny().resolve("hf"), Options.defaults().withThreads(1), 256);
        session = engine.newSession();
        prompt = engine.tokenizer().encode("The answer is");
    }

    @AfterAll
    static void close() {
        if (engine != null) engine.close();
    }

    /** Every supported keyword appears in at least one schema; all are bounded and small, so 64 tokens suffice (a run that hits the limit fails). */
    static Stream<Arguments> schemas() {
        return Stream.of(
                Arguments.of("properties+required+additionalProperties", """
                        {"type":"object","properties":{"name":{"type":"string","maxLength":6},"age":{"type":"integer"}},
                         "required":["name","age"],"additionalProperties":false}"""),
                Arguments.of("optional properties, boolean/null/number", """
                        {"type":"object","properties":{"a":{"type":"boolean"},"b":{"type":"null"},"c":{"type":"number"}},
                         "required":["b"],"additionalProperties":false}"""),
                Arguments.of("enum of strings", """
                        {"type":"string","enum":["red","green","blue"]}"""),
                Arguments.of("enum of mixed values", """
                        {"enum":[1,"two",null,true,{"k":[3]}]}"""),
                Arguments.of("const", """
                        {"type":"object","properties":{"kind":{"const":"point"},"x":{"type":"integer"}},
                         "required":["kind","x"],"additionalProperties":false}"""),
                Arguments.of("array items/minItems/maxItems", """
                        {"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":3}"""),
                Arguments.of("nested objects and arrays", """
                        {"type":"object","properties":{"user":{"type":"object","properties":{"id":{"type":"integer"},
                         "tags":{"type":"array","items":{"type":"string","maxLength":4},"maxItems":2}},
                         "required":["id","tags"],"additionalProperties":false}},"required":["user"],"additionalProperties":false}"""),
                Arguments.of("anyOf", """
                        {"anyOf":[{"type":"integer"},{"type":"string","maxLength":5}]}"""),
                Arguments.of("oneOf", """
                        {"oneOf":[{"type":"object","properties":{"ok":{"const":true}},"required":["ok"],"additionalProperties":false},
                                  {"type":"array","maxItems":1,"items":{"type":"boolean"}}]}"""),
                Arguments.of("oneOf, disjoint objects (a const discriminator; a required property the others forbid)", """
                        {"oneOf":[{"type":"object","properties":{"kind":{"const":"circle"},"r":{"type":"integer"}},
                                   "required":["kind","r"],"additionalProperties":false},
                                  {"type":"object","properties":{"kind":{"const":"rect"},"w":{"type":"integer"},"h":{"type":"integer"}},
                                   "required":["kind","w"],"additionalProperties":false},
                                  {"type":"object","properties":{"tag":{"type":"boolean"}},"required":["tag"],"additionalProperties":false}]}"""),
                Arguments.of("$ref to $defs", """
                        {"$defs":{"pt":{"type":"object","properties":{"x":{"type":"integer"},"y":{"type":"boolean"}},
                         "required":["x","y"],"additionalProperties":false}},"type":"array","items":{"$ref":"#/$defs/pt"},"maxItems":2}"""),
                Arguments.of("minLength/maxLength", """
                        {"type":"string","minLength":2,"maxLength":5}"""),
                Arguments.of("pattern", """
                        {"type":"object","properties":{"id":{"type":"string","pattern":"^[A-Z]{2}-\\\\d{3}$"},
                         "code":{"type":"string","pattern":"^(ab|c[0-9é]){1,3}$"}},"required":["id","code"],"additionalProperties":false}"""),
                Arguments.of("integer vs number, type list", """
                        {"type":"object","properties":{"i":{"type":"integer"},"n":{"type":"number"},
                         "o":{"type":["string","null"],"maxLength":3}},"required":["i","n","o"],"additionalProperties":false}"""));
    }

    /** Each grammar with a regex for the same language, written independently of the GBNF. */
    static Stream<Arguments> grammars() {
        return Stream.of(
                Arguments.of("""
                        root ::= ("yes" | "no") [.!]?
                        """, "(yes|no)[.!]?"),
                Arguments.of("""
                        # an ISO date
                        root  ::= year "-" month "-" day
                        year  ::= [12] [0-9]{3}
                        month ::= "0" [1-9] | "1" [0-2]
                        day   ::= "0" [1-9] | [12] [0-9] | "3" [01]
                        """, "[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"),
                Arguments.of("""
                        root ::= num ( " "? op " "? num ){0,3}
                        op   ::= "+" | "-" | "*"
                        num  ::= "-"? [1-9] [0-9]? | "(" inner ")"
                        inner ::= "-"? [1-9] [0-9]? | "(" [1-9] ")"
                        """, null),
                Arguments.of("""
                        root ::= row ("\\n" row){0,2}
                        row  ::= cell ("," cell){1,2}
                        cell ::= [a-zé日本語]{1,4}
                        """, "[a-zé日本語]{1,4}(,[a-zé日本語]{1,4}){1,2}(\\n[a-zé日本語]{1,4}(,[a-zé日本語]{1,4}){1,2}){0,2}"),
                Arguments.of("""
                        root ::= "{" pair ("," pair){0,2} "}"
                        pair ::= "\\"" [^"\\\\\\x00-\\x1f]{1,5} "\\"" ":" ("true" | [0-9]{1,4})
                        """, "\\{\"[^\"\\\\\\x00-\\x1f]{1,5}\":(true|[0-9]{1,4})(,\"[^\"\\\\\\x00-\\x1f]{1,5}\":(true|[0-9]{1,4})){0,2}\\}"));
    }

    /** Nested parenthesised arithmetic is not regular: check it with a tiny recursive-descent parser. */
    static boolean isArithmetic(String s) {
        int[] p = {0};
        if (!num(s, p)) return false;
        for (int k = 0; k < 3 && p[0] < s.length(); k++) {
            if (s.charAt(p[0]) == ' ') p[0]++;
            if (p[0] >= s.length() || "+-*".indexOf(s.charAt(p[0])) < 0) return false;
            p[0]++;
            if (p[0] < s.length() && s.charAt(p[0]) == ' ') p[0]++;
            if (!num(s, p)) return false;
        }
        return p[0] == s.length();
    }

    private static boolean num(String s, int[] p) {
        if (p[0] < s.length() && s.charAt(p[0]) == '(') {
            p[0]++;
            if (!num(s, p) || p[0] >= s.length() || s.charAt(p[0]) != ')') return false;
            p[0]++;
            return true;
        }
        if (p[0] < s.length() && s.charAt(p[0]) == '-') p[0]++;
        if (p[0] >= s.length() || s.charAt(p[0]) < '1' || s.charAt(p[0]) > '9') return false;
        p[0]++;
        if (p[0] < s.length() && Character.isDigit(s.charAt(p[0]))) p[0]++;
        return true;
    }

    /** What one constrained generation produced. */
    record Run(String text, int[] ids, String stopReason) {}

    /**
     * The generation loop of {@link Generator} (mask, sample, accept, stop at eos), with the model's KV cache
     * shared between consecutive runs: a run's prefix already in the session is not recomputed. Logits are
     * those a fresh session gives (same weights, same positions); {@link #loopMatchesGenerator} checks it.
     */
    Run run(CompiledConstraint c, long seed, float temperature) {
        Sampler sampler = new Sampler(SamplerSettings.greedy().withTemperature(temperature).withSeed(seed),
                engine.vocabLimit(), session.capacity());
        Constraint k = c.newSequence();
        int[] ids = new int[MAX_TOKENS];
        int n = 0;
        String stop = "length";
        float[] work = new float[engine.model().config().vocabSize()];
        while (n < MAX_TOKENS) {
            System.arraycopy(logitsAfter(ids, n), 0, work, 0, work.length);
            k.mask(work);
            int next = sampler.sample(work);
            if (engine.eosIds().contains(next)) {
                k.accept(next);
                stop = "eos";
                break;
            }
            k.accept(next);
            ids[n++] = next;
        }
        int[] out = java.util.Arrays.copyOf(ids, n);
        String text = engine.tokenizer().decode(out);
        // the end came only after a complete value
        assertThat(stop).as("seed %d: %s", seed, text).isEqualTo("eos");
        assertThat(k.isComplete()).isTrue();
        return new Run(text, out, stop);
    }

    static int[] fed = new int[0];
    static float[][] pathLogits;
    static long forwards, steps;

    /** Logits after the prompt and {@code ids[0..n)}, reusing the session's common prefix. */
    static float[] logitsAfter(int[] ids, int n) {
        steps++;
        if (pathLogits == null) {
            pathLogits = new float[MAX_TOKENS + 1][];
            pathLogits[0] = engine.model().prefill(session, prompt).clone();
        }
        int common = 0;
        while (common < n && common < fed.length && fed[common] == ids[common]) common++;
        if (common == n && n <= fed.length) return pathLogits[n];
        session.truncate(prompt.length + common);
        for (int i = common; i < n; i++) {
            forwards++;
            pathLogits[i + 1] = engine.model().forward(session, ids[i]).clone();
        }
        fed = java.util.Arrays.copyOf(ids, n);
        return pathLogits[n];
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("schemas")
    void schemaOutputsAlwaysValidate(String name, String schemaText) throws Exception {
        CompiledConstraint c = Constraints.jsonSchema(schemaText, true, engine.tokenizer(), engine.vocabLimit(), engine.eosIds());
        Schema validator = VALIDATORS.getSchema(schemaText);
        long t0 = System.nanoTime();
        long tokens = 0;
        for (int seed = 0; seed < RUNS; seed++) {
            Run g = run(c, seed, 1.0f);
            tokens += g.ids().length;
            JSON.readTree(g.text()); // parses (throws otherwise)
            List<Error> errors = validator.validate(g.text(), InputFormat.JSON);
            assertThat(errors).as("seed %d: %s", seed, g.text()).isEmpty();
        }
        System.out.printf("%s: %d runs, %d tokens, %.0f ms, %d mask walks, %d/%d forwards%n", name, RUNS, tokens,
                (System.nanoTime() - t0) / 1e6, c.maskWalks(), forwards, steps);
    }

    @ParameterizedTest(name = "grammar {index}")
    @MethodSource("grammars")
    void grammarOutputsAlwaysMatch(String gbnf, String regex) {
        CompiledConstraint c = Constraints.gbnf(gbnf, engine.tokenizer(), engine.vocabLimit(), engine.eosIds());
        Pattern p = regex == null ? null : Pattern.compile(regex);
        for (int seed = 0; seed < RUNS; seed++) {
            String text = run(c, seed, 1.0f).text();
            boolean ok = p != null ? p.matcher(text).matches() : isArithmetic(text);
            assertThat(ok).as("seed %d: %s", seed, text).isTrue();
        }
    }

    @Test
    void loopMatchesGenerator() {
        String schema = (String) schemas().toList().get(6).get()[1];
        CompiledConstraint c = Constraints.jsonSchema(schema, true, engine.tokenizer(), engine.vocabLimit(), engine.eosIds());
        for (int seed = 0; seed < 3; seed++) {
            Run mine = run(c, seed, 1.0f);
            Session fresh = engine.newSession();
            Sampler sampler = new Sampler(SamplerSettings.greedy().withTemperature(1f).withSeed(seed), engine.vocabLimit(),
                    fresh.capacity());
            Generation g = engine.generator().generate(fresh, prompt, sampler,
                    new Generator.Params(MAX_TOKENS, null, null).withConstraint(c.newSequence()), t -> { });
            assertThat(g.stopReason()).isEqualTo("eos");
            assertThat(g.text()).isEqualTo(mine.text());
            assertThat(java.util.Arrays.copyOf(g.ids(), g.ids().length - 1)).isEqualTo(mine.ids());
        }
    }

    @Test
    void greedyIsDeterministicAndValid() throws Exception {
        String schema = (String) schemas().toList().get(6).get()[1];
        CompiledConstraint c = Constraints.jsonSchema(schema, true, engine.tokenizer(), engine.vocabLimit(), engine.eosIds());
        Run a = run(c, 1, 0f), b = run(c, 2, 0f);
        assertThat(b.ids()).isEqualTo(a.ids());
        assertThat(VALIDATORS.getSchema(schema).validate(a.text(), InputFormat.JSON)).isEmpty();
    }
}
