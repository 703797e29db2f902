package io.stubdm.devices.ide;

import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.devices.pci.PciRegs;
import io.stubdm.devices.xenplatform.PciDeviceUnplug;
import io.stubdm.devices.xenplatform.PciNicUnplug;
import io.stubdm.devices.xenplatform.XenPlatformDevice;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The PCI function and the controller as a whole: config space as hvmloader and drivers see it, {@code -drive
 * if=ide,index=N} placement, software reset, machine reset and the Xen platform device's unplug.
 */
class PiixIdeTest {
    private final IdeRig rig = new IdeRig();

    @AfterEach
    void nothingEscaped() {
        rig.assertNothingEscaped();
        rig.close();
    }

    @Test
    void configSpaceIsAPiix3IdeFunctionInLegacyBusMasterMode() {
        rig.start();
        assertEquals(0x70108086L, rig.cfgRead(PciRegs.VENDOR_ID, 4));
        assertEquals(0x010180L, rig.cfgRead(PciRegs.REVISION_ID, 4) >>> 8);
        assertEquals(0x0280L, rig.cfgRead(PciRegs.STATUS, 2), "DEVSEL medium, fast back-to-back");
        assertEquals(0, rig.cfgRead(PciRegs.INTERRUPT_PIN, 1), "legacy mode: ISA IRQs, no pin");
        assertEquals(IdeRig.BMIBA | 1, rig.cfgRead(0x20, 4));
        rig.cfgWrite(0x20, 4, 0xffffffffL);
        assertEquals(0xfff1L, rig.cfgRead(0x20, 4) & 0xffff, "BAR4: 16 bytes of I/O");
        rig.cfgWrite(0x20, 4, IdeRig.BMIBA);
        assertEquals(PiixIde.IDETIM_DECODE_ENABLE, rig.cfgRead(PiixIde.IDETIM_PRIMARY, 2));
        rig.cfgWrite(PiixIde.IDETIM_PRIMARY, 4, 0x40774077L); // what ata_intel_new_setmode writes back
        assertEquals(0x40774077L, rig.cfgRead(PiixIde.IDETIM_PRIMARY, 4));
        rig.cfgWrite(PciRegs.PROG_IF, 1, 0x8f);
        assertEquals(0x80, rig.cfgRead(PciRegs.PROG_IF, 1), "the programming interface is fixed");
    }

    @Test
    void legacyPortsDecodeWhateverIdetimAndCommandSay() {
        rig.attach(0, new AtaDisk(rig.disk(1 << 20), true)).start();
        rig.cfgWrite(PiixIde.IDETIM_PRIMARY, 2, 0);
        rig.cfgWrite(PciRegs.COMMAND, 2, 0);
        assertEquals(Ata.STATUS_DRDY | Ata.STATUS_DSC, rig.status(IdeRig.PRIMARY), "as QEMU's piix_ide");
        assertEquals(0xff, rig.cpu.inb(IdeRig.BMIBA), "but BAR4 follows COMMAND.IO");
    }

    @Test
    void drivesArePlacedByDriveIndex() {
        AtaDisk hda = new AtaDisk(rig.disk(1 << 20), true);
        AtaDisk hdb = new AtaDisk(rig.disk(1 << 20), true);
        AtapiCdrom hdc = new AtapiCdrom(null);
        AtaDisk hdd = new AtaDisk(rig.disk(2 << 20), true);
        rig.attach(0, hda).attach(1, hdb).attach(2, hdc).attach(3, hdd).start();
        assertEquals(List.of("ide0-hd0", "ide0-hd1", "ide1-cd0", "ide1-hd1"),
                List.of(hda.name(), hdb.name(), hdc.name(), hdd.name()));
        assertEquals("SD00004", hdd.serial());
        assertSame(hdc, rig.ide.drive(2));
        int[] id = rig.identify(IdeRig.SECONDARY, 1, Ata.CMD_IDENTIFY_DEVICE);
        assertEquals((2 << 20) / 512, id[60]);
        assertThrows(IllegalArgumentException.class, () -> rig.ide.attach(4, new AtapiCdrom(null)));
        assertThrows(IllegalArgumentException.class, () -> rig.ide.attach(0, new AtapiCdrom(null)));
    }

    @Test
    void softwareResetIsBusyWhileHeldAndLeavesTheSignatures() {
        rig.attach(0, new AtaDisk(rig.disk(1 << 20), true)).attach(1, new AtapiCdrom(null)).start();
        rig.select(IdeRig.PRIMARY, 1);
        rig.control(IdeRig.PRIMARY, Ata.CONTROL_SRST | Ata.CONTROL_NIEN);
        assertEquals(Ata.STATUS_BSY, rig.altStatus(IdeRig.PRIMARY), "BSY as soon as SRST is set");
        rig.cpu.outb(IdeRig.PRIMARY + Ata.REG_COMMAND, Ata.CMD_IDENTIFY_PACKET_DEVICE);
        assertEquals(Ata.STATUS_BSY, rig.altStatus(IdeRig.PRIMARY), "and commands are ignored");
        rig.control(IdeRig.PRIMARY, Ata.CONTROL_NIEN);
        assertEquals(0, rig.cpu.inb(IdeRig.PRIMARY + Ata.REG_DEVICE) & Ata.DEVICE_DEV, "device 0 selected");
        assertEquals(Ata.STATUS_DRDY | Ata.STATUS_DSC, rig.status(IdeRig.PRIMARY));
        assertEquals(Ata.DIAGNOSTIC_PASSED, rig.error(IdeRig.PRIMARY));
        assertEquals(1, rig.cpu.inb(IdeRig.PRIMARY + Ata.REG_SECTOR_COUNT));
        assertEquals(1, rig.cpu.inb(IdeRig.PRIMARY + Ata.REG_LBA_LOW));
        assertEquals(0, rig.cpu.inb(IdeRig.PRIMARY + Ata.REG_LBA_MID));
        rig.select(IdeRig.PRIMARY, 1);
        assertEquals(0, rig.status(IdeRig.PRIMARY), "ATAPI: DRDY clear after reset");
        assertEquals(0x14, rig.cpu.inb(IdeRig.PRIMARY + Ata.REG_LBA_MID));
        assertEquals(0xeb, rig.cpu.inb(IdeRig.PRIMARY + Ata.REG_LBA_HIGH));
        assertTrue(rig.irqLevels(14).isEmpty(), "no interrupt from the reset");
    }

    @Test
    void machineResetReturnsSettingsToPowerOn() {
        rig.attach(0, new AtaDisk(rig.disk(1 << 20), true)).start();
        rig.command28(IdeRig.PRIMARY, 0, Ata.CMD_SET_MULTIPLE_MODE, 0, 2, 0);
        rig.waitNotBusy(IdeRig.PRIMARY);
        rig.bmWrite(0, BusMasterDma.BM_STATUS, BusMasterDma.STATUS_DRIVE0_DMA_CAPABLE);
        rig.engine.onLoop(rig.ide::reset);
        assertEquals(0, rig.cfgRead(PiixIde.IDETIM_PRIMARY, 2), "IDETIM's power-on value");
        rig.cfgWrite(0x20, 4, IdeRig.BMIBA);
        rig.cfgWrite(PciRegs.COMMAND, 2, 0x0005);
        assertEquals(0, rig.bm(0, BusMasterDma.BM_STATUS));
        assertEquals(0x0110, rig.identify(IdeRig.PRIMARY, 0, Ata.CMD_IDENTIFY_DEVICE)[59], "16 sectors again");
    }

    @Test
    void unplugTakesTheDisksAndLeavesTheCdrom() {
        MemoryDisk hdaImage = rig.disk(1 << 20);
        MemoryDisk hdbImage = rig.disk(1 << 20);
        MemoryDisk iso = rig.disk(1 << 20);
        rig.attach(0, new AtaDisk(hdaImage, true)).attach(1, new AtaDisk(hdbImage, true))
                .attach(2, new AtapiCdrom(iso)).start();

        assertEquals(List.of("ide0-hd0", "ide0-hd1"), rig.engine.onLoop(() -> rig.ide.unplugDisks(false)));

        assertNull(rig.ide.drive(0));
        assertNull(rig.ide.drive(1));
        assertTrue(hdaImage.closed());
        assertTrue(hdbImage.closed());
        assertFalse(iso.closed());
        assertEquals(0, rig.status(IdeRig.PRIMARY), "the channel reads as empty, as after QEMU's unplug");
        assertEquals(0, rig.cpu.inb(IdeRig.PRIMARY + Ata.REG_SECTOR_COUNT));
        rig.cpu.outb(IdeRig.PRIMARY + Ata.REG_COMMAND, Ata.CMD_IDENTIFY_DEVICE);
        assertEquals(0, rig.status(IdeRig.PRIMARY));
        assertEquals(AtapiCdrom.MODEL,
                SeaBiosAta.model(rig.identify(IdeRig.SECONDARY, 0, Ata.CMD_IDENTIFY_PACKET_DEVICE)));
        assertEquals(List.of(), rig.engine.onLoop(() -> rig.ide.unplugDisks(false)));
    }

    @Test
    void linuxUnplugThroughThePlatformDeviceReachesTheController() {
        MemoryDisk hdaImage = rig.disk(1 << 20);
        XenPlatformDevice platform = new XenPlatformDevice(
                new PciDeviceUnplug(new PciNicUnplug(rig.bus), rig.ide), readOnly -> true);
        rig.engine.ports().register(XenPlatformDevice.FIXED_PORT_BASE, XenPlatformDevice.FIXED_PORT_COUNT,
                platform.fixedPorts(), "xen-platform fixed");
        rig.attach(0, new AtaDisk(hdaImage, true)).attach(2, new AtapiCdrom(null)).start();

        // xen_unplug_emulated_devices: check the magic, then write the unplug mask (disks and NICs).
        assertEquals(XenPlatformDevice.MAGIC, rig.cpu.inw(XenPlatformDevice.FIXED_PORT_BASE));
        rig.cpu.outw(XenPlatformDevice.FIXED_PORT_BASE, 0x03);

        assertNull(rig.ide.drive(0));
        assertTrue(hdaImage.closed());
        assertEquals(0, rig.status(IdeRig.PRIMARY));
        assertNotNull(rig.ide.drive(2), "the CD-ROM stays for the installer");
    }

    @Test
    void unplugCanKeepThePrimaryMasterAndWaitsForRequestsInFlight() {
        MemoryDisk hdaImage = rig.disk(1 << 20);
        MemoryDisk hddImage = rig.disk(1 << 20).delay(150);
        rig.attach(0, new AtaDisk(hdaImage, true)).attach(3, new AtaDisk(hddImage, true)).start();
        rig.command28(IdeRig.SECONDARY, 1, Ata.CMD_READ_SECTORS, 0, 1, 0);

        assertEquals(List.of("ide1-hd1"), rig.engine.onLoop(() -> rig.ide.unplugDisks(true)));

        assertFalse(hddImage.closed(), "its read is still in flight");
        IdeRig.pollUntil("the unplugged disk to close", hddImage::closed);
        assertEquals(0, rig.status(IdeRig.SECONDARY), "the completion changed nothing the guest sees");
        assertFalse(hdaImage.closed());
        assertEquals(AtaDisk.MODEL, SeaBiosAta.model(rig.identify(IdeRig.PRIMARY, 0, Ata.CMD_IDENTIFY_DEVICE)));
    }
}
