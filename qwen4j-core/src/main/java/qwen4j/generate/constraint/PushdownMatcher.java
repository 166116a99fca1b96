package qwen4j.generate.constraint;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a {@link Grammar} as a nondeterministic pushdown automaton over code points. A parse stack is a chain
 * of frames (position in {@link Grammar#code}, parent); frames are interned so equal stacks are one id, and
 * a parse {@link State} (the set of live stacks) is interned too, so transitions and token masks can be
 * cached per state. Frame 0 is the empty stack: the input so far is a complete sentence. Shared by every
 * sequence using the grammar; callers synchronize on it.
 */
final class PushdownMatcher {
    static final int EMPTY = 0;

    final Grammar g;
    private int[] framePos = new int[256];
    private int[] frameParent = new int[256];
    private int[][] closures = new int[256][];
    private int frames = 1;
    private final Map<Long, Integer> frameIds = new HashMap<>();
    private final Map<Key, State> states = new HashMap<>();
    final State initial;
    /** Marks a transition known to lead nowhere. */
    final State dead = new State(-1, new int[0], false);

    PushdownMatcher(Grammar g) {
        this.g = g;
        framePos[0] = -1;
        int[] start = new int[0];
        List<Integer> acc = new ArrayList<>();
        for (int alt : g.alternatives[0]) {
            int f = g.code[alt] == Grammar.END ? EMPTY : frame(alt, EMPTY);
            for (int x : closure(f)) acc.add(x);
        }
        start = RegexToGbnf.ints(acc);
        initial = state(start);
    }

    int stateCount() { return states.size(); }

    /** A parse state: which stacks are alive; caches its transitions and token masks. */
    final class State {
        final int id;
        final int[] frames;
        final boolean accepting;
        private final State[] ascii = new State[128];
        private Map<Integer, State> wide;
        long[] mask;
        Map<Integer, long[]> partialMasks;

        State(int id, int[] frames, boolean accepting) {
            this.id = id;
            this.frames = frames;
            this.accepting = accepting;
        }

        /** The state after code point {@code cp}, or {@link #dead}. */
        State next(int cp) {
            if (cp < 128) {
                State s = ascii[cp];
                if (s == null) ascii[cp] = s = advance(this, cp);
                return s;
            }
            if (wide == null) wide = new HashMap<>();
            State s = wide.get(cp);
            if (s == null) wide.put(cp, s = advance(this, cp));
            return s;
        }

        /** Whether some stack can take a code point in [lo, hi] next (for a character still being decoded). */
        boolean acceptsAnyOf(int lo, int hi) {
            for (int f : frames) {
                if (f == EMPTY) continue;
                if (Grammar.intersects(g.sets[Grammar.setIndex(g.code[framePos[f]])], lo, hi)) return true;
            }
            return false;
        }

        /** Whether any input can follow (false: only the end may come). */
        boolean canContinue() {
            return frames.length > (accepting ? 1 : 0);
        }
    }

    private State advance(State s, int cp) {
        int[] acc = new int[8];
        int n = 0;
        for (int f : s.frames) {
            if (f == EMPTY) continue;
            int pos = framePos[f];
            if (!Grammar.contains(g.sets[Grammar.setIndex(g.code[pos])], cp)) continue;
            int parent = frameParent[f];
            int next = g.code[pos + 1] == Grammar.END ? parent : frame(pos + 1, parent);
            for (int x : closure(next)) {
                if (n == acc.length) acc = Arrays.copyOf(acc, n * 2);
                acc[n++] = x;
            }
        }
        return n == 0 ? dead : state(Arrays.copyOf(acc, n));
    }

    private State state(int[] fs) {
        Arrays.sort(fs);
        int m = 0;
        for (int i = 0; i < fs.length; i++) if (i == 0 || fs[i] != fs[i - 1]) fs[m++] = fs[i];
        fs = Arrays.copyOf(fs, m);
        Key k = new Key(fs);
        State s = states.get(k);
        if (s == null) {
            s = new State(states.size(), fs, m > 0 && fs[0] == EMPTY);
            states.put(k, s);
        }
        return s;
    }

    private int frame(int pos, int parent) {
        long key = ((long) pos << 32) | parent;
        Integer id = frameIds.get(key);
        if (id != null) return id;
        if (frames == framePos.length) {
            framePos = Arrays.copyOf(framePos, frames * 2);
            frameParent = Arrays.copyOf(frameParent, frames * 2);
            closures = Arrays.copyOf(closures, frames * 2);
        }
        framePos[frames] = pos;
        frameParent[frames] = parent;
        frameIds.put(key, frames);
        return frames++;
    }

    /** The stacks {@code f} stands for once every rule reference on top is expanded: tops are all sets (or empty). */
    private int[] closure(int f) {
        if (f == EMPTY) return new int[] {EMPTY};
        int[] c = closures[f];
        if (c != null) return c;
        int pos = framePos[f];
        int code = g.code[pos];
        if (Grammar.isSet(code)) {
            c = new int[] {f};
        } else {
            int parent = frameParent[f];
            int rest = g.code[pos + 1] == Grammar.END ? parent : frame(pos + 1, parent);
            int[] acc = new int[0];
            for (int alt : g.alternatives[code]) {
                int[] sub = g.code[alt] == Grammar.END ? closure(rest) : closure(frame(alt, rest));
                int old = acc.length;
                acc = Arrays.copyOf(acc, old + sub.length);
                System.arraycopy(sub, 0, acc, old, sub.length);
            }
            c = acc;
        }
        closures[f] = c;
        return c;
    }

    private record Key(int[] frames) {
        @Override
        public boolean equals(Object o) { return o instanceof Key k && Arrays.equals(frames, k.frames); }

        @Override
        public int hashCode() { return Arrays.hashCode(frames); }
    }
}
