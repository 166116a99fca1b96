package qwen4j.cli;

import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import qwen4j.Qwen4jException;
import qwen4j.api.Qwen;
import qwen4j.server.OpenAiServer;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve the model over an OpenAI-compatible HTTP API: POST /v1/chat/completions, "
                + "POST /v1/completions (stream: true for server-sent events), GET /v1/models, GET /health.",
                "Sampling defaults come from the model's generation_config.json (llama.cpp's for GGUF); "
                        + "temperature 0 is greedy. Stops on Ctrl-C."})
final class ServeCommand implements Callable<Integer> {
    @Mixin ModelOptions model;

    @Spec CommandSpec spec;

    @Option(names = "--host", paramLabel = "ADDR", defaultValue = "127.0.0.1",
            description = "Address to listen on (default ${DEFAULT-VALUE}; 0.0.0.0 for every interface).")
    String host;

    @Option(names = "--port", paramLabel = "N", defaultValue = "8080", description = "TCP port (default ${DEFAULT-VALUE}; 0 = any free one).")
    int port;

    @Option(names = "--api-key", paramLabel = "KEY",
            description = "Require 'Authorization: Bearer KEY' on /v1 requests (default: $QWEN4J_API_KEY, else none).")
    String apiKey;

    @Option(names = "--parallel", paramLabel = "N", defaultValue = "1",
            description = "Requests generated at once, decoded together in one pass over the weights per token; each may use --ctx tokens "
                    + "of the shared (paged) KV cache (default ${DEFAULT-VALUE}).")
    int parallel;

    @Option(names = "--queue", paramLabel = "N", defaultValue = "64",
            description = "Requests that may wait for a free slot; beyond that the server answers 429 (default ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = "--max-body", paramLabel = "BYTES", defaultValue = "1048576",
            description = "Largest request body; larger ones get 413 (default ${DEFAULT-VALUE}).")
    int maxBody;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "32768",
            description = "Most tokens one request may generate; a larger max_tokens gets 400 (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--write-timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "A client that reads nothing for this long is cut off and its request cancelled (default ${DEFAULT-VALUE}).")
    long writeTimeout;

    @Option(names = "--model-id", paramLabel = "ID",
            description = "Model id listed by /v1/models (default: the model folder's or file's name).")
    String modelId;

    @Option(names = "--parse-special-in-messages",
            description = "Let <|im_start|> etc. in chat message text act as special tokens (clients can then forge chat turns).")
    boolean parseSpecialInMessages;

    @Override
    public Integer call() throws Exception {
        String key = apiKey != null ? apiKey : System.getenv("QWEN4J_API_KEY");
        // "--api-key $UNSET" or QWEN4J_API_KEY="" must not quietly serve without a key
        if (apiKey != null && apiKey.isBlank()) throw new Qwen4jException("--api-key is empty (an unset variable?): give a key, or leave the option out");
        if (apiKey == null && key != null && key.isBlank()) {
            throw new Qwen4jException("QWEN4J_API_KEY is set but empty: set a key, or unset it to serve without one");
        }
        if (writeTimeout < 1) throw new Qwen4jException("--write-timeout must be at least 1 second, got " + writeTimeout);
        java.nio.file.Path path = model.modelPath();
        String id = modelId != null ? modelId : idFor(path);
        if (parallel < 1) throw new Qwen4jException("--parallel must be at least 1, got " + parallel);
        OpenAiServer.Config config = new OpenAiServer.Config(host, port, key, parallel, queue, maxBody, id, maxTokens)
                .withParseSpecialInMessages(parseSpecialInMessages).withWriteTimeoutMillis(writeTimeout * 1000L);
        try (Qwen qwen = model.load(new java.io.PrintWriter(System.err, true), parallel)) {
            OpenAiServer server;
            try {
                server = OpenAiServer.start(qwen, config);
            } catch (java.io.IOException e) {
                throw new Qwen4jException("cannot listen on " + host + ":" + port + ": " + e.getMessage());
            }
            CountDownLatch stopped = new CountDownLatch(1);
            Thread hook = new Thread(() -> {
                server.close();
                stopped.countDown();
            });
            Runtime.getRuntime().addShutdownHook(hook);
            var err = spec.commandLine().getErr();
            err.printf("qwen4j: serving %s on http://%s:%d/v1 (%d slot%s of %d tokens, queue %d%s)%n", id, host,
                    server.port(), parallel, parallel == 1 ? "" : "s", qwen.contextLength(), queue,
                    key == null ? "; no API key: anyone who can connect may use it" : "; API key required on /v1");
            err.flush();
            stopped.await();
        }
        return 0;
    }

    private static String idFor(java.nio.file.Path path) {
        String repo = qwen4j.hub.ModelResolver.repoIdOf(path);
        if (repo != null) return repo;
        java.nio.file.Path p = path.toAbsolutePath().normalize();
        String name = p.getFileName() == null ? "qwen4j" : p.getFileName().toString();
        if (name.endsWith(".gguf")) name = name.substring(0, name.length() - 5);
        // an HF snapshot folder named "hf" or a hash says little: use the parent's name too
        if ((name.equals("hf") || name.matches("[0-9a-f]{40}")) && p.getParent() != null && p.getParent().getFileName() != null) {
            name = p.getParent().getFileName() + "/" + name;
        }
        return name;
    }
}
