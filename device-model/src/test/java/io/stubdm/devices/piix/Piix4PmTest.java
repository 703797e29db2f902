package io.stubdm.devices.piix;

import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.devices.IrqLine;
import io.stubdm.devices.PowerControl;
import io.stubdm.devices.pci.PciBus;
import io.stubdm.hypervisor.DeviceModelOps;
import io.stubdm.hypervisor.IoRangeType;
import io.stubdm.hypervisor.ShutdownReason;
import io.stubdm.hypervisor.sim.SimIoreq;
import io.stubdm.hypervisor.sim.SimVcpu;
import io.stubdm.ioreq.EmbeddedEngine;
import io.stubdm.ioreq.IoBus;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The PIIX4 PM function as firmware and guests drive it through the simulated Xen: hvmloader's set-up and SCI
 * handshake, ACPI S5/S3, GPE0 and the SCI on ISA IRQ 9, PMBA moves, the fixed hot-plug ports, and garbage.
 */
class Piix4PmTest {
    private static final int SLOT = 1;
    private static final int FUNCTION = 3;
    private static final int SCI_IRQ = 9;
    private static final int PM1A_CNT = 0xb004;
    private static final int APM_CONTROL = 0xb2;
    private static final int APM_STATUS = 0xb3;
    private static final int GPE0_STS = 0xafe0;
    private static final int GPE0_EN = 0xafe2;
    private static final int CPU_MAP = 0xaf00;
    private static final int PCI_HOTPLUG = 0xae00;
    private static final int SCI_EN = 1;
    private static final int SLP_EN = 1 << 13;
    private static final int CPU_HOTPLUG_GPE = 1 << 2;

    private EmbeddedEngine engine;
    private DeviceModelOps xen;
    private Piix4Pm pm;
    private SimVcpu cpu;
    private final List<String> powerRequests = Collections.synchronizedList(new ArrayList<>());
    /** For each power request, whether vCPU 0's port access was still unanswered when it reached the machine. */
    private final List<Boolean> guestStillWaiting = Collections.synchronizedList(new ArrayList<>());

    /** The xenfv wiring: the function at 00:01.3, its fixed ports on the port bus, the SCI on ISA IRQ 9. */
    private void boot(int vcpus) {
        engine = new EmbeddedEngine(vcpus, 64L << 20);
        xen = engine.xen().deviceModel(EmbeddedEngine.DEFAULT_DOMID);
        PowerControl power = new PowerControl() {
            @Override
            public void requestReset(String cause) {
                powerRequests.add("reset: " + cause);
                xen.remoteShutdown(ShutdownReason.REBOOT);
            }

            @Override
            public void requestPoweroff(String cause) {
                powerRequests.add("poweroff: " + cause);
                guestStillWaiting.add(vcpu0AccessInFlight());
                xen.remoteShutdown(ShutdownReason.POWEROFF);
            }

            @Override
            public void requestSuspend(String cause) {
                powerRequests.add("suspend: " + cause);
            }
        };
        IrqLine sci = high -> xen.setIsaIrqLevel(SCI_IRQ, high ? 1 : 0);
        pm = new Piix4Pm(engine.ports(), sci, power, vcpus);
        PciBus bus = new PciBus(engine.pci(), engine.ports(), engine.mmio(), (dev, pin) -> IrqLine.NONE);
        bus.plug(SLOT, FUNCTION, pm);
        for (Piix4Pm.PortRange r : pm.fixedPorts()) {
            engine.ports().register(r.base(), r.length(), r.device(), r.name());
        }
        engine.start();
        cpu = engine.vcpu(0);
    }

    /**
     * Whether vCPU 0's ioreq slot still holds an unanswered request. Polling an unanswered slot changes nothing;
     * the request only matters for an emulator that vanished, which this one has not.
     */
    private boolean vcpu0AccessInFlight() {
        return engine.vcpu(0).poll(engine.server().serverId(), SimIoreq.pio(PM1A_CNT, 2, false, 0)) == null;
    }

    @AfterEach
    void nothingEscaped() {
        assertEquals(0, engine.loop().failures(), "no exception escaped into the loop");
        assertEquals(0, engine.stats().deviceErrors(), "no device access threw");
        assertNull(engine.domain().crashReason());
        engine.close();
    }

    private long config(int reg, int size) {
        return cpu.pciConfigRead(0, SLOT, FUNCTION, reg, size);
    }

    private void config(int reg, int size, long value) {
        cpu.pciConfigWrite(0, SLOT, FUNCTION, reg, size, value);
    }

    /** tools/firmware/hvmloader/pci.c, {@code case 0x0680}, with its access sizes. */
    private void hvmloaderPciSetup() {
        config(0x20, 2, 0x0000);
        config(0xd2, 2, 0x0000);
        config(0x22, 2, 0x0000);
        config(0x3c, 2, 0x0009);
        config(0x3d, 2, 0x0001);
        config(0x40, 4, 0xb000 | 1);
        config(0x80, 1, 0x01);
    }

    /** tools/firmware/hvmloader/hvmloader.c, {@code acpi_enable_sci()}, with its BUG_ON as an assertion. */
    private void hvmloaderEnableSci() {
        if ((cpu.inb(PM1A_CNT) & SCI_EN) == 0) {
            cpu.outb(APM_CONTROL, 0xf1);
        }
        assertEquals(SCI_EN, cpu.inb(PM1A_CNT) & SCI_EN, "hvmloader would BUG() here");
    }

    /** A port-range dm_op of our ioreq server as the simulated Xen logs it. */
    private String portRangeOp(String op, int first, int last) {
        int server = engine.server().serverId();
        return String.format("%s(0x%x, 0x%x, 0x%x, 0x%x)", op, server, IoRangeType.PORT.code, first, last);
    }

    private int sciLevel() {
        return engine.domain().isaIrqLevel(SCI_IRQ);
    }

    @Test
    void configSpaceIdentifiesAPiix4PowerManagementFunction() {
        boot(1);
        assertEquals(0x7113_8086L, config(0x00, 4));
        assertEquals(0x0280, config(0x06, 2), "STATUS: fast back-to-back, DEVSEL medium");
        assertEquals(0x0680_0003L, config(0x08, 4), "class 0x0680, revision 3");
        assertEquals(0x01, config(0x3d, 1), "INTA");
        assertEquals(0x0000_0001L, config(0x40, 4), "PMBA unprogrammed, I/O indicator set");
        assertEquals(0x00, config(0x80, 1), "PM I/O space off");
        assertEquals(0x0000_b101L, config(0x90, 4), "SMBus base as QEMU places it");
        assertEquals(0x09, config(0xd2, 1));
        assertEquals(0x02, config(0x5b, 1), "DEVACTB APMC_EN, as QEMU without SMM");
        assertEquals(0xff, cpu.inb(PM1A_CNT), "nothing decodes PM1a_CNT before hvmloader");
    }

    @Test
    void hvmloaderProgramsTheFunctionAndEnablesTheSci() {
        boot(1);
        hvmloaderPciSetup();
        assertEquals(0x0000_b001L, config(0x40, 4));
        assertEquals(0x01, config(0x80, 1));
        assertEquals(0x09, config(0x3c, 1));
        assertEquals(0x01, config(0x3d, 1), "INTERRUPT_PIN is read-only");
        assertEquals(0x00, config(0xd2, 1), "SMBus host off");
        assertTrue(engine.domain().dmOpLog().contains(portRangeOp("map_io_range_to_ioreq_server", 0xb004, 0xb005)),
                "only PM1a_CNT is claimed from the PMBA block");
        assertFalse(engine.ports().claims(0xb000, 4), "PM1a_STS/EN are Xen's");
        assertFalse(engine.ports().claims(0xb008, 4), "PM_TMR is Xen's");

        assertEquals(0, cpu.inb(PM1A_CNT) & SCI_EN, "legacy mode until the firmware asks");
        cpu.outb(APM_CONTROL, 0xf1);
        assertEquals(SCI_EN, cpu.inb(PM1A_CNT) & SCI_EN);
        assertEquals(0xf1, cpu.inb(APM_CONTROL), "APMC reads back the last command");
        assertEquals(SCI_EN, cpu.inw(PM1A_CNT));
    }

    @Test
    void acpiDisableClearsSciEnAndOtherCommandsDoNothing() {
        boot(1);
        hvmloaderPciSetup();
        hvmloaderEnableSci();
        cpu.outb(APM_CONTROL, 0x42);
        assertEquals(SCI_EN, cpu.inb(PM1A_CNT));
        cpu.outb(APM_CONTROL, 0xf0);
        assertEquals(0, cpu.inb(PM1A_CNT));
        cpu.outb(APM_STATUS, 0x5a);
        assertEquals(0x5a, cpu.inb(APM_STATUS), "APMS is a scratch register");
        cpu.outw(APM_CONTROL, 0xa5f1);
        assertEquals(SCI_EN, cpu.inb(PM1A_CNT), "a word write is APMC then APMS");
        assertEquals(0xa5f1, cpu.inw(APM_CONTROL));
        assertTrue(powerRequests.isEmpty());
    }

    @Test
    void s5PowerOffReachesXenBeforeTheWriteIsAnswered() {
        boot(1);
        hvmloaderPciSetup();
        hvmloaderEnableSci();
        cpu.outw(PM1A_CNT, SCI_EN | SLP_EN | (0 << 10));
        // outw returns only once the device model answered, so whatever Xen holds now it got before the answer.
        assertEquals(List.of(ShutdownReason.POWEROFF), engine.domain().shutdowns());
        assertEquals(List.of("poweroff: ACPI S5 via PM1a_CNT"), powerRequests);
        assertEquals(List.of(true), guestStillWaiting, "the machine heard of it inside the ioreq handler");
        assertEquals(SCI_EN, cpu.inw(PM1A_CNT), "SLP_EN is write-only");
    }

    @Test
    void acpicaTwoStepSleepWritesPowerOffOnlyOnSlpEn() {
        boot(1);
        hvmloaderPciSetup();
        hvmloaderEnableSci();
        // AcpiHwLegacySleep: SLP_TYP first, then the same value with SLP_EN.
        cpu.outw(PM1A_CNT, SCI_EN | (0 << 10));
        assertTrue(engine.domain().shutdowns().isEmpty());
        cpu.outw(PM1A_CNT, SCI_EN | (0 << 10) | SLP_EN);
        assertEquals(List.of(ShutdownReason.POWEROFF), engine.domain().shutdowns());
    }

    @Test
    void s3AsksTheMachineToSuspend() {
        boot(1);
        hvmloaderPciSetup();
        hvmloaderEnableSci();
        cpu.outw(PM1A_CNT, SCI_EN | (1 << 10));
        assertTrue(powerRequests.isEmpty(), "SLP_TYP alone is no request");
        cpu.outb(PM1A_CNT + 1, (SLP_EN | (1 << 10)) >>> 8);
        assertEquals(List.of("suspend: ACPI S3 via PM1a_CNT"), powerRequests);
        assertTrue(engine.domain().shutdowns().isEmpty(), "S3 is no shutdown");
        assertEquals(SCI_EN | (1 << 10), cpu.inw(PM1A_CNT), "SLP_TYP is kept, SLP_EN is not");
    }

    @Test
    void sleepTypesXenDoesNotDefineAreIgnored() {
        boot(1);
        hvmloaderPciSetup();
        for (int type = 2; type < 8; type++) {
            cpu.outw(PM1A_CNT, SLP_EN | (type << 10));
        }
        assertTrue(powerRequests.isEmpty());
        assertTrue(engine.domain().shutdowns().isEmpty());
    }

    @Test
    void gpe0StatusAndEnableDriveTheSciOnIrq9() {
        boot(1);
        hvmloaderPciSetup();
        hvmloaderEnableSci();
        assertEquals(0, cpu.inl(GPE0_STS));

        engine.onLoop(() -> pm.hotplugVcpu(1));
        assertEquals(CPU_HOTPLUG_GPE, cpu.inw(GPE0_STS));
        assertEquals(0, sciLevel(), "status without enable raises nothing");

        cpu.outw(GPE0_EN, CPU_HOTPLUG_GPE);
        assertEquals(1, sciLevel());
        assertEquals(CPU_HOTPLUG_GPE | (long) CPU_HOTPLUG_GPE << 16, cpu.inl(GPE0_STS));
        assertEquals(0x03, cpu.inb(CPU_MAP), "vCPU 1 is in the map PRSC reads");

        cpu.outw(GPE0_STS, 0);
        assertEquals(1, sciLevel(), "writing 0 clears nothing");
        cpu.outw(GPE0_STS, CPU_HOTPLUG_GPE);
        assertEquals(0, cpu.inw(GPE0_STS), "write 1 to clear");
        assertEquals(0, sciLevel());
        assertEquals(CPU_HOTPLUG_GPE, cpu.inw(GPE0_EN), "enable is unchanged");

        engine.onLoop(() -> pm.hotplugVcpu(1));
        assertEquals(0, sciLevel(), "an already present vCPU is no event");
        engine.onLoop(() -> pm.hotplugVcpu(2));
        assertEquals(1, sciLevel());
        cpu.outb(GPE0_EN, 0);
        assertEquals(0, sciLevel(), "disabling the GPE lowers the SCI too");
        assertEquals(CPU_HOTPLUG_GPE, cpu.inb(GPE0_STS), "and leaves the status");

        long levelChanges = engine.domain().dmOpLog().stream()
                .filter(op -> op.startsWith("set_isa_irq_level(0x9,"))
                .count();
        assertEquals(4, levelChanges, "Xen hears of changes only");
    }

    @Test
    void movingPmbaMovesPm1aControl() {
        boot(1);
        hvmloaderPciSetup();
        hvmloaderEnableSci();
        config(0x40, 4, 0xc040);
        assertEquals(0x0000_c041L, config(0x40, 4), "bit 0 stays 1");
        assertEquals(0xff, cpu.inb(PM1A_CNT), "the old place no longer decodes");
        assertFalse(engine.ports().claims(0xb004, 2));
        assertEquals(SCI_EN, cpu.inb(0xc044), "the register moved with its state");
        cpu.outw(0xc044, SCI_EN | SLP_EN);
        assertEquals(List.of(ShutdownReason.POWEROFF), engine.domain().shutdowns());

        config(0x40, 4, 0xffff_ffffL);
        assertEquals(0x0000_ffc1L, config(0x40, 4), "64-byte aligned, 16-bit");
        assertEquals(SCI_EN, cpu.inb(0xffc4));
        assertFalse(engine.ports().claims(0xc044, 2));
    }

    @Test
    void clearingPmioseUnmapsAndSettingItMapsAgain() {
        boot(1);
        hvmloaderPciSetup();
        hvmloaderEnableSci();
        config(0x80, 1, 0x00);
        assertEquals(0xff, cpu.inb(PM1A_CNT));
        assertEquals(0xffff, cpu.inw(PM1A_CNT));
        assertTrue(engine.domain().dmOpLog().contains(portRangeOp("unmap_io_range_from_ioreq_server", 0xb004, 0xb005)));
        config(0x80, 1, 0xff);
        assertEquals(0x01, config(0x80, 1), "only PMIOSE is implemented");
        assertEquals(SCI_EN, cpu.inb(PM1A_CNT));
    }

    @Test
    void pmbaOverAnotherDeviceLeavesPm1aControlUndecoded() {
        boot(1);
        hvmloaderPciSetup();
        config(0x40, 4, 0xae00);
        assertTrue(engine.ports().claims(0xae04, 4));
        assertEquals(0, cpu.inl(0xae04), "the hot-plug registers keep their port");
        config(0x40, 4, 0xb000);
        assertEquals(0, cpu.inb(PM1A_CNT), "and PM1a_CNT comes back when PMBA does");
    }

    @ParameterizedTest
    @CsvSource({"1, 0x01", "3, 0x07"})
    void cpuMapHoldsThePresentVcpus(int vcpus, int firstByte) {
        boot(vcpus);
        assertEquals(firstByte, cpu.inb(CPU_MAP));
        assertEquals(firstByte, cpu.inl(CPU_MAP));
        for (int port = CPU_MAP + 1; port < CPU_MAP + 16; port++) {
            assertEquals(0, cpu.inb(port), "byte " + (port - CPU_MAP));
        }
        assertEquals(0xff, cpu.inb(CPU_MAP + 16), "XEN_ACPI_CPU_MAP_LEN is 16 bytes");
        cpu.outb(CPU_MAP, 0);
        assertEquals(firstByte, cpu.inb(CPU_MAP), "the map is read-only");
    }

    @Test
    void pciHotplugRegistersDescribeAStaticMachine() {
        boot(1);
        for (int reg = 0; reg < 16; reg += 4) {
            assertEquals(0, cpu.inl(PCI_HOTPLUG + reg), "register 0x" + Integer.toHexString(reg));
        }
        cpu.outl(PCI_HOTPLUG + 8, 1L << 3);
        assertEquals(0, cpu.inl(PCI_HOTPLUG + 8), "B0EJ reads 0 after an eject request");
        assertEquals(0, cpu.inl(PCI_HOTPLUG + 12), "B0RM: nothing removable");
        assertEquals(0xff, cpu.inb(PCI_HOTPLUG + 16));
    }

    @Test
    void resetClearsControlAndGpeAndUnmapsThePmBlock() {
        boot(1);
        hvmloaderPciSetup();
        hvmloaderEnableSci();
        cpu.outw(GPE0_EN, CPU_HOTPLUG_GPE);
        engine.onLoop(() -> pm.hotplugVcpu(1));
        assertEquals(1, sciLevel());

        engine.onLoop(pm::reset);
        assertEquals(0, sciLevel());
        assertEquals(0xff, cpu.inb(PM1A_CNT));
        assertEquals(0x0000_0001L, config(0x40, 4));
        assertEquals(0, cpu.inl(GPE0_STS));
        hvmloaderPciSetup();
        assertEquals(0, cpu.inb(PM1A_CNT) & SCI_EN, "back in legacy mode");
        hvmloaderEnableSci();
    }

    @Test
    void garbageEverywhereLeavesTheMachineConsistent() {
        boot(2);
        hvmloaderPciSetup();
        hvmloaderEnableSci();
        Random random = new Random(0x7113);
        int[] sizes = {1, 2, 4};
        for (int round = 0; round < 3; round++) {
            for (int reg = 0; reg < 256; reg++) {
                int size = sizes[random.nextInt(3)];
                if ((reg & 3) + size <= 4) {
                    config(reg, size, random.nextLong());
                }
                hitClaimedPort(random);
            }
        }
        for (int i = 0; i < 1000; i++) {
            hitClaimedPort(random);
        }
        for (int reg = 0; reg < 256; reg += 4) {
            config(reg, 4, 0xffff_ffffL);
            config(reg, 4, 0);
        }

        hvmloaderPciSetup();
        assertPortBusMatchesXen();
        hvmloaderEnableSci();
        assertEquals(0x7113_8086L, config(0x00, 4), "the IDs survived");
        engine.onLoop(pm::reset);
        hvmloaderPciSetup();
        assertEquals(0, cpu.inb(PM1A_CNT) & SCI_EN);
        hvmloaderEnableSci();
        assertPortBusMatchesXen();
    }

    /** A random access of a random width at a random port some device holds now, PM1a_CNT wherever it is. */
    private void hitClaimedPort(Random random) {
        List<IoBus.Mapping> mappings = engine.ports().mappings();
        IoBus.Mapping m = mappings.get(random.nextInt(mappings.size()));
        int size = 1 << random.nextInt(3);
        long port = m.base() + random.nextInt((int) m.length());
        if (random.nextBoolean()) {
            cpu.in((int) port, size);
        } else {
            cpu.out((int) port, size, random.nextLong() & 0xffff_ffffL);
        }
    }

    /** Every port the buses hold is claimed from Xen and nothing else is: no range leaked by moves. */
    private void assertPortBusMatchesXen() {
        long busBytes = engine.ports().mappings().stream().mapToLong(IoBus.Mapping::length).sum();
        String claimed = engine.domain().claimedRanges(engine.server().serverId(), IoRangeType.PORT);
        long xenBytes = 0;
        for (String range : claimed.replaceAll("[{}]", "").split(", ")) {
            String[] ends = range.split("-");
            xenBytes += Long.decode(ends[1]) - Long.decode(ends[0]) + 1;
        }
        assertEquals(busBytes, xenBytes, "bus " + engine.ports().mappings() + " vs Xen " + claimed);
        long pm1aMappings = engine.ports().mappings().stream().filter(m -> m.name().endsWith("PM1a_CNT")).count();
        assertEquals(1, pm1aMappings);
    }
}
