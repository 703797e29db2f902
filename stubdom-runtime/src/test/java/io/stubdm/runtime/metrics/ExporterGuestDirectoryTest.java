package io.stubdm.runtime.metrics;

import static io.stubdm.runtime.metrics.FakeDeviceModels.UUID_3;
import static io.stubdm.runtime.metrics.FakeDeviceModels.UUID_5;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.stubdm.hypervisor.XenStore;
import io.stubdm.hypervisor.sim.SimXen;
import io.stubdm.runtime.metrics.GuestDirectory.Guest;
import io.stubdm.runtime.metrics.GuestDirectory.Placement;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ExporterGuestDirectoryTest {
    private static final Path QMP_DIR = Path.of("/var/run/xen");
    private final SimXen xen = new SimXen();
    private final XenStore xenstore = xen.openXenStore();
    private final GuestDirectory directory = new GuestDirectory(xenstore, QMP_DIR);

    @AfterEach
    void close() {
        xenstore.close();
        xen.close();
    }

    /** What libxl writes for a guest, and its device model once it runs, in Dom0. */
    static void dom0Guest(XenStore xs, int domid, String name, String uuid) {
        xs.write("/local/domain/" + domid + "/name", name);
        xs.write("/local/domain/" + domid + "/vm", "/vm/" + uuid);
        xs.write("/local/domain/0/device-model/" + domid + "/state", "running");
    }

    /**
     * A guest whose device model runs in stub domain {@code stub}: the stub's target, the state the device model
     * writes in the stub's home, and the Dom0 entry of the stub's own console backend (xenpv).
     */
    static void stubdomGuest(XenStore xs, int domid, String name, String uuid, int stub) {
        xs.write("/local/domain/" + domid + "/name", name);
        xs.write("/local/domain/" + domid + "/vm", "/vm/" + uuid);
        xs.write("/local/domain/" + stub + "/name", name + "-dm");
        xs.write("/local/domain/" + stub + "/vm", "/vm/" + "0e5c1f3a-7d2b-4c8e-9f01-23456789abcd");
        xs.write("/local/domain/" + stub + "/target", Integer.toString(domid));
        xs.write("/local/domain/" + stub + "/device-model/" + domid + "/state", "running");
        xs.write("/local/domain/0/device-model/" + stub + "/state", "running");
    }

    @Test
    void findsDom0AndStubDomainDeviceModelsButNotTheStubsConsoleBackend() {
        xenstore.write("/local/domain/0/name", "Domain-0");
        dom0Guest(xenstore, 3, "web", UUID_3);
        stubdomGuest(xenstore, 5, "fw", UUID_5, 6);

        assertEquals(List.of(
                new Guest(3, "web", UUID_3, Placement.DOM0, 0, QMP_DIR.resolve("qmp-libxenstat-3")),
                new Guest(5, "fw", UUID_5, Placement.STUBDOM, 6, QMP_DIR.resolve("qmp-libxl-5"))),
                directory.guests());
    }

    @Test
    void noDeviceModelsIsNoGuests() {
        assertEquals(List.of(), directory.guests());
        xenstore.write("/local/domain/0/name", "Domain-0");
        assertEquals(List.of(), directory.guests());
    }

    @Test
    void onlyRunningDeviceModelsCount() {
        dom0Guest(xenstore, 3, "web", UUID_3);
        stubdomGuest(xenstore, 5, "fw", UUID_5, 6);
        // Still starting: libxl is waiting for "running".
        xenstore.rm("/local/domain/0/device-model/3/state");
        xenstore.write("/local/domain/6/device-model/5/state", "starting");
        assertEquals(List.of(), directory.guests());
    }

    @Test
    void aGuestBeingDestroyedIsLeftOut() {
        dom0Guest(xenstore, 3, "web", UUID_3);
        xenstore.rm("/local/domain/3");
        assertEquals(List.of(), directory.guests());
    }

    @Test
    void malformedEntriesAreLeftOutOrLeftBlankNotFatal() {
        dom0Guest(xenstore, 3, "web", UUID_3);
        // A vm path that names no uuid: the guest is scraped, with an empty uuid.
        dom0Guest(xenstore, 4, "odd", UUID_3);
        xenstore.write("/local/domain/4/vm", "/vm/not-a-uuid");
        // A target that is not a domain id: that stub domain is not scraped, and its xenpv entry is still skipped.
        stubdomGuest(xenstore, 5, "fw", UUID_5, 6);
        xenstore.write("/local/domain/6/target", "five");
        // Names under device-model/ that are no domain ids.
        xenstore.write("/local/domain/0/device-model/x/state", "running");
        xenstore.write("/local/domain/0/device-model/99999/state", "running");

        assertEquals(List.of(
                new Guest(3, "web", UUID_3, Placement.DOM0, 0, QMP_DIR.resolve("qmp-libxenstat-3")),
                new Guest(4, "odd", "", Placement.DOM0, 0, QMP_DIR.resolve("qmp-libxenstat-4"))),
                directory.guests());
    }

    @Test
    void aStubDomainSpeaksOnlyForItsOwnTarget() {
        dom0Guest(xenstore, 3, "web", UUID_3);
        stubdomGuest(xenstore, 5, "fw", UUID_5, 6);
        // The stub domain may write its own device-model/ subtree: claiming guest 3's device model changes nothing.
        xenstore.write("/local/domain/6/device-model/3/state", "running");
        List<Guest> guests = directory.guests();
        assertEquals(Placement.DOM0, guests.get(0).placement());
        assertEquals(3, guests.get(0).domid());
        assertEquals(Placement.STUBDOM, guests.get(1).placement());
        assertEquals(5, guests.get(1).domid());
        assertEquals(2, guests.size());
    }
}
