package qwen4j.generate.constraint;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The one internal form every constraint compiles to (GBNF, JSON, JSON Schema): context-free rules over
 * Unicode code points. Each rule is a list of alternatives; an alternative is a sequence of elements, each a
 * code-point set or a reference to a rule. Rule 0 is the root. Stored flat for the matcher: {@link #code}
 * holds every alternative as element codes ended by {@link #END}.
 */
public final class Grammar {
    /** Ends an alternative in {@link #code}. */
    static final int END = -1;

    /** {@code code[pos]}: {@code >= 0} a rule id; {@link #END}; otherwise the set {@code -2 - code[pos]}. */
    final int[] code;
    /** Start positions (in {@link #code}) of each rule's alternatives. */
    final int[][] alternatives;
    /** Code-point sets as sorted disjoint inclusive ranges {@code [lo0, hi0, lo1, hi1, ...]}. */
    final int[][] sets;
    final String[] ruleNames;

    private Grammar(int[] code, int[][] alternatives, int[][] sets, String[] ruleNames) {
        this.code = code;
        this.alternatives = alternatives;
        this.sets = sets;
        this.ruleNames = ruleNames;
    }

    public int ruleCount() { return alternatives.length; }

    static boolean isSet(int c) { return c <= -2; }

    static int setIndex(int c) { return -2 - c; }

    static boolean contains(int[] ranges, int cp) {
        int lo = 0, hi = ranges.length / 2 - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (cp < ranges[2 * mid]) hi = mid - 1;
            else if (cp > ranges[2 * mid + 1]) lo = mid + 1;
            else return true;
        }
        return false;
    }

    static boolean intersects(int[] ranges, int from, int to) {
        for (int i = 0; i < ranges.length; i += 2) if (ranges[i] <= to && ranges[i + 1] >= from) return true;
        return false;
    }

    /** Builds a grammar rule by rule; element lists use {@link #set} and {@link #ref} values. */
    static final class Builder {
        private final List<String> names = new ArrayList<>();
        private final List<List<int[]>> rules = new ArrayList<>();
        private final List<int[]> sets = new ArrayList<>();
        private final java.util.Map<String, Integer> setIds = new java.util.HashMap<>();

        /** Declares a rule (body added later with {@link #define}); returns its id. */
        int declare(String name) {
            names.add(name);
            rules.add(null);
            return names.size() - 1;
        }

        void define(int rule, List<int[]> alternatives) { rules.set(rule, alternatives); }

        boolean isDefined(int rule) { return rules.get(rule) != null; }

        String name(int rule) { return names.get(rule); }

        int ruleCount() { return names.size(); }

        /** A new rule with these alternatives; returns its id. */
        int add(String name, List<int[]> alternatives) {
            int id = declare(name);
            define(id, alternatives);
            return id;
        }

        /** Element value for a rule reference. */
        static int ref(int rule) { return rule; }

        /** Element value for a code-point set given as (possibly unsorted, overlapping) ranges. */
        int set(int[] ranges) {
            // surrogates are no characters: a UTF-8 walk could start one but never finish it
            int[] norm = withoutSurrogates(normalize(ranges));
            if (norm.length == 0) throw new GrammarException("a character set matches nothing");
            String key = Arrays.toString(norm);
            Integer id = setIds.get(key);
            if (id == null) {
                id = sets.size();
                sets.add(norm);
                setIds.put(key, id);
            }
            return -2 - id;
        }

        Grammar build() {
            int size = 0;
            for (int r = 0; r < rules.size(); r++) {
                if (rules.get(r) == null) throw new IllegalStateException("rule " + names.get(r) + " never defined");
                for (int[] alt : rules.get(r)) size += alt.length + 1;
            }
            int[] code = new int[size];
            int[][] alts = new int[rules.size()][];
            int p = 0;
            for (int r = 0; r < rules.size(); r++) {
                List<int[]> list = rules.get(r);
                alts[r] = new int[list.size()];
                for (int a = 0; a < list.size(); a++) {
                    alts[r][a] = p;
                    for (int e : list.get(a)) code[p++] = e;
                    code[p++] = END;
                }
            }
            Grammar g = new Grammar(code, alts, sets.toArray(new int[0][]), names.toArray(new String[0]));
            g.checkNoLeftRecursion();
            return g;
        }
    }

    /** Sorted, merged, in-range copy of the ranges. */
    static int[] normalize(int[] ranges) {
        int n = ranges.length / 2;
        long[] pairs = new long[n];
        for (int i = 0; i < n; i++) pairs[i] = ((long) ranges[2 * i] << 32) | (ranges[2 * i + 1] & 0xffffffffL);
        Arrays.sort(pairs);
        int[] out = new int[ranges.length];
        int m = 0;
        for (long pr : pairs) {
            int lo = (int) (pr >> 32), hi = (int) pr;
            if (lo > hi) continue;
            if (m > 0 && lo <= out[m - 1] + 1) out[m - 1] = Math.max(out[m - 1], hi);
            else {
                out[m++] = lo;
                out[m++] = hi;
            }
        }
        return Arrays.copyOf(out, m);
    }

    static int[] withoutSurrogates(int[] norm) {
        int[] out = new int[norm.length + 2];
        int m = 0;
        for (int i = 0; i < norm.length; i += 2) {
            int lo = norm[i], hi = norm[i + 1];
            if (hi < 0xD800 || lo > 0xDFFF) {
                out[m++] = lo;
                out[m++] = hi;
                continue;
            }
            if (lo < 0xD800) {
                out[m++] = lo;
                out[m++] = 0xD7FF;
            }
            if (hi > 0xDFFF) {
                out[m++] = 0xE000;
                out[m++] = hi;
            }
        }
        return Arrays.copyOf(out, m);
    }

    /** The complement of normalized ranges within all code points. */
    static int[] complement(int[] ranges) {
        int[] norm = normalize(ranges);
        int[] out = new int[norm.length + 2];
        int m = 0, next = 0;
        for (int i = 0; i < norm.length; i += 2) {
            if (norm[i] > next) {
                out[m++] = next;
                out[m++] = norm[i] - 1;
            }
            next = norm[i + 1] + 1;
        }
        if (next <= 0x10FFFF) {
            out[m++] = next;
            out[m++] = 0x10FFFF;
        }
        return Arrays.copyOf(out, m);
    }

    /**
     * A pushdown matcher never terminates on left recursion ({@code a ::= a "x"}), so reject it: a rule must
     * not reach itself through elements that can all match nothing.
     */
    private void checkNoLeftRecursion() {
        int n = alternatives.length;
        boolean[] nullable = new boolean[n];
        for (boolean changed = true; changed; ) {
            changed = false;
            for (int r = 0; r < n; r++) {
                if (nullable[r]) continue;
                for (int start : alternatives[r]) {
                    int p = start;
                    while (code[p] != END && code[p] >= 0 && nullable[code[p]]) p++;
                    if (code[p] == END) {
                        nullable[r] = true;
                        changed = true;
                        break;
                    }
                }
            }
        }
        // leftmost reachable rules
        List<List<Integer>> left = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            List<Integer> l = new ArrayList<>();
            for (int start : alternatives[r]) {
                for (int p = start; code[p] != END && code[p] >= 0; p++) {
                    l.add(code[p]);
                    if (!nullable[code[p]]) break;
                }
            }
            left.add(l);
        }
        int[] color = new int[n];
        for (int r = 0; r < n; r++) if (color[r] == 0) visit(r, left, color);
    }

    private void visit(int r, List<List<Integer>> left, int[] color) {
        color[r] = 1;
        for (int s : left.get(r)) {
            if (color[s] == 1) {
                throw new GrammarException("rule '" + ruleNames[s] + "' is left-recursive (it can start with itself);"
                        + " rewrite it with repetition, e.g. a ::= b (\"x\" b)*");
            }
            if (color[s] == 0) visit(s, left, color);
        }
        color[r] = 2;
    }
}
