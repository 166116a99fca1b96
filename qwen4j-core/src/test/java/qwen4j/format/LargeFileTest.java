package qwen4j.format;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import qwen4j.tensor.Matrices;

/** Files over 2 GB map and read correctly (sparse files: no real disk use). */
class LargeFileTest {
    private static final long THREE_GB = 3L << 30;
    @TempDir Path tmp;

    private static byte[] floats() {
        return new TestFiles.Le().f32(1f).f32(2f).f32(3f).f32(4f).toBytes();
    }

    private static void sparse(Path p, byte[] head, long tailAt, byte[] tail) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.write(head);
            f.setLength(tailAt + tail.length);
            f.seek(tailAt);
            f.write(tail);
        }
    }

    @Test
    void safetensorsPast2GB() throws Exception {
        String header = "{\"pad\":{\"dtype\":\"U8\",\"shape\":[" + THREE_GB + "],\"data_offsets\":[0," + THREE_GB + "]},"
                + "\"big\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[" + THREE_GB + "," + (THREE_GB + 16) + "]}}";
        byte[] head = TestFiles.safetensors(header, new byte[0]);
        Path p = tmp.resolve("big.safetensors");
        sparse(p, head, head.length + THREE_GB, floats());
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertThat(Matrices.toFloatArray(f.tensor("big"))).containsExactly(1f, 2f, 3f, 4f);
        }
    }

    @Test
    void ggufPast2GB() throws Exception {
        TestFiles.GgufBuilder b = new TestFiles.GgufBuilder()
                .tensorRaw("big", new long[] {2, 2}, 0, THREE_GB, null);
        byte[] head = b.build();
        Path p = tmp.resolve("big.gguf");
        sparse(p, head, head.length + THREE_GB, floats());
        try (GgufFile g = GgufFile.open(p)) {
            assertThat(g.tensor("big").shape()).containsExactly(2, 2);
            assertThat(Matrices.toFloatArray(g.tensor("big"))).containsExactly(1f, 2f, 3f, 4f);
        }
    }
}
