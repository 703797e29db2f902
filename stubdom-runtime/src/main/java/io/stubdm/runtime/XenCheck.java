package io.stubdm.runtime;

import io.stubdm.hypervisor.ForeignMemory;
import io.stubdm.hypervisor.GrantTables;
import io.stubdm.hypervisor.Hypervisor;
import io.stubdm.hypervisor.XenException;
import io.stubdm.hypervisor.XenStore;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Optional;

/**
 * {@code stubdm check-xen DOMID}: whether this domain can reach a running guest the ways a device model and its
 * PV backends do, checked against what the toolstack itself set up for every guest. The guest's xenstore and
 * console rings are published in xenstore ({@code store/ring-ref}, {@code console/ring-ref}: frame numbers) and
 * granted to this domain under the reserved grant references 1 and 0; each ring is mapped both ways — as a
 * foreign frame (privcmd) and as a grant (gntdev) — and the two mappings must show the same page. It reads
 * only, so it is safe on a production guest.
 */
final class XenCheck {
    private static final int PAGE = 4096;

    private XenCheck() {
    }

    static int run(Hypervisor xen, int domid, PrintStream out) {
        int failures = 0;
        try (XenStore store = xen.openXenStore()) {
            String home = "/local/domain/" + domid;
            Optional<String> name = store.read(home + "/name");
            if (name.isEmpty()) {
                out.println("FAIL xenstore: no " + home + "/name: is domain " + domid + " running?");
                return 1;
            }
            out.println("ok   xenstore: domain " + domid + " is '" + name.get() + "'");
            try (GrantTables gnttab = xen.openGrantTables(); ForeignMemory foreign = xen.foreignMemory(domid)) {
                failures += checkRing(store, gnttab, foreign, domid, home + "/store/ring-ref",
                        GrantTables.RESERVED_XENSTORE, "xenstore ring", out);
                failures += checkRing(store, gnttab, foreign, domid, home + "/console/ring-ref",
                        GrantTables.RESERVED_CONSOLE, "console ring", out);
            }
        } catch (XenException | IllegalStateException e) {
            out.println("FAIL " + e.getMessage());
            return 1;
        }
        out.println(failures == 0 ? "stubdm check-xen: domain " + domid + " OK" : "stubdm check-xen: " + failures
                + " check(s) failed");
        return failures == 0 ? 0 : 1;
    }

    private static int checkRing(XenStore store, GrantTables gnttab, ForeignMemory foreign, int domid, String node,
            int ref, String what, PrintStream out) {
        Optional<String> value = store.read(node);
        long gfn;
        try {
            gfn = Long.parseLong(value.orElseThrow().trim());
        } catch (RuntimeException e) {
            out.println("FAIL " + what + ": " + node + " is " + value.map(v -> "'" + v + "'").orElse("missing"));
            return 1;
        }
        int[] errors = new int[1];
        try (ForeignMemory.ForeignMapping byFrame = foreign.mapPages(gfn, 1, errors)) {
            if (errors[0] != 0) {
                out.println("FAIL " + what + ": gfn 0x" + Long.toHexString(gfn) + " (" + node + ") cannot be mapped: "
                        + XenException.errnoName(errors[0]));
                return 1;
            }
            byte[] before = bytes(byFrame.buffer());
            byte[] granted;
            try (ForeignMemory.ForeignMapping byGrant = gnttab.map(domid, ref, false)) {
                granted = bytes(byGrant.buffer());
            } catch (XenException e) {
                out.println("FAIL " + what + ": grant ref " + ref + " of domain " + domid + ": " + e.getMessage());
                return 1;
            }
            byte[] after = bytes(byFrame.buffer());
            // A live ring can move between the reads; the grant's copy must match one of the frame's.
            if (!Arrays.equals(granted, before) && !Arrays.equals(granted, after)) {
                out.println("FAIL " + what + ": grant ref " + ref + " shows a different page than gfn 0x"
                        + Long.toHexString(gfn));
                return 1;
            }
            out.println("ok   " + what + ": grant ref " + ref + " and gfn 0x" + Long.toHexString(gfn) + " (" + node
                    + ") map the same page (" + nonZero(granted) + " non-zero bytes)");
            return 0;
        } catch (XenException e) {
            out.println("FAIL " + what + ": " + e.getMessage());
            return 1;
        }
    }

    private static byte[] bytes(ByteBuffer page) {
        byte[] b = new byte[PAGE];
        page.duplicate().position(0).get(b);
        return b;
    }

    private static int nonZero(byte[] b) {
        int n = 0;
        for (byte x : b) {
            n += x != 0 ? 1 : 0;
        }
        return n;
    }
}
