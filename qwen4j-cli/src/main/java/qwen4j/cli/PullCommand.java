package qwen4j.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import qwen4j.hub.HubDownloader;

@Command(name = "pull", mixinStandardHelpOptions = true,
        description = {"Download a model from the Hugging Face Hub into the Hugging Face cache (the one huggingface_hub uses: "
                + "$HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub), for -m REPO.",
                "Resumes partial downloads and checks each LFS file's sha256. Honours HF_ENDPOINT and HF_TOKEN "
                + "(or the token file $HF_HOME/token). Prints the snapshot folder."})
final class PullCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "REPO", description = "Model id, e.g. Qwen/Qwen2.5-0.5B-Instruct (REPO:FILE: that one file).")
    String repo;

    @Option(names = "--revision", paramLabel = "R", description = "Branch, tag or commit (default: main).")
    String revision;

    @Option(names = "--include", paramLabel = "GLOB", arity = "1..*",
            description = "Only the files matching one of these patterns (* also matches /), e.g. '*.json' '*q4_k_m*.gguf'.")
    List<String> include = new ArrayList<>();

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        List<String> globs = new ArrayList<>(include);
        String id = repo;
        int colon = repo.indexOf(':'); // REPO:FILE, as -m takes it; a split GGUF's part brings all its parts
        if (colon >= 0) {
            id = repo.substring(0, colon);
            globs.add(qwen4j.hub.HubDownloader.globFor(repo.substring(colon + 1)));
        }
        ProgressBar bar = new ProgressBar(err, "downloading " + id);
        java.util.concurrent.atomic.AtomicLongArray last = new java.util.concurrent.atomic.AtomicLongArray(2); // set on the download threads
        HubDownloader.Result r;
        try (HubDownloader hub = new HubDownloader(System.getenv())) {
            r = hub.pull(id, revision, globs, (done, total) -> {
                last.set(0, done);
                last.set(1, total);
                bar.update(done, total);
            });
        } catch (RuntimeException e) {
            if (bar.used() && last.get(0) < last.get(1)) err.println(); // the error line starts on a line of its own
            throw e;
        }
        if (bar.used()) bar.update(1, 1); // ends the bar's line (sizes the server did not announce)
        err.printf(Locale.ROOT, "qwen4j: %s at %s: %d file%s (%.1f MB downloaded, %d already in the cache); run it with -m %s%s%n",
                r.repo(), r.commit(), r.files().size(), r.files().size() == 1 ? "" : "s", r.downloadedBytes() / 1e6,
                r.cachedFiles(), repo, revision == null ? "" : " --revision " + revision);
        err.flush();
        spec.commandLine().getOut().println(r.snapshot());
        return 0;
    }
}
