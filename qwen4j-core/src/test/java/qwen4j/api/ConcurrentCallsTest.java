package qwen4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import qwen4j.Fixtures;
import qwen4j.model.Golden;

/** Calls from many threads on one handle: decoded together, each as if alone, each stoppable on its own. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ConcurrentCallsTest {
    private static final List<String> PROMPTS = List.of("The answer is", "Once upon a time, in a land far away,",
            "1, 2, 3, 4,", "def fibonacci(n):\n    ");
    private static Qwen qwen;

    @BeforeAll
    static void load() {
        qwen = Qwen.load(Fixtures.tiny().resolve("hf"), LoadOptions.builder().threads(2).contextLength(256).parallel(4).build());
    }

    @AfterAll
    static void close() {
        if (qwen != null) qwen.close();
    }

    private static GenerationParams greedy(int maxTokens) {
        return GenerationParams.builder().maxTokens(maxTokens).build();
    }

    @Test
    void concurrentCallsAreDecodedTogetherAndEachEqualsItsCallAlone() throws Exception {
        Golden g = QwenApiTest.answerCase();
        int n = g.greedyPrefixToCheck(); // the reference's ids, as far as they are safe to compare
        List<int[]> alone = new ArrayList<>();
        for (String p : PROMPTS) alone.add(qwen.generate(p, greedy(n)).tokenIds());
        assertThat(alone.get(0)).containsExactly(Arrays.copyOf(g.greedyIds(), n));

        AtomicInteger mostRunning = new AtomicInteger();
        List<CompletableFuture<Completion>> calls = new ArrayList<>();
        for (String p : PROMPTS) {
            calls.add(qwen.generateAsync(qwen.tokenizer().encode(p), greedy(n),
                    delta -> mostRunning.accumulateAndGet(qwen.stats().running(), Math::max)));
        }
        for (int i = 0; i < PROMPTS.size(); i++) {
            Completion c = calls.get(i).join();
            assertThat(c.tokenIds()).as(PROMPTS.get(i)).containsExactly(alone.get(i));
            assertThat(c.finishReason()).isEqualTo(FinishReason.LENGTH);
        }
        assertThat(mostRunning.get()).as("sequences decoded in one step").isGreaterThan(1);
        waitUntilIdle(); // the step that ended them is over
        assertThat(qwen.stats().tokensGenerated()).isGreaterThanOrEqualTo(8L * n);
    }

    @Test
    void cancellingAFutureStopsOnlyThatGeneration() throws Exception {
        int[] other = qwen.generate(PROMPTS.get(2), greedy(20)).tokenIds();
        int untilTheEnd = qwen.generate(PROMPTS.get(1), greedy(-1)).tokenIds().length;
        CountDownLatch started = new CountDownLatch(1);
        AtomicInteger deltas = new AtomicInteger();
        CompletableFuture<Completion> longOne = qwen.generateAsync(qwen.tokenizer().encode(PROMPTS.get(1)), greedy(-1),
                delta -> {
                    deltas.incrementAndGet();
                    started.countDown();
                });
        CompletableFuture<Completion> shortOne = qwen.generateAsync(qwen.tokenizer().encode(PROMPTS.get(2)), greedy(20), null);
        assertThat(started.await(60, TimeUnit.SECONDS)).isTrue();
        assertThat(longOne.cancel(true)).isTrue();
        assertThat(shortOne.get(60, TimeUnit.SECONDS).tokenIds()).containsExactly(other);
        waitUntilIdle();
        assertThat(untilTheEnd).isGreaterThan(100);
        assertThat(deltas.get()).as("text deltas after the cancel").isLessThan(untilTheEnd / 2);
    }

    @Test
    void aListenerThatThrowsEndsOnlyItsOwnCall() {
        int[] other = qwen.generate(PROMPTS.get(3), greedy(16)).tokenIds();
        RuntimeException boom = new IllegalStateException("listener failed");
        AtomicInteger seen = new AtomicInteger();
        CompletableFuture<Completion> bad = qwen.generateAsync(qwen.tokenizer().encode(PROMPTS.get(0)), greedy(100), delta -> {
            if (seen.incrementAndGet() == 3) throw boom;
        });
        CompletableFuture<Completion> good = qwen.generateAsync(qwen.tokenizer().encode(PROMPTS.get(3)), greedy(16), null);
        assertThatThrownBy(bad::join).hasCause(boom);
        assertThat(seen.get()).isEqualTo(3);
        assertThat(good.join().tokenIds()).containsExactly(other);
    }

    @Test
    void interruptingABlockedCallStopsItAndReturnsWhatItMade() throws Exception {
        AtomicReference<Completion> result = new AtomicReference<>();
        AtomicReference<Boolean> stillInterrupted = new AtomicReference<>();
        CountDownLatch tokens = new CountDownLatch(3);
        Thread caller = Thread.ofPlatform().start(() -> {
            result.set(qwen.generate(qwen.tokenizer().encode(PROMPTS.get(1)), greedy(-1), delta -> tokens.countDown()));
            stillInterrupted.set(Thread.currentThread().isInterrupted());
        });
        assertThat(tokens.await(60, TimeUnit.SECONDS)).isTrue();
        caller.interrupt();
        caller.join(60_000);
        assertThat(result.get().finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(result.get().tokenIds().length).isBetween(3, 250);
        assertThat(stillInterrupted.get()).isTrue();
    }

    @Test
    void scoringWhileOthersGenerateGivesTheSameNumbersAsAlone() {
        int[] ids = qwen.tokenizer().encode(PROMPTS.get(1));
        Score alone = qwen.score(ids, 3);
        CompletableFuture<Completion> busy = qwen.generateAsync(qwen.tokenizer().encode(PROMPTS.get(0)), greedy(40), null);
        Score during = qwen.score(ids, 3);
        busy.join();
        assertThat(during.logprobSum()).isEqualTo(alone.logprobSum());
        assertThat(during.positions()).hasSameSizeAs(alone.positions());
    }

    @Test
    void waitingForTheModelFromACallbackIsRefusedNotADeadlock() {
        AtomicReference<Throwable> refused = new AtomicReference<>();
        qwen.generate(PROMPTS.get(0), greedy(2), delta -> {
            try {
                qwen.generate("x", greedy(1));
            } catch (IllegalStateException e) {
                refused.compareAndSet(null, e);
            }
        });
        assertThat(refused.get()).hasMessageContaining("callback");
    }

    @Test
    void closingCancelsGenerationsInProgressAndLaterCallsFail() throws Exception {
        Qwen q = Qwen.load(Fixtures.tiny().resolve("hf"), LoadOptions.builder().threads(1).contextLength(128).parallel(2).build());
        CountDownLatch started = new CountDownLatch(1);
        CompletableFuture<Completion> running = q.generateAsync(q.tokenizer().encode(PROMPTS.get(1)), greedy(-1),
                delta -> started.countDown());
        assertThat(started.await(60, TimeUnit.SECONDS)).isTrue();
        q.close();
        assertThat(running.get(10, TimeUnit.SECONDS).finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThatThrownBy(() -> q.generate("x", greedy(1))).isInstanceOf(IllegalStateException.class)
                .hasMessage("this Qwen handle is closed");
        assertThatThrownBy(() -> q.score(new int[] {1, 2}, 0)).isInstanceOf(IllegalStateException.class);
    }

    private static void waitUntilIdle() throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (qwen.stats().running() + qwen.stats().waiting() > 0 && System.nanoTime() < end) Thread.sleep(5);
        assertThat(qwen.stats().running() + qwen.stats().waiting()).isZero();
    }
}
