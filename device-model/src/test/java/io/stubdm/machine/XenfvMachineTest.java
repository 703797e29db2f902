package io.stubdm.machine;

import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.devices.pci.PciFunction;
import io.stubdm.devices.pci.PciRegs;
import io.stubdm.hypervisor.ShutdownReason;
import io.stubdm.hypervisor.sim.SimVcpu;
import io.stubdm.ioreq.EmbeddedEngine;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The whole xenfv machine under what hvmloader, SeaBIOS and kernels do first, against the simulated Xen. */
class XenfvMachineTest {
    private final EmbeddedEngine engine = new EmbeddedEngine(2, 64L << 20);
    private final XenfvMachine machine = new XenfvMachine(XenfvMachine.Config.xenfv(2, 64L << 20),
            engine.xen().deviceModel(EmbeddedEngine.DEFAULT_DOMID), engine.loop(), engine.memory(), engine.ports(),
            engine.mmio(),
            engine.pci());
    private final SimVcpu cpu = engine.vcpu(0);

    @AfterEach
    void close() {
        engine.close();
    }

    @Test
    void hvmloaderPciSetupAndAcpiHandshakeComplete() {
        engine.start();
        Hvmloader hvmloader = new Hvmloader(cpu);
        hvmloader.pciSetup();
        hvmloader.acpiEnableSci();

        List<String> ops = engine.domain().dmOpLog();
        assertTrue(ops.containsAll(List.of("set_pci_link_route(0x0, 0x5)", "set_pci_link_route(0x1, 0xa)",
                "set_pci_link_route(0x2, 0xb)", "set_pci_link_route(0x3, 0x5)")), ops.toString());
        assertArrayEquals(new int[] {5, 10, 11, 5}, new int[] {engine.domain().pciLinkRoute(0),
                engine.domain().pciLinkRoute(1), engine.domain().pciLinkRoute(2), engine.domain().pciLinkRoute(3)});

        // The platform device: INTA of slot 2 uses link 2 -> IRQ 11; its 16 MiB BAR is placed first.
        assertTrue(hvmloader.log.contains("pci dev 02:0 INTA->IRQ11"), hvmloader.log.toString());
        PciFunction platform = machine.platformDevice();
        assertEquals(0xf0000000L, platform.barMappedAt(1));
        assertEquals(0xc000, platform.barMappedAt(0));
        assertEquals(0x49d2, cpu.inw(0x10), "the platform magic after set-up");
        assertEquals(11, cpu.pciConfigRead(0, 2, 0, PciRegs.INTERRUPT_LINE, 1));

        // Only the functions xenfv has answer: 00:00.0, 00:01.0, 00:01.1, 00:01.3, 00:02.0.
        assertEquals(0x12378086L, cpu.pciConfigRead(0, 0, 0, 0, 4));
        assertEquals(0x70008086L, cpu.pciConfigRead(0, 1, 0, 0, 4));
        assertEquals(0x70108086L, cpu.pciConfigRead(0, 1, 1, 0, 4), "the PIIX3 IDE, there with or without drives");
        assertEquals(0xffffffffL, cpu.pciConfigRead(0, 1, 2, 0, 4), "no USB controller");
        assertEquals(0x71138086L, cpu.pciConfigRead(0, 1, 3, 0, 4));
        assertEquals(0x00015853L, cpu.pciConfigRead(0, 2, 0, 0, 4));
        assertEquals(0xffffffffL, cpu.pciConfigRead(0, 3, 0, 0, 4));
        assertEquals(0x80, cpu.pciConfigRead(0, 1, 0, PciRegs.HEADER_TYPE, 1) & 0x80,
                "00:01.0 says it is multi-function, or kernels never look at 00:01.3");

        // What SeaBIOS reads next: the boot order in CMOS (libxl's default "cda").
        cpu.outb(0x70, 0x3d);
        assertEquals(0x32, cpu.inb(0x71));
        assertEquals(0, engine.stats().deviceErrors());
        assertEquals(0, engine.stats().invalid());
        assertNull(engine.domain().crashReason());
    }

    @Test
    void serialConsoleAndKeyboardControllerAnswerFirmware(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path log = dir.resolve("com1.log");
        machine.addSerialPort(io.stubdm.backends.chardev.CharBackends.parse("file:" + log).orElseThrow());
        engine.start();
        // hvmloader's uart_exists(): IER must read back 0 and then 0x0F; COM1 is there, COM2 is not.
        cpu.outb(0x3f9, 0x00);
        assertEquals(0x00, cpu.inb(0x3f9));
        cpu.outb(0x3f9, 0x0f);
        assertEquals(0x0f, cpu.inb(0x3f9));
        cpu.outb(0x3f9, 0x00);
        cpu.outb(0x2f9, 0x0f);
        assertEquals(0xff, cpu.inb(0x2f9), "no COM2 without a second -serial: Xen's null handler answers");
        // A polled console write, as SeaBIOS and the FreeBSD loader print.
        for (byte b : "login: ".getBytes(java.nio.charset.StandardCharsets.US_ASCII)) {
            long deadline = System.nanoTime() + 5_000_000_000L;
            while ((cpu.inb(0x3fd) & 0x20) == 0) {
                assertTrue(System.nanoTime() < deadline, "THRE never came back");
            }
            cpu.outb(0x3f8, b);
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!java.nio.file.Files.readString(log).equals("login: ")) {
            assertTrue(System.nanoTime() < deadline, "console output not in " + log + ": "
                    + java.nio.file.Files.readString(log));
            Thread.sleep(5);
        }
        // i8042 self-test, then FreeBSD's first way to reset: pulse output line 0.
        cpu.outb(0x64, 0xaa);
        assertEquals(0x55, cpu.inb(0x60));
        cpu.outb(0x64, 0xfe);
        assertEquals(List.of(ShutdownReason.REBOOT), engine.domain().shutdowns());
    }

    @Test
    void linuxFindsConfigurationMechanismOne() {
        engine.start();
        // arch/x86/pci/direct.c pci_check_type1(): the address register must read back what was written.
        cpu.outb(0xcfb, 0x01);
        long saved = cpu.inl(0xcf8);
        cpu.outl(0xcf8, 0x80000000L);
        assertEquals(0x80000000L, cpu.inl(0xcf8));
        cpu.outl(0xcf8, saved);
        // pci_sanity_check: a host bridge or VGA class somewhere on bus 0.
        assertEquals(0x0600, cpu.pciConfigRead(0, 0, 0, PciRegs.SUBCLASS, 2));
    }

    @Test
    void acpiPowerOffReachesXenBeforeTheWriteReturns() {
        engine.start();
        Hvmloader hvmloader = new Hvmloader(cpu);
        hvmloader.pciSetup();
        hvmloader.acpiEnableSci();
        cpu.outw(0xb004, 0x2001); // SLP_EN | SLP_TYP=0 (\_S5) | SCI_EN
        assertEquals(List.of(ShutdownReason.POWEROFF), engine.domain().shutdowns());
        assertEquals(1, machine.powerEvents().size());
        assertTrue(machine.powerEvents().get(0).startsWith("poweroff: "), machine.powerEvents().toString());
    }

    @Test
    void resetControlRegisterResetsDevicesAndRebootsTheDomain() {
        engine.start();
        new Hvmloader(cpu).pciSetup();
        assertEquals(0xc000, machine.platformDevice().barMappedAt(0));
        cpu.outb(0xcf9, 0x02); // select a hard reset: nothing happens yet
        assertTrue(engine.domain().shutdowns().isEmpty());
        assertEquals(0x02, cpu.inb(0xcf9));
        cpu.outb(0xcf9, 0x06); // ... and start it, as FreeBSD's cpu_reset_real does
        assertEquals(List.of(ShutdownReason.REBOOT), engine.domain().shutdowns());
        assertEquals(-1, machine.platformDevice().barMappedAt(0), "devices are back at power-on state");
        assertEquals(0, cpu.pciConfigRead(0, 2, 0, PciRegs.COMMAND, 2));
        assertEquals(0x80, cpu.pciConfigRead(0, 1, 0, 0x60, 1), "PIRQA back to 'not routed'");
    }

    @Test
    void garbageToEveryPortAndConfigRegisterLeavesTheMachineConsistent() {
        machine.addSerialPort(io.stubdm.backends.chardev.CharBackends.parse("null").orElseThrow());
        engine.start();
        Random random = new Random(7);
        int[] portsToHit = {0x10, 0x11, 0x12, 0x13, 0x70, 0x71, 0x80, 0x92, 0xb2, 0xb3, 0xcf8, 0xcf9, 0xcfa, 0xcfb,
                0xae00, 0xae08, 0xaf00, 0xafe0, 0xafe2, 0xb004, 0x60, 0x64, 0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd,
                0x3fe, 0x3ff};
        int[] sizes = {1, 2, 4};
        int[][] functions = {{0, 0}, {1, 0}, {1, 3}, {2, 0}};
        for (int i = 0; i < 4000; i++) {
            int size = sizes[random.nextInt(3)];
            if (random.nextBoolean()) {
                int port = portsToHit[random.nextInt(portsToHit.length)];
                if (random.nextBoolean()) {
                    cpu.in(port, size);
                } else {
                    cpu.out(port, size, random.nextLong());
                }
            } else {
                int[] f = functions[random.nextInt(functions.length)];
                int reg = random.nextInt(256) & ~(size - 1);
                if (random.nextBoolean()) {
                    cpu.pciConfigRead(0, f[0], f[1], reg, size);
                } else {
                    cpu.pciConfigWrite(0, f[0], f[1], reg, size, random.nextLong());
                }
            }
        }
        assertEquals(0, engine.stats().deviceErrors());
        assertEquals(0, engine.loop().failures());
        assertNull(engine.domain().crashReason());
        // Whatever the guest did, a reset and a fresh firmware pass bring the machine up again.
        engine.onLoop(machine::resetDevices);
        Hvmloader hvmloader = new Hvmloader(cpu);
        hvmloader.pciSetup();
        hvmloader.acpiEnableSci();
        assertEquals(0x70008086L, cpu.pciConfigRead(0, 1, 0, 0, 4));
        cpu.outb(0x64, 0xaa);
        assertEquals(0x55, cpu.inb(0x60), "the keyboard controller still passes its self-test");
        cpu.outb(0x3ff, 0x5a);
        assertEquals(0x5a, cpu.inb(0x3ff), "COM1's scratch register still holds a value");
    }
}
