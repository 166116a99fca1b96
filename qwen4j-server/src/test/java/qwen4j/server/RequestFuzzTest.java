package qwen4j.server;

import com.code_intelligence.jazzer.junit.FuzzTest;
import qwen4j.Fixtures;

/**
 * Fuzz target for the server's request bodies: any bytes POSTed to /v1/chat/completions or
 * /v1/completions become a validated job or an {@link ApiError} with a 4xx status and a one-line
 * message (what the client then receives in OpenAI's error shape); never a 500. Corpus:
 * src/test/resources/qwen4j/server/RequestFuzzTestInputs.
 */
class RequestFuzzTest {
    /** Without ../shared this target skips here: an assumption inside a fuzz target would be reported by Jazzer as a finding. */
    @org.junit.jupiter.api.BeforeAll
    static void needsSharedFixtures() {
        qwen4j.Fixtures.shared();
    }

    static final int CONTEXT = 512;
    static final int MAX_TOKENS = 256;
    static final int MAX_BODY = 64 << 10;

    private static RequestParser parser;
    private static int vocab;

    static synchronized RequestParser parser() throws Exception {
        if (parser == null) {
            OfflineModel model = OfflineModel.of(Fixtures.tiny().resolve("hf"));
            vocab = model.vocabSize();
            parser = new RequestParser(RequestParser.mapper(), model, qwen4j.api.GenerationParams.defaults(),
                    "tiny", CONTEXT, MAX_TOKENS, MAX_BODY, false);
        }
        return parser;
    }

    /** First byte picks the endpoint, the rest is the body. */
    @FuzzTest(maxDuration = "60s")
    void requestBody(byte[] data) throws Exception {
        if (data.length == 0) return;
        String path = (data[0] & 1) == 0 ? "/v1/chat/completions" : "/v1/completions";
        byte[] body = java.util.Arrays.copyOfRange(data, 1, data.length);
        Job job;
        try {
            job = parser().parse(path, body);
        } catch (ApiError e) {
            if (e.status < 400 || e.status > 499) throw new AssertionError("status " + e.status + ": " + e.getMessage());
            qwen4j.fuzz.FuzzOracle.checkMessage(e.getMessage());
            return;
        }
        // an accepted job fits the context and the limits, and holds only real token ids
        int p = job.prompt().length;
        if (p == 0 || p >= CONTEXT) throw new AssertionError("prompt of " + p + " tokens accepted");
        if (job.maxTokens() < 1 || job.maxTokens() > MAX_TOKENS) throw new AssertionError("max tokens " + job.maxTokens());
        for (int id : job.prompt()) if (id < 0 || id >= vocab) throw new AssertionError("token id " + id);
    }
}
