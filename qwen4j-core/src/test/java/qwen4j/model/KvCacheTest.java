package qwen4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;
import qwen4j.Fixtures;
import qwen4j.generate.Engine;

/** The paged KV cache on its own: block reuse, reference counts, copy-on-write, the prefix cache, a full pool. */
class KvCacheTest {
    static final int B = KvCache.BLOCK;

    static KvCache cache(int blocks) {
        return new KvCache(2, 4, KvCache.Type.F32, blocks, true);
    }

    /** Writes position pos of seq in every layer with keys = value = tag (what the model's store does), then marks it written. */
    static void write(Sequence seq, int pos, int token, float tag) {
        seq.reserve(pos);
        float[] k = {tag, tag, tag, tag};
        for (int l = 0; l < 2; l++) seq.cache.store(l, seq.blocks[pos / B], pos % B, k, 0, k, 0);
        seq.wrote(pos, token);
    }

    static float keyAt(Sequence seq, int layer, int pos) {
        return seq.cache.memory.get(ValueLayout.JAVA_FLOAT, seq.keyOffset(layer, pos));
    }

    static int[] tokens(int n, int base) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = base + i;
        return t;
    }

    @Test
    void releasedBlocksAreReused() {
        try (KvCache c = cache(3)) {
            Sequence a = new Sequence(c, 3 * B, 8);
            for (int p = 0; p < 3 * B; p++) write(a, p, 1000 + p, p); // 3 blocks, not a prefix anyone asks for
            assertThat(c.blocksUsed()).isEqualTo(3);
            a.release();
            assertThat(c.blocksUsed()).isZero();
            assertThat(c.blocksFree()).isEqualTo(3);
            Sequence b = new Sequence(c, 3 * B, 8);
            for (int p = 0; p < 3 * B; p++) write(b, p, p, -p); // fits again: the blocks came back
            assertThat(keyAt(b, 1, 3 * B - 1)).isEqualTo(-(3 * B - 1));
        }
    }

    @Test
    void aForkSharesBlocksAndCopiesOnWrite() {
        try (KvCache c = cache(8)) {
            Sequence a = new Sequence(c, 4 * B, 8);
            for (int p = 0; p < B + 5; p++) write(a, p, p, p);
            Sequence b = a.fork();
            assertThat(c.blocksUsed()).isEqualTo(2); // shared, not copied
            assertThat(c.refs(a.blocks[1])).isEqualTo(2);
            b.truncate(B + 3);
            write(b, B + 3, 99, 500f); // into the shared partial block: b gets a copy
            assertThat(b.blocks[1]).isNotEqualTo(a.blocks[1]);
            assertThat(b.blocks[0]).isEqualTo(a.blocks[0]);
            assertThat(keyAt(a, 1, B + 3)).isEqualTo(B + 3); // a's cache untouched
            assertThat(keyAt(b, 1, B + 3)).isEqualTo(500f);
            assertThat(keyAt(b, 0, B + 2)).isEqualTo(B + 2); // the copy kept what came before
            write(a, B + 5, 5, 7f); // a writes in place now: nobody else holds its block
            assertThat(c.blocksUsed()).isEqualTo(3);
            a.release();
            b.release();
            assertThat(c.blocksUsed()).isZero();
        }
    }

    @Test
    void aPromptStartingWithPublishedBlocksTakesThem() {
        try (KvCache c = cache(8)) {
            int[] prompt = tokens(2 * B + 3, 10);
            Sequence a = new Sequence(c, 4 * B, 8);
            for (int p = 0; p < prompt.length; p++) write(a, p, prompt[p], p);
            Sequence b = new Sequence(c, 4 * B, 8);
            assertThat(b.reuseCachedPrefix(prompt)).isEqualTo(2 * B);
            assertThat(b.blocks[0]).isEqualTo(a.blocks[0]);
            assertThat(b.blocks[1]).isEqualTo(a.blocks[1]);
            // another start: nothing matches (the chain hash covers every earlier token)
            int[] other = prompt.clone();
            other[0] = 1;
            assertThat(new Sequence(c, 4 * B, 8).reuseCachedPrefix(other)).isZero();
            // a prompt that is exactly the cached blocks leaves its last token to compute, in a copy
            Sequence d = new Sequence(c, 4 * B, 8);
            assertThat(d.reuseCachedPrefix(java.util.Arrays.copyOf(prompt, 2 * B))).isEqualTo(2 * B - 1);
            write(d, 2 * B - 1, prompt[2 * B - 1], -1f);
            assertThat(d.blocks[1]).isNotEqualTo(a.blocks[1]);
            assertThat(keyAt(a, 0, 2 * B - 1)).isEqualTo(2 * B - 1);
            // released, the blocks stay cached (idle) and are found again
            a.release();
            b.release();
            d.release();
            assertThat(c.blocksUsed()).isZero();
            assertThat(c.blocksCachedIdle()).isGreaterThanOrEqualTo(2);
            Sequence e = new Sequence(c, 4 * B, 8);
            assertThat(e.reuseCachedPrefix(prompt)).isEqualTo(2 * B);
            assertThat(keyAt(e, 1, B + 4)).isEqualTo(B + 4);
            e.release();
        }
    }

    @Test
    void aFullPoolEvictsIdleCachedBlocksThenRefusesClearly() {
        try (KvCache c = cache(2)) {
            Sequence a = new Sequence(c, 4 * B, 8);
            for (int p = 0; p < 2 * B; p++) write(a, p, p, p); // two published blocks
            a.release();
            assertThat(c.blocksCachedIdle()).isEqualTo(2);
            Sequence b = new Sequence(c, 4 * B, 8);
            for (int p = 0; p < B + 1; p++) write(b, p, 500 + p, -p); // evicts both cached blocks
            assertThat(new Sequence(c, 4 * B, 8).reuseCachedPrefix(tokens(2 * B, 0))).isZero(); // gone from the index
            Sequence x = new Sequence(c, 4 * B, 8);
            assertThatThrownBy(() -> x.reserve(0)).isInstanceOf(KvCache.Full.class)
                    .hasMessageContaining("KV cache is full").hasMessageContaining("--parallel");
            assertThat(x.blockCount()).isZero();
            assertThat(keyAt(b, 1, B)).isEqualTo(-B); // nothing of b was touched
            b.release();
            x.reserve(0); // room again
        }
    }

    /** Through the model: a batch that needs more blocks than the pool has fails before it writes anything. */
    @Test
    void aBatchThatDoesNotFitChangesNothing() {
        try (Engine e = Engine.open(Fixtures.tiny().resolve("hf"), Options.defaults().withThreads(1), 256)) {
            Qwen2Model m = e.model();
            int[] prompt = tokens(20, 300);
            float[] alone = m.prefill(m.newSession(64), prompt).clone();
            try (KvCache c = m.newCache(3, true)) {
                Sequence a = m.newSequence(c, 64), b = m.newSequence(c, 64);
                Batch batch = new Batch(64);
                for (int i = 0; i < prompt.length; i++) batch.add(a, prompt[i], i == prompt.length - 1);
                m.forward(batch, null); // 2 blocks
                assertThat(MixedBatchTest.maxAbsDiff(alone, a.logits())).isLessThanOrEqualTo(1e-3);
                batch.clear();
                for (int i = 0; i < prompt.length; i++) batch.add(b, prompt[i] + 1, i == prompt.length - 1);
                assertThatThrownBy(() -> m.forward(batch, null)).isInstanceOf(KvCache.Full.class);
                assertThat(a.length()).isEqualTo(20);
                assertThat(b.length()).isZero();
                b.release();
                // a's cache is intact: its next token gives what it gives alone
                Session s = m.newSession(64);
                m.prefill(s, prompt);
                float[] next = m.forward(s, 7).clone();
                batch.clear();
                batch.add(a, 7, true);
                m.forward(batch, null);
                assertThat(MixedBatchTest.maxAbsDiff(next, a.logits())).isLessThanOrEqualTo(1e-3);
            }
        }
    }
}
