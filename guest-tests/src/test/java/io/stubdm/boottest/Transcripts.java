package io.stubdm.boottest;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Replays a recorded console transcript (see the fixtures' README) into a tracker, on the transcript's clock. */
final class Transcripts {
    static final long SECOND = 1_000_000_000L;

    /** One piece of console output and when it came, in nanoseconds since the start. */
    record Piece(long nanos, String text) {
    }

    private Transcripts() {
    }

    static List<Piece> load(String... names) throws IOException {
        List<Piece> out = new ArrayList<>();
        for (String name : names) {
            try (InputStream in = Transcripts.class.getResourceAsStream(name)) {
                if (in == null) {
                    throw new IOException("no fixture " + name);
                }
                for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n", -1)) {
                    if (line.isEmpty()) {
                        continue;
                    }
                    int space = line.indexOf(' ');
                    String time = space < 0 ? line : line.substring(0, space);
                    String text = space < 0 ? "" : line.substring(space + 1);
                    text = text.replace("\\e", "\u001b").replace("\\r", "\r");
                    boolean noNewline = text.endsWith("\\c");
                    if (noNewline) {
                        text = text.substring(0, text.length() - 2);
                    }
                    out.add(new Piece(Math.round(Double.parseDouble(time) * SECOND), noNewline ? text : text + "\r\n"));
                }
            }
        }
        return out;
    }

    /** Feeds every piece, ticking the clock before each, and returns the time of the last one. */
    static long replay(ConsoleTracker t, List<Piece> pieces) {
        long now = 0;
        for (Piece p : pieces) {
            now = p.nanos();
            t.tick(now);
            t.feed(p.text(), now);
        }
        return now;
    }
}
