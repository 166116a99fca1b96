package qwen4j.spark;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import qwen4j.Qwen4jException;
import qwen4j.generate.BatchGenerator;
import qwen4j.generate.Engine;
import qwen4j.generate.Generation;
import qwen4j.generate.Generator;
import qwen4j.generate.Sampler;

/**
 * A chunk's prompts decoded together by the continuous-batching generator (several sequences per
 * forward pass, one read of the weights per step for all of them), holding the executor's engine
 * lock for the chunk. A row whose request the generator refuses (a user error) sends the chunk to
 * {@link SequentialRunner}, which reports errors row by row.
 */
final class BatchedRunner implements PartitionRunner {
    /** Sequences decoded together at most: beyond this a CPU decode step is arithmetic-bound anyway. */
    static final int PARALLEL = 16;

    private final EngineCache.Lease lease;
    private final SequentialRunner fallback;

    BatchedRunner(EngineCache.Lease lease) {
        this.lease = lease;
        this.fallback = new SequentialRunner(lease);
    }

    @Override
    public List<Result> run(List<Request> requests) {
        if (requests.isEmpty()) return List.of();
        Engine engine = lease.engine();
        List<Result> out = new ArrayList<>(requests.size());
        lease.lock().lock();
        try (BatchGenerator gen = BatchGenerator.of(engine, Math.min(PARALLEL, requests.size()))) {
            Iterator<Request> source = requests.iterator();
            Iterator<Generation> results = gen.generateAll(new Iterator<>() {
                @Override
                public boolean hasNext() { return source.hasNext(); }

                @Override
                public BatchGenerator.Request next() {
                    Request r = source.next();
                    Sampler sampler = new Sampler(r.settings(), engine.vocabLimit(), engine.model().maxContext());
                    return new BatchGenerator.Request(r.promptIds(), sampler, Generator.Params.maxTokens(r.maxTokens()), null);
                }
            });
            while (results.hasNext()) {
                Generation g = results.next();
                out.add(new Result(g.text(), g.ids(), g.stopReason(), null));
            }
            return out;
        } catch (Qwen4jException e) {
            // a row was refused: the chunk again, row by row, each error in its row
        } finally {
            lease.lock().unlock();
        }
        return fallback.run(requests);
    }
}
