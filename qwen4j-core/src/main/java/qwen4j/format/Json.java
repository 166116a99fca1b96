package qwen4j.format;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import qwen4j.Qwen4jException;

/** Strict JSON reading with one-line errors naming the file and the position. */
final class Json {
    private Json() {}

    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

    static JsonNode readFile(Path file) {
        String name = MappedFiles.displayName(file);
        byte[] bytes;
        try {
            long size = Files.size(file);
            // Config files and index.json are read whole; tokenizers are streamed elsewhere.
            Limits.check(name, "file size", size, "max-json-file-bytes", Limits.DEFAULT.maxJsonFileBytes(), "");
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new Qwen4jException(file + ": no such file");
        } catch (IOException e) {
            throw new Qwen4jException(name + ": cannot read (" + MappedFiles.oneLine(e) + ")", e);
        }
        return parse(bytes, name, 0);
    }

    /**
     * Parses {@code bytes} as one JSON value. {@code baseOffset} is added to the reported byte
     * offset (e.g. 8 for a safetensors header, which starts after the length field).
     */
    static JsonNode parse(byte[] bytes, String what, long baseOffset) {
        try {
            JsonNode n = MAPPER.readTree(bytes);
            if (n == null || n.isMissingNode()) {
                throw new Qwen4jException(what + ": malformed JSON (empty)");
            }
            return n;
        } catch (JsonProcessingException e) {
            JsonLocation loc = e.getLocation();
            String where = "";
            if (loc != null) {
                long off = loc.getByteOffset() >= 0 ? loc.getByteOffset() : loc.getCharOffset();
                where = " at line " + loc.getLineNr() + ", column " + loc.getColumnNr()
                        + (off >= 0 ? " (byte " + (baseOffset + off) + ")" : "");
            }
            String msg = e.getOriginalMessage() == null ? "" : e.getOriginalMessage();
            int cut = msg.indexOf('\n');
            if (cut >= 0) msg = msg.substring(0, cut);
            cut = msg.indexOf(" (start marker at");
            if (cut >= 0) msg = msg.substring(0, cut);
            throw new Qwen4jException(what + ": malformed JSON" + where + ": " + msg.strip(), e);
        } catch (IOException e) {
            throw new Qwen4jException(what + ": cannot read JSON (" + MappedFiles.oneLine(e) + ")", e);
        } catch (NumberFormatException e) {
            // fuzz finding: with USE_BIG_DECIMAL_FOR_FLOATS Jackson throws this, not a JSON exception,
            // for a number such as 22e2222...2 whose exponent BigDecimal cannot hold
            throw new Qwen4jException(what + ": malformed JSON: a number out of range ("
                    + Qwen4jException.shown(e.getMessage()) + ")", e);
        }
    }

    /** Short rendering of a JSON value for error messages. */
    static String show(JsonNode n) {
        if (n == null || n.isMissingNode()) return "missing";
        return Qwen4jException.shown(n.toString());
    }
}
