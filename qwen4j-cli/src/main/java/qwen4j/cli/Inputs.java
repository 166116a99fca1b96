package qwen4j.cli;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import qwen4j.Qwen4jException;

/** Reading user-supplied text and id lists, with one-line errors. */
final class Inputs {
    private Inputs() {}

    /**
     * Largest text file (or standard input) read: the whole text is held and tokenized in memory, so
     * {@code /dev/zero} or a mistaken multi-gigabyte file must stop with an error, not an OutOfMemoryError.
     */
    static final int MAX_TEXT_BYTES = 64 << 20;

    /** Standard input, for FILE = "-" (tests replace it). */
    static java.io.InputStream stdin = System.in;

    /** The UTF-8 text of {@code file}, or of standard input for "-", at most {@link #MAX_TEXT_BYTES}. */
    static String readText(Path file) {
        return readText(file, MAX_TEXT_BYTES);
    }

    static String readText(Path file, int limit) {
        boolean isStdin = file.toString().equals("-");
        String name = isStdin ? "standard input" : file.toString();
        try {
            if (!isStdin && Files.isDirectory(file)) throw new Qwen4jException(file + ": is a folder, not a text file");
            if (!isStdin && Files.isRegularFile(file) && Files.size(file) > limit) throw tooLarge(name, limit);
            byte[] bytes;
            // bounded read: character devices and pipes report no size
            try (java.io.InputStream in = isStdin ? stdin : Files.newInputStream(file)) {
                bytes = in.readNBytes(limit + 1);
            }
            if (bytes.length > limit) throw tooLarge(name, limit);
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new Qwen4jException(name + ": not valid UTF-8 text");
        } catch (java.nio.file.NoSuchFileException e) {
            throw new Qwen4jException(file + ": no such file");
        } catch (java.nio.file.AccessDeniedException e) {
            throw new Qwen4jException(file + ": permission denied");
        } catch (IOException e) {
            throw new Qwen4jException(name + ": cannot read (" + e.getMessage() + ")");
        }
    }

    private static Qwen4jException tooLarge(String name, int limit) {
        return new Qwen4jException(name + ": larger than the limit of " + (limit >> 20) + " MiB of text");
    }

    /** Parses "1,2,3" (spaces allowed around commas, or spaces alone); an empty item ("1,,2") is an error. */
    static int[] parseIds(String list, String option) {
        String trimmed = list.strip();
        if (trimmed.isEmpty()) throw new Qwen4jException(option + ": no token ids given");
        String[] parts = trimmed.split(trimmed.indexOf(',') >= 0 ? "\\s*,\\s*" : "\\s+", -1);
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            if (parts[i].isEmpty()) throw new Qwen4jException(option + ": item " + (i + 1) + " is empty (in '" + Qwen4jException.shown(list) + "')");
            try {
                ids[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new Qwen4jException(option + ": '" + Qwen4jException.shown(parts[i]) + "' (item " + (i + 1) + ") is not a token id");
            }
            if (ids[i] < 0) throw new Qwen4jException(option + ": token id " + ids[i] + " is negative");
        }
        return ids;
    }

    static void checkIds(int[] ids, int limit, String option) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] >= limit) {
                throw new Qwen4jException(option + ": token id " + ids[i] + " (item " + (i + 1)
                        + ") is outside the vocabulary 0.." + (limit - 1));
            }
        }
    }
}
