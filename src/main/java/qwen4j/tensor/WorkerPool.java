package qwen4j.tensor;

/**
 * Persistent threads that split kernel work by output rows. PLACEHOLDER: runs on the caller's
 * thread until the real pool lands.
 */
public final class WorkerPool implements AutoCloseable {
    private final int threads;

    public WorkerPool(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1");
        this.threads = threads;
    }

    public int threads() { return threads; }

    /** out = m · x, rows split across the pool's threads; blocks until done; allocates nothing. */
    public void matvec(Matrix m, float[] x, float[] out) {
        m.matvec(x, out, 0, m.rows());
    }

    @Override
    public void close() {}
}
