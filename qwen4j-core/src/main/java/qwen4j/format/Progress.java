package qwen4j.format;

/** Receives progress of a long operation (bytes converted or written so far, out of a total). */
@FunctionalInterface
public interface Progress {
    Progress NONE = (done, total) -> {};

    void update(long done, long total);
}
