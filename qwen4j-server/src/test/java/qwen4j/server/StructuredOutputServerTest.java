package qwen4j.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import qwen4j.Fixtures;
import qwen4j.generate.Engine;
import qwen4j.model.Options;

/** response_format, tool_choice, grammar and json_schema over HTTP against the random-weight tiny model. */
class StructuredOutputServerTest {
    private static Engine engine;
    private static OpenAiServer server;
    private static Http http;

    static final String WEATHER_TOOL = """
            {"type":"function","function":{"name":"get_weather","parameters":{"type":"object",
             "properties":{"city":{"type":"string","maxLength":8},"days":{"type":"integer"}},
             "required":["city","days"],"additionalProperties":false}}}""";
    static final String TIME_TOOL = """
            {"type":"function","function":{"name":"get_time","parameters":{"type":"object",
             "properties":{"zone":{"enum":["UTC","CET"]}},"required":["zone"],"additionalProperties":false}}}""";

    @BeforeAll
    static void start() throws Exception {
        engine = Engine.open(Fixtures.tiny().resolve("hf"), Options.defaults().withThreads(1), 512);
        server = OpenAiServer.start(qwen4j.generate.LocalQwen.borrowing(engine, 1), new OpenAiServer.Config("127.0.0.1", 0, null, 1, 16, 4096, "tiny"));
        http = new Http(server.port());
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (engine != null) engine.close();
    }

    private JsonNode chat(String extra, int expectStatus) throws Exception {
        HttpResponse<String> r = http.post("/v1/chat/completions", Http.chat("Give me data", 200, extra));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(expectStatus);
        return Http.JSON.readTree(r.body());
    }

    @Test
    void jsonObjectModeAnswersAJsonObject() throws Exception {
        JsonNode r = chat("\"temperature\": 1.0, \"seed\": 3, \"response_format\": {\"type\": \"json_object\"}", 200);
        String content = r.path("choices").get(0).path("message").path("content").asText();
        // the random model knows no JSON: unless the budget ran out, the answer parses as an object
        if (r.path("choices").get(0).path("finish_reason").asText().equals("stop")) {
            assertThat(Http.JSON.readTree(content).isObject()).as(content).isTrue();
        } else {
            assertThat(content).startsWith("{");
        }
    }

    @Test
    void jsonSchemaIsEnforcedAndStrictRejectsUnknownKeywords() throws Exception {
        String schema = "{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"boolean\"},\"n\":{\"enum\":[1,2,3]}},"
                + "\"required\":[\"ok\",\"n\"],\"additionalProperties\":false}";
        JsonNode r = chat("\"temperature\": 1.0, \"seed\": 5, \"response_format\": {\"type\": \"json_schema\", "
                + "\"json_schema\": {\"name\": \"x\", \"strict\": true, \"schema\": " + schema + "}}", 200);
        JsonNode v = Http.JSON.readTree(r.path("choices").get(0).path("message").path("content").asText());
        assertThat(v.path("ok").isBoolean()).isTrue();
        assertThat(v.path("n").asInt()).isBetween(1, 3);
        assertThat(r.path("choices").get(0).path("finish_reason").asText()).isEqualTo("stop");

        String bad = "{\"type\":\"integer\",\"minimum\":1}";
        JsonNode e = chat("\"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"name\": \"x\", \"schema\": "
                + bad + "}}", 400);
        assertThat(e.path("error").path("message").asText()).contains("unsupported JSON Schema keyword 'minimum'");
        assertThat(e.path("error").path("param").asText()).isEqualTo("response_format");

        JsonNode w = chat("\"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"name\": \"x\", \"strict\": false,"
                + " \"schema\": " + bad + "}}", 200);
        assertThat(w.path("warnings").get(0).asText()).contains("'minimum'").contains("ignored");
        Long.parseLong(w.path("choices").get(0).path("message").path("content").asText());
    }

    @Test
    void overlappingOneOfIsA400UnlessNotStrict() throws Exception {
        String overlapping = "{\"type\":\"object\",\"properties\":{\"v\":{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"number\"}]}},"
                + "\"required\":[\"v\"],\"additionalProperties\":false}";
        JsonNode e = chat("\"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"name\": \"x\", \"schema\": "
                + overlapping + "}}", 400);
        assertThat(e.path("error").path("message").asText())
                .contains("unsupported JSON Schema keyword 'oneOf' at #/properties/v: alternatives 0 and 1 may both match one value");
        assertThat(e.path("error").path("param").asText()).isEqualTo("response_format");
        JsonNode w = chat("\"temperature\": 1.0, \"seed\": 2, \"response_format\": {\"type\": \"json_schema\", \"json_schema\": "
                + "{\"name\": \"x\", \"strict\": false, \"schema\": " + overlapping + "}}", 200);
        assertThat(w.path("warnings").get(0).asText()).contains("'oneOf' at #/properties/v").contains("compiled as anyOf");
        assertThat(Http.JSON.readTree(w.path("choices").get(0).path("message").path("content").asText()).path("v").isNumber()).isTrue();
    }

    @Test
    void namedToolChoiceForcesAValidCall() throws Exception {
        JsonNode r = chat("\"temperature\": 1.0, \"seed\": 9, \"tools\": [" + WEATHER_TOOL + ", " + TIME_TOOL + "], "
                + "\"tool_choice\": {\"type\": \"function\", \"function\": {\"name\": \"get_weather\"}}", 200);
        JsonNode msg = r.path("choices").get(0).path("message");
        assertThat(r.path("choices").get(0).path("finish_reason").asText()).isEqualTo("tool_calls");
        JsonNode call = msg.path("tool_calls").get(0).path("function");
        assertThat(call.path("name").asText()).isEqualTo("get_weather");
        JsonNode args = Http.JSON.readTree(call.path("arguments").asText());
        assertThat(args.path("city").isTextual()).isTrue();
        assertThat(args.path("days").isIntegralNumber()).isTrue();

        JsonNode req = chat("\"temperature\": 1.0, \"seed\": 4, \"tools\": [" + WEATHER_TOOL + ", " + TIME_TOOL + "], "
                + "\"tool_choice\": \"required\"", 200);
        String name = req.path("choices").get(0).path("message").path("tool_calls").get(0).path("function").path("name").asText();
        assertThat(name).isIn("get_weather", "get_time");

        JsonNode unknown = chat("\"tools\": [" + WEATHER_TOOL + "], \"tool_choice\": {\"type\": \"function\", "
                + "\"function\": {\"name\": \"nope\"}}", 400);
        assertThat(unknown.path("error").path("message").asText()).contains("'nope'");
        JsonNode none = chat("\"tools\": [" + WEATHER_TOOL + "], \"tool_choice\": \"none\", \"max_tokens\": 3", 200);
        assertThat(none.path("choices").get(0).path("message").has("tool_calls")).isFalse();
    }

    @Test
    void llamaCppGrammarAndJsonSchemaFields() throws Exception {
        HttpResponse<String> r = http.post("/v1/completions",
                "{\"prompt\": \"x\", \"max_tokens\": 20, \"temperature\": 1.0, \"seed\": 1, \"grammar\": \"root ::= [ab]{2} \\\"!\\\"\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(Http.JSON.readTree(r.body()).path("choices").get(0).path("text").asText()).matches("[ab]{2}!");

        JsonNode s = chat("\"json_schema\": {\"type\": \"array\", \"items\": {\"type\": \"boolean\"}, \"maxItems\": 2}", 200);
        JsonNode v = Http.JSON.readTree(s.path("choices").get(0).path("message").path("content").asText());
        assertThat(v.isArray() && v.size() <= 2).isTrue();

        JsonNode e = chat("\"grammar\": \"root ::= \\\"a\\\"\\nitem ::= ( \\\"b\\\"\"", 400);
        assertThat(e.path("error").path("message").asText()).startsWith("grammar: grammar line 2:10: unclosed '('");
        JsonNode two = chat("\"grammar\": \"root ::= \\\"a\\\"\", \"response_format\": {\"type\": \"json_object\"}", 400);
        assertThat(two.path("error").path("message").asText()).contains("only one of");
    }
}
