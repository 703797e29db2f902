package io.stubdm.runtime.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The argument vectors libxl really writes (xen-dm-protocol.md §1.1), and what must be refused. */
class QemuCommandLineTest {

    /** libxl's argv for domid 5 with an e1000, a raw disk, serial=pty and VNC (argv[0] dropped). */
    static final List<String> LIBXL_HVM = List.of(
            "-xen-domid", "5", "-no-shutdown",
            "-chardev", "socket,id=libxl-cmd,path=/var/run/xen/qmp-libxl-5,server=on,wait=off",
            "-mon", "chardev=libxl-cmd,mode=control",
            "-chardev", "socket,id=libxenstat-cmd,path=/var/run/xen/qmp-libxenstat-5,server=on,wait=off",
            "-mon", "chardev=libxenstat-cmd,mode=control",
            "-nodefaults", "-no-user-config", "-name", "hvm1",
            "-vnc", "127.0.0.1:0,to=99", "-display", "none",
            "-serial", "pty",
            "-device", "cirrus-vga,vgamem_mb=8",
            "-boot", "order=cda",
            "-smp", "2,maxcpus=2",
            "-device", "e1000,id=nic0,netdev=net0,mac=00:16:3e:12:34:56",
            "-netdev", "type=tap,id=net0,ifname=vif5.0-emu,br=xenbr0,script=no,downscript=no",
            "-machine", "xenfv,suppress-vmdesc=on",
            "-m", "2040",
            "-drive", "file=/dev/vg0/hvm1,if=ide,index=0,media=disk,format=raw,cache=writeback");

    @Test
    void libxlDom0Argv() {
        DeviceModelArgs a = QemuCommandLine.parse(LIBXL_HVM);
        assertEquals(5, a.domid());
        assertEquals("hvm1", a.name());
        assertEquals(DeviceModelArgs.Mode.XENFV, a.mode());
        assertTrue(a.machine().acpi());
        assertEquals(2040, a.memoryMiB());
        assertEquals(2, a.vcpus());
        assertEquals(2, a.maxVcpus());
        assertEquals("cda", a.bootOrder());
        assertTrue(a.noShutdown());
        assertFalse(a.startPaused());
        assertEquals(List.of("pty"), a.serials());
        assertEquals("/var/run/xen/qmp-libxl-5", a.chardev("libxl-cmd").orElseThrow().get("path"));
        assertEquals(2, a.monitors().size());
        assertEquals("cirrus-vga", a.devices().get(0).get("driver"));
        assertEquals("8", a.devices().get(0).get("vgamem_mb"));
        assertEquals("00:16:3e:12:34:56", a.devices().get(1).get("mac"));
        assertEquals(List.of("type=tap,id=net0,ifname=vif5.0-emu,br=xenbr0,script=no,downscript=no"), a.netdevs());
        assertEquals(1, a.drives().size());
        assertEquals("127.0.0.1:0,to=99", a.vnc().orElseThrow());
    }

    @Test
    void stubDomainArgvWithCdromAndQubesExtras() {
        DeviceModelArgs a = QemuCommandLine.parse(List.of(
                "-xen-domid", "12", "-no-shutdown", "-nodefaults", "-no-user-config", "-name", "fw-dm",
                "-serial", "/dev/hvc3", "-vnc", "none", "-display", "none",
                "-machine", "pc,accel=xen,suppress-vmdesc=on", "-no-acpi", "-m", "1024M",
                "-drive", "if=none,readonly=on,id=ide-5632,file=/dev/xvdc,format=host_device",
                "-device", "ide-cd,id=ide-5632,drive=ide-5632,bus=ide.1,unit=0",
                "-net", "none", "-sandbox", "on,obsolete=deny", "-qmp", "unix:/tmp/qemu.qmp,server,nowait",
                "-incoming", "fd:3", "-S"));
        assertEquals(DeviceModelArgs.Mode.PC_XEN, a.mode());
        assertFalse(a.machine().acpi());
        assertEquals(1024, a.memoryMiB());
        assertEquals(1, a.vcpus(), "no -smp: one vCPU");
        assertTrue(a.vnc().isEmpty());
        assertTrue(a.noNetwork());
        assertTrue(a.startPaused());
        assertEquals("fd:3", a.incoming().orElseThrow());
        assertEquals("/tmp/qemu.qmp", a.chardev("qmp-0").orElseThrow().get("path"));
        assertEquals("ide-cd", a.devices().get(0).get("driver"));
    }

    @Test
    void commaEscapesAndFlags() {
        QemuOpts o = QemuOpts.parse("-chardev", "file,id=f,path=/var/log/a,,b.log,append", "backend");
        assertEquals("file", o.get("backend"));
        assertEquals("/var/log/a,b.log", o.get("path"));
        assertTrue(o.flag("append", false));
    }

    private static String error(String... argv) {
        return assertThrows(IllegalArgumentException.class, () -> QemuCommandLine.parse(Arrays.asList(argv))).getMessage();
    }

    @Test
    void whatStubdmCannotHonourIsRefusedByName() {
        assertTrue(error("-xen-domid", "5", "-frobnicate").contains("unknown option -frobnicate"));
        assertTrue(error("-xen-domid", "5", "-m").contains("-m needs a value"));
        assertTrue(error("-m", "256").contains("-xen-domid is required"));
        assertTrue(error("-xen-domid", "5", "-chroot", "/var/run/xen/qemu-root-5").contains("dm_restrict"));
        assertTrue(error("-xen-domid", "5", "-kernel", "/boot/vmlinuz").contains("direct kernel boot"));
        assertTrue(error("-xen-domid", "5", "-machine", "q35").contains("unknown machine type q35"));
        assertTrue(error("-xen-domid", "5", "-smp", "2,dies=2").contains("'dies'"));
        assertTrue(error("-xen-domid", "5", "-m", "lots").contains("not a size"));
        assertTrue(error("-xen-domid", "0").contains("must be 1.."));
        assertTrue(error("-xen-domid", "5", "stray").contains("unexpected argument 'stray'"));
        assertTrue(error("-xen-domid", "5", "-m", "64", "-m", "128").contains("-m given more than once"));
        assertTrue(error("-xen-domid", "5", "-chardev", "socket,id=a,id=b").contains("'id' given twice"));
        assertTrue(error("-xen-domid", "5", "-chardev", "socket,=b").contains("no key"));
    }
}
