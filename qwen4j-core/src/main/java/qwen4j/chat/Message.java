package qwen4j.chat;

import java.util.LinkedHashMap;
import java.util.Map;

/** One plain chat message (role and text); richer messages (tool_calls, name) are passed as maps. */
public record Message(String role, String content) {
    public static Message system(String text) { return new Message("system", text); }

    public static Message user(String text) { return new Message("user", text); }

    public static Message assistant(String text) { return new Message("assistant", text); }

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        return m;
    }
}
