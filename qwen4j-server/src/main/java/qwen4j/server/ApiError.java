package qwen4j.server;

/** An error answered to the client in OpenAI's shape: {@code {"error": {message, type, param, code}}}. */
final class ApiError extends RuntimeException {
    final int status;
    final String type;
    final String param;
    final String code;

    ApiError(int status, String type, String message, String param, String code) {
        // one line, whatever pieces of the request the message quotes
        super(message == null ? null : message.replace("\r", "\\r").replace("\n", "\\n"), null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    static ApiError invalid(String message, String param) {
        return new ApiError(400, "invalid_request_error", message, param, null);
    }

    static ApiError invalid(String message, String param, String code) {
        return new ApiError(400, "invalid_request_error", message, param, code);
    }
}
