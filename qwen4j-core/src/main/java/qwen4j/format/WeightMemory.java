package qwen4j.format;

import java.lang.foreign.Arena;
import qwen4j.tensor.HugePageMemory;
import qwen4j.tensor.Tensor;

/**
 * Where weight matrices live while the model runs. Either way they stay in their stored type.
 * MMAP: used in place from the memory-mapped file (no copy, instant load, pages shared with the
 * page cache, but 4 KB pages). HUGE_PAGES: copied once into 2 MB-page anonymous memory, which
 * may stream faster where page-table walks are expensive (see {@link HugePageMemory}; no
 * difference measured on our machines).
 */
public enum WeightMemory {
    MMAP,
    HUGE_PAGES;

    Tensor place(Tensor t, Arena arena) {
        if (this == MMAP || !HugePageMemory.available()) return t;
        return new Tensor(t.name(), t.type(), t.shape(), HugePageMemory.copyOf(t.data(), arena), t.source());
    }
}
