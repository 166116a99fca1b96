package qwen4j.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import qwen4j.Fixtures;
import qwen4j.generate.BatchGenerator;
import qwen4j.generate.Engine;
import qwen4j.generate.Generator;
import qwen4j.generate.Sampler;
import qwen4j.generate.SamplerSettings;
import qwen4j.tensor.Kernels;
import qwen4j.testing.AllocationSites;

/**
 * The decode loop allocates nothing once compiled: a window of 100 decode steps allocates zero
 * bytes on every thread (caller and workers) and runs no GC.
 *
 * <p>Until C2 has compiled the kernels, the Vector API runs its Java fallback, which allocates a
 * vector object per operation; how long that takes depends on the machine's load (C2 compiles in
 * the background). So the test warms up in rounds and requires a zero-allocation window within
 * a bounded number of rounds, rather than guessing one warm-up length.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ZeroAllocationTest {
    @Test
    @Order(2)
    void hundredDecodeStepsAllocateNothing() {
        assertDecodeAllocatesNothing(Options.defaults().withKernels(Kernels.SIMD).withThreads(2));
    }

    /** The same with the 16-bit KV cache and bf16 attention (their conversions are plain int arithmetic). */
    @Test
    @Order(3)
    void halfPrecisionKvCacheAndBf16AttentionAllocateNothing() {
        assertDecodeAllocatesNothing(Options.defaults().withKernels(Kernels.SIMD).withThreads(2)
                .withKv(KvCache.Type.BF16).withAttention(Attention.Precision.BF16));
    }

    /**
     * Four (sixteen) sequences decoded together, stepped by {@link BatchGenerator} as the server and
     * --batch-file step them: one forward pass per step (the matrix-matrix path: dot products; at 16
     * the token-vector kernel, in column pairs at 16 lanes), greedy and sampled in turn (one with a
     * repetition penalty), a KV block taken and published every 16 positions. No eos ids, so all
     * run through the window; nothing streams (streamed text is strings handed out, by nature).
     *
     * <p>Runs first, as in a server that goes from many sequences down to one: the single-token tests
     * after it allocated 368 MB per 100 steps when WorkerPool.work inlined the float matvecs (its
     * profiles widened by the batched path, it outgrew C2's node budget; config/jvm.flags now keeps
     * the matvecs out of line).
     */
    @ParameterizedTest(name = "{0} sequences")
    @ValueSource(ints = {4, 16})
    @Order(1)
    void hundredBatchedStepsAllocateNothing(int sequences) {
        Options options = Options.defaults().withKernels(Kernels.SIMD).withThreads(2);
        int ctx = 512;
        try (Engine engine = Engine.open(Fixtures.tiny().resolve("tiny-BF16.gguf"), options, ctx);
             BatchGenerator gen = new BatchGenerator(engine.model(), engine.tokenizer(), Set.of(), sequences, ctx,
                     options.ubatch(), 0)) {
            long[] ids = engineThreads();
            assertThat(ids).hasSizeGreaterThanOrEqualTo(2);
            Window last = null;
            for (int round = 0; round < 40; round++) {
                List<BatchGenerator.Task> tasks = new ArrayList<>();
                for (int i = 0; i < sequences; i++) {
                    int[] prompt = new int[3 + 4 * i]; // different lengths, so positions differ within a step
                    for (int j = 0; j < prompt.length; j++) prompt[j] = 785 + 37 * j + i;
                    Sampler sampler = i % 2 == 0 ? null : new Sampler(SamplerSettings.llamaCppDefaults().withSeed(round * 10L + i)
                            .withRepeatPenalty(i == 3 ? 1.1f : 1f), engine.vocabLimit(), ctx);
                    tasks.add(gen.submit(new BatchGenerator.Request(prompt, sampler, Generator.Params.maxTokens(-1), null)));
                }
                for (int i = 0; i < 300; i++) gen.step(); // warm-up (the prompts take the first step)
                assertThat(gen.running()).isEqualTo(sequences);
                last = measure(ids, () -> {
                    for (int i = 0; i < 100; i++) gen.step();
                });
                assertThat(gen.running()).isEqualTo(sequences);
                for (BatchGenerator.Task t : tasks) t.cancel();
                gen.runUntilIdle();
                if (last.clean()) break;
            }
            assertThat(last.bytes()).as("bytes allocated by 100 steps of %d sequences (all threads), after warm-up; sampled sites:%s", sequences, last.sites()).isZero();
            assertThat(last.gcs()).as("GC cycles during 100 batched steps").isZero();
        }
    }

    private static void assertDecodeAllocatesNothing(Options options) {
        try (Engine engine = Engine.open(Fixtures.tiny().resolve("tiny-BF16.gguf"), options, 512)) {
            Qwen2Model model = engine.model();
            long[] ids = engineThreads();
            assertThat(ids).hasSizeGreaterThanOrEqualTo(2); // caller + at least one worker
            Window last = null;
            for (int round = 0; round < 40; round++) {
                Session s = engine.newSession();
                int[] token = {785};
                for (int i = 0; i < 300; i++) token[0] = argmax(model.forward(s, token[0])); // warm-up
                last = measure(ids, () -> {
                    for (int i = 0; i < 100; i++) token[0] = argmax(model.forward(s, token[0]));
                });
                if (last.clean()) break;
            }
            assertThat(last.bytes()).as("bytes allocated by 100 decode steps (all threads), after warm-up; sampled sites:%s", last.sites()).isZero();
            assertThat(last.gcs()).as("GC cycles during 100 decode steps").isZero();
        }
    }

    /** What a window of steps allocated on the engine's threads, the GC cycles in it, and where (when it allocated). */
    private record Window(long bytes, long gcs, String sites) {
        boolean clean() { return bytes == 0 && gcs == 0; }
    }

    /** Runs {@code steps} as a measured window (the lambda is made by the caller, before the window opens). */
    private static Window measure(long[] ids, Runnable steps) {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (AllocationSites profile = new AllocationSites()) {
            long gcBefore = gcCount();
            long before = allocatedBy(threads, ids);
            steps.run();
            long bytes = allocatedBy(threads, ids) - before;
            long gcs = gcCount() - gcBefore;
            return new Window(bytes, gcs, bytes == 0 ? "" : profile.top(5));
        }
    }

    /** Bytes allocated so far by the given threads (reading a counter allocates nothing). */
    private static long allocatedBy(com.sun.management.ThreadMXBean threads, long[] ids) {
        long sum = 0;
        for (long id : ids) sum += Math.max(0, threads.getThreadAllocatedBytes(id));
        return sum;
    }

    /** The calling thread and the engine's worker threads. */
    private static long[] engineThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t == Thread.currentThread() || t.getName().startsWith("qwen4j-worker"))
                .mapToLong(Thread::threadId).toArray();
    }

    private static int argmax(float[] a) {
        int best = 0;
        for (int i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
        return best;
    }

    private static long gcCount() {
        long n = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) n += Math.max(0, gc.getCollectionCount());
        return n;
    }
}
