package qwen4j.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/** What a tokenizer source holds, before it is checked and indexed by {@link Tokenizer}. */
final class TokenizerSpec {
    /** Names the source in error messages, e.g. a file path. */
    final String source;
    /** Regular (BPE) tokens in byte-level form, by id; null where an id has no regular token. */
    final List<String> regular = new ArrayList<>();
    /** Ids that exist but must never be produced or shown (GGUF "unused" padding tokens). */
    final List<Integer> unused = new ArrayList<>();
    final List<AddedToken> added = new ArrayList<>();
    final List<String> mergeLeft = new ArrayList<>();
    final List<String> mergeRight = new ArrayList<>();
    /** Where merge number i came from, for error messages ("merges.txt line 12"). */
    IntFunction<String> mergeWhere;
    Integer bosId, eosId, padId;
    String bosToken, eosToken, padToken;

    record AddedToken(int id, String content, boolean special) {}

    TokenizerSpec(String source) {
        this.source = source;
        this.mergeWhere = i -> source + ": merge " + (i + 1);
    }

    void setRegular(int id, String token) {
        while (regular.size() <= id) regular.add(null);
        regular.set(id, token);
    }

    void addMerge(String left, String right) {
        mergeLeft.add(left);
        mergeRight.add(right);
    }
}
