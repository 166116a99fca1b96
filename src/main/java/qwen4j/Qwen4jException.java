package qwen4j;

/**
 * A user-facing error: bad input file, bad option, bad request. Its message is one line that says
 * what is wrong and where (file, tensor, byte offset, JSON field). The CLI prints it and exits 2;
 * the server maps it to a 4xx. Anything else escaping is a bug.
 */
public class Qwen4jException extends RuntimeException {
    public Qwen4jException(String message) {
        super(message);
    }

    public Qwen4jException(String message, Throwable cause) {
        super(message, cause);
    }
}
