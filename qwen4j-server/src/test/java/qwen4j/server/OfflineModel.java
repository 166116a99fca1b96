package qwen4j.server;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import qwen4j.api.ChatMessage;
import qwen4j.api.ResponseFormat;
import qwen4j.api.Tool;
import qwen4j.chat.ChatTemplate;
import qwen4j.generate.LocalQwen;
import qwen4j.generate.constraint.Constraints;
import qwen4j.tokenizer.Tokenizer;

/** A {@link RequestModel} without weights: the real tokenizer and chat template of an HF folder, for parser tests. */
final class OfflineModel implements RequestModel {
    private final Tokenizer tok;
    private final ChatTemplate template;
    private final Set<Integer> eos;

    private OfflineModel(Tokenizer tok, ChatTemplate template) {
        this.tok = tok;
        this.template = template;
        this.eos = tok.eosTokenId().isPresent() ? Set.of(tok.eosTokenId().getAsInt()) : Set.of();
    }

    static OfflineModel of(Path hf) throws java.io.IOException {
        Tokenizer tok = Tokenizer.fromHfFolder(hf);
        String source = new com.fasterxml.jackson.databind.ObjectMapper().readTree(hf.resolve("tokenizer_config.json").toFile())
                .get("chat_template").asText();
        return new OfflineModel(tok, new ChatTemplate(source, null, "<|im_end|>"));
    }

    @Override
    public int[] encode(String text) { return tok.encode(text, true); }

    @Override
    public synchronized int[] chat(List<ChatMessage> messages, List<Tool> tools, boolean parseSpecial) {
        return template.encode(tok, LocalQwen.messageMaps(messages), LocalQwen.toolMaps(tools), true, parseSpecial);
    }

    @Override
    public List<String> compile(ResponseFormat f) {
        return Constraints.of(f, tok, tok.size(), eos).warnings();
    }

    @Override
    public int vocabSize() { return tok.size(); }

    @Override
    public String chatProblem() { return null; }
}
