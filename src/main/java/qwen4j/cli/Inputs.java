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

    static String readText(Path file) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new Qwen4jException(file + ": not valid UTF-8 text");
        } catch (java.nio.file.NoSuchFileException e) {
            throw new Qwen4jException(file + ": no such file");
        } catch (java.nio.file.AccessDeniedException e) {
            throw new Qwen4jException(file + ": permission denied");
        } catch (IOException e) {
            throw new Qwen4jException(file + ": cannot read (" + e.getMessage() + ")");
        }
    }

    /** Parses "1,2,3" (spaces allowed). */
    static int[] parseIds(String list, String option) {
        String[] parts = list.trim().split("[,\\s]+");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new Qwen4jException(option + ": '" + parts[i] + "' (item " + (i + 1) + ") is not a token id");
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
