package qwen4j.tensor;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Persistent threads that split kernel work by output rows. The calling thread takes part, so a
 * pool of {@code n} threads starts {@code n - 1} daemon workers.
 *
 * <p>A dispatch allocates nothing: the job is described by plain fields written before a volatile
 * phase counter is bumped; workers spin briefly on that counter, then park. Work is handed out in
 * chunks through one atomic counter, so a thread slowed down by a neighbour simply takes fewer
 * chunks. Matvec chunks are multiples of {@link #ROW_ALIGN} rows of one matrix, so multi-row
 * kernels see the same row groups as in a single-threaded call, and results are bit-identical.
 *
 * <p>One dispatch at a time: the pool is meant to be driven by one thread (the model's). A task
 * must not dispatch on the same pool.
 */
public final class WorkerPool implements AutoCloseable {
    /** A range of work [from, to); pre-allocate it, a dispatch does not. */
    @FunctionalInterface
    public interface RangeTask {
        void run(int from, int to);
    }

    /** Matvec chunks hold a multiple of this many rows (a cache-friendly, kernel-friendly unit). */
    static final int ROW_ALIGN = 16;
    /** Chunks per thread a dispatch aims for: enough to balance, few enough to be cheap. */
    private static final int CHUNKS_PER_THREAD = 8;
    private static final int SPINS = 1 << 14;
    private static final int MODE_TASK = 0, MODE_MATVEC = 1, MODE_MATMUL = 2;

    private final int threads;
    private final Worker[] workers;

    // The job. Written by the dispatching thread before the volatile write of phase, read by
    // workers after the volatile read of it (happens-before through phase).
    private int mode;
    private RangeTask task;
    private Matrix ma, mb, mc;
    /** x of the current matvec dispatch (a matmul's is in {@link #packed}). */
    private float[] x;
    private float[] outA, outB, outC;
    /** x of the current matmul dispatch, packed once for all threads and matrices. */
    private final MatMul.Tokens packed = new MatMul.Tokens();
    /** Packs a share of x's columns (a dispatch of its own before the matmul's: all threads pack). */
    private final RangeTask packColumns = packed::packColumns;
    private int endA, endB, total, chunk;
    /** Per-thread scratch of the batched products (index 0: the caller); grows, never shrinks. */
    private final float[][] scratch;
    private boolean dispatching;
    private Thread caller;

    private final AtomicInteger nextChunk = new AtomicInteger();
    private final AtomicInteger running = new AtomicInteger();
    private volatile int phase;
    private volatile boolean callerParked;
    private volatile boolean closed;
    private volatile Throwable failure;

    /** A pool with one thread per available processor. */
    public WorkerPool() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public WorkerPool(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1");
        this.threads = threads;
        this.workers = new Worker[threads - 1];
        this.scratch = new float[threads][];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker("qwen4j-worker-" + (i + 1), i + 1);
            workers[i].start();
        }
    }

    public int threads() { return threads; }

    /** out = m · x, rows split across the pool's threads; blocks until done; allocates nothing. */
    public void matvec(Matrix m, float[] x, float[] out) {
        matvec3(m, out, null, null, null, null, x);
    }

    /** outA = a · x and outB = b · x in one dispatch (e.g. gate and up projections). */
    public void matvec2(Matrix a, float[] outA, Matrix b, float[] outB, float[] x) {
        matvec3(a, outA, b, outB, null, null, x);
    }

    /**
     * outA = a · x, outB = b · x, outC = c · x in one dispatch (e.g. q, k, v projections). b and c
     * may be null (with their outputs).
     */
    public void matvec3(Matrix a, float[] outA, Matrix b, float[] outB, Matrix c, float[] outC, float[] x) {
        int rowsA = a.rows(), rowsB = b == null ? 0 : b.rows(), rowsC = c == null ? 0 : c.rows();
        int n = rowsA + rowsB + rowsC;
        int chunkRows = matvecChunk(n);
        if (threads == 1 || n <= chunkRows) {
            a.matvec(x, outA, 0, rowsA);
            if (b != null) b.matvec(x, outB, 0, rowsB);
            if (c != null) c.matvec(x, outC, 0, rowsC);
            return;
        }
        // Each matrix is padded to a whole number of chunks, so no chunk spans two matrices and
        // every chunk starts on a multiple of ROW_ALIGN of its own matrix.
        int padA = roundUp(rowsA, chunkRows), padB = roundUp(rowsB, chunkRows), padC = roundUp(rowsC, chunkRows);
        begin();
        this.mode = MODE_MATVEC;
        this.ma = a; this.mb = b; this.mc = c;
        this.outA = outA; this.outB = outB; this.outC = outC;
        this.x = x;
        this.endA = padA;
        this.endB = padA + padB;
        this.total = padA + padB + padC;
        this.chunk = chunkRows;
        run();
    }

    /**
     * Batched product: out = x · mᵀ for n activation rows (x: n rows of m.cols(), out: n rows of
     * m.rows()), output rows split across the threads; allocates nothing once scratch has grown.
     */
    public void matmul(Matrix m, float[] x, int n, float[] out) {
        matmul3(m, out, null, null, null, null, x, n);
    }

    /** outA = x · aᵀ and outB = x · bᵀ in one dispatch (gate and up). */
    public void matmul2(Matrix a, float[] outA, Matrix b, float[] outB, float[] x, int n) {
        matmul3(a, outA, b, outB, null, null, x, n);
    }

    /** Three batched products of the same x in one dispatch (q, k, v); b and c may be null. */
    public void matmul3(Matrix a, float[] outA, Matrix b, float[] outB, Matrix c, float[] outC, float[] x, int n) {
        int need = a.matmulScratch();
        if (b != null) need = Math.max(need, b.matmulScratch());
        if (c != null) need = Math.max(need, c.matmulScratch());
        int rowsA = a.rows(), rowsB = b == null ? 0 : b.rows(), rowsC = c == null ? 0 : c.rows();
        int rows = rowsA + rowsB + rowsC;
        int chunkRows = matvecChunk(rows);
        requireIdle();
        MatMul.Tokens xs = packed;
        xs.prepare(x, n, a.cols());
        if (xs.packs()) parallelFor(a.cols(), packColumns);
        if (threads == 1 || rows <= chunkRows) {
            float[] w = scratch(0, need);
            a.matmul(xs, outA, 0, rowsA, w);
            if (b != null) b.matmul(xs, outB, 0, rowsB, w);
            if (c != null) c.matmul(xs, outC, 0, rowsC, w);
            return;
        }
        for (int i = 0; i < threads; i++) scratch(i, need);
        int padA = roundUp(rowsA, chunkRows), padB = roundUp(rowsB, chunkRows), padC = roundUp(rowsC, chunkRows);
        begin();
        this.mode = MODE_MATMUL;
        this.ma = a; this.mb = b; this.mc = c;
        this.outA = outA; this.outB = outB; this.outC = outC;
        this.endA = padA;
        this.endB = padA + padB;
        this.total = padA + padB + padC;
        this.chunk = chunkRows;
        run();
    }

    private float[] scratch(int thread, int floats) {
        float[] s = scratch[thread];
        if (s == null || s.length < floats) scratch[thread] = s = new float[floats];
        return s;
    }

    /**
     * Runs task over [0, n) in chunks spread over the pool's threads (the caller included); blocks
     * until all are done; allocates nothing.
     */
    public void parallelFor(int n, RangeTask task) {
        if (n <= 0) return;
        int chunkSize = Math.max(1, ceilDiv(n, threads * CHUNKS_PER_THREAD));
        if (threads == 1 || n <= chunkSize) {
            task.run(0, n);
            return;
        }
        begin();
        this.mode = MODE_TASK;
        this.task = task;
        this.total = n;
        this.chunk = chunkSize;
        run();
    }

    /** Rows per matvec chunk: about CHUNKS_PER_THREAD chunks per thread, a multiple of ROW_ALIGN. */
    private int matvecChunk(int rows) {
        return roundUp(Math.max(1, ceilDiv(rows, threads * CHUNKS_PER_THREAD)), ROW_ALIGN);
    }

    /** A dispatch (or the shared state it writes first: packed or quantized x) must not start while one runs. */
    private void requireIdle() {
        if (dispatching) throw new IllegalStateException("WorkerPool dispatch while one is running (nested or concurrent use)");
    }

    private void begin() {
        if (closed) throw new IllegalStateException("WorkerPool is closed");
        requireIdle();
        dispatching = true;
        caller = Thread.currentThread();
    }

    private void run() {
        nextChunk.set(0);
        running.set(workers.length);
        failure = null;
        phase = phase + 1; // publishes the job
        for (Worker w : workers) {
            if (w.parked) LockSupport.unpark(w);
        }
        try {
            work(0);
        } catch (Throwable t) {
            if (failure == null) failure = t;
        }
        awaitWorkers();
        task = null; ma = mb = mc = null; x = outA = outB = outC = null;
        dispatching = false;
        Throwable t = failure;
        if (t != null) {
            failure = null;
            if (t instanceof RuntimeException e) throw e;
            if (t instanceof Error e) throw e;
            throw new IllegalStateException(t);
        }
    }

    private void awaitWorkers() {
        for (int i = 0; i < SPINS; i++) {
            if (running.get() == 0) return;
            Thread.onSpinWait();
        }
        while (running.get() != 0) {
            callerParked = true;
            if (running.get() != 0) LockSupport.park(this);
            callerParked = false;
        }
    }

    /** Takes chunks until none are left. Runs on the caller and on every worker. */
    private void work(int thread) {
        int chunk = this.chunk, total = this.total;
        if (mode == MODE_MATMUL) {
            workMatmul(scratch[thread], chunk, total);
            return;
        }
        for (int c = nextChunk.getAndIncrement(); (long) c * chunk < total; c = nextChunk.getAndIncrement()) {
            int from = c * chunk, to = Math.min(from + chunk, total);
            if (mode == MODE_TASK) {
                task.run(from, to);
            } else if (from < endA) {
                matvecShare(ma, x, outA, from, to);
            } else if (from < endB) {
                matvecShare(mb, x, outB, from - endA, to - endA);
            } else {
                matvecShare(mc, x, outC, from - endB, to - endB);
            }
        }
    }

    /**
     * Chunk [from, to) of m's (padded) rows: those rows, or for a matrix that {@link Matrix#spreadsRows}
     * (rows a multiple of 4) rows [from / 4, to / 4) of each quarter, so that its four-row passes take rows a
     * quarter of the matrix apart; either way a chunk holds as many rows (chunks are multiples of ROW_ALIGN).
     */
    private static void matvecShare(Matrix m, float[] x, float[] out, int from, int to) {
        int rows = m.rows();
        if (m.spreadsRows() && rows % 4 == 0) {
            int quarter = rows / 4;
            if (from / 4 < quarter) m.matvecQuarters(x, out, from / 4, Math.min(to / 4, quarter), quarter);
        } else {
            m.matvec(x, out, from, Math.min(to, rows));
        }
    }

    private void workMatmul(float[] w, int chunk, int total) {
        MatMul.Tokens xs = packed;
        for (int c = nextChunk.getAndIncrement(); (long) c * chunk < total; c = nextChunk.getAndIncrement()) {
            int from = c * chunk, to = Math.min(from + chunk, total);
            if (from < endA) {
                ma.matmul(xs, outA, from, Math.min(to, ma.rows()), w);
            } else if (from < endB) {
                mb.matmul(xs, outB, from - endA, Math.min(to - endA, mb.rows()), w);
            } else {
                mc.matmul(xs, outC, from - endB, Math.min(to - endB, mc.rows()), w);
            }
        }
    }

    private static int roundUp(int n, int m) { return ceilDiv(n, m) * m; }

    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }

    /** Stops the workers (they are daemon threads, so forgetting this does not keep the JVM alive). */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        phase = phase + 1;
        for (Worker w : workers) LockSupport.unpark(w);
        for (Worker w : workers) {
            try {
                w.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private final class Worker extends Thread {
        volatile boolean parked;
        private final int index;
        /** The last phase this worker ran; read here, before start(), so no dispatch is missed. */
        private int seen = phase;

        Worker(String name, int index) {
            super(name);
            this.index = index;
            setDaemon(true);
        }

        @Override
        public void run() {
            int seen = this.seen;
            while (true) {
                seen = awaitPhase(seen);
                if (closed) return;
                try {
                    work(index);
                } catch (Throwable t) {
                    if (failure == null) failure = t;
                } finally {
                    if (running.decrementAndGet() == 0 && callerParked) LockSupport.unpark(caller);
                }
            }
        }

        /** Waits until phase moves past {@code seen}; returns the new phase. */
        private int awaitPhase(int seen) {
            for (int i = 0; i < SPINS; i++) {
                int p = phase;
                if (p != seen) return p;
                Thread.onSpinWait();
            }
            while (true) {
                parked = true; // then re-check: the dispatcher writes phase, then reads parked
                int p = phase;
                if (p != seen) {
                    parked = false;
                    return p;
                }
                LockSupport.park(WorkerPool.this);
                parked = false;
            }
        }
    }
}
