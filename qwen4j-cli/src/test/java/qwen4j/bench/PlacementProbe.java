package qwen4j.bench;

import qwen4j.model.Options;
import qwen4j.model.Qwen2Model;
import qwen4j.model.Session;
import qwen4j.tensor.Kernels;

/**
 * Is a slow run the code or the memory? Builds the same synthetic model several times in ONE JVM
 * (the JIT's code is the same after the first) and times decode steps (and a 64-token prefill) on
 * each copy. If the times differ between copies, where the weights landed decides, not the JIT.
 * Args: size (7b), type (bf16), copies (4).
 */
public final class PlacementProbe {
    /** Mean of 10 decode steps after 2. */
    static double decode(Qwen2Model m, Session s) {
        double sum = 0;
        for (int i = 0; i < 12; i++) {
            long a = System.nanoTime();
            m.forward(s, 7);
            if (i >= 2) sum += (System.nanoTime() - a) / 1e9;
        }
        return sum / 10;
    }

    public static void main(String[] args) {
        String size = args.length > 0 ? args[0] : "7b", type = args.length > 1 ? args[1] : "bf16";
        int copies = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        int[] prompt = new int[64];
        for (int i = 0; i < prompt.length; i++) prompt[i] = 100 + i;
        for (int c = 0; c < copies; c++) {
            try (SyntheticModel sm = new SyntheticModel(size, type, Kernels.SIMD, false);
                 Qwen2Model m = new Qwen2Model(sm.config(), sm.weights(), Options.defaults(), 256)) {
                for (int round = 0; round < 3; round++) {
                    Session s = m.newSession(256);
                    double before = decode(m, s);
                    long t0 = System.nanoTime();
                    m.prefill(s, prompt);
                    long t1 = System.nanoTime();
                    System.out.printf("copy %d round %d: decode %.3f s/token, then pp64 %.2f tok/s, then decode %.3f s/token%n",
                            c, round, before, 64 / ((t1 - t0) / 1e9), decode(m, s));
                }
            }
        }
    }
}
