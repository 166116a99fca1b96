package qwen4j.cli;

import qwen4j.api.QwenTokenizer;

/** Display helpers for tokens. */
final class Tokens {
    private Tokens() {}

    /** The token's text in single quotes with control characters escaped. */
    static String quoted(QwenTokenizer tokenizer, int id) {
        String s = tokenizer.piece(id);
        StringBuilder b = new StringBuilder("'");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\'' -> b.append("\\'");
                default -> {
                    if (c < 0x20) b.append(String.format("\\x%02x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('\'').toString();
    }
}
