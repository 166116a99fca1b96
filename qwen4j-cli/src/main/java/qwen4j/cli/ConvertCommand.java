package qwen4j.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import qwen4j.format.GgufConverter;
import qwen4j.format.QuantPlan;
import qwen4j.tensor.DType;

@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Convert an HF folder or a GGUF file into one GGUF file of the given type (norms and biases stay F32).")
final class ConvertCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = {"-m", "--model"}, paramLabel = "PATH", required = true, description = "HF model folder or .gguf file (or a repo id in the HF cache, as in generate).")
    Path model;

    @Option(names = "--revision", paramLabel = "R", description = "With -m REPO: the branch, tag or commit (default main).")
    String revision;

    @Option(names = "--quantize", paramLabel = "TYPE", required = true,
            description = "Target type: f32, f16, bf16, q8_0, q4_0 (q4_0 keeps the output projection in q8_0).")
    String quantize;

    @Option(names = {"-o", "--output"}, paramLabel = "OUT.gguf", required = true, description = "File to write.")
    Path output;

    @Option(names = "--force", description = "Overwrite OUT.gguf if it exists (a regular file only).")
    boolean force;

    @Option(names = "--allow-requantize", description = "Convert a model whose matrices are already quantized (compounds the error).")
    boolean allowRequantize;

    @Override
    public Integer call() {
        DType type = QuantPlan.parse(quantize);
        var err = spec.commandLine().getErr();
        long t0 = System.nanoTime();
        GgufConverter.Result r = GgufConverter.convert(ModelOptions.resolve(model, revision), type, output, force, allowRequantize, new ProgressBar(err, "converting"));
        spec.commandLine().getOut().printf(Locale.ROOT, "wrote %s: %d tensors, %.1f MB of %s weights in %.1f s%n",
                output, r.tensors(), r.dataBytes() / 1e6, type, (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
