package qwen4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The goldens of fixtures/tiny/golden.json (computed by the independent numpy reference). */
public record Golden(String prompt, String weights, int[] promptIds, int[] greedyIds, List<Step> steps) {

    /** Reference logits predicting continuation token s: top-20 and probe ids with their logits. */
    public record Step(int[] ids, float[] logits, double margin) {}

    public static List<Golden> load(Path goldenJson) {
        try {
            JsonNode root = new ObjectMapper().readTree(goldenJson.toFile());
            List<Golden> out = new ArrayList<>();
            for (JsonNode c : root.get("cases")) {
                List<Step> steps = new ArrayList<>();
                for (JsonNode s : c.get("reference").get("steps")) {
                    List<int[]> ids = new ArrayList<>();
                    int n = s.get("top").size() + s.get("probe").size();
                    int[] idArr = new int[n];
                    float[] logitArr = new float[n];
                    int i = 0;
                    for (String key : new String[] {"top", "probe"}) {
                        for (JsonNode pair : s.get(key)) {
                            idArr[i] = pair.get(0).asInt();
                            logitArr[i] = (float) pair.get(1).asDouble();
                            i++;
                        }
                    }
                    steps.add(new Step(idArr, logitArr, s.get("margin").asDouble()));
                }
                out.add(new Golden(c.get("prompt").asText(), c.get("weights").asText(), ints(c.get("prompt_ids")),
                        ints(c.get("reference").get("greedy_ids")), steps));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Greedy tokens that must match: up to and including the first step whose margin is below 0.01. */
    public int greedyPrefixToCheck() {
        for (int s = 0; s < steps.size(); s++) {
            if (steps.get(s).margin() < 0.01) return s; // token s itself is a near-tie: not required
        }
        return greedyIds.length;
    }

    private static int[] ints(JsonNode arr) {
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) out[i] = arr.get(i).asInt();
        return out;
    }
}
