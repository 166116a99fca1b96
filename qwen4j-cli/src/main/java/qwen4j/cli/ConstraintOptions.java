package qwen4j.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;
import qwen4j.Qwen4jException;
import qwen4j.api.ResponseFormat;

/** Structured output flags: the generated text is forced into a JSON Schema's or a GBNF grammar's language. */
final class ConstraintOptions {
    @Option(names = "--json-schema", paramLabel = "FILE",
            description = "Constrain the output to JSON valid against this JSON Schema (see docs/STRUCTURED-OUTPUT.md).")
    Path jsonSchema;

    @Option(names = "--grammar-file", paramLabel = "FILE",
            description = "Constrain the output to this llama.cpp GBNF grammar (start rule: root).")
    Path grammarFile;

    @Option(names = "--json-object", description = "Constrain the output to one JSON object.")
    boolean jsonObject;

    /** The format the flags ask for (errors in it name its file), or null. */
    ResponseFormat format() {
        int given = (jsonSchema != null ? 1 : 0) + (grammarFile != null ? 1 : 0) + (jsonObject ? 1 : 0);
        if (given > 1) throw new Qwen4jException("give at most one of --json-schema, --grammar-file, --json-object");
        if (jsonSchema != null) return ResponseFormat.jsonSchema(Inputs.readText(jsonSchema)).from(jsonSchema.toString());
        if (grammarFile != null) return ResponseFormat.grammar(Inputs.readText(grammarFile)).from(grammarFile.toString());
        return jsonObject ? ResponseFormat.jsonObject() : null;
    }
}
