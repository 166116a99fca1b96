package qwen4j.format;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Gets a model file into the page cache in 2 MB pages, so that its memory mapping reads like huge-page
 * memory. Linux (6.x, ext4/xfs and others) caches a file read sequentially in 2 MB folios and maps
 * those with one TLB entry each; a file cached in 4 KB pages (just written by a converter or a
 * download, or faulted in piecemeal through a mapping) is mapped 4 KB at a time, and decode from it
 * ran up to 1.6x slower. So when a model's weights are to be used from the mapping of a large file
 * (ModelLoader, {@code --weights mmap}; not for a tokenizer or a conversion), on Linux: if most of it is not cached
 * (mincore) and it fits in available memory, read it once sequentially (faster than page faults, and
 * cached in 2 MB folios); if it is cached, touch a sample of 2 MB regions through a mapping and read
 * from /proc/self/smaps how many came back as 2 MB mappings; unless nearly all did, while the kernel does cache
 * files in 2 MB folios, drop the file's clean cached pages (posix_fadvise DONTNEED) and read it anew.
 * Anywhere else (other systems, small files, no native access, {@code -Dqwen4j.pagecache=keep}) it
 * does nothing.
 */
final class PageCache {
    private PageCache() {}

    private static final long TWO_MB = 2L << 20;
    /** Files below this are not worth a look. */
    static final long MIN_BYTES = 256L << 20;
    private static final int O_RDONLY = 0, POSIX_FADV_DONTNEED = 4;

    /** What /proc/self/smaps says of one mapping, in bytes. */
    record Residency(long rss, long pmdMapped) {
        /**
         * After {@code touches} touches of distinct 2 MB regions: more than one in eight came back in 4 KB
         * pages. Files partly split into 4 KB pages after memory pressure decoded far slower than their
         * share suggests (7B Q6_K, 71% in 2 MB folios: 1.2-1.6 tok/s, re-read: 2.5-2.8; Q4_K_M at 62%:
         * 1.9-2.4, re-read: 2.8-3.5).
         */
        boolean smallPages(long touches) {
            return rss > 0 && pmdMapped / TWO_MB * 8 < touches * 7;
        }
    }

    /** Prepares {@code file}, whose weights will be read through its mapping (see the class comment); never throws. */
    static void prepare(Path file) {
        try {
            prepare(file, Files.size(file));
        } catch (IOException e) {
            // an optimisation only
        }
    }

    static void prepare(Path file, long size) {
        if (size < MIN_BYTES || !enabled()) return;
        try {
            double cached = cachedFraction(file, size);
            if (cached < 0.5) {
                if (size >= meminfo("MemAvailable:") / 2) return;
                readSequentially(file);
                if (cached == 0) return; // all of it read in 2 MB folios just now
                // what was cached before may be in 4 KB pages: look
            }
            long touches = touches(size);
            Residency before = probe(file, size);
            if (before == null || !before.smallPages(touches) || meminfo("FileHugePages:") == 0) return;
            long t0 = System.nanoTime();
            if (!dropCached(file)) return;
            readSequentially(file);
            Residency after = probe(file, size);
            System.err.printf("qwen4j: note: %s was in the page cache in 4 KB pages (%d of %d sampled 2 MB regions in 2 MB pages);"
                    + " re-read in %.1f s, now %d of %d%n", MappedFiles.displayName(file), before.pmdMapped() / TWO_MB, touches,
                    (System.nanoTime() - t0) / 1e9, after == null ? 0 : after.pmdMapped() / TWO_MB, touches);
        } catch (IOException | RuntimeException e) {
            // an optimisation only: the mapping works the same without it
        }
    }

    private static boolean enabled() {
        return MINCORE != null && !"keep".equals(System.getProperty("qwen4j.pagecache"))
                && Files.isReadable(Path.of("/proc/self/smaps"));
    }

    /** Where {@link #probe}'s reads go (a field write keeps the JIT from dropping them). */
    static int touched;

    /** 2 MB regions touched by {@link #probe}: enough to tell, few enough to cost a few milliseconds. */
    static final int SAMPLES = 64;

    /**
     * Maps the file, touches one byte in each of up to {@link #SAMPLES} 2 MB regions spread over it,
     * reads the mapping's residency, unmaps: what is resident is what the touches mapped, each a
     * whole 2 MB region where the cache holds it in a 2 MB folio, far less where it holds 4 KB pages.
     */
    static Residency probe(Path file, long size) throws IOException {
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment m = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long regions = regions(size), step = step(size);
            int sink = 0;
            for (long i = 0; i < regions; i += step) sink += m.get(ValueLayout.JAVA_BYTE, Math.min(size - 1, i * TWO_MB + TWO_MB / 2));
            touched = sink;
            return residency(Files.readString(Path.of("/proc/self/smaps")), m.address());
        }
    }

    private static long regions(long size) { return Math.max(1, size / TWO_MB); }

    private static long step(long size) { return Math.max(1, regions(size) / SAMPLES); }

    /** How many regions {@link #probe} touches. */
    static long touches(long size) { return (regions(size) + step(size) - 1) / step(size); }

    /** Rss and FilePmdMapped of the mapping that contains {@code address}, from smaps text; null if none. */
    static Residency residency(String smaps, long address) {
        boolean inside = false;
        long rss = -1, pmd = 0;
        for (String line : smaps.split("\n")) {
            int dash = line.indexOf('-'), space = line.indexOf(' ');
            if (dash > 0 && space > dash && isHex(line, 0, dash) && isHex(line, dash + 1, space)) { // a mapping's header
                if (inside) break;
                long start = Long.parseUnsignedLong(line.substring(0, dash), 16), end = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                inside = Long.compareUnsigned(start, address) <= 0 && Long.compareUnsigned(address, end) < 0;
            } else if (inside && line.startsWith("Rss:")) {
                rss = kilobytes(line);
            } else if (inside && line.startsWith("FilePmdMapped:")) {
                pmd = kilobytes(line);
            }
        }
        return rss < 0 ? null : new Residency(rss, pmd);
    }

    private static boolean isHex(String s, int from, int to) {
        if (to <= from) return false;
        for (int i = from; i < to; i++) if (Character.digit(s.charAt(i), 16) < 0) return false;
        return true;
    }

    private static long kilobytes(String line) {
        String[] f = line.trim().split("\\s+");
        return f.length >= 2 ? Long.parseLong(f[1]) * 1024 : 0;
    }

    /** The fraction of the file's 4 KB pages in the page cache (mincore over a fresh mapping). */
    static double cachedFraction(Path file, long size) throws IOException {
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment m = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long pages = (size + 4095) / 4096;
            MemorySegment vec = arena.allocate(pages);
            try {
                if ((int) MINCORE.invokeExact(m, size, vec) != 0) return 1.0; // unknown: treat as cached
            } catch (Throwable e) {
                return 1.0;
            }
            long resident = 0;
            for (long i = 0; i < pages; i++) resident += vec.get(ValueLayout.JAVA_BYTE, i) & 1;
            return resident / (double) pages;
        }
    }

    /**
     * A /proc/meminfo field in bytes (0 if absent): MemAvailable, or FileHugePages (files held in 2 MB
     * page-cache folios now: without any, re-reading cannot help).
     */
    private static long meminfo(String key) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith(key)) return kilobytes(line);
        }
        return 0;
    }

    private static void readSequentially(Path file) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(8 << 20);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (ch.read(buf) >= 0) buf.clear();
        }
    }

    private static final MethodHandle OPEN, FADVISE, CLOSE, MINCORE;

    static {
        MethodHandle open = null, fadvise = null, close = null, mincore = null;
        try {
            if (System.getProperty("os.name", "").toLowerCase().contains("linux")) {
                Linker linker = Linker.nativeLinker();
                var libc = linker.defaultLookup();
                open = linker.downcallHandle(libc.find("open").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
                fadvise = linker.downcallHandle(libc.find("posix_fadvise").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
                close = linker.downcallHandle(libc.find("close").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
                mincore = linker.downcallHandle(libc.find("mincore").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
            }
        } catch (RuntimeException e) {
            open = fadvise = close = mincore = null; // no native access: nothing to do
        }
        MINCORE = mincore;
        OPEN = open;
        FADVISE = fadvise;
        CLOSE = close;
    }

    /** posix_fadvise(DONTNEED) over the whole file: the kernel drops its clean cached pages not mapped by anyone. */
    private static boolean dropCached(Path file) {
        try (Arena arena = Arena.ofConfined()) {
            int fd = (int) OPEN.invokeExact(arena.allocateFrom(file.toAbsolutePath().toString()), O_RDONLY);
            if (fd < 0) return false;
            try {
                return (int) FADVISE.invokeExact(fd, 0L, 0L, POSIX_FADV_DONTNEED) == 0;
            } finally {
                int ignored = (int) CLOSE.invokeExact(fd);
            }
        } catch (Throwable e) {
            return false;
        }
    }
}
