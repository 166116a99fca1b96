package qwen4j.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import qwen4j.Fixtures;
import qwen4j.Qwen4jException;

class ChatTemplateTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static ChatTemplate qwenTemplate() throws Exception {
        Path config = Fixtures.tiny().resolve("hf/tokenizer_config.json");
        String source = JSON.readTree(config.toFile()).get("chat_template").asText();
        return new ChatTemplate(source, null, "<|im_end|>");
    }

    @Test
    void matchesEveryPythonJinjaCaseByteForByte() throws Exception {
        ChatTemplate template = qwenTemplate();
        JsonNode cases = JSON.readTree(Fixtures.shared().resolve("fixtures/chat/qwen2.5-chat-cases.json").toFile());
        List<String> failures = new ArrayList<>();
        int matched = 0;
        for (JsonNode c : cases) {
            JsonNode input = c.get("input");
            String got = template.render(input, input.path("add_generation_prompt").asBoolean(false));
            if (got.equals(c.get("rendered").asText())) matched++;
            else failures.add(c.get("name").asText() + ":\n--- expected\n" + c.get("rendered").asText() + "\n--- got\n" + got);
        }
        System.out.println("chat template cases matched: " + matched + "/" + cases.size());
        assertThat(failures).isEmpty();
        assertThat(matched).isEqualTo(cases.size()).isGreaterThanOrEqualTo(10);
    }

    @Test
    void rendersMessagesAsRecordsOrMaps() throws Exception {
        ChatTemplate template = qwenTemplate();
        String a = template.render(List.of(Message.system("S"), Message.user("U")), null, true);
        String b = template.render(List.of(Map.of("role", "system", "content", "S"), Map.of("role", "user", "content", "U")),
                null, true);
        assertThat(a).isEqualTo(b).isEqualTo("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n");
    }

    @Test
    void hfSettingsAndHelpers() {
        ChatTemplate t = new ChatTemplate("{% for m in messages %}\n  {{ m.content | tojson }}|{% endfor %}{{ bos_token }}{{ eos_token }}",
                "<s>", "</s>");
        assertThat(t.render(List.of(Map.of("role", "user", "content", "é\"\n")), null, false))
                .isEqualTo("  \"é\\\"\\n\"|<s></s>");
        ChatTemplate obj = new ChatTemplate("{{ x | tojson }}", "", "");
        Map<String, Object> x = new java.util.LinkedHashMap<>();
        x.put("b", 1);
        x.put("a", List.of(1.5, true, "ü"));
        x.put("n", null);
        assertThat(obj.render(List.of(), null, false, Map.of("x", x))).isEqualTo("{\"b\": 1, \"a\": [1.5, true, \"ü\"], \"n\": null}");
        assertThat(obj.render(List.of(), null, false, Map.of("x", 3.0))).isEqualTo("3.0");
        ChatTemplate raising = new ChatTemplate("{% if messages|length == 0 %}{{ raise_exception('need a message') }}{% endif %}ok", "", "");
        assertThatThrownBy(() -> raising.render(List.of(), null, false))
                .isInstanceOf(Qwen4jException.class).hasMessageContaining("need a message");
    }

    @Test
    void hostileTemplatesCannotHangReadFilesOrReachJava() {
        ChatTemplate loop = new ChatTemplate(
                "{% for a in range(10000) %}{% for b in range(10000) %}{% for c in range(10000) %}x{% endfor %}{% endfor %}{% endfor %}",
                "", "", 1_000_000, 2_000);
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> loop.render(List.of(), null, false)).isInstanceOf(Qwen4jException.class)
                .hasMessageContaining("runaway");
        assertThat((System.nanoTime() - t0) / 1e9).isLessThan(10);

        ChatTemplate emptyLoops = new ChatTemplate(
                "{% for a in range(10000) %}{% for b in range(10000) %}{% for c in range(10000) %}{% endfor %}{% endfor %}{% endfor %}",
                "", "", 1_000_000, 2_000);
        long t1 = System.nanoTime();
        assertThatThrownBy(() -> emptyLoops.render(List.of(), null, false)).isInstanceOf(Qwen4jException.class)
                .hasMessageContaining("runaway");
        assertThat((System.nanoTime() - t1) / 1e9).isLessThan(10);

        ChatTemplate big = new ChatTemplate("{% for a in range(10000) %}{% for b in range(1000) %}yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy{% endfor %}{% endfor %}", "", "");
        assertThatThrownBy(() -> big.render(List.of(), null, false)).isInstanceOf(Qwen4jException.class)
                .hasMessageContaining("OutputTooBig");

        for (String src : List.of("{% include '/etc/passwd' %}", "{% import '/etc/passwd' as p %}",
                "{% extends '/etc/passwd' %}", "{% from '/etc/passwd' import x %}")) {
            String out;
            try {
                out = new ChatTemplate(src, "", "").render(List.of(), null, false);
            } catch (Qwen4jException e) {
                out = "";
            }
            assertThat(out).doesNotContain("root:");
        }
        for (String src : List.of("{{ ''.getClass().forName('java.lang.Runtime') }}",
                "{{ messages.getClass().getName() }}", "{{ ''.class.name }}")) {
            String out;
            try {
                out = new ChatTemplate(src, "", "").render(List.of(), null, false);
            } catch (Qwen4jException e) {
                out = "";
            }
            assertThat(out).doesNotContain("java.");
        }
        assertThatThrownBy(() -> new ChatTemplate("{{ x }}", "", "").render(List.of(), null, false,
                Map.of("x", new Object()))).isInstanceOf(Qwen4jException.class);
    }
}
