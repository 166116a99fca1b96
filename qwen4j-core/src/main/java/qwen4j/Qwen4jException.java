package qwen4j;

/**
 * A user-facing error: bad input file, bad option, bad request. Its message is one line that says
 * what is wrong and where (file, tensor, byte offset, JSON field). The CLI prints it and exits 2;
 * the server maps it to a 4xx. Anything else escaping is a bug.
 */
public class Qwen4jException extends RuntimeException {
    public Qwen4jException(String message) {
        super(oneLine(message));
    }

    public Qwen4jException(String message, Throwable cause) {
        super(oneLine(message), cause);
    }

    private String details;

    /**
     * Adds lines that explain the error further (e.g. where to get a model); the CLI prints them after
     * the one-line message, with their line breaks. Returns this exception.
     */
    public Qwen4jException withDetails(String text) {
        this.details = text;
        return this;
    }

    /** Lines printed after the message, or null. */
    public String details() {
        return details;
    }

    /** The one-line contract, kept even where a piece of input reached the message unescaped. */
    private static String oneLine(String m) {
        if (m == null || (m.indexOf('\n') < 0 && m.indexOf('\r') < 0)) return m;
        return m.replace("\r", "\\r").replace("\n", "\\n");
    }

    /**
     * A name or value taken from an input (tensor name, metadata key, JSON string), fit for a one-line
     * message: control characters and line breaks escaped, cut to 80 characters. Inputs are hostile:
     * a key may hold a newline or megabytes of text.
     */
    public static String shown(String s) {
        return shown(s, 80);
    }

    /** As {@link #shown(String)}, cut to {@code max} characters (e.g. a library's error message). */
    public static String shown(String s, int max) {
        if (s == null) return "null";
        StringBuilder b = new StringBuilder(Math.min(s.length(), max + 10));
        int i = 0;
        for (; i < s.length() && b.length() < max; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029 || c == 0x85) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        if (i < s.length()) b.append("...");
        return b.toString();
    }
}
