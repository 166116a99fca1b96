/**
 * LangChain4j on qwen4j, in process: {@link qwen4j.langchain4j.QwenChatModel} ({@code ChatModel}) and
 * {@link qwen4j.langchain4j.QwenStreamingChatModel} ({@code StreamingChatModel}) over a {@link qwen4j.api.Qwen}
 * handle, with Qwen's own chat template and tool-call format.
 */
package qwen4j.langchain4j;
