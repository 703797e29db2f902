package io.stubdm.runtime.stubdom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.stubdm.hypervisor.XenStore;
import io.stubdm.hypervisor.XenStorePermission;
import io.stubdm.hypervisor.XenStorePermission.Access;
import io.stubdm.hypervisor.sim.SimXenStoreDaemon;
import io.stubdm.runtime.cli.DeviceModelArgs;
import io.stubdm.runtime.cli.QemuCommandLine;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the stub domain reads from xenstore, written the way libxl 4.17 writes it (libxl__write_stub_dmargs). */
class StubdomArgvTest {
    static final int GUEST = 7;
    static final int STUB = 8;
    static final String VM = "/vm/5a7c2e51-0c1b-4a39-9d70-3c1e8f0b2d11";
    /** xen-dm-protocol.md §4.3's example: what libxl builds for an HVM guest with a stub domain. */
    static final List<String> LIBXL_ARGV = List.of("-xen-domid", "7", "-no-shutdown", "-nodefaults",
            "-no-user-config", "-name", "hvm1", "-display", "none", "-serial", "/dev/hvc3", "-device",
            "cirrus-vga,vgamem_mb=8", "-boot", "order=cda", "-smp", "2,maxcpus=2", "-device",
            "e1000,id=nic0,netdev=net0,mac=00:16:3e:12:34:56", "-netdev",
            "type=tap,id=net0,ifname=vif7.0-emu,br=xenbr0,script=no,downscript=no", "-machine",
            "xenfv,suppress-vmdesc=on", "-m", "2040", "-drive",
            "file=/dev/xvda,if=ide,index=0,media=disk,format=host_device,cache=writeback");

    final SimXenStoreDaemon daemon = new SimXenStoreDaemon();
    final XenStore dom0 = daemon.connect(0);

    void libxlBuildsTheStubDomain(List<String> argv) {
        dom0.write("/local/domain/" + GUEST + "/vm", VM);
        // The stub domain may read its own home; SET_TARGET (not simulated) would give it the guest's nodes.
        dom0.mkdir("/local/domain/" + STUB);
        dom0.setPermissions("/local/domain/" + STUB, List.of(new XenStorePermission(0, Access.NONE),
                new XenStorePermission(STUB, Access.READ)));
        dom0.write("/local/domain/" + STUB + "/target", Integer.toString(GUEST));
        dom0.setPermissions("/local/domain/" + GUEST + "/vm", List.of(new XenStorePermission(0, Access.NONE),
                new XenStorePermission(STUB, Access.READ)));
        String dir = VM + "/image/dm-argv";
        dom0.mkdir(dir);
        dom0.setPermissions(dir, List.of(new XenStorePermission(0, Access.NONE),
                new XenStorePermission(STUB, Access.READ)));
        for (int i = 0; i < argv.size(); i++) {
            dom0.write(dir + "/" + String.format("%03d", i + 1), argv.get(i));
        }
    }

    @Test
    void readsTheArgumentsInOrderAndAddsTheQmpMonitor() {
        libxlBuildsTheStubDomain(LIBXL_ARGV);
        StubdomArgv stub = StubdomArgv.read(daemon.connect(STUB));
        assertEquals(STUB, stub.stubDomid());
        assertEquals(GUEST, stub.guestDomid());
        assertEquals(LIBXL_ARGV, stub.libxlArguments());
        assertEquals(List.of("vif7.0-emu"), stub.tapNames());
        assertEquals(List.of("/dev/hvc3", "/dev/net/tun", "/dev/xvda"), stub.devicePaths());
        assertEquals("device-model/7/qmp-vchan", stub.qmpVchanPath());
        List<String> dm = stub.deviceModelArguments();
        assertEquals(LIBXL_ARGV, dm);
        DeviceModelArgs args = QemuCommandLine.parse(dm);
        assertEquals(GUEST, args.domid());
        // stubdm's own QMP socket is opened before the machine is built, not through a -mon of the arguments.
        assertEquals(0, args.monitors().size());
    }

    @Test
    void sortsPastTheThreeDigitNamesAsNumbers() {
        List<String> many = new java.util.ArrayList<>(LIBXL_ARGV);
        while (many.size() < 1003) {
            many.add("-no-user-config");
        }
        many.add("-name");
        many.add("last");
        libxlBuildsTheStubDomain(many);
        List<String> read = StubdomArgv.read(daemon.connect(STUB)).libxlArguments();
        assertEquals(many, read);
    }

    @Test
    void replacesTheRestorePlaceholder() {
        List<String> argv = new java.util.ArrayList<>(LIBXL_ARGV);
        argv.add("-incoming");
        argv.add("$STUBDOM_RESTORE_INCOMING_ARG");
        libxlBuildsTheStubDomain(argv);
        List<String> dm = StubdomArgv.read(daemon.connect(STUB)).deviceModelArguments();
        assertEquals("file:/dev/hvc2", dm.get(argv.size() - 1));
    }

    @Test
    void outsideAStubDomainSaysWhatIsMissing() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> StubdomArgv.read(daemon.connect(0)));
        assertTrue(e.getMessage().contains("/local/domain/0/target is missing"), e.getMessage());
    }

    @Test
    void refusesArgumentsForAnotherDomain() {
        List<String> argv = new java.util.ArrayList<>(LIBXL_ARGV);
        argv.set(1, "9");
        libxlBuildsTheStubDomain(argv);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> StubdomArgv.read(daemon.connect(STUB)));
        assertTrue(e.getMessage().contains("for domain 9"), e.getMessage());
    }

    @Test
    void refusesGarbageInXenstore() {
        libxlBuildsTheStubDomain(LIBXL_ARGV);
        dom0.write(VM + "/image/dm-argv/abc", "-S");
        assertThrows(IllegalStateException.class, () -> StubdomArgv.read(daemon.connect(STUB)));
        dom0.rm(VM + "/image/dm-argv/abc");
        dom0.write("/local/domain/" + STUB + "/target", "zero");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> StubdomArgv.read(daemon.connect(STUB)));
        assertTrue(e.getMessage().contains("not a guest domain id"), e.getMessage());
    }

    @Test
    void bridgesEachTapLikeTheQubesIfup() {
        libxlBuildsTheStubDomain(LIBXL_ARGV);
        StubDomain around = new StubDomain(StubdomArgv.read(daemon.connect(STUB)), "/proxy", "/bin/busybox");
        assertEquals(List.of(
                List.of("/bin/busybox", "ip", "link", "set", "vif7.0-emu", "address", "fe:ff:ff:ff:ff:fd"),
                List.of("/bin/busybox", "brctl", "addif", "br0", "vif7.0-emu"),
                List.of("/bin/busybox", "ip", "link", "set", "vif7.0-emu", "up")), around.bridgeCommands("vif7.0-emu"));
    }
}
