package qwen4j.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;
import qwen4j.Fixtures;
import qwen4j.generate.Engine;
import qwen4j.tensor.Kernels;

/** The decode loop allocates nothing: 100 steps, zero bytes on the calling thread and no GC. */
class ZeroAllocationTest {
    @Test
    void hundredDecodeStepsAllocateNothing() {
        var threadBean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        Options options = Options.defaults().withKernels(Kernels.SIMD).withThreads(2);
        try (Engine engine = Engine.open(Fixtures.tiny().resolve("tiny-BF16.gguf"), options, 512)) {
            Qwen2Model model = engine.model();
            // JIT warm-up: until C2 compiles the kernels, the Vector API allocates its vectors
            for (int round = 0; round < 10; round++) {
                Session warm = engine.newSession();
                for (int i = 0; i < 500; i++) model.forward(warm, (i * 7919) % 151000);
            }
            Session s = engine.newSession();
            model.forward(s, 785);
            long gcBefore = gcCount();
            long before = threadBean.getCurrentThreadAllocatedBytes();
            int token = 785;
            for (int i = 0; i < 100; i++) {
                float[] logits = model.forward(s, token);
                token = argmax(logits);
            }
            long allocated = threadBean.getCurrentThreadAllocatedBytes() - before;
            assertThat(allocated).as("bytes allocated by 100 decode steps").isZero();
            assertThat(gcCount()).as("GC cycles during 100 decode steps").isEqualTo(gcBefore);
            assertThat(s.position()).isEqualTo(101);
        }
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
