package qwen4j.fuzz;

import qwen4j.Qwen4jException;

/**
 * The contract every fuzz target checks: arbitrary input gives a valid object or one documented
 * user error ({@link Qwen4jException}) whose message is a single non-empty line. Anything else
 * escaping the parser (NullPointerException, IndexOutOfBounds, NegativeArraySize, ArithmeticException,
 * OutOfMemoryError, StackOverflowError, an IllegalArgumentException from inside the JDK) propagates,
 * and Jazzer reports it as a finding; so does a hang, through its per-input timeout.
 */
public final class FuzzOracle {
    private FuzzOracle() {}

    /** Runs {@code parse}; a user error is an accepted outcome, checked for its shape. */
    public static <T> T validOrUserError(java.util.function.Supplier<T> parse) {
        try {
            return parse.get();
        } catch (Qwen4jException e) {
            checkMessage(e.getMessage());
            return null;
        }
    }

    /** Longest message accepted: input pieces in messages are cut (Qwen4jException.shown), so messages stay short. */
    static final int MAX_MESSAGE = 1000;

    /** The documented shape of a user error message: one short line, saying something. */
    public static void checkMessage(String m) {
        if (m == null || m.isBlank()) throw new AssertionError("user error without a message");
        if (m.indexOf('\n') >= 0 || m.indexOf('\r') >= 0) throw new AssertionError("multi-line user error: " + m);
        if (m.length() > MAX_MESSAGE) {
            throw new AssertionError("user error of " + m.length() + " chars: " + m.substring(0, 300) + "...");
        }
    }
}
