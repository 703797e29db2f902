package io.stubdm.lab;

import io.stubdm.backends.vnc.RfbClient;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The lab's VNC check, run by Dom0's Java inside the nested machine (dom0-job.sh, -vnc scenarios): connects to a
 * device model's VNC server with its password, asks for ZRLE, reads the whole screen, types a line on the guest's
 * keyboard and writes the screen as it is afterwards (binary PPM) for the host to read. It needs only the JDK and
 * {@link RfbClient}: both device models (qemu-xen and stubdm) are checked with it.
 *
 * <pre>java -cp /lab/vncprobe io.stubdm.lab.VncProbe HOST PORT PASSWORD LINE OUT.ppm</pre>
 *
 * Prints {@code VNC-PROBE connected ...} once the handshake and the first full frame worked, {@code VNC-PROBE
 * typed ...} after the line went out; exit status 0 when all of it worked.
 */
public final class VncProbe {
    private static final int ENCODING_RAW = 0;
    private static final int ENCODING_ZRLE = 16;
    private static final int ENCODING_DESKTOP_SIZE = -223;
    /** How long the screen may stay unchanged after typing before the picture is taken. */
    private static final long QUIET_MILLIS = 4_000;
    private static final long MAX_WAIT_MILLIS = 30_000;

    private VncProbe() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: VncProbe HOST PORT PASSWORD LINE OUT.ppm");
            System.exit(2);
        }
        String password = args[2].isEmpty() ? null : args[2];
        long t0 = System.nanoTime();
        try (RfbClient client = RfbClient.connect(args[0], Integer.parseInt(args[1]), password)) {
            client.setEncodings(ENCODING_ZRLE, ENCODING_RAW, ENCODING_DESKTOP_SIZE);
            int[] frame = client.requestFullFrame();
            System.out.printf("VNC-PROBE connected %dx%d in %d ms, %d non-black pixels%n", client.width(),
                    client.height(), (System.nanoTime() - t0) / 1_000_000, nonBlack(frame));
            client.type(args[3] + "\n");
            System.out.println("VNC-PROBE typed " + args[3]);
            // The VT echoes what it reads: wait until the screen has been quiet for a while.
            long end = System.currentTimeMillis() + MAX_WAIT_MILLIS;
            int updates = 0;
            while (System.currentTimeMillis() < end) {
                int[] next = client.awaitUpdate(true, QUIET_MILLIS);
                if (next == null) {
                    break;
                }
                frame = next;
                updates++;
            }
            System.out.printf("VNC-PROBE %d updates after typing; screen %dx%d%n", updates, client.width(),
                    client.height());
            writePpm(Path.of(args[4]), client.width(), client.height(), frame);
        } catch (IOException e) {
            System.out.println("VNC-PROBE failed: " + e);
            System.exit(1);
        }
    }

    private static int nonBlack(int[] frame) {
        int n = 0;
        for (int p : frame) {
            if ((p & 0xffffff) != 0) {
                n++;
            }
        }
        return n;
    }

    private static void writePpm(Path file, int width, int height, int[] pixels) throws IOException {
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file))) {
            out.write(("P6\n" + width + " " + height + "\n255\n").getBytes(StandardCharsets.US_ASCII));
            for (int i = 0; i < width * height; i++) {
                out.write(pixels[i] >> 16);
                out.write(pixels[i] >> 8);
                out.write(pixels[i]);
            }
        }
    }
}
