package qwen4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import qwen4j.Qwen4jException;
import qwen4j.api.Qwen;
import qwen4j.api.QwenTokenizer;
import qwen4j.api.Score;

@Command(name = "perplexity", mixinStandardHelpOptions = true,
        description = "Teacher-forced scoring: log-probability of each next token, top logits, perplexity.")
final class PerplexityCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin ModelOptions model;

    @ArgGroup(multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = {"-f", "--file"}, paramLabel = "TEXT_FILE", description = "UTF-8 text to score (- for standard input; at most 64 MiB).") Path file;
        @Option(names = "--ids", paramLabel = "IDS", description = "Token ids to score: 1,2,3.") String ids;
    }

    @Option(names = "--top", paramLabel = "K", defaultValue = "0", description = "Also report the K largest logits per position.")
    int top;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (top < 0) throw new Qwen4jException("--top must be 0 or more, got " + top);
        PrintWriter out = spec.commandLine().getOut();
        try (Qwen qwen = model.load(spec.commandLine().getErr(), 1)) {
            QwenTokenizer tokenizer = qwen.tokenizer();
            int[] ids;
            if (input.ids != null) {
                ids = Inputs.parseIds(input.ids, "--ids");
                Inputs.checkIds(ids, tokenizer.vocabSize(), "--ids");
            } else {
                ids = tokenizer.encode(Inputs.readText(input.file));
            }
            if (ids.length == 0) throw new Qwen4jException("nothing to score: the input has no tokens");
            if (ids.length > qwen.contextLength()) {
                throw new Qwen4jException("the input has " + ids.length + " tokens but the context holds "
                        + qwen.contextLength() + " (raise --ctx)");
            }
            Score r = qwen.score(ids, top);
            if (json) {
                out.println(toJson(r));
            } else {
                for (Score.Position p : r.positions()) {
                    // the last position predicts past the input: no next token, only its top logits
                    if (p.nextId() < 0) out.printf("%5d  next (end of input)%n", p.index());
                    else out.printf("%5d  next %-7d logprob %9.4f  %s%n", p.index(), p.nextId(), p.logprob(),
                            Tokens.quoted(tokenizer, p.nextId()));
                    for (int k = 0; k < p.topIds().length; k++) {
                        out.printf("         top %-2d %-7d logit %9.4f  %s%n", k + 1, p.topIds()[k], p.topLogits()[k],
                                Tokens.quoted(tokenizer, p.topIds()[k]));
                    }
                }
                out.printf("perplexity %.4f over %d predictions%n", r.perplexity(), ids.length - 1);
            }
        }
        return 0;
    }

    static String toJson(Score r) throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        ArrayNode positions = root.putArray("positions");
        for (Score.Position p : r.positions()) {
            ObjectNode o = positions.addObject();
            o.put("index", p.index());
            if (p.nextId() >= 0) {
                o.put("next_id", p.nextId());
                o.put("logprob", p.logprob());
            } else {
                o.putNull("next_id");
                o.putNull("logprob");
            }
            ArrayNode topArr = o.putArray("top");
            for (int i = 0; i < p.topIds().length; i++) {
                topArr.addArray().add(p.topIds()[i]).add(p.topLogits()[i]);
            }
        }
        if (Double.isNaN(r.perplexity())) root.putNull("perplexity");
        else root.put("perplexity", r.perplexity());
        return mapper.writeValueAsString(root);
    }
}
