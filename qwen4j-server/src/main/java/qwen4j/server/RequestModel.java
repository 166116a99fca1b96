package qwen4j.server;

import java.util.List;
import qwen4j.Qwen4jException;
import qwen4j.api.ChatMessage;
import qwen4j.api.Qwen;
import qwen4j.api.ResponseFormat;
import qwen4j.api.Tool;

/**
 * What turning a request into a {@link Job} needs of the model: its tokenizer, its chat template and the
 * compilation of output formats. Over a {@link Qwen} handle in the server; the fuzz tests give one without
 * weights.
 */
interface RequestModel {
    /** Token ids of a completion prompt (special-token text in it is parsed, as llama.cpp's server does). */
    int[] encode(String text);

    /**
     * The chat prompt for {@code messages} and {@code tools} (nullable), ready for the answer; message text stays
     * text unless {@code parseSpecial}. Throws {@link Qwen4jException} when the template cannot render them.
     */
    int[] chat(List<ChatMessage> messages, List<Tool> tools, boolean parseSpecial);

    /** Compiles a format (kept for the generation); its warnings. Throws {@link Qwen4jException} for a bad one. */
    List<String> compile(ResponseFormat format);

    /** Ids that have a token. */
    int vocabSize();

    /** Null, or why chat requests cannot be answered (the model has no chat template). */
    String chatProblem();

    static RequestModel of(Qwen qwen) {
        String problem;
        try {
            qwen.chatPrompt(List.of(ChatMessage.user("x")), null);
            problem = null;
        } catch (Qwen4jException e) {
            problem = e.getMessage();
        }
        String chatProblem = problem;
        return new RequestModel() {
            @Override
            public int[] encode(String text) { return qwen.tokenizer().encode(text, true); }

            @Override
            public int[] chat(List<ChatMessage> messages, List<Tool> tools, boolean parseSpecial) {
                return parseSpecial ? qwen.tokenizer().encode(qwen.chatPrompt(messages, tools), true)
                        : qwen.chatPromptIds(messages, tools);
            }

            @Override
            public List<String> compile(ResponseFormat format) { return qwen.compile(format); }

            @Override
            public int vocabSize() { return qwen.tokenizer().vocabSize(); }

            @Override
            public String chatProblem() { return chatProblem; }
        };
    }
}
