package qwen4j.chat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import qwen4j.fuzz.FuzzOracle;

/**
 * Fuzz targets for chat templates: the model's real template with hostile message content, and
 * hostile templates (a template comes from the model file). Corpus:
 * src/test/resources/qwen4j/chat/ChatTemplateFuzzTestInputs.
 */
class ChatTemplateFuzzTest {
    /**
     * Targets that read ../shared skip here when it is missing: an assumption inside a fuzz target
     * would be reported by Jazzer as a finding, not a skip.
     */
    @org.junit.jupiter.api.BeforeEach
    void needsSharedFixtures(org.junit.jupiter.api.TestInfo info) {
        if (java.util.Set.of("hostileMessages").contains(info.getTestMethod().orElseThrow().getName())) qwen4j.Fixtures.shared();
    }

    private static final String[] ROLES = {"system", "user", "assistant", "tool"};
    /** A hostile template must finish (render or fail) well within this; the sandbox's own limit is lower. */
    private static final long HANG_MILLIS = 3_000;

    private static ChatTemplate qwen;

    private static synchronized ChatTemplate qwen() throws Exception {
        if (qwen == null) qwen = ChatTemplateTest.qwenTemplate();
        return qwen;
    }

    /**
     * Message content is data, never template code: each user message's content appears in the
     * output verbatim, whatever Jinja syntax it holds.
     */
    @FuzzTest(maxDuration = "60s")
    void hostileMessages(FuzzedDataProvider in) throws Exception {
        List<Object> messages = new ArrayList<>();
        List<String> userTexts = new ArrayList<>();
        int n = in.consumeInt(1, 6);
        for (int i = 0; i < n; i++) {
            Map<String, Object> m = new LinkedHashMap<>();
            String role = in.pickValue(ROLES);
            String content = in.consumeString(500);
            m.put("role", role);
            m.put("content", content);
            if (role.equals("assistant") && in.consumeBoolean()) {
                m.put("tool_calls", List.of(Map.of("type", "function", "function",
                        Map.of("name", in.consumeString(40), "arguments", Map.of("q", in.consumeString(40))))));
            }
            if (role.equals("user")) userTexts.add(content);
            messages.add(m);
        }
        List<Object> tools = in.consumeBoolean() ? List.of(Map.of("type", "function", "function",
                Map.of("name", in.consumeString(40), "description", in.consumeString(200)))) : null;
        boolean addPrompt = in.consumeBoolean();
        String out = FuzzOracle.validOrUserError(() -> {
            try {
                return qwen().render(messages, tools, addPrompt);
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        if (out == null) return;
        for (String u : userTexts) {
            if (!out.contains(u)) throw new AssertionError("user content was not rendered verbatim: " + u);
        }
    }

    /** Any template source: renders or fails with one user error, in bounded time and output. */
    @FuzzTest(maxDuration = "60s")
    void hostileTemplate(byte[] data) {
        String source = new String(data, java.nio.charset.StandardCharsets.UTF_8);
        long t0 = System.nanoTime();
        FuzzOracle.validOrUserError(() -> {
            ChatTemplate t = new ChatTemplate(source, "<s>", "</s>", 20_000, 1_000);
            String out = t.render(List.of(Map.of("role", "user", "content", "hi")), null, true);
            if (out.length() > ChatTemplate.MAX_OUTPUT) throw new AssertionError("output " + out.length() + " chars");
            return out;
        });
        long ms = (System.nanoTime() - t0) / 1_000_000;
        if (ms > HANG_MILLIS) throw new AssertionError("template took " + ms + " ms: " + FuzzOracleText.cut(source));
    }

    /** Short rendering of a template for a finding's message. */
    private static final class FuzzOracleText {
        static String cut(String s) {
            return qwen4j.Qwen4jException.shown(s);
        }
    }
}
