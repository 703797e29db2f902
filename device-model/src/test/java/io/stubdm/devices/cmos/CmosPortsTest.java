package io.stubdm.devices.cmos;

import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.firmware.CmosNvram;
import io.stubdm.hypervisor.sim.SimVcpu;
import io.stubdm.ioreq.EmbeddedEngine;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The CMOS NVRAM ports as firmware drives them, through the ioreq engine over the simulated Xen. The simulated
 * Xen forwards every access to 0x70-0x71, including those real Xen keeps for its clock, so the tests also show
 * what the device does with accesses Xen should have kept.
 */
class CmosPortsTest {
    private static final int INDEX = 0x70;
    private static final int DATA = 0x71;
    private static final long MIB = 1L << 20;

    private EmbeddedEngine engine;
    private CmosPorts cmos;
    private SimVcpu cpu;

    @BeforeEach
    void setUp() {
        engine = new EmbeddedEngine();
        cmos = new CmosPorts(CmosNvram.xenfv(256 * MIB).build()); // default boot order "cda"
        engine.ports().register(CmosPorts.BASE_PORT, CmosPorts.PORT_COUNT, cmos, "cmos");
        engine.start();
        cpu = engine.vcpu(0);
    }

    @AfterEach
    void tearDown() {
        assertEquals(0, engine.loop().failures(), "nothing escaped from the device into the loop");
        engine.close();
    }

    /** SeaBIOS's rtc_read (src/hw/rtc.c): the index with NMI_DISABLE_BIT set, then the data port. */
    private int seabiosRtcRead(int index) {
        cpu.outb(INDEX, index | 0x80);
        return cpu.inb(DATA);
    }

    /** hvmloader's cmos_outb (tools/firmware/hvmloader/util.h): index, then value. */
    private void hvmloaderCmosOutb(int index, int value) {
        cpu.outb(INDEX, index);
        cpu.outb(DATA, value);
    }

    private int nvram(int index) {
        return engine.onLoop(() -> cmos.nvram().read(index));
    }

    @Test
    void seabiosReadsTheBootOrder() {
        // SeaBIOS boot_init (src/boot.c): bootorder = BOOTFLAG2 | (BOOTFLAG1 & 0xF0) << 4, one nibble per
        // priority from the lowest; BOOTFLAG1 bit 0 turns the floppy signature check off.
        int flag1 = seabiosRtcRead(CmosNvram.BIOS_BOOTFLAG1);
        int flag2 = seabiosRtcRead(CmosNvram.BIOS_BOOTFLAG2);
        assertEquals(0x10, flag1);
        assertEquals(0x32, flag2);
        int bootorder = flag2 | (flag1 & 0xf0) << 4;
        List<String> order = new ArrayList<>();
        for (int i = 0; i < 3; i++, bootorder >>= 4) {
            order.add(switch (bootorder & 0xf) {
                case 1 -> "floppy";
                case 2 -> "hd";
                case 3 -> "cdrom";
                case 4 -> "network";
                default -> "none";
            });
        }
        assertEquals(List.of("hd", "cdrom", "floppy"), order, "libxl's default \"cda\"");
        assertEquals(0, flag1 & 1, "floppy signature check stays on");
        assertEquals(0, engine.onLoop(cmos::clockIndexAccesses));
    }

    @Test
    void hvmloaderWritesTheMemorySizesAndReadsThemBack() {
        // cmos_write_memory_size (tools/firmware/hvmloader/hvmloader.c), as if low_mem_pgend were 32 MiB:
        // base 640 KiB; ext = (32 MiB - 1 MiB) >> 10 = 31744 = 0x7C00; alt = (32 MiB - 16 MiB) >> 16 = 0x100.
        int[][] writes = {
            {0x15, 0x80}, {0x16, 0x02},
            {0x17, 0x00}, {0x18, 0x7C}, {0x30, 0x00}, {0x31, 0x7C},
            {0x34, 0x00}, {0x35, 0x01},
        };
        for (int[] w : writes) {
            hvmloaderCmosOutb(w[0], w[1]);
        }
        for (int[] w : writes) {
            cpu.outb(INDEX, w[0]);
            assertEquals(w[1], cpu.inb(DATA), String.format("CMOS 0x%02X through the ports", w[0]));
            assertEquals(w[1], nvram(w[0]), String.format("CMOS 0x%02X in the NVRAM", w[0]));
        }
        assertEquals(0x20, seabiosRtcRead(CmosNvram.CENTURY), "untouched bytes keep their values");
    }

    @Test
    void theNmiBitIsNotPartOfTheIndex() {
        cpu.outb(INDEX, 0x80 | 0x40);
        assertEquals(0x40, engine.onLoop(cmos::index).intValue());
        cpu.outb(DATA, 0xA5);
        assertEquals(0xA5, nvram(0x40));
        cpu.outb(INDEX, 0x40); // the same byte with NMIs enabled
        assertEquals(0xA5, cpu.inb(DATA));
    }

    @Test
    void theIndexPortReadsAllOnes() {
        cpu.outb(INDEX, 0x3D);
        assertEquals(0xFF, cpu.inb(INDEX));
        assertEquals(0x32, cpu.inb(DATA), "reading the index port does not disturb the index");
    }

    @Test
    void aForwardedAccessToAClockRegisterIsDroppedAndCounted() {
        byte[] before = engine.onLoop(() -> cmos.nvram().toByteArray());
        cpu.outb(INDEX, 0x0A); // register A: real Xen keeps this one
        assertEquals(0xFF, cpu.inb(DATA));
        cpu.outb(DATA, 0x26);
        assertEquals(2, engine.onLoop(cmos::clockIndexAccesses).longValue());
        assertArrayEquals(before, engine.onLoop(() -> cmos.nvram().toByteArray()));
    }

    @Test
    void wordAccessesActAsTwoByteAccesses() {
        cpu.outw(INDEX, 0x55 << 8 | 0x41); // index 0x41 to 0x70, then 0x55 to 0x71
        assertEquals(0x55, nvram(0x41));
        assertEquals(0x55 << 8 | 0xFF, cpu.inw(INDEX));
    }

    @Test
    void resetKeepsTheNvramAndForgetsTheIndex() {
        hvmloaderCmosOutb(0x50, 0x77);
        cpu.outb(INDEX, 0x50);
        engine.onLoop(cmos::reset);
        assertEquals(0, engine.onLoop(cmos::index).intValue());
        assertEquals(0xFF, cpu.inb(DATA), "no index latched since reset");
        assertEquals(1, engine.onLoop(cmos::clockIndexAccesses).longValue());
        cpu.outb(INDEX, 0x50);
        assertEquals(0x77, cpu.inb(DATA), "the byte survived the reset");
    }

    @Test
    void garbageLeavesTheDeviceConsistent() {
        Random random = new Random(0x70_71);
        byte[] model = engine.onLoop(() -> cmos.nvram().toByteArray());
        int modelIndex = 0;
        long modelDropped = 0;
        for (int i = 0; i < 20_000; i++) {
            int value = random.nextInt(256);
            switch (random.nextInt(5)) {
                case 0 -> {
                    cpu.outb(INDEX, value);
                    modelIndex = value & 0x7f;
                }
                case 1 -> {
                    cpu.outb(DATA, value);
                    if (modelIndex < CmosNvram.FIRST_INDEX) {
                        modelDropped++;
                    } else {
                        model[modelIndex] = (byte) value;
                    }
                }
                case 2 -> {
                    int got = cpu.inb(DATA);
                    if (modelIndex < CmosNvram.FIRST_INDEX) {
                        modelDropped++;
                        assertEquals(0xFF, got);
                    } else {
                        assertEquals(model[modelIndex] & 0xff, got, "read of " + modelIndex);
                    }
                }
                case 3 -> assertEquals(0xFF, cpu.inb(INDEX));
                default -> {
                    int data = random.nextInt(256);
                    cpu.outw(INDEX, data << 8 | value);
                    modelIndex = value & 0x7f;
                    if (modelIndex < CmosNvram.FIRST_INDEX) {
                        modelDropped++;
                    } else {
                        model[modelIndex] = (byte) data;
                    }
                }
            }
        }
        assertArrayEquals(model, engine.onLoop(() -> cmos.nvram().toByteArray()));
        assertEquals(modelIndex, engine.onLoop(cmos::index).intValue());
        assertEquals(modelDropped, engine.onLoop(cmos::clockIndexAccesses).longValue());
        hvmloaderCmosOutb(0x7F, 0x5A);
        assertEquals(0x5A, seabiosRtcRead(0x7F), "still an ordinary CMOS afterwards");
    }
}
