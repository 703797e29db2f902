package io.stubdm.runtime;

import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.hypervisor.GrantTables;
import io.stubdm.hypervisor.XenStore;
import io.stubdm.hypervisor.sim.SimDomain;
import io.stubdm.hypervisor.sim.SimXen;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** {@code stubdm check-xen} against a simulated guest set up the way libxl sets up every HVM guest. */
class XenCheckTest {
    private static final int DOMID = 6;
    private static final long STORE_GFN = 0x300;
    private static final long CONSOLE_GFN = 0x301;

    private final SimXen xen = new SimXen();
    private final SimDomain guest = xen.createDomain(DOMID, 16 << 20, 1);
    private final ByteArrayOutputStream output = new ByteArrayOutputStream();

    /** What libxl__build_post writes and xc_dom_gnttab_seed grants, plus some ring contents. */
    private void likeLibxl() {
        try (XenStore store = xen.openXenStore()) {
            store.write("/local/domain/" + DOMID + "/name", "fw1");
            store.write("/local/domain/" + DOMID + "/store/ring-ref", Long.toString(STORE_GFN));
            store.write("/local/domain/" + DOMID + "/console/ring-ref", Long.toString(CONSOLE_GFN));
        }
        guest.grantAccess(GrantTables.RESERVED_XENSTORE, STORE_GFN, 0, false);
        guest.grantAccess(GrantTables.RESERVED_CONSOLE, CONSOLE_GFN, 0, false);
        guest.guestMemory().writeValue(STORE_GFN << 12, 8, 0x0123456789abcdefL);
        guest.guestMemory().writeValue((CONSOLE_GFN << 12) + 0x400, 4, 0x0a0d4b4f);
    }

    private int run() {
        return XenCheck.run(xen, DOMID, new PrintStream(output, true, StandardCharsets.UTF_8));
    }

    private String out() {
        return output.toString(StandardCharsets.UTF_8);
    }

    @Test
    void bothRingsMapTheSamePageAsFramesAndAsGrants() {
        likeLibxl();
        assertEquals(0, run(), out());
        assertTrue(out().contains("ok   xenstore ring: grant ref 1 and gfn 0x300"), out());
        assertTrue(out().contains("ok   console ring: grant ref 0 and gfn 0x301"), out());
        assertTrue(out().contains("domain 6 OK"), out());
    }

    @Test
    void aGrantOfAnotherPageIsCaught() {
        likeLibxl();
        guest.grantAccess(GrantTables.RESERVED_CONSOLE, STORE_GFN, 0, false);
        assertEquals(1, run());
        assertTrue(out().contains("FAIL console ring: grant ref 0 shows a different page than gfn 0x301"), out());
    }

    @Test
    void missingGrantsAndNodesAreNamed() {
        likeLibxl();
        guest.endAccess(GrantTables.RESERVED_XENSTORE);
        try (XenStore store = xen.openXenStore()) {
            store.write("/local/domain/" + DOMID + "/console/ring-ref", "not-a-number");
        }
        assertEquals(1, run());
        assertTrue(out().contains("FAIL xenstore ring: grant ref 1 of domain 6: gnttab_map_grant_ref failed: EINVAL"), out());
        assertTrue(out().contains("FAIL console ring: /local/domain/6/console/ring-ref is 'not-a-number'"), out());
    }

    @Test
    void aDomainThatIsNotThereIsSaidSo() {
        assertEquals(1, XenCheck.run(xen, 42, new PrintStream(output, true, StandardCharsets.UTF_8)));
        assertTrue(out().contains("FAIL xenstore: no /local/domain/42/name: is domain 42 running?"), out());
    }
}
