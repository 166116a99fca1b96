package qwen4j.spark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import qwen4j.Qwen4jException;
import qwen4j.generate.Engine;
import qwen4j.model.Options;

/**
 * One engine per JVM and model: tasks of an executor share it (the weights are memory-mapped once),
 * counted by leases. An engine no task holds stays open for the next task (loading is the slow part);
 * it is closed when a different model is wanted and at JVM exit (the executor ending), never under a lease.
 */
public final class EngineCache {
    private EngineCache() {}

    /** What identifies an engine: the resolved model path and the options it was opened with. */
    record Key(Path path, int ctx, int threads) {}

    /** An engine and its holders; {@link #lock} serializes forward passes (the model's scratch is shared). */
    static final class Entry {
        final Key key;
        final Engine engine;
        final ReentrantLock lock = new ReentrantLock();
        int leases;

        Entry(Key key, Engine engine) {
            this.key = key;
            this.engine = engine;
        }
    }

    /** A task's use of a shared engine; closing it gives the engine back (it stays open for later tasks). */
    public static final class Lease implements AutoCloseable {
        final Entry entry;
        private boolean closed;

        Lease(Entry entry) { this.entry = entry; }

        public Engine engine() { return entry.engine; }

        ReentrantLock lock() { return entry.lock; }

        @Override
        public void close() {
            synchronized (EngineCache.class) {
                if (closed) return;
                closed = true;
                entry.leases--;
            }
        }
    }

    private static final Map<Key, Entry> ENGINES = new HashMap<>();
    private static int opened;
    private static boolean hookAdded;

    /** Engines opened in this JVM so far (tests check that tasks share one). */
    public static synchronized int openedCount() { return opened; }

    /** Opens (or reuses) the engine for {@code path}; throws the engine's one-line error for a missing or bad model. */
    public static synchronized Lease acquire(Path path, int ctx, int threads) {
        if (!Files.exists(path)) throw new Qwen4jException(path + ": no such file or folder");
        Key key = new Key(path.toAbsolutePath().normalize(), ctx, threads);
        Entry e = ENGINES.get(key);
        if (e == null) {
            // memory goes to the model now wanted: close engines of other models that no task holds
            ENGINES.values().removeIf(old -> {
                if (old.leases > 0) return false;
                old.engine.close();
                return true;
            });
            Options options = Options.defaults().withThreads(threads);
            e = new Entry(key, Engine.open(key.path(), options, ctx));
            ENGINES.put(key, e);
            opened++;
            if (!hookAdded) {
                hookAdded = true;
                Runtime.getRuntime().addShutdownHook(new Thread(EngineCache::closeIdle, "qwen4j-engine-close"));
            }
        }
        e.leases++;
        return new Lease(e);
    }

    /** Closes every engine no task holds (at JVM exit, a held one is left to the OS: its task is being killed). */
    static synchronized void closeIdle() {
        ENGINES.values().removeIf(old -> {
            if (old.leases > 0) return false;
            old.engine.close();
            return true;
        });
    }
}
