package qwen4j.hub;

import java.util.List;
import java.util.regex.Pattern;

/**
 * {@code --include} patterns as huggingface_hub reads its allow_patterns: Python's fnmatch, where
 * {@code *} also matches '/' ({@code *.json} matches {@code sub/config.json}), and a pattern
 * ending in '/' means everything below that folder.
 */
final class Globs {
    private Globs() {}

    /** Whether {@code path} matches one of {@code globs}; no globs match everything. */
    static boolean matchesAny(List<String> globs, String path) {
        if (globs == null || globs.isEmpty()) return true;
        for (String g : globs) if (toRegex(g).matcher(path).matches()) return true;
        return false;
    }

    static Pattern toRegex(String glob) {
        String g = glob.endsWith("/") ? glob + "*" : glob;
        StringBuilder re = new StringBuilder();
        for (int i = 0; i < g.length(); i++) {
            char c = g.charAt(i);
            if (c == '*') {
                re.append(".*");
            } else if (c == '?') {
                re.append('.');
            } else if (c == '[' && g.indexOf(']', i + 2) > 0) { // a set; "[" without a closing "]" is literal
                int end = g.indexOf(']', i + 2);
                String set = g.substring(i + 1, end);
                boolean negate = set.startsWith("!");
                if (negate) set = set.substring(1);
                set = set.replace("\\", "\\\\").replace("[", "\\[").replace("&", "\\&");
                if (!negate && set.startsWith("^")) set = "\\" + set; // a literal '^', as in fnmatch
                re.append('[').append(negate ? "^" : "").append(set).append(']');
                i = end;
            } else {
                re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(re.toString(), Pattern.DOTALL);
    }
}
