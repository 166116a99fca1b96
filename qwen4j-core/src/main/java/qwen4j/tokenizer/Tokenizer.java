package qwen4j.tokenizer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import qwen4j.Qwen4jException;

/**
 * The Qwen2 / Qwen2.5 byte-level BPE tokenizer, behaving like HF {@code tokenizers} with Qwen's
 * tokenizer.json: added tokens are matched in the raw text (leftmost, longest first); the text
 * between them is NFC-normalized, split by the Qwen2 pre-tokenizer regex, turned into UTF-8 bytes
 * shown as GPT-2 byte chars, and merged by merge rank.
 *
 * <p>Immutable and thread-safe (the word cache is a bounded concurrent map). Create with one of the
 * {@code from...} factories; they throw {@link Qwen4jException} with a one-line message for bad or
 * missing input.
 */
public final class Tokenizer {
    private static final int CACHE_MAX_ENTRIES = 1 << 15;
    private static final int CACHE_MAX_WORD_CHARS = 64;
    private static final byte[] NO_BYTES = new byte[0];

    private final String source;
    private final int size;
    private final String[] tokenStrings; // by id: byte-level form for regular tokens, content for added; null if none
    private final byte[][] bytes; // by id: what the token decodes to (empty for ids without a token)
    private final boolean[] special;
    private final boolean[] added;
    private final Map<String, Integer> idsByString;
    private final int[] byteIds = new int[256];
    private final Bpe bpe;
    private final int mergeCount;
    private final AddedTokenMatcher allAdded;
    private final AddedTokenMatcher nonSpecialAdded;
    private final boolean normalizeNfc;
    private final List<String> specialContents;
    private final OptionalInt bosId, eosId, padId;
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    // ---------------------------------------------------------------- factories

    /** Loads {@code tokenizer.json} from the folder if present, else {@code vocab.json} + {@code merges.txt} (+ {@code tokenizer_config.json}). */
    public static Tokenizer fromHfFolder(Path dir) {
        return TokenizerLoader.fromHfFolder(dir);
    }

    /** Loads an HF {@code tokenizer.json} (BPE model). */
    public static Tokenizer fromTokenizerJson(Path tokenizerJson) {
        return TokenizerLoader.fromTokenizerJson(tokenizerJson, null);
    }

    /** Loads {@code vocab.json} + {@code merges.txt}, with added tokens from {@code tokenizer_config.json} when given. */
    public static Tokenizer fromVocabAndMerges(Path vocabJson, Path mergesTxt, Path tokenizerConfigOrNull) {
        return TokenizerLoader.fromVocabAndMerges(vocabJson, mergesTxt, tokenizerConfigOrNull);
    }

    /**
     * Builds the tokenizer from GGUF metadata ({@code tokenizer.ggml.*} keys, as read by the GGUF
     * reader). Tokens of type 3 (control) and 4 (user-defined) are the added tokens, type 3 being
     * special; type 5 (unused) ids decode to nothing.
     */
    public static Tokenizer fromGgufMetadata(Map<String, Object> metadata, String sourceNameForErrors) {
        return TokenizerLoader.fromGguf(metadata, sourceNameForErrors);
    }

    // ---------------------------------------------------------------- construction

    Tokenizer(TokenizerSpec spec, boolean normalizeNfc) {
        this.source = spec.source;
        this.normalizeNfc = normalizeNfc;
        int n = spec.regular.size();
        for (TokenizerSpec.AddedToken a : spec.added) n = Math.max(n, a.id() + 1);
        for (int u : spec.unused) n = Math.max(n, u + 1);
        this.size = n;
        tokenStrings = new String[n];
        bytes = new byte[n][];
        special = new boolean[n];
        added = new boolean[n];

        Map<String, Integer> vocab = new HashMap<>(spec.regular.size() * 2);
        for (int id = 0; id < spec.regular.size(); id++) {
            String t = spec.regular.get(id);
            if (t == null) continue;
            tokenStrings[id] = t;
            bytes[id] = ByteLevel.decode(t);
            vocab.putIfAbsent(t, id);
        }
        for (int u : spec.unused) {
            tokenStrings[u] = null;
            bytes[u] = null;
        }
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.get(String.valueOf(ByteLevel.byteToChar(b)));
            if (id == null) {
                throw new Qwen4jException(String.format("%s: the vocabulary has no token for byte 0x%02X (not a byte-level BPE vocabulary?)", source, b));
            }
            byteIds[b] = id;
        }

        MergeTable table = new MergeTable(spec.mergeLeft.size());
        for (int i = 0; i < spec.mergeLeft.size(); i++) {
            String l = spec.mergeLeft.get(i), r = spec.mergeRight.get(i);
            Integer li = vocab.get(l), ri = vocab.get(r), mi = vocab.get(l + r);
            if (li == null) throw mergeError(spec, i, "symbol '" + l + "' is not in the vocabulary");
            if (ri == null) throw mergeError(spec, i, "symbol '" + r + "' is not in the vocabulary");
            if (mi == null) throw mergeError(spec, i, "merged token '" + l + r + "' is not in the vocabulary");
            table.put(li, ri, i, mi);
        }
        this.bpe = new Bpe(table);
        this.mergeCount = spec.mergeLeft.size();

        Map<String, Integer> all = new HashMap<>(vocab);
        List<String> allContents = new java.util.ArrayList<>(), plainContents = new java.util.ArrayList<>();
        List<Integer> allIds = new java.util.ArrayList<>(), plainIds = new java.util.ArrayList<>();
        List<String> specials = new java.util.ArrayList<>();
        for (TokenizerSpec.AddedToken a : spec.added) {
            tokenStrings[a.id()] = a.content();
            bytes[a.id()] = a.content().getBytes(StandardCharsets.UTF_8);
            special[a.id()] = a.special();
            added[a.id()] = true;
            all.put(a.content(), a.id());
            allContents.add(a.content());
            allIds.add(a.id());
            if (!a.special()) {
                plainContents.add(a.content());
                plainIds.add(a.id());
            } else if (!a.content().isEmpty()) {
                specials.add(a.content());
            }
        }
        this.specialContents = List.copyOf(specials);
        for (int id = 0; id < n; id++) if (bytes[id] == null) bytes[id] = NO_BYTES;
        this.idsByString = all;
        this.allAdded = new AddedTokenMatcher(allContents, allIds);
        this.nonSpecialAdded = new AddedTokenMatcher(plainContents, plainIds);

        this.bosId = resolve(spec.bosId, spec.bosToken);
        this.eosId = resolve(spec.eosId, spec.eosToken);
        this.padId = resolve(spec.padId, spec.padToken);
    }

    private static Qwen4jException mergeError(TokenizerSpec spec, int i, String what) {
        return new Qwen4jException(spec.mergeWhere.apply(i) + ": " + what);
    }

    private OptionalInt resolve(Integer id, String token) {
        if (id != null && id >= 0 && id < size) return OptionalInt.of(id);
        if (token != null) {
            Integer t = idsByString.get(token);
            if (t != null) return OptionalInt.of(t);
        }
        return OptionalInt.empty();
    }

    // ---------------------------------------------------------------- encoding

    /** Encodes text, recognizing added/special tokens written in it. */
    public int[] encode(String text) {
        return encode(text, true);
    }

    /**
     * Encodes text. With {@code parseSpecial} false, special tokens (like {@code <|im_start|>}) in
     * the text are encoded as ordinary text; added tokens that are not special (like
     * {@code <tool_call>}) are still recognized, as HF tokenizers does with
     * {@code split_special_tokens}.
     */
    public int[] encode(String text, boolean parseSpecial) {
        return encode(text, parseSpecial, null);
    }

    /** As {@link #encode(String, boolean)}; {@code plain} (nullable) rewrites each stretch of text between added tokens before BPE. */
    int[] encode(String text, boolean parseSpecial, java.util.function.UnaryOperator<String> plain) {
        Objects.requireNonNull(text, "text");
        IntList out = new IntList(text.length() / 3 + 8);
        AddedTokenMatcher matcher = parseSpecial ? allAdded : nonSpecialAdded;
        int n = text.length();
        int pos = 0;
        int[] match = new int[2];
        while (pos < n) {
            int at = matcher.find(text, pos, n, match);
            if (at < 0) {
                encodePlain(text, pos, n, out, plain);
                break;
            }
            if (at > pos) encodePlain(text, pos, at, out, plain);
            out.add(match[0]);
            pos = at + match[1];
        }
        return out.toArray();
    }

    private void encodePlain(String text, int from, int to, IntList out, java.util.function.UnaryOperator<String> plain) {
        String s = from == 0 && to == text.length() ? text : text.substring(from, to);
        if (plain != null) s = plain.apply(s);
        if (normalizeNfc) s = nfc(s);
        int n = s.length();
        int[] scratch = null;
        for (int i = 0; i < n; ) {
            int j = Qwen2PreTokenizer.next(s, i, n);
            char c = s.charAt(i);
            if (j == i + 1 && c < 0x80) {
                out.add(byteIds[c]);
            } else {
                String word = null;
                if (j - i <= CACHE_MAX_WORD_CHARS) {
                    word = s.substring(i, j);
                    int[] hit = cache.get(word);
                    if (hit != null) {
                        out.addAll(hit, hit.length);
                        i = j;
                        continue;
                    }
                }
                int cap = (j - i) * 3;
                if (scratch == null || scratch.length < cap) scratch = new int[Math.max(cap, 64)];
                int nb = toByteIds(s, i, j, scratch);
                int m = bpe.merge(scratch, nb);
                out.addAll(scratch, m);
                if (word != null) {
                    if (cache.size() >= CACHE_MAX_ENTRIES) cache.clear();
                    cache.put(word, Arrays.copyOf(scratch, m));
                }
            }
            i = j;
        }
    }

    /** UTF-8 bytes of s[i, j) as byte-token ids; an unpaired surrogate becomes U+FFFD. Returns the count. */
    private int toByteIds(String s, int i, int j, int[] dst) {
        int k = 0;
        while (i < j) {
            int c = s.charAt(i++);
            if (c < 0x80) {
                dst[k++] = byteIds[c];
            } else if (c < 0x800) {
                dst[k++] = byteIds[0xC0 | (c >> 6)];
                dst[k++] = byteIds[0x80 | (c & 0x3F)];
            } else {
                if (Character.isSurrogate((char) c)) {
                    if (Character.isHighSurrogate((char) c) && i < j && Character.isLowSurrogate(s.charAt(i))) {
                        int cp = Character.toCodePoint((char) c, s.charAt(i++));
                        dst[k++] = byteIds[0xF0 | (cp >> 18)];
                        dst[k++] = byteIds[0x80 | ((cp >> 12) & 0x3F)];
                        dst[k++] = byteIds[0x80 | ((cp >> 6) & 0x3F)];
                        dst[k++] = byteIds[0x80 | (cp & 0x3F)];
                        continue;
                    }
                    c = 0xFFFD;
                }
                dst[k++] = byteIds[0xE0 | (c >> 12)];
                dst[k++] = byteIds[0x80 | ((c >> 6) & 0x3F)];
                dst[k++] = byteIds[0x80 | (c & 0x3F)];
            }
        }
        return k;
    }

    /** NFC, skipping the work for text that cannot change (all chars below U+0300). */
    static String nfc(String s) {
        for (int i = 0, n = s.length(); i < n; i++) {
            if (s.charAt(i) >= 0x300) return Normalizer.normalize(s, Normalizer.Form.NFC);
        }
        return s;
    }

    // ---------------------------------------------------------------- decoding

    /** Decodes ids to text; invalid UTF-8 becomes U+FFFD. Ids without a token (out of range, unused) add nothing. */
    public String decode(int[] ids) {
        return decode(ids, false);
    }

    /** Like {@link #decode(int[])}, optionally leaving out special tokens. */
    public String decode(int[] ids, boolean skipSpecial) {
        ByteBuf buf = new ByteBuf(ids.length * 4);
        for (int id : ids) {
            if (id < 0 || id >= size || (skipSpecial && special[id])) continue;
            buf.add(bytes[id]);
        }
        return Utf8.decode(buf.a, 0, buf.n);
    }

    /** A decoder for generated ids that only emits complete UTF-8 text. Not thread-safe. */
    public StreamingDecoder streamingDecoder() {
        return new StreamingDecoder(this, false);
    }

    /** Like {@link #streamingDecoder()}, optionally emitting nothing for special tokens. */
    public StreamingDecoder streamingDecoder(boolean skipSpecial) {
        return new StreamingDecoder(this, skipSpecial);
    }

    // ---------------------------------------------------------------- vocabulary

    /** The token's surface text (its bytes decoded as UTF-8, invalid bytes as U+FFFD). */
    public String piece(int id) {
        checkId(id);
        return bytes[id] == null ? "" : Utf8.decode(bytes[id], 0, bytes[id].length);
    }

    /** The bytes the token stands for (a copy; empty for an id without a token). */
    public byte[] tokenBytes(int id) {
        checkId(id);
        return bytes[id] == null ? new byte[0] : bytes[id].clone();
    }

    /**
     * The token as stored in the vocabulary: byte-level form for regular tokens (e.g. "Ġthe"), the
     * content for added tokens; null for an id without a token.
     */
    public String tokenString(int id) {
        checkId(id);
        return tokenStrings[id];
    }

    /** Id of a token given as stored in the vocabulary (byte-level form, or an added token's content). */
    public OptionalInt tokenId(String tokenString) {
        Integer id = idsByString.get(tokenString);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** Whether the id stands for a token (false for GGUF "unused" padding ids and ids out of range). */
    public boolean hasToken(int id) {
        return id >= 0 && id < size && tokenStrings[id] != null;
    }

    /** Number of ids, added tokens included. */
    public int size() {
        return size;
    }

    /** Whether the id is a special token (HF {@code "special": true}, GGUF type control). False for unknown ids. */
    public boolean isSpecial(int id) {
        return id >= 0 && id < size && special[id];
    }

    /** The text of every special token (the ones {@code encode(text, false)} leaves as plain text). */
    public List<String> specialTokenContents() {
        return specialContents;
    }

    /** Whether the id is an added token (matched in raw text before pre-tokenization). */
    public boolean isAdded(int id) {
        return id >= 0 && id < size && added[id];
    }

    public OptionalInt bosTokenId() {
        return bosId;
    }

    public OptionalInt eosTokenId() {
        return eosId;
    }

    public OptionalInt padTokenId() {
        return padId;
    }

    /** Number of merges. */
    public int mergeCount() {
        return mergeCount;
    }

    /** The source it was loaded from (for messages). */
    public String source() {
        return source;
    }

    Bpe bpe() {
        return bpe;
    }

    int byteId(int b) {
        return byteIds[b & 0xFF];
    }

    /** Drops the word cache (for benchmarks of the uncached path). */
    void clearCache() {
        cache.clear();
    }

    byte[] bytesOrEmpty(int id) {
        return id >= 0 && id < size ? bytes[id] : NO_BYTES;
    }

    private void checkId(int id) {
        if (id < 0 || id >= size) throw new IllegalArgumentException("token id " + id + " out of range [0, " + size + ")");
    }

    @Override
    public String toString() {
        return "Tokenizer[" + source + ", " + size + " ids, " + mergeCount + " merges]";
    }

    // ---------------------------------------------------------------- small growable arrays

    private static final class IntList {
        int[] a;
        int n;

        IntList(int cap) {
            a = new int[Math.max(cap, 16)];
        }

        void add(int v) {
            if (n == a.length) a = Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        void addAll(int[] src, int len) {
            if (n + len > a.length) a = Arrays.copyOf(a, Math.max(n + len, n * 2));
            System.arraycopy(src, 0, a, n, len);
            n += len;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }

    static final class ByteBuf {
        byte[] a;
        int n;

        ByteBuf(int cap) {
            a = new byte[Math.max(cap, 16)];
        }

        void add(byte[] b) {
            if (n + b.length > a.length) a = Arrays.copyOf(a, Math.max(n + b.length, a.length * 2));
            System.arraycopy(b, 0, a, n, b.length);
            n += b.length;
        }
    }
}
