package qwen4j.format;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PageCacheTest {
    // Two mappings as Linux writes them in /proc/self/smaps (fields trimmed), the second a model file.
    static final String SMAPS = """
            7f0000000000-7f0000200000 r--p 00000000 fe:00 11                         /usr/lib/libc.so.6
            Size:               2048 kB
            Rss:                1024 kB
            FilePmdMapped:         0 kB
            VmFlags: rd mr mw me sd
            7f268b600000-7f27cfe99000 r--s 00000000 fe:00 5316627                    /models/m.gguf
            Size:            5317220 kB
            Rss:             4985444 kB
            Pss:             4985444 kB
            FilePmdMapped:   4947968 kB
            THPeligible:           0
            VmFlags: rd sh mr mw me ms sd
            7f27cfe99000-7f27cfe9a000 rw-p 00000000 00:00 0
            Rss:                   4 kB
            FilePmdMapped:         0 kB
            """;

    @Test
    void readsTheMappingThatHoldsTheAddress() {
        PageCache.Residency r = PageCache.residency(SMAPS, 0x7f268b600000L + 12345);
        assertThat(r).isEqualTo(new PageCache.Residency(4985444L * 1024, 4947968L * 1024));
        assertThat(r.smallPages(64)).isFalse();
        assertThat(PageCache.residency(SMAPS, 0x7f0000000000L)).isEqualTo(new PageCache.Residency(1024L * 1024, 0));
        assertThat(PageCache.residency(SMAPS, 0x7f27cfe99000L)).isEqualTo(new PageCache.Residency(4096, 0));
        assertThat(PageCache.residency(SMAPS, 0x1000L)).isNull(); // no mapping there
    }

    @Test
    void smallPagesMeansMoreThanOneTouchInEightCameBackIn4kPages() {
        long mb = 1L << 20;
        // 64 touches: 3 mapped 2 MB each, 61 mapped 64 KB each (fault-around): small pages
        assertThat(new PageCache.Residency(6 * mb + 61 * 64 * 1024, 6 * mb).smallPages(64)).isTrue();
        // 40 of 64 as 2 MB mappings (a file partly split into 4 KB pages after memory pressure): small pages
        assertThat(new PageCache.Residency(80 * mb + 24 * 64 * 1024, 80 * mb).smallPages(64)).isTrue();
        // 56 of 64 (say the file's last region is never a whole folio): 2 MB pages; 55: small pages
        assertThat(new PageCache.Residency(112 * mb + 8 * 64 * 1024, 112 * mb).smallPages(64)).isFalse();
        assertThat(new PageCache.Residency(110 * mb + 9 * 64 * 1024, 110 * mb).smallPages(64)).isTrue();
        assertThat(new PageCache.Residency(0, 0).smallPages(64)).isFalse(); // nothing came back: nothing to judge
        assertThat(PageCache.touches(5L << 30)).isEqualTo(64);
        assertThat(PageCache.touches(6L << 20)).isEqualTo(3);
    }

    @Test
    void probesAFileMappingOfItsOwn(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("w.bin");
        Files.write(f, new byte[6 << 20]);
        PageCache.Residency r = PageCache.probe(f, 6 << 20);
        if (Files.isReadable(Path.of("/proc/self/smaps"))) {
            assertThat(r).isNotNull();
            assertThat(r.rss()).isBetween(1L, 6L << 20);
            assertThat(r.pmdMapped()).isBetween(0L, r.rss());
        }
        PageCache.prepare(f, 6 << 20); // below the size worth a look: a no-op, never throws
        assertThat(Files.size(f)).isEqualTo(6 << 20);
    }
}
