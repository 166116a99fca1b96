package qwen4j.generate.constraint;

import qwen4j.Qwen4jException;

/** A grammar, JSON Schema or pattern that cannot be compiled: the user's input, said in one line. */
public final class GrammarException extends Qwen4jException {
    public GrammarException(String message) {
        super(message);
    }
}
