package qwen4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import qwen4j.Fixtures;

/** generate --json-schema / --grammar-file end to end. */
class StructuredOutputCliTest {
    @Test
    void generateFollowsASchemaAndAGrammar(@TempDir Path tmp) throws Exception {
        String model = Fixtures.tiny().resolve("hf").toString();
        Path schema = Files.writeString(tmp.resolve("s.json"),
                "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},\"tag\":{\"enum\":[\"a\",\"b\"]}},"
                        + "\"required\":[\"id\",\"tag\"],\"additionalProperties\":false}");
        CliTest.Run r = CliTest.run("generate", "-m", model, "-p", "The answer is", "-n", "40", "--temp", "1", "--seed", "2",
                "--json-schema", schema.toString(), "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode out = CliTest.json(r.out());
        assertThat(out.path("stop_reason").asText()).isEqualTo("eos");
        JsonNode v = CliTest.json(out.path("text").asText());
        assertThat(v.path("id").isIntegralNumber()).isTrue();
        assertThat(v.path("tag").asText()).isIn("a", "b");

        Path grammar = Files.writeString(tmp.resolve("g.gbnf"), "root ::= (\"yes\" | \"no\") \".\"\n");
        CliTest.Run g = CliTest.run("generate", "-m", model, "-p", "Hi", "-n", "10", "--grammar-file", grammar.toString(), "--json");
        assertThat(g.exit()).as(g.err()).isZero();
        assertThat(CliTest.json(g.out()).path("text").asText()).isIn("yes.", "no.");
    }

    @Test
    void badSchemaOrGrammarIsOneLineAndExitTwo(@TempDir Path tmp) throws Exception {
        String model = Fixtures.tiny().resolve("hf").toString();
        Path grammar = Files.writeString(tmp.resolve("bad.gbnf"), "root ::= item\nitem ::= \"a\" | [b-\n");
        CliTest.Run g = CliTest.run("generate", "-m", model, "-p", "Hi", "--grammar-file", grammar.toString());
        assertThat(g.exit()).isEqualTo(2);
        assertThat(g.err().strip()).isEqualTo("qwen4j: error: " + grammar + ": grammar line 2:16: unterminated character class (expected ']') (try 'qwen4j generate --help')");
        Path schema = Files.writeString(tmp.resolve("bad.json"), "{\"type\":\"string\",\"format\":\"date\"}");
        CliTest.Run s = CliTest.run("generate", "-m", model, "-p", "Hi", "--json-schema", schema.toString());
        assertThat(s.exit()).isEqualTo(2);
        assertThat(s.err()).startsWith("qwen4j: error: " + schema + ": unsupported JSON Schema keyword 'format' at #");
        assertThat(s.err().strip().lines().count()).isEqualTo(1);
        Path oneOf = Files.writeString(tmp.resolve("oneof.json"), "{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"string\",\"maxLength\":3}]}");
        CliTest.Run o = CliTest.run("generate", "-m", model, "-p", "Hi", "--json-schema", oneOf.toString());
        assertThat(o.exit()).isEqualTo(2);
        assertThat(o.err()).startsWith("qwen4j: error: " + oneOf + ": unsupported JSON Schema keyword 'oneOf' at #: alternatives 0 and 1 may both match one value");
        assertThat(o.err().strip().lines().count()).isEqualTo(1);
    }
}
