package qwen4j.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Collectors;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where a measured window allocated, from JFR's allocation samples: so that a failing
 * zero-allocation assertion names the method (and the JIT tier it ran in) instead of a byte count.
 */
public final class AllocationSites implements AutoCloseable {
    private final Recording recording = new Recording();

    /** Starts sampling allocations (all threads) until {@link #top} or {@link #close}. */
    public AllocationSites() {
        recording.enable("jdk.ObjectAllocationSample").withStackTrace().with("throttle", "2000/s");
        recording.start();
    }

    /** The heaviest sites (allocated class, first frames with their JIT tier), by sampled weight. */
    public String top(int n) {
        recording.stop();
        try {
            Path file = Files.createTempFile("qwen4j-alloc", ".jfr");
            try {
                recording.dump(file);
                Map<String, Long> weight = new HashMap<>();
                for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
                    if (e.getStackTrace() == null) continue;
                    StringBuilder site = new StringBuilder(e.getClass("objectClass").getName()).append(" at");
                    int shown = 0, frame = 0;
                    for (RecordedFrame f : e.getStackTrace().getFrames()) {
                        // the first frame, then our own code (the Vector API's insides are all inlined)
                        if (frame++ > 0 && f.getMethod().getType().getName().startsWith("jdk.")) continue;
                        site.append(' ').append(f.getMethod().getType().getName().replaceFirst(".*\\.", ""))
                                .append("::").append(f.getMethod().getName()).append(':').append(f.getLineNumber())
                                .append('[').append(f.getType()).append(']');
                        if (++shown == 6) break;
                    }
                    if (e.getStackTrace().isTruncated()) site.append(" (truncated)");
                    weight.merge(site.toString(), e.getLong("weight"), Long::sum);
                }
                return weight.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(n)
                        .map(s -> s.getValue() + " B  " + s.getKey()).collect(Collectors.joining("\n  ", "\n  ", ""));
            } finally {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            return " (no allocation profile: " + e + ")";
        }
    }

    @Override
    public void close() {
        recording.close();
    }
}
