package qwen4j.model;

import java.util.List;

/**
 * Hyper-parameters of a Qwen2 decoder, as in HF config.json (or the qwen2.* keys of GGUF).
 *
 * @param eosTokenIds ids that end generation (generation_config.json eos_token_id, or GGUF eos)
 * @param bosTokenId  -1 when absent
 */
public record Qwen2Config(
        int hiddenSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int intermediateSize,
        int vocabSize,
        double ropeTheta,
        float rmsNormEps,
        boolean tieWordEmbeddings,
        int maxPositionEmbeddings,
        List<Integer> eosTokenIds,
        int bosTokenId) {

    public int headDim() { return hiddenSize / numHeads; }

    public int kvDim() { return headDim() * numKvHeads; }
}
