package qwen4j.format;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import qwen4j.Qwen4jException;

/** Memory-maps whole files read-only, turning I/O failures into one-line user errors. */
final class MappedFiles {
    private MappedFiles() {}

    /** The name used in error messages: the file name without its folder. */
    static String displayName(Path p) {
        Path f = p.getFileName();
        return f == null ? p.toString() : f.toString();
    }

    /** Maps all of {@code file} into {@code arena}; the mapping lives until the arena closes. */
    static MemorySegment map(Path file, Arena arena) {
        String name = displayName(file);
        if (Files.isDirectory(file)) {
            throw new Qwen4jException(file + ": is a folder, expected a file");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size == 0) {
                return MemorySegment.ofArray(new byte[0]);
            }
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        } catch (NoSuchFileException e) {
            throw new Qwen4jException(file + ": no such file");
        } catch (AccessDeniedException e) {
            throw new Qwen4jException(file + ": permission denied");
        } catch (IOException | UnsupportedOperationException e) {
            throw new Qwen4jException(name + ": cannot map the file (" + oneLine(e) + ")", e);
        }
    }

    static String oneLine(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) return e.getClass().getSimpleName();
        return m.replace('\n', ' ').replace('\r', ' ').strip();
    }
}
