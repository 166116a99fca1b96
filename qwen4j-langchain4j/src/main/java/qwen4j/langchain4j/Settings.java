package qwen4j.langchain4j;

import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.DefaultChatRequestParameters;
import java.nio.file.Path;
import java.util.List;
import qwen4j.api.LoadOptions;
import qwen4j.api.Qwen;

/** What both models' builders collect: the model (given or loaded here) and the default parameters. */
final class Settings {
    Qwen qwen;
    Path modelPath;
    String modelName;
    LoadOptions loadOptions;
    ChatRequestParameters defaults;
    Double temperature, topP;
    Integer topK, maxOutputTokens;
    List<String> stopSequences;
    Long seed;

    /** The handle (loaded when a path or name was given) and whether the model owns it. */
    record Built(Qwen qwen, boolean owned, String name, ChatRequestParameters defaults, Long seed) {}

    Built build() {
        if ((qwen != null ? 1 : 0) + (modelPath != null ? 1 : 0) + (modelName != null ? 1 : 0) != 1) {
            throw new IllegalArgumentException("give exactly one of model(Qwen), modelPath(Path) or modelName(String)");
        }
        DefaultChatRequestParameters.Builder<?> b = DefaultChatRequestParameters.builder();
        if (defaults != null) b.overrideWith(defaults);
        if (temperature != null) b.temperature(temperature);
        if (topP != null) b.topP(topP);
        if (topK != null) b.topK(topK);
        if (maxOutputTokens != null) b.maxOutputTokens(maxOutputTokens);
        if (stopSequences != null) b.stopSequences(stopSequences);
        ChatRequestParameters params = b.build();
        Mapping.params(params, seed); // fails early on values out of range
        LoadOptions options = loadOptions == null ? LoadOptions.defaults() : loadOptions;
        if (qwen != null) return new Built(qwen, false, "qwen4j", params, seed);
        Qwen loaded = modelPath != null ? Qwen.load(modelPath, options) : Qwen.load(modelName, options);
        String name = modelPath != null ? String.valueOf(modelPath.getFileName()) : modelName;
        return new Built(loaded, true, name, params, seed);
    }
}
