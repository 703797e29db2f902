package io.stubdm.devices.pci;

import static io.stubdm.devices.pci.PciRegs.*;

import io.stubdm.devices.IrqLine;
import io.stubdm.devices.Resettable;
import io.stubdm.firmware.OptionRom;
import io.stubdm.hypervisor.ByteValues;
import io.stubdm.ioreq.BusDevice;
import io.stubdm.ioreq.IoBus;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A PCI function's configuration space and what follows from it: BARs sized and mapped onto the port and MMIO
 * buses as the guest programs them and as COMMAND enables decode, an expansion ROM, a capability list, and the
 * INTx pin. Subclasses are the devices; they set IDs and registers in their constructor and react to writes in
 * {@link #configWritten}.
 *
 * <p>Config space is 256 bytes with a write mask per bit, as in QEMU's PCIDevice: header fields are read-only
 * except COMMAND, the BARs' address bits, cache line, latency and interrupt line; device-specific registers
 * (0x40 up) are writable unless a subclass narrows them; STATUS error bits are write-1-to-clear.
 */
public abstract class PciFunction implements BusDevice, Resettable {
    private static final System.Logger LOG = System.getLogger(PciFunction.class.getName());
    private static final int BAR_COUNT = 6;

    protected final String name;
    protected final byte[] config = new byte[CONFIG_SPACE_SIZE];
    private final byte[] writable = new byte[CONFIG_SPACE_SIZE];
    private final byte[] writeOneToClear = new byte[CONFIG_SPACE_SIZE];
    private byte[] powerOn;
    private final PciBar[] bars = new PciBar[BAR_COUNT];
    private PciBar rom;
    private int nextCapability = DEVICE_SPECIFIC;
    private int lastCapability;
    private PciBus bus;
    private int devfn = -1;
    private IrqLine intx = IrqLine.NONE;
    private boolean interruptRequested;
    private boolean lineLevel;

    protected PciFunction(String name, int vendorId, int deviceId, int classCode, int revision) {
        this.name = name;
        set16(VENDOR_ID, vendorId);
        set16(DEVICE_ID, deviceId);
        config[REVISION_ID] = (byte) revision;
        config[PROG_IF] = (byte) classCode;
        config[SUBCLASS] = (byte) (classCode >> 8);
        config[CLASS] = (byte) (classCode >> 16);
        setWritable16(COMMAND, COMMAND_IO | COMMAND_MEMORY | COMMAND_MASTER | COMMAND_PARITY | COMMAND_SERR
                | COMMAND_INTX_DISABLE);
        writeOneToClear[STATUS] = (byte) STATUS_WRITE_1_TO_CLEAR;
        writeOneToClear[STATUS + 1] = (byte) (STATUS_WRITE_1_TO_CLEAR >> 8);
        writable[CACHE_LINE_SIZE] = (byte) 0xff;
        writable[LATENCY_TIMER] = (byte) 0xff;
        writable[INTERRUPT_LINE] = (byte) 0xff;
        Arrays.fill(writable, DEVICE_SPECIFIC, CONFIG_SPACE_SIZE, (byte) 0xff);
    }

    public String name() {
        return name;
    }

    public int devfn() {
        return devfn;
    }

    public int vendorId() {
        return get16(VENDOR_ID);
    }

    public int deviceId() {
        return get16(DEVICE_ID);
    }

    /** Class, subclass and programming interface as one 24-bit value (0x020000 for Ethernet). */
    public int classCode() {
        return (config[CLASS] & 0xff) << 16 | (config[SUBCLASS] & 0xff) << 8 | (config[PROG_IF] & 0xff);
    }

    // ---------------------------------------------------------------- set-up, from subclass constructors

    protected final void setSubsystem(int vendorId, int subsystemId) {
        set16(SUBSYSTEM_VENDOR_ID, vendorId);
        set16(SUBSYSTEM_ID, subsystemId);
    }

    /** 1 = INTA ... 4 = INTD; 0 = no interrupt. */
    protected final void setInterruptPin(int pin) {
        config[INTERRUPT_PIN] = (byte) pin;
    }

    protected final void defineBar(int index, PciBar bar) {
        if (index < 0 || index >= BAR_COUNT || bars[index] != null
                || (bar.kind == PciBar.Kind.MEMORY64 && (index == BAR_COUNT - 1 || bars[index + 1] != null))) {
            throw new IllegalArgumentException(name + ": BAR " + index + " is not free for " + bar.name);
        }
        bars[index] = bar;
        int reg = BAR0 + 4 * index;
        long addressMask = bar.kind == PciBar.Kind.IO ? ~(bar.size - 1) & 0xffff_fffcL : ~(bar.size - 1) & 0xffff_fff0L;
        set32(reg, bar.typeBits());
        setWritable32(reg, (int) addressMask);
        if (bar.kind == PciBar.Kind.MEMORY64) {
            setWritable32(reg + 4, (int) (~(bar.size - 1) >>> 32));
        }
    }

    /** An expansion ROM served read-only through the ROM BAR; the image is padded to a power of two. */
    protected final void defineRom(byte[] image, String romName) {
        int size = Math.max(2048, Integer.highestOneBit(Math.max(1, image.length - 1)) << 1);
        byte[] padded = Arrays.copyOf(image, size);
        rom = PciBar.memory32(size, false, new RomWindow(padded), romName);
        setWritable32(ROM_ADDRESS, ~(size - 1) | ROM_ENABLE);
    }

    /** The ROM BAR serves {@code rom}'s image (what {@link io.stubdm.firmware.OptionRomFinder} found). */
    protected final void defineRom(OptionRom rom) {
        ByteBuffer contents = rom.contents();
        byte[] image = new byte[contents.remaining()];
        contents.get(image);
        defineRom(image, rom.name());
    }

    /** Appends a capability of {@code length} bytes to the list; returns its offset in config space. */
    protected final int addCapability(int capabilityId, int length) {
        int offset = (nextCapability + 3) & ~3;
        if (length < 2 || offset + length > CONFIG_SPACE_SIZE) {
            throw new IllegalArgumentException(name + ": no room for capability " + capabilityId);
        }
        config[offset] = (byte) capabilityId;
        config[offset + 1] = 0;
        writable[offset] = 0;
        writable[offset + 1] = 0;
        if (lastCapability == 0) {
            config[CAPABILITY_LIST] = (byte) offset;
        } else {
            config[lastCapability + 1] = (byte) offset;
        }
        config[STATUS] |= STATUS_CAP_LIST;
        lastCapability = offset;
        nextCapability = offset + length;
        return offset;
    }

    protected final void setWritable(int reg, int length, int mask) {
        for (int i = 0; i < length; i++) {
            writable[reg + i] = (byte) (mask >>> (8 * i));
        }
    }

    private void setWritable16(int reg, int mask) {
        setWritable(reg, 2, mask);
    }

    private void setWritable32(int reg, int mask) {
        setWritable(reg, 4, mask);
    }

    // ---------------------------------------------------------------- plugging

    void attach(PciBus bus, int devfn, IrqLine intx) {
        if (powerOn == null) {
            powerOn = config.clone();
        }
        this.bus = bus;
        this.devfn = devfn;
        this.intx = intx;
        updateMappings();
    }

    /** Unmaps every BAR and drops the interrupt: the function is gone from the guest's point of view. */
    void detach() {
        for (PciBar bar : bars) {
            unmap(bar);
        }
        unmap(rom);
        if (lineLevel) {
            lineLevel = false;
            intx.lower();
        }
        bus = null;
    }

    public boolean isPlugged() {
        return bus != null;
    }

    // ---------------------------------------------------------------- config space access (BusDevice, offset = register)

    @Override
    public final long read(long offset, int size) {
        return configRead((int) offset, size) & ByteValues.mask(size);
    }

    @Override
    public final void write(long offset, int size, long value) {
        configWrite((int) offset, size, value);
    }

    /** Reads config bytes; a subclass overrides for registers whose value is computed on read. */
    protected long configRead(int reg, int size) {
        long v = 0;
        for (int i = size - 1; i >= 0; i--) {
            v = (v << 8) | (config[reg + i] & 0xff);
        }
        return v;
    }

    private void configWrite(int reg, int size, long value) {
        int oldCommand = get16(COMMAND);
        boolean touchesBars = false;
        for (int i = 0; i < size; i++) {
            int r = reg + i;
            int b = (int) (value >>> (8 * i)) & 0xff;
            int keep = config[r] & ~writable[r];
            int v = keep | (b & writable[r]);
            v &= ~(b & writeOneToClear[r]);
            config[r] = (byte) v;
            touchesBars |= r == COMMAND || (r >= BAR0 && r < BAR0 + 4 * BAR_COUNT) || (r >= ROM_ADDRESS && r < ROM_ADDRESS + 4);
        }
        if (touchesBars) {
            updateMappings();
        }
        if (((oldCommand ^ get16(COMMAND)) & COMMAND_INTX_DISABLE) != 0) {
            driveLine();
        }
        configWritten(reg, size, value);
    }

    /** Called after the guest wrote config space (masks already applied), for device-specific registers. */
    protected void configWritten(int reg, int size, long value) {
    }

    // ---------------------------------------------------------------- BARs

    /**
     * Maps each BAR where the guest put it, if COMMAND enables its kind of decode and the address is real:
     * zero, the all-ones sizing pattern and 32-bit BARs reaching 4 GiB are not (QEMU's pci_bar_address).
     */
    private void updateMappings() {
        if (bus == null) {
            return;
        }
        int command = get16(COMMAND);
        for (int i = 0; i < BAR_COUNT; i++) {
            PciBar bar = bars[i];
            if (bar != null) {
                remap(bar, barAddress(bar, BAR0 + 4 * i, command));
            }
        }
        if (rom != null) {
            long raw = get32(ROM_ADDRESS) & 0xffff_ffffL;
            boolean on = (command & COMMAND_MEMORY) != 0 && (raw & ROM_ENABLE) != 0;
            long address = raw & ~(rom.size - 1) & 0xffff_f800L;
            remap(rom, on && address != 0 && address + rom.size <= 0xffff_ffffL ? address : -1);
        }
    }

    private long barAddress(PciBar bar, int reg, int command) {
        long low = get32(reg) & 0xffff_ffffL;
        switch (bar.kind) {
            case IO: {
                if ((command & COMMAND_IO) == 0) {
                    return -1;
                }
                long a = low & ~(bar.size - 1) & 0xffff_fffcL;
                return a != 0 && a + bar.size <= 0x10000 ? a : -1;
            }
            case MEMORY32: {
                if ((command & COMMAND_MEMORY) == 0) {
                    return -1;
                }
                long a = low & ~(bar.size - 1) & 0xffff_fff0L;
                return a != 0 && a + bar.size < 0x1_0000_0000L ? a : -1;
            }
            default: {
                if ((command & COMMAND_MEMORY) == 0) {
                    return -1;
                }
                long high = get32(reg + 4) & 0xffff_ffffL;
                long a = ((high << 32) | low) & ~(bar.size - 1) & ~0xfL;
                boolean sizing = high == 0xffff_ffffL;
                return a != 0 && !sizing && a + bar.size > a && a + bar.size > 0 ? a : -1;
            }
        }
    }

    private void remap(PciBar bar, long address) {
        if (bar.mappedAddress() == address) {
            return;
        }
        unmap(bar);
        if (address < 0) {
            return;
        }
        if (bar.placement != null) {
            try {
                bar.placement.placeAt(address);
                bar.placedAt = address;
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, String.format("%s: %s could not be placed at 0x%x: %s", name, bar.name, address,
                        e.getMessage()));
            }
            return;
        }
        IoBus target = bar.kind == PciBar.Kind.IO ? bus.ports() : bus.mmio();
        try {
            bar.mapping = target.register(address, bar.size, bar.device, name + " " + bar.name);
        } catch (RuntimeException e) {
            // The guest put the BAR over another device (or Xen refused the range): leave it undecoded, as
            // QEMU leaves the lower-priority region unseen, rather than fail the guest's config write.
            LOG.log(Level.WARNING, String.format("%s: %s at 0x%x not decoded: %s", name, bar.name, address, e.getMessage()));
        }
    }

    private void unmap(PciBar bar) {
        if (bar != null && bar.mapping != null) {
            bar.mapping.unregister();
            bar.mapping = null;
        }
        if (bar != null && bar.placedAt >= 0) {
            bar.placedAt = -1;
            try {
                bar.placement.remove();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, name + ": " + bar.name + " could not be removed: " + e.getMessage());
            }
        }
    }

    /** Where BAR {@code index} is decoded now, or -1. */
    public long barMappedAt(int index) {
        return bars[index] == null ? -1 : bars[index].mappedAddress();
    }

    public long romMappedAt() {
        return rom == null ? -1 : rom.mappedAddress();
    }

    // ---------------------------------------------------------------- INTx

    /** The device's interrupt condition; the pin follows it unless COMMAND.INTX_DISABLE masks it. */
    protected final void setInterruptRequest(boolean asserted) {
        interruptRequested = asserted;
        int status = get16(STATUS);
        set16(STATUS, asserted ? status | STATUS_INTERRUPT : status & ~STATUS_INTERRUPT);
        driveLine();
    }

    private void driveLine() {
        boolean level = interruptRequested && (get16(COMMAND) & COMMAND_INTX_DISABLE) == 0 && bus != null;
        if (level != lineLevel) {
            lineLevel = level;
            intx.setLevel(level);
        }
    }

    // ---------------------------------------------------------------- reset

    /** Back to power-on config (BARs unprogrammed, decode off), then the device's own reset. */
    @Override
    public void reset() {
        if (powerOn != null) {
            System.arraycopy(powerOn, 0, config, 0, CONFIG_SPACE_SIZE);
        }
        interruptRequested = false;
        driveLine();
        updateMappings();
        resetDevice();
    }

    protected void resetDevice() {
    }

    // ---------------------------------------------------------------- little-endian helpers

    protected final int get16(int reg) {
        return (config[reg] & 0xff) | (config[reg + 1] & 0xff) << 8;
    }

    protected final int get32(int reg) {
        return get16(reg) | get16(reg + 2) << 16;
    }

    protected final void set16(int reg, int v) {
        config[reg] = (byte) v;
        config[reg + 1] = (byte) (v >>> 8);
    }

    protected final void set32(int reg, int v) {
        set16(reg, v);
        set16(reg + 2, v >>> 16);
    }

    @Override
    public String toString() {
        return String.format("%s %04x:%04x at %02x.%x", name, vendorId(), deviceId(), devfn >> 3, devfn & 7);
    }

    /** The ROM BAR's contents: reads of the image, writes ignored. */
    private static final class RomWindow implements BusDevice {
        private final byte[] image;

        RomWindow(byte[] image) {
            this.image = image;
        }

        @Override
        public long read(long offset, int size) {
            long v = 0;
            for (int i = size - 1; i >= 0; i--) {
                v = (v << 8) | (image[(int) offset + i] & 0xff);
            }
            return v;
        }

        @Override
        public void write(long offset, int size, long value) {
        }
    }
}
