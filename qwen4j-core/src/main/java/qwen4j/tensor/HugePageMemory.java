package qwen4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Off-heap memory backed by transparent huge pages (2 MB) where Linux offers them.
 *
 * <p>Why it exists: streaming a multi-GB weight set through 4 KB pages costs a page-table walk
 * every 4 KB, and on a virtual machine (nested paging) those walks get expensive once the page
 * tables outgrow the caches. Linux's default THP mode is "madvise", so memory must ask for it:
 * this class maps anonymous memory with mmap and marks it MADV_HUGEPAGE; elsewhere it falls back
 * to {@link Arena#allocate}.
 *
 * <p>On our machines it made no difference beyond the noise, so it is an option
 * ({@code --weights huge}), not the default.
 */
public final class HugePageMemory {
    private static final long HUGE_PAGE = 2L << 20;
    private static final int PROT_READ = 1, PROT_WRITE = 2, MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20, MADV_HUGEPAGE = 14;
    private static final MethodHandle MMAP, MADVISE, MUNMAP;

    static {
        MethodHandle mmap = null, madvise = null, munmap = null;
        try {
            if (System.getProperty("os.name", "").toLowerCase().contains("linux")) {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
                madvise = linker.downcallHandle(libc.find("madvise").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
                munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
            }
        } catch (RuntimeException e) {
            mmap = madvise = munmap = null; // no native access: plain allocation
        }
        MMAP = mmap;
        MADVISE = madvise;
        MUNMAP = munmap;
    }

    private HugePageMemory() {}

    /** The machine's physical memory in bytes (Long.MAX_VALUE when the JVM cannot tell). */
    public static long physicalMemory() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            long total = os.getTotalMemorySize();
            if (total > 0) return total;
        }
        return Long.MAX_VALUE;
    }

    /** Whether huge-page allocation is available (Linux with native access). */
    public static boolean available() {
        return MMAP != null;
    }

    /**
     * Allocates {@code bytes} of zeroed memory, 2 MB aligned, asking for huge pages; freed when
     * {@code arena} closes.
     */
    public static MemorySegment allocate(long bytes, Arena arena) {
        if (MMAP == null || bytes < HUGE_PAGE) return arena.allocate(bytes, 64);
        long len = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
        try {
            // over-map by one huge page so the start can be aligned to 2 MB
            long mapLen = len + HUGE_PAGE;
            MemorySegment raw = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, mapLen,
                    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L);
            if (raw.address() == -1L) throw new OutOfMemoryError("mmap of " + mapLen + " bytes failed");
            long start = (raw.address() + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
            MemorySegment aligned = MemorySegment.ofAddress(start);
            int ignored = (int) MADVISE.invokeExact(aligned, len, MADV_HUGEPAGE); // advice only: failure is harmless
            MemorySegment whole = MemorySegment.ofAddress(raw.address());
            return aligned.reinterpret(bytes, arena, seg -> unmap(whole, mapLen));
        } catch (Throwable t) {
            if (t instanceof Error e) throw e;
            return arena.allocate(bytes, 64);
        }
    }

    /**
     * Zeroed memory whose pages the kernel commits on first touch (an anonymous mapping, 4 KB pages):
     * a KV cache sized for the whole context costs only what sequences write into it. Elsewhere
     * {@link Arena#allocate} (committed, zeroed at once). Freed when {@code arena} closes.
     */
    public static MemorySegment lazy(long bytes, Arena arena) {
        if (MMAP == null) return arena.allocate(bytes, 64);
        try {
            MemorySegment raw = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, bytes,
                    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L);
            if (raw.address() == -1L) throw new OutOfMemoryError("mmap of " + bytes + " bytes failed");
            MemorySegment whole = MemorySegment.ofAddress(raw.address());
            return whole.reinterpret(bytes, arena, seg -> unmap(whole, bytes));
        } catch (Throwable t) {
            if (t instanceof Error e) throw e;
            return arena.allocate(bytes, 64);
        }
    }

    private static void unmap(MemorySegment base, long len) {
        try {
            int ignored = (int) MUNMAP.invokeExact(base, len);
        } catch (Throwable ignored) {
            // nothing to do: the process is going away or the mapping is already gone
        }
    }

    /**
     * Copies a (memory-mapped file) segment into huge-page memory: weights then stream through
     * 2 MB pages instead of the page cache's 4 KB ones.
     */
    public static MemorySegment copyOf(MemorySegment src, Arena arena) {
        MemorySegment dst = allocate(src.byteSize(), arena);
        dst.copyFrom(src);
        return dst;
    }
}
