package qwen4j.tokenizer;

/**
 * Turns generated ids into text one id at a time. Each {@link #accept(int)} returns only complete
 * UTF-8 text: a multi-byte character split across tokens is held back until its last byte arrives.
 * Bytes that can never form a valid character are emitted as U+FFFD as soon as that is certain.
 * {@link #flush()} emits whatever is left (an incomplete tail as U+FFFD) and resets the decoder.
 * Concatenating all results equals {@link Tokenizer#decode(int[])} of all ids. Not thread-safe.
 */
public final class StreamingDecoder {
    private final Tokenizer tokenizer;
    private final boolean skipSpecial;
    private byte[] pending = new byte[16];
    private int pendingLen;

    StreamingDecoder(Tokenizer tokenizer, boolean skipSpecial) {
        this.tokenizer = tokenizer;
        this.skipSpecial = skipSpecial;
    }

    /** Adds one id; returns the text that is now complete (possibly empty). */
    public String accept(int id) {
        if (skipSpecial && tokenizer.isSpecial(id)) return "";
        byte[] b = tokenizer.bytesOrEmpty(id);
        if (b.length == 0) return "";
        if (pendingLen + b.length > pending.length) {
            pending = java.util.Arrays.copyOf(pending, Math.max(pendingLen + b.length, pending.length * 2));
        }
        System.arraycopy(b, 0, pending, pendingLen, b.length);
        pendingLen += b.length;
        StringBuilder sb = new StringBuilder(pendingLen);
        int used = Utf8.decode(pending, 0, pendingLen, false, sb);
        System.arraycopy(pending, used, pending, 0, pendingLen - used);
        pendingLen -= used;
        return sb.toString();
    }

    /** Emits what is left (an incomplete sequence becomes U+FFFD) and resets. */
    public String flush() {
        String s = Utf8.decode(pending, 0, pendingLen);
        pendingLen = 0;
        return s;
    }

    /** Number of bytes held back, waiting for the rest of a character. */
    public int pendingBytes() {
        return pendingLen;
    }
}
