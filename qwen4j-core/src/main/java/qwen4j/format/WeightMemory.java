package qwen4j.format;

import java.lang.foreign.Arena;
import qwen4j.tensor.HugePageMemory;
import qwen4j.tensor.Tensor;

/**
 * Where weight matrices live while the model runs. Either way they stay in their stored type.
 * MMAP: used in place from the memory-mapped file (no copy, pages shared with the page cache; 2 MB
 * mappings where the kernel caches the file in 2 MB folios, which {@link PageCache} arranges on Linux).
 * HUGE_PAGES: copied once into 2 MB-page anonymous memory (see {@link HugePageMemory}): a slower load
 * and the memory twice while the file stays cached, the same speed whatever the page cache holds.
 */
public enum WeightMemory {
    MMAP,
    HUGE_PAGES;

    Tensor place(Tensor t, Arena arena) {
        if (this == MMAP || !HugePageMemory.available()) return t;
        return new Tensor(t.name(), t.type(), t.shape(), HugePageMemory.copyOf(t.data(), arena), t.source());
    }
}
