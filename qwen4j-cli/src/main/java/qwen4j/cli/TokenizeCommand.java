package qwen4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import qwen4j.Qwen4jException;
import qwen4j.api.QwenTokenizer;

@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Show the token ids (and pieces) of a text.")
final class TokenizeCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = {"-m", "--model"}, paramLabel = "PATH",
            description = "HF model folder or .gguf file (or a repo id in the HF cache) whose tokenizer to use. Default: $QWEN4J_MODEL.")
    Path model;

    @Option(names = "--revision", paramLabel = "R", description = "With -m REPO: the branch, tag or commit (default main).")
    String revision;

    @Parameters(arity = "0..1", paramLabel = "TEXT", description = "Text to tokenize.")
    String text;

    @Option(names = "--file", paramLabel = "FILE", description = "Read the text from a UTF-8 file (- for standard input; at most 64 MiB).")
    Path file;

    @Option(names = "--no-parse-special", description = "Treat <|im_start|> etc. as plain text.")
    boolean noParseSpecial;

    @Option(names = "--json", description = "Print {\"ids\": [...], \"pieces\": [...]}.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if ((text == null) == (file == null)) throw new Qwen4jException("give either TEXT or --file FILE");
        ModelOptions m = new ModelOptions();
        m.model = model;
        m.revision = revision;
        QwenTokenizer tokenizer = QwenTokenizer.load(m.modelPath());
        String input = text != null ? text : Inputs.readText(file);
        int[] ids = tokenizer.encode(input, !noParseSpecial);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectMapper mapper = new ObjectMapper();
            ObjectNode root = mapper.createObjectNode();
            ArrayNode idArr = root.putArray("ids");
            ArrayNode pieces = root.putArray("pieces");
            for (int id : ids) {
                idArr.add(id);
                pieces.add(tokenizer.piece(id));
            }
            out.println(mapper.writeValueAsString(root));
        } else {
            for (int id : ids) out.printf("%7d -> %s%n", id, Tokens.quoted(tokenizer, id));
            out.printf("%d tokens%n", ids.length);
        }
        return 0;
    }
}
