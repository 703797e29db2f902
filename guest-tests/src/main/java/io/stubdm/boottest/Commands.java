package io.stubdm.boottest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the host's tools (xl, losetup, dmsetup) with a time limit; a failure names the command and what it said. */
final class Commands {
    private Commands() {
    }

    /** Runs {@code command} and returns its standard output; throws when it fails or outlives {@code limit}. */
    static String run(Duration limit, List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out;
        try {
            // Output is read on a thread of its own, so a chatty tool cannot block on a full pipe past the limit.
            var reader = new java.util.concurrent.CompletableFuture<byte[]>();
            Thread t = new Thread(() -> {
                try {
                    reader.complete(p.getInputStream().readAllBytes());
                } catch (IOException e) {
                    reader.complete(new byte[0]);
                }
            }, "command-output");
            t.setDaemon(true);
            t.start();
            if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + ": no answer within " + limit.toSeconds() + " s");
            }
            out = reader.get(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException(String.join(" ", command) + ": interrupted", e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            out = new byte[0];
        }
        String text = new String(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed (exit " + p.exitValue() + "): " + text.strip());
        }
        return text;
    }
}
