package qwen4j.format;

import static org.assertj.core.api.Assertions.assertThat;
import static qwen4j.format.TestFiles.assertError;
import static qwen4j.format.TestFiles.safetensors;
import static qwen4j.format.TestFiles.write;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import qwen4j.tensor.DType;
import qwen4j.tensor.Tensor;

class SafetensorsFileTest {
    @TempDir Path tmp;

    @Test
    void readsTinyFixture() {
        Path file = TestFiles.tiny().resolve("hf/model.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertThat(f.tensors()).hasSize(2 + 2 * 12 + 1 - 1); // embed, 2 layers x 12, norm; no lm_head
            assertThat(f.unsupported()).isEmpty();
            Tensor e = f.tensor("model.embed_tokens.weight");
            assertThat(e.type()).isEqualTo(DType.BF16);
            assertThat(e.shape()).containsExactly(151936, 64);
            assertThat(e.data().byteSize()).isEqualTo(151936L * 64 * 2);
            assertThat(e.source()).isEqualTo("model.safetensors");
            assertThat(f.tensor("model.layers.1.mlp.down_proj.weight").shape()).containsExactly(64, 128);
            assertThat(f.tensor("model.layers.0.self_attn.k_proj.bias").shape()).containsExactly(32);
            assertThat(f.find("lm_head.weight")).isEmpty();
            // The tensor is a slice of the mapping, right after the header.
            assertThat(e.data().isMapped()).isTrue();
        }
    }

    @Test
    void readsValuesInEveryFloatType() {
        // Same three values as F32, F16 and BF16: 1.5, -2, 0.25.
        byte[] f32 = new TestFiles.Le().f32(1.5f).f32(-2f).f32(0.25f).toBytes();
        byte[] f16 = new TestFiles.Le().u16(Float.floatToFloat16(1.5f)).u16(Float.floatToFloat16(-2f))
                .u16(Float.floatToFloat16(0.25f)).toBytes();
        byte[] bf16 = new TestFiles.Le().u16(Float.floatToIntBits(1.5f) >>> 16).u16(Float.floatToIntBits(-2f) >>> 16)
                .u16(Float.floatToIntBits(0.25f) >>> 16).toBytes();
        byte[] data = new byte[12 + 6 + 6];
        System.arraycopy(f32, 0, data, 0, 12);
        System.arraycopy(f16, 0, data, 12, 6);
        System.arraycopy(bf16, 0, data, 18, 6);
        Path p = write(tmp.resolve("t.safetensors"), safetensors("""
                {"__metadata__":{"format":"pt"},
                 "a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},
                 "b":{"dtype":"F16","shape":[1,3],"data_offsets":[12,18]},
                 "c":{"dtype":"BF16","shape":[3],"data_offsets":[18,24]},
                 "u":{"dtype":"U8","shape":[0],"data_offsets":[24,24]}}""", data));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            for (String n : new String[] {"a", "b", "c"}) {
                assertThat(qwen4j.tensor.Matrices.toFloatArray(f.tensor(n))).containsExactly(1.5f, -2f, 0.25f);
            }
            assertThat(f.unsupported()).containsEntry("u", "U8");
            assertError(() -> f.tensor("u"), "t.safetensors", "tensor u", "dtype U8", "not support");
            assertError(() -> f.tensor("zz"), "t.safetensors", "tensor zz", "missing");
        }
    }

    @Test
    void sharesCallerArena() {
        Path p = write(tmp.resolve("t.safetensors"),
                safetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]));
        Arena arena = Arena.ofShared();
        SafetensorsFile f = SafetensorsFile.open(p, arena);
        f.close(); // does not own the arena
        assertThat(f.tensor("a").data().scope().isAlive()).isTrue();
        arena.close();
        assertThat(f.tensor("a").data().scope().isAlive()).isFalse();
    }

    @Test
    void missingFile() {
        assertError(() -> SafetensorsFile.open(tmp.resolve("nope.safetensors")), "nope.safetensors", "no such file");
    }

    @Test
    void fileShorterThanHeaderLength() {
        Path p = write(tmp.resolve("short.safetensors"), new byte[5]);
        assertError(() -> SafetensorsFile.open(p), "short.safetensors", "truncated");
    }

    @Test
    void headerLengthPastEof() {
        byte[] b = safetensors("{}", new byte[0]);
        b[0] = (byte) 0xff; // 255 + 2 bytes: far beyond a 12-byte file
        Path p = write(tmp.resolve("h.safetensors"), b);
        assertError(() -> SafetensorsFile.open(p), "h.safetensors", "header length", "past the end", "byte 0");
        byte[] huge = new TestFiles.Le().u64(1L << 60).bytes("{}".getBytes()).toBytes();
        Path q = write(tmp.resolve("huge.safetensors"), huge);
        assertError(() -> SafetensorsFile.open(q), "huge.safetensors", "header length " + (1L << 60), "past the end");
        byte[] neg = new TestFiles.Le().u64(-1L).bytes("{}".getBytes()).toBytes();
        Path r = write(tmp.resolve("neg.safetensors"), neg);
        assertError(() -> SafetensorsFile.open(r), "neg.safetensors", "header length 18446744073709551615");
    }

    @Test
    void malformedHeaderJson() {
        Path p = write(tmp.resolve("bad.safetensors"), safetensors("{\"a\": {\"dtype\": \"F32\",", new byte[0]));
        assertError(() -> SafetensorsFile.open(p), "bad.safetensors", "malformed JSON", "line 1");
        Path q = write(tmp.resolve("arr.safetensors"), safetensors("[1,2]", new byte[0]));
        assertError(() -> SafetensorsFile.open(q), "arr.safetensors", "expected an object");
        Path r = write(tmp.resolve("dup.safetensors"), safetensors(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]));
        assertError(() -> SafetensorsFile.open(r), "dup.safetensors", "malformed JSON", "Duplicate");
    }

    @Test
    void unknownDtype() {
        Path p = write(tmp.resolve("d.safetensors"),
                safetensors("{\"w\":{\"dtype\":\"Q9\",\"shape\":[2],\"data_offsets\":[0,4]}}", new byte[4]));
        assertError(() -> SafetensorsFile.open(p), "d.safetensors", "tensor w", "unknown dtype \"Q9\"");
    }

    @Test
    void illTypedFields() {
        Path p = write(tmp.resolve("s.safetensors"),
                safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new byte[4]));
        assertError(() -> SafetensorsFile.open(p), "s.safetensors", "tensor w", "field shape", "-1");
        Path q = write(tmp.resolve("o.safetensors"),
                safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", new byte[4]));
        assertError(() -> SafetensorsFile.open(q), "o.safetensors", "tensor w", "field data_offsets");
        Path r = write(tmp.resolve("t.safetensors"), safetensors("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}",
                new byte[4]));
        assertError(() -> SafetensorsFile.open(r), "t.safetensors", "tensor w", "field dtype");
    }

    @Test
    void tensorPastEof() {
        Path p = write(tmp.resolve("e.safetensors"),
                safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", new byte[8]));
        assertError(() -> SafetensorsFile.open(p), "e.safetensors", "tensor w", "past the end of the file");
    }

    @Test
    void sizeContradictsShape() {
        Path p = write(tmp.resolve("z.safetensors"),
                safetensors("{\"w\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]));
        assertError(() -> SafetensorsFile.open(p), "z.safetensors", "tensor w", "hold 8 bytes", "needs 6");
    }

    @Test
    void shapeOverflow() {
        Path p = write(tmp.resolve("v.safetensors"), safetensors(
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", new byte[8]));
        assertError(() -> SafetensorsFile.open(p), "v.safetensors", "tensor w", "overflows");
    }

    @Test
    void overlappingTensors() {
        Path p = write(tmp.resolve("ov.safetensors"), safetensors("""
                {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                 "b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", new byte[12]));
        assertError(() -> SafetensorsFile.open(p), "ov.safetensors", "tensors a and b overlap");
    }

    @Test
    void truncatedFixture() throws Exception {
        Path src = TestFiles.tiny().resolve("hf/model.safetensors");
        byte[] all = Files.readAllBytes(src);
        Path p = write(tmp.resolve("model.safetensors"), Arrays.copyOf(all, all.length - 100));
        // The last tensor in the data region now ends past EOF.
        assertError(() -> SafetensorsFile.open(p), "model.safetensors", "tensor model.", "past the end of the file");
        Path q = write(tmp.resolve("cut.safetensors"), Arrays.copyOf(all, 1000)); // inside the header
        assertError(() -> SafetensorsFile.open(q), "cut.safetensors", "header length", "past the end");
    }

    @Test
    void limitsAreCheckedBeforeTheTensorsAreRead() {
        byte[] fiveDims = TestFiles.safetensors(
                "{\"x\": {\"dtype\": \"F32\", \"shape\": [1, 1, 1, 1, 1], \"data_offsets\": [0, 4]}}", new byte[4]);
        TestFiles.assertError(() -> SafetensorsFile.parse(java.lang.foreign.MemorySegment.ofArray(fiveDims), "d.safetensors",
                Limits.DEFAULT), "d.safetensors: tensor x: dimension count 5 exceeds limit max-dims=4");
        Limits small = new Limits(1, 8, 8, 1, 1, 4, 4096, 4096);
        byte[] two = TestFiles.safetensors("{\"a\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1]},"
                + " \"b\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [1, 2]}}", new byte[2]);
        TestFiles.assertError(() -> SafetensorsFile.parse(java.lang.foreign.MemorySegment.ofArray(two), "t.safetensors", small),
                "t.safetensors: tensor count 2 exceeds limit max-tensor-count=1 (header)");
        Limits tinyHeader = new Limits(1, 8, 8, 1, 8, 4, 16, 4096);
        TestFiles.assertError(() -> SafetensorsFile.parse(java.lang.foreign.MemorySegment.ofArray(two), "h.safetensors",
                tinyHeader), "h.safetensors: header length", "exceeds limit max-header-bytes=16 (byte 0");
    }
}
