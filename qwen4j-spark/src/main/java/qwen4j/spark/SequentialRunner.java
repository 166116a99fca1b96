package qwen4j.spark;

import java.util.ArrayList;
import java.util.List;
import qwen4j.Qwen4jException;
import qwen4j.generate.Engine;
import qwen4j.generate.Generation;
import qwen4j.generate.Generator;
import qwen4j.generate.Sampler;
import qwen4j.model.Session;

/**
 * Generates one sequence at a time, as {@code qwen4j generate} does, holding the executor's engine lock
 * per row so the tasks sharing the engine take turns (its forward pass is not reentrant). One session
 * per runner, emptied between rows: a KV cache is large, a row's history must not leak into the next.
 */
final class SequentialRunner implements PartitionRunner {
    private final EngineCache.Lease lease;
    private Session session;

    SequentialRunner(EngineCache.Lease lease) { this.lease = lease; }

    @Override
    public List<Result> run(List<Request> requests) {
        Engine engine = lease.engine();
        List<Result> out = new ArrayList<>(requests.size());
        for (Request r : requests) {
            lease.lock().lock();
            try {
                if (session == null) session = engine.newSession();
                session.truncate(0);
                Sampler sampler = new Sampler(r.settings(), engine.vocabLimit(), session.capacity());
                Generation g = engine.generator().generate(session, r.promptIds(), sampler,
                        Generator.Params.maxTokens(r.maxTokens()), piece -> {});
                out.add(new Result(g.text(), g.ids(), g.stopReason(), null));
            } catch (Qwen4jException e) {
                out.add(Result.failed(e.getMessage()));
            } finally {
                lease.lock().unlock();
            }
        }
        return out;
    }
}
