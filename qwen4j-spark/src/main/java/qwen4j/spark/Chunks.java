package qwen4j.spark;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.Function;

/**
 * Maps an iterator chunk by chunk, lazily: a partition's rows are never all held at once, and each
 * chunk reaches the runner as one list (what a batched generator needs).
 */
final class Chunks<I, O> implements Iterator<O> {
    private final Iterator<I> in;
    private final int size;
    private final Function<List<I>, List<O>> f;
    private Iterator<O> current = Collections.emptyIterator();

    Chunks(Iterator<I> in, int size, Function<List<I>, List<O>> f) {
        this.in = in;
        this.size = size;
        this.f = f;
    }

    @Override
    public boolean hasNext() {
        while (!current.hasNext() && in.hasNext()) {
            List<I> chunk = new ArrayList<>(size);
            while (chunk.size() < size && in.hasNext()) chunk.add(in.next());
            current = f.apply(chunk).iterator();
        }
        return current.hasNext();
    }

    @Override
    public O next() {
        if (!hasNext()) throw new NoSuchElementException();
        return current.next();
    }
}
