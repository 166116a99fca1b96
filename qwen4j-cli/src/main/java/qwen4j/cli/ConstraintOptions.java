package qwen4j.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;
import qwen4j.Qwen4jException;
import qwen4j.generate.Engine;
import qwen4j.generate.constraint.CompiledConstraint;
import qwen4j.generate.constraint.Constraint;
import qwen4j.generate.constraint.Constraints;

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

    /** The compiled constraint the flags ask for, or null. */
    CompiledConstraint compile(Engine engine) {
        int given = (jsonSchema != null ? 1 : 0) + (grammarFile != null ? 1 : 0) + (jsonObject ? 1 : 0);
        if (given > 1) throw new Qwen4jException("give at most one of --json-schema, --grammar-file, --json-object");
        if (jsonSchema != null) {
            String text = Inputs.readText(jsonSchema);
            try {
                return Constraints.jsonSchema(text, true, engine.tokenizer(), engine.vocabLimit(), engine.eosIds());
            } catch (Qwen4jException e) {
                throw new Qwen4jException(jsonSchema + ": " + e.getMessage());
            }
        }
        if (grammarFile != null) {
            String text = Inputs.readText(grammarFile);
            try {
                return Constraints.gbnf(text, engine.tokenizer(), engine.vocabLimit(), engine.eosIds());
            } catch (Qwen4jException e) {
                throw new Qwen4jException(grammarFile + ": " + e.getMessage());
            }
        }
        return jsonObject ? Constraints.jsonObject(engine.tokenizer(), engine.vocabLimit(), engine.eosIds()) : null;
    }

    /** A fresh per-sequence constraint, or null when no flag asks for one. */
    Constraint newSequence(Engine engine) {
        CompiledConstraint c = compile(engine);
        return c == null ? null : c.newSequence();
    }
}
