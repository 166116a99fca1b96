package qwen4j.format;

import static org.assertj.core.api.Assertions.assertThat;
import static qwen4j.format.TestFiles.assertError;
import static qwen4j.format.TestFiles.write;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import qwen4j.tensor.DType;
import qwen4j.tensor.Matrices;
import qwen4j.tensor.Tensor;

class GgufFileTest {
    @TempDir Path tmp;

    private static final String TINY_Q8_1 = "tiny-Q8_0-split-00001-of-00003.gguf";
    private static final String TINY_Q8_2 = "tiny-Q8_0-split-00002-of-00003.gguf";
    private static final String TINY_Q8_3 = "tiny-Q8_0-split-00003-of-00003.gguf";

    private static final List<String> LAYER = List.of("attn_norm.weight", "attn_q.weight", "attn_q.bias",
            "attn_k.weight", "attn_k.bias", "attn_v.weight", "attn_v.bias", "attn_output.weight", "ffn_norm.weight",
            "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight");

    private static long[] expectedShape(String name) {
        if (name.equals("token_embd.weight")) return new long[] {151936, 64};
        if (name.equals("output_norm.weight")) return new long[] {64};
        String part = name.substring(name.indexOf('.', 4) + 1);
        return switch (part) {
            case "attn_norm.weight", "ffn_norm.weight", "attn_q.bias" -> new long[] {64};
            case "attn_k.bias", "attn_v.bias" -> new long[] {32};
            case "attn_q.weight", "attn_output.weight" -> new long[] {64, 64};
            case "attn_k.weight", "attn_v.weight" -> new long[] {32, 64};
            case "ffn_gate.weight", "ffn_up.weight" -> new long[] {128, 64};
            case "ffn_down.weight" -> new long[] {64, 128};
            default -> throw new AssertionError(name);
        };
    }

    private static void assertTinyTensors(GgufFile g, DType matrixType, DType embedType) {
        assertThat(g.tensors()).hasSize(26);
        assertThat(g.tensorInfos()).hasSize(26);
        for (int l = 0; l < 2; l++) for (String p : LAYER) assertThat(g.tensors()).containsKey("blk." + l + "." + p);
        for (Tensor t : g.tensors().values()) {
            assertThat(t.shape()).as(t.name()).containsExactly(expectedShape(t.name()));
            DType want = t.name().equals("token_embd.weight") ? embedType : t.rank() == 2 ? matrixType : DType.F32;
            assertThat(t.type()).as(t.name()).isEqualTo(want);
            long rowBytes = t.cols() / want.blockSize() * want.blockBytes();
            assertThat(t.data().byteSize()).as(t.name()).isEqualTo(rowBytes * t.rows());
        }
        for (GgufFile.TensorInfo i : g.tensorInfos()) {
            assertThat(i.offset() % g.alignment()).isZero();
            assertThat(i.ne()).containsExactly(reversed(i.shape()));
        }
    }

    private static long[] reversed(long[] a) {
        long[] r = new long[a.length];
        for (int i = 0; i < a.length; i++) r[i] = a[a.length - 1 - i];
        return r;
    }

    @Test
    void readsBf16FixtureWithContractedMetadataTypes() {
        try (GgufFile g = GgufFile.open(TestFiles.tiny().resolve("tiny-BF16.gguf"))) {
            assertThat(g.version()).isEqualTo(3);
            assertThat(g.alignment()).isEqualTo(32);
            assertThat(g.parts()).hasSize(1);
            assertTinyTensors(g, DType.BF16, DType.BF16);
            Map<String, Object> md = g.metadata();
            assertThat(md).hasSize(22);
            assertThat(md.get("general.architecture")).isEqualTo("qwen2");
            assertThat(md.get("qwen2.block_count")).isEqualTo(2L);
            assertThat(md.get("qwen2.rope.freq_base")).isEqualTo(1_000_000.0);
            assertThat((Double) md.get("qwen2.attention.layer_norm_rms_epsilon")).isEqualTo((double) 1e-6f);
            assertThat(md.get("tokenizer.ggml.eos_token_id")).isEqualTo(151645L);
            assertThat(md.get("tokenizer.ggml.bos_token_id")).isEqualTo(151643L);
            assertThat(md.get("tokenizer.ggml.add_bos_token")).isEqualTo(Boolean.FALSE);
            assertThat(md.get("tokenizer.ggml.model")).isEqualTo("gpt2");
            assertThat(md.get("tokenizer.chat_template")).asString().contains("<|im_start|>");
            @SuppressWarnings("unchecked")
            List<String> tokens = (List<String>) md.get("tokenizer.ggml.tokens");
            assertThat(tokens).hasSize(151936).startsWith("!", "\"", "#");
            assertThat(md.get("tokenizer.ggml.merges")).asList().hasSize(151387).first().isEqualTo("Ġ Ġ");
            assertThat(md.get("tokenizer.ggml.token_type")).isInstanceOf(long[].class);
            long[] types = (long[]) md.get("tokenizer.ggml.token_type");
            assertThat(types).hasSize(151936);
            assertThat(types[0]).isEqualTo(1L);
            assertThat(types[151643]).isEqualTo(3L); // <|endoftext|> is a control token
            // Norms are F32 and hold (about) 1.
            float[] norm = Matrices.toFloatArray(g.tensor("blk.0.attn_norm.weight"));
            assertThat(norm).hasSize(64);
            assertThat(norm[0]).isBetween(0.3f, 1.7f);
        }
    }

    @Test
    void readsQ8SplitFromAnyPart() {
        Path dir = TestFiles.tiny();
        for (String part : List.of(TINY_Q8_1, TINY_Q8_2, TINY_Q8_3)) {
            try (GgufFile g = GgufFile.open(dir.resolve(part))) {
                assertThat(g.parts()).extracting(p -> p.getFileName().toString())
                        .containsExactly(TINY_Q8_1, TINY_Q8_2, TINY_Q8_3);
                assertThat(g.name()).isEqualTo(TINY_Q8_1);
                assertThat(g.metadata()).containsEntry("general.architecture", "qwen2")
                        .containsEntry("split.count", 3L).containsEntry("split.no", 0L)
                        .containsEntry("split.tensors.count", 26L).containsEntry("general.file_type", 7L);
                assertTinyTensors(g, DType.Q8_0, DType.Q8_0);
                assertThat(g.tensorsByFile().get(TINY_Q8_1)).hasSize(12);
                assertThat(g.tensorsByFile().get(TINY_Q8_2)).hasSize(12);
                assertThat(g.tensorsByFile().get(TINY_Q8_3)).hasSize(2);
                assertThat(g.tensor("blk.1.ffn_up.weight").source()).isEqualTo(TINY_Q8_3);
            }
        }
    }

    @Test
    void readsQ4Fixture() {
        try (GgufFile g = GgufFile.open(TestFiles.tiny().resolve("tiny-Q4_0.gguf"))) {
            assertTinyTensors(g, DType.Q4_0, DType.Q8_0);
            assertThat(g.metadata()).containsEntry("general.file_type", 2L);
            assertThat(Matrices.of(g.tensor("blk.0.attn_q.weight"), qwen4j.tensor.Kernels.SCALAR).type())
                    .isEqualTo(DType.Q4_0);
        }
    }

    @Test
    void typesWithoutKernelsFailClearlyWhenComputedWith() {
        try (GgufFile g = GgufFile.open(TestFiles.tiny().resolve("tiny-Q4_0.gguf"))) {
            qwen4j.tensor.Tensor t = g.tensor("blk.0.attn_q.weight");
            qwen4j.tensor.Tensor iq = new qwen4j.tensor.Tensor(t.name(), DType.IQ2_XXS, new long[] {64, 256}, t.data(), t.source());
            assertError(() -> Matrices.of(iq, qwen4j.tensor.Kernels.SIMD),
                    "tiny-Q4_0.gguf", "blk.0.attn_q.weight", "IQ2_XXS", "cannot compute");
        }
    }

    @Test
    void allValueTypesAndNestedArrays() {
        TestFiles.GgufBuilder b = new TestFiles.GgufBuilder()
                .kv("u8", GgufFile.T_UINT8, le -> le.u8(200))
                .kv("i8", GgufFile.T_INT8, le -> le.u8(0xff))
                .kv("u16", GgufFile.T_UINT16, le -> le.u16(65535))
                .kv("i16", GgufFile.T_INT16, le -> le.u16(0x8000))
                .kv("u32", GgufFile.T_UINT32, le -> le.u32(0xffffffffL))
                .kv("i32", GgufFile.T_INT32, le -> le.u32(-5))
                .kv("u64", GgufFile.T_UINT64, le -> le.u64(1L << 40))
                .kv("i64", GgufFile.T_INT64, le -> le.u64(-7))
                .kv("f32", GgufFile.T_FLOAT32, le -> le.f32(0.5f))
                .kv("f64", GgufFile.T_FLOAT64, le -> le.f64(0.1))
                .kv("b", GgufFile.T_BOOL, le -> le.u8(1))
                .kvString("s", "héllo")
                .kv("ai16", GgufFile.T_ARRAY, le -> le.u32(GgufFile.T_INT16).u64(2).u16(-1).u16(3))
                .kv("au8", GgufFile.T_ARRAY, le -> le.u32(GgufFile.T_UINT8).u64(1).u8(250))
                .kv("af32", GgufFile.T_ARRAY, le -> le.u32(GgufFile.T_FLOAT32).u64(2).f32(1.5f).f32(-1f))
                .kv("ab", GgufFile.T_ARRAY, le -> le.u32(GgufFile.T_BOOL).u64(2).u8(0).u8(1))
                .kv("as", GgufFile.T_ARRAY, le -> le.u32(GgufFile.T_STRING).u64(2).str("x").str(""))
                .kv("aa", GgufFile.T_ARRAY, le -> le.u32(GgufFile.T_ARRAY).u64(2)
                        .u32(GgufFile.T_INT32).u64(1).u32(9)
                        .u32(GgufFile.T_STRING).u64(1).str("y"))
                .f32("t", 1f, 4, 2);
        Path p = write(tmp.resolve("v.gguf"), b.build());
        try (GgufFile g = GgufFile.open(p)) {
            Map<String, Object> md = g.metadata();
            assertThat(md.get("u8")).isEqualTo(200L);
            assertThat(md.get("i8")).isEqualTo(-1L);
            assertThat(md.get("u16")).isEqualTo(65535L);
            assertThat(md.get("i16")).isEqualTo(-32768L);
            assertThat(md.get("u32")).isEqualTo(0xffffffffL);
            assertThat(md.get("i32")).isEqualTo(-5L);
            assertThat(md.get("u64")).isEqualTo(1L << 40);
            assertThat(md.get("i64")).isEqualTo(-7L);
            assertThat(md.get("f32")).isEqualTo(0.5);
            assertThat(md.get("f64")).isEqualTo(0.1);
            assertThat(md.get("b")).isEqualTo(true);
            assertThat(md.get("s")).isEqualTo("héllo");
            assertThat((long[]) md.get("ai16")).containsExactly(-1, 3);
            assertThat((long[]) md.get("au8")).containsExactly(250);
            assertThat((double[]) md.get("af32")).containsExactly(1.5, -1.0);
            assertThat((boolean[]) md.get("ab")).containsExactly(false, true);
            assertThat(md.get("as")).isEqualTo(List.of("x", ""));
            List<?> aa = (List<?>) md.get("aa");
            assertThat((long[]) aa.get(0)).containsExactly(9);
            assertThat(aa.get(1)).isEqualTo(List.of("y"));
            Tensor t = g.tensor("t");
            assertThat(t.shape()).containsExactly(2, 4); // ne [4, 2] reversed
            assertThat(Matrices.toFloatArray(t)).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
        }
    }

    @Test
    void acceptsVersion2AndCustomAlignment() {
        TestFiles.GgufBuilder b = new TestFiles.GgufBuilder();
        b.version = 2;
        b.alignment = 64;
        b.kvU32("general.alignment", 64).f32("a", 1f, 3).f32("b", 2f, 5);
        Path p = write(tmp.resolve("v2.gguf"), b.build());
        try (GgufFile g = GgufFile.open(p)) {
            assertThat(g.version()).isEqualTo(2);
            assertThat(g.alignment()).isEqualTo(64);
            assertThat(g.dataStart() % 64).isZero();
            assertThat(Matrices.toFloatArray(g.tensor("b"))).containsExactly(0, 2, 4, 6, 8);
        }
    }

    // ---- hostile and broken files ----

    private Path gguf(String name, TestFiles.GgufBuilder b) {
        return write(tmp.resolve(name), b.build());
    }

    @Test
    void missingFile() {
        assertError(() -> GgufFile.open(tmp.resolve("none.gguf")), "none.gguf", "no such file");
    }

    @Test
    void wrongMagic() {
        TestFiles.GgufBuilder b = new TestFiles.GgufBuilder();
        b.magic = 0x4c4c4747; // "GGLL"
        Path p = gguf("m.gguf", b);
        assertError(() -> GgufFile.open(p), "m.gguf", "not a GGUF file", "byte 0", "47474c4c");
        Path q = write(tmp.resolve("tiny.gguf"), new byte[] {'G', 'G'});
        assertError(() -> GgufFile.open(q), "tiny.gguf", "not a GGUF file");
    }

    @Test
    void unsupportedVersion() {
        for (long v : new long[] {1, 4, 0x03000000L}) {
            TestFiles.GgufBuilder b = new TestFiles.GgufBuilder();
            b.version = v;
            Path p = gguf("v" + v + ".gguf", b);
            String m = assertError(() -> GgufFile.open(p), "v" + v + ".gguf", "not supported");
            if (v == 0x03000000L) assertThat(m).contains("big-endian");
            else assertThat(m).contains("version " + v);
        }
    }

    @Test
    void hugeStringLength() {
        TestFiles.GgufBuilder b = new TestFiles.GgufBuilder()
                .kv("general.name", GgufFile.T_STRING, le -> le.u64(1L << 60).bytes("abc".getBytes()));
        Path p = gguf("s.gguf", b);
        assertError(() -> GgufFile.open(p), "s.gguf", "metadata key general.name", "string length " + (1L << 60),
                "exceeds limit max-string-length=16777216", "at byte 48");
        // A key whose own length is absurd.
        TestFiles.GgufBuilder k = new TestFiles.GgufBuilder().kv("x", 0, le -> {});
        k.kvs.clear();
        k.kvs.add(le -> le.u64(-1L));
        k.kvs.add(le -> le.bytes(new byte[20]));
        Path q = gguf("k.gguf", k);
        assertError(() -> GgufFile.open(q), "k.gguf", "metadata key #0", "length 18446744073709551615");
    }

    @Test
    void hugeArrayCount() {
        TestFiles.GgufBuilder b = new TestFiles.GgufBuilder()
                .kv("tokenizer.ggml.tokens", GgufFile.T_ARRAY, le -> le.u32(GgufFile.T_STRING).u64(1L << 60));
        Path p = gguf("a.gguf", b);
        assertError(() -> GgufFile.open(p), "a.gguf", "tokenizer.ggml.tokens", "array length " + (1L << 60),
                "exceeds limit max-array-length=4194304", "at byte");
        TestFiles.GgufBuilder c = new TestFiles.GgufBuilder()
                .kv("scores", GgufFile.T_ARRAY, le -> le.u32(GgufFile.T_FLOAT32).u64(1000).f32(1f));
        Path q = gguf("c.gguf", c);
        assertError(() -> GgufFile.open(q), "c.gguf", "scores", "array count 1000");
    }

    @Test
    void keysAndNamesInErrorsAreOneLineAndShort() {
        // fuzz finding: a key holding newlines (here, most of the file) went into the message verbatim
        String key = "evil\nkey " + "x".repeat(500);
        Path p = gguf("nl.gguf", new TestFiles.GgufBuilder().kvU32(key, 1).kvU32(key, 2));
        String m = assertError(() -> GgufFile.open(p), "nl.gguf", "metadata key evil\\u000akey xxx", "...", "appears twice");
        org.assertj.core.api.Assertions.assertThat(m.length()).isLessThan(200);
    }

    @Test
    void emptyTensorWithTheDataSectionPastTheEndOfTheFile() {
        // fuzz finding: a tensor with a 0 dimension and a header that ends within 32 bytes of the
        // file's end (so the aligned data section starts after it) threw IndexOutOfBoundsException
        byte[] b = new TestFiles.GgufBuilder().tensorRaw("e", new long[] {0}, 0, 0, null).build();
        byte[] cut = java.util.Arrays.copyOf(b, b.length - (b.length % 32 == 0 ? 1 : 0));
        assertError(() -> GgufFile.parse(java.lang.foreign.MemorySegment.ofArray(cut), "e.gguf", Limits.DEFAULT),
                "e.gguf: the data section would start at byte", "past the end of the file");
    }

    @Test
    void smallLimitsAreNamedInErrors() {
        Limits small = new Limits(2, 8, 4, 2, 1, 2, 64, 64);
        byte[] b = new TestFiles.GgufBuilder().kvU32("a", 1).kvU32("b", 2).kvU32("c", 3).build();
        assertError(() -> GgufFile.parse(java.lang.foreign.MemorySegment.ofArray(b), "m.gguf", small),
                "m.gguf: metadata count 3 exceeds limit max-metadata-entries=2 (byte 16)");
        byte[] s = new TestFiles.GgufBuilder().kvU32("a_long_key", 1).build();
        assertError(() -> GgufFile.parse(java.lang.foreign.MemorySegment.ofArray(s), "m.gguf", small),
                "m.gguf: metadata key #0: string length 10 exceeds limit max-string-length=8 (at byte 24)");
    }

    @Test
    void absurdCounts() {
        TestFiles.GgufBuilder b = new TestFiles.GgufBuilder();
        b.tensorCount = 1L << 40;
        Path p = gguf("t.gguf", b);
        assertError(() -> GgufFile.open(p), "t.gguf", "tensor count " + (1L << 40),
                "exceeds limit max-tensor-count=1048576", "(byte 8)");
        TestFiles.GgufBuilder c = new TestFiles.GgufBuilder();
        c.kvCount = -1L;
        Path q = gguf("kv.gguf", c);
        assertError(() -> GgufFile.open(q), "kv.gguf", "metadata count 18446744073709551615",
                "exceeds limit max-metadata-entries=65536", "(byte 16)");
        // within the limits, the counts must still fit the bytes of the file
        TestFiles.GgufBuilder d = new TestFiles.GgufBuilder();
        d.tensorCount = 1000L;
        Path r = gguf("t2.gguf", d);
        assertError(() -> GgufFile.open(r), "t2.gguf", "tensor count 1000", "absurd for a file of");
    }

    @Test
    void unknownValueType() {
        TestFiles.GgufBuilder b = new TestFiles.GgufBuilder().kv("weird", 13, le -> le.u64(0));
        Path p = gguf("u.gguf", b);
        assertError(() -> GgufFile.open(p), "u.gguf", "metadata key weird", "unknown value type 13", "at byte 37");
        TestFiles.GgufBuilder c = new TestFiles.GgufBuilder()
                .kv("arr", GgufFile.T_ARRAY, le -> le.u32(99).u64(0));
        Path q = gguf("ua.gguf", c);
        assertError(() -> GgufFile.open(q), "ua.gguf", "metadata key arr", "unknown value type 99");
    }

    @Test
    void deeplyNestedArrays() {
        TestFiles.GgufBuilder b = new TestFiles.GgufBuilder().kv("deep", GgufFile.T_ARRAY, le -> {
            for (int i = 0; i < 100; i++) le.u32(GgufFile.T_ARRAY).u64(1);
            le.u32(GgufFile.T_INT32).u64(0);
        });
        Path p = gguf("d.gguf", b);
        assertError(() -> GgufFile.open(p), "d.gguf", "metadata key deep", "array nesting depth 9 exceeds limit max-array-depth=8");
    }

    @Test
    void duplicateKey() {
        Path p = gguf("dk.gguf", new TestFiles.GgufBuilder().kvU32("a", 1).kvU32("a", 2));
        assertError(() -> GgufFile.open(p), "dk.gguf", "metadata key a appears twice");
    }

    @Test
    void badAlignment() {
        Path p = gguf("al.gguf", new TestFiles.GgufBuilder().kvU32("general.alignment", 48));
        assertError(() -> GgufFile.open(p), "al.gguf", "general.alignment", "48", "power of two");
    }

    @Test
    void unknownGgmlType() {
        TestFiles.GgufBuilder b = new TestFiles.GgufBuilder().tensorRaw("blk.0.attn_q.weight", new long[] {32, 2}, 77, 0,
                new byte[256]);
        Path p = gguf("g.gguf", b);
        assertError(() -> GgufFile.open(p), "g.gguf", "tensor blk.0.attn_q.weight", "unknown ggml type id 77", "at byte");
    }

    @Test
    void tooManyDimensions() {
        TestFiles.GgufBuilder b = new TestFiles.GgufBuilder().tensorRaw("x", new long[] {1, 1, 1, 1, 1}, 0, 0,
                new byte[4]);
        Path p = gguf("nd.gguf", b);
        assertError(() -> GgufFile.open(p), "nd.gguf", "tensor x", "dimension count 5 exceeds limit max-dims=4");
    }

    @Test
    void tensorDataPastEof() {
        TestFiles.GgufBuilder b = new TestFiles.GgufBuilder().f32("a", 1f, 8)
                .tensorRaw("b", new long[] {64}, 0, 64, null); // 256 bytes at 64, file data ends at 32
        Path p = gguf("e.gguf", b);
        assertError(() -> GgufFile.open(p), "e.gguf", "tensor b", "256 bytes", "past the end of the file");
        TestFiles.GgufBuilder c = new TestFiles.GgufBuilder().tensorRaw("c", new long[] {8}, 0, 1L << 62, null);
        Path q = gguf("e2.gguf", c);
        assertError(() -> GgufFile.open(q), "e2.gguf", "tensor c", "past the end of the file");
    }

    @Test
    void misalignedOffset() {
        TestFiles.GgufBuilder b = new TestFiles.GgufBuilder().f32("a", 1f, 8)
                .tensorRaw("b", new long[] {4}, 0, 36, new byte[16]);
        Path p = gguf("al.gguf", b);
        assertError(() -> GgufFile.open(p), "al.gguf", "tensor b", "data offset 36", "alignment 32");
    }

    @Test
    void overlappingTensors() {
        TestFiles.GgufBuilder b = new TestFiles.GgufBuilder().f32("a", 1f, 16)
                .tensorRaw("b", new long[] {8}, 0, 32, new byte[32]);
        Path p = gguf("ov.gguf", b);
        assertError(() -> GgufFile.open(p), "ov.gguf", "tensors a and b overlap");
    }

    @Test
    void elementCountOverflow() {
        TestFiles.GgufBuilder b = new TestFiles.GgufBuilder()
                .tensorRaw("big", new long[] {1L << 32, 1L << 32}, 0, 0, null);
        Path p = gguf("big.gguf", b);
        assertError(() -> GgufFile.open(p), "big.gguf", "tensor big", "overflows");
    }

    @Test
    void rowNotAMultipleOfBlockSize() {
        TestFiles.GgufBuilder b = new TestFiles.GgufBuilder().tensorRaw("q", new long[] {33, 1}, DType.Q8_0.ggmlId(), 0,
                new byte[64]);
        Path p = gguf("q.gguf", b);
        assertError(() -> GgufFile.open(p), "q.gguf", "tensor q", "ne[0] = 33", "block size 32");
    }

    @Test
    void truncatedFixtures() throws Exception {
        byte[] all = Files.readAllBytes(TestFiles.tiny().resolve("tiny-BF16.gguf"));
        Path p = write(tmp.resolve("cut.gguf"), Arrays.copyOf(all, 3_000_000)); // inside the token list
        assertError(() -> GgufFile.open(p), "cut.gguf", "tokenizer.ggml", "at byte");
        Path q = write(tmp.resolve("cut2.gguf"), Arrays.copyOf(all, all.length - 100)); // in the last tensor
        assertError(() -> GgufFile.open(q), "cut2.gguf", "tensor output_norm.weight", "past the end of the file");
        Path r = write(tmp.resolve("cut3.gguf"), Arrays.copyOf(all, 12)); // in the counts
        assertError(() -> GgufFile.open(r), "cut3.gguf", "truncated", "tensor count", "at byte 8");
    }

    @Test
    void missingSplitPart() throws Exception {
        Path dir = TestFiles.tiny();
        Files.copy(dir.resolve(TINY_Q8_1), tmp.resolve(TINY_Q8_1));
        Files.copy(dir.resolve(TINY_Q8_3), tmp.resolve(TINY_Q8_3));
        assertError(() -> GgufFile.open(tmp.resolve(TINY_Q8_1)), TINY_Q8_2, "no such file", "part 2 of 3");
        assertError(() -> GgufFile.open(tmp.resolve(TINY_Q8_3)), TINY_Q8_2, "part 2 of 3");
    }

    @Test
    void renamedSplitPart() throws Exception {
        Path p = tmp.resolve("model.gguf");
        Files.copy(TestFiles.tiny().resolve(TINY_Q8_1), p);
        assertError(() -> GgufFile.open(p), "model.gguf", "split.count is 3", "cannot be found");
    }
}
