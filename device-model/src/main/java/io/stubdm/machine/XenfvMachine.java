package io.stubdm.machine;

import io.stubdm.devices.PowerControl;
import io.stubdm.devices.Resettable;
import io.stubdm.backends.chardev.CharBackend;
import io.stubdm.devices.cmos.CmosPorts;
import io.stubdm.devices.i8042.I8042;
import io.stubdm.devices.ide.PiixIde;
import io.stubdm.devices.pci.PciBus;
import io.stubdm.devices.pci.PciFunction;
import io.stubdm.devices.piix.I440fxHostBridge;
import io.stubdm.devices.piix.PciHostConfigPorts;
import io.stubdm.devices.piix.Piix3IsaBridge;
import io.stubdm.devices.piix.Piix4Pm;
import io.stubdm.devices.serial.Uart16550;
import io.stubdm.devices.xenplatform.BiosRomLock;
import io.stubdm.devices.xenplatform.PciDeviceUnplug;
import io.stubdm.devices.xenplatform.PciNicUnplug;
import io.stubdm.devices.xenplatform.XenPlatformDevice;
import io.stubdm.firmware.CmosNvram;
import io.stubdm.hypervisor.DeviceModelOps;
import io.stubdm.hypervisor.GuestMemory;
import io.stubdm.hypervisor.MemType;
import io.stubdm.hypervisor.ShutdownReason;
import io.stubdm.hypervisor.XenException;
import io.stubdm.ioreq.BusDevice;
import io.stubdm.ioreq.DeviceLoop;
import io.stubdm.ioreq.IoBus;
import io.stubdm.ioreq.PciConfigBus;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;

/**
 * The machine libxl asks for with {@code -machine xenfv}: QEMU's pc-i440fx with Xen's RAM set-up and the Xen
 * platform device, less everything Xen emulates itself (PIT, PIC, IOAPIC, LAPIC, HPET, PM timer, RTC clock).
 *
 * <p>Layout as qemu-xen builds it: 00:00.0 i440FX, 00:01.0 PIIX3 ISA bridge, 00:01.1 PIIX3 IDE (drives are
 * attached to it later, one per {@code -drive}), 00:01.3 PIIX4 PM (with ACPI),
 * 00:02.0 Xen platform device (unless {@code pc,accel=xen}); ISA: CMOS NVRAM at 0x70, reset control at 0xCF9,
 * port 0x92, POST port 0x80, the i8042 at 0x60/0x64 (IRQ 1 and 12) and a 16550A for each {@code -serial}
 * (COM1-4 at QEMU's ports and IRQs). Later devices (VGA, NICs) take the next free slots.
 *
 * <p>The machine is also the {@link PowerControl} devices call: a reset puts every device back to power-on
 * state and asks Xen to reboot the domain; a power-off asks Xen to shut it down. Both happen inside the guest
 * access that asked for them, before it is answered, as qemu-xen does.
 */
public final class XenfvMachine implements PowerControl {
    private static final System.Logger LOG = System.getLogger(XenfvMachine.class.getName());

    /** What the command line decides about the machine. */
    public record Config(int vcpus, long ramBytes, String bootOrder, boolean acpi, boolean xenPlatformDevice) {
        public Config {
            if (vcpus < 1 || vcpus > 128) {
                throw new IllegalArgumentException("vCPUs must be 1..128, not " + vcpus);
            }
            if (ramBytes <= 0) {
                throw new IllegalArgumentException("RAM size must be positive");
            }
        }

        /** libxl's defaults for an HVM guest: boot order "cda", ACPI on, platform device on. */
        public static Config xenfv(int vcpus, long ramBytes) {
            return new Config(vcpus, ramBytes, "cda", true, true);
        }
    }

    private final DeviceModelOps dm;
    private final IoBus ports;
    private final XenIrqLines irqs;
    private final PciBus pciBus;
    private final I440fxHostBridge hostBridge = new I440fxHostBridge();
    private final Piix3IsaBridge isaBridge;
    private final Piix4Pm pm;
    private final PiixIde ide;
    private final XenPlatformDevice platform;
    private final PciNicUnplug nicUnplug;
    private final CmosPorts cmos;
    private final I8042 i8042;
    private final DeviceLoop loop;
    private final List<Uart16550> serialPorts = new ArrayList<>();
    private final List<Resettable> isaDevices = new ArrayList<>();
    private final List<String> powerEvents = new ArrayList<>();

    /** QEMU's isa_serial_io and isa_serial_irq: COM1-COM4. */
    private static final int[] SERIAL_PORTS = {0x3f8, 0x2f8, 0x3e8, 0x2e8};
    private static final int[] SERIAL_IRQS = {4, 3, 4, 3};
    private static final int IDE_PRIMARY_IRQ = 14;
    private static final int IDE_SECONDARY_IRQ = 15;

    /** {@code memory} is the guest's RAM as bus-master devices (the IDE controller) reach it. */
    public XenfvMachine(Config config, DeviceModelOps dm, DeviceLoop loop, GuestMemory memory, IoBus ports, IoBus mmio,
            PciConfigBus pciConfig) {
        this.dm = dm;
        this.loop = loop;
        this.ports = ports;
        this.irqs = new XenIrqLines(dm);
        this.pciBus = new PciBus(pciConfig, ports, mmio, irqs::pciIntx);

        pciBus.plug(0, 0, hostBridge);
        isaBridge = new Piix3IsaBridge(this::routeLink, this);
        pciBus.plug(1, 0, isaBridge);
        register(0xcf8, 4, new PciHostConfigPorts(isaBridge.resetControl()), "pci-host-config");
        register(0x92, 1, isaBridge.systemControlA(), "port92");
        register(0x80, 1, isaBridge.postCodePort(), "post-code");

        // pc_init1 creates the PIIX3 IDE function on every PCI machine, drives or not.
        ide = new PiixIde(memory, irqs.isa(IDE_PRIMARY_IRQ), irqs.isa(IDE_SECONDARY_IRQ));
        pciBus.plug(1, 1, ide);
        for (PiixIde.PortRange r : ide.legacyPorts()) {
            register(r.base(), r.length(), r.device(), r.name());
        }

        if (config.acpi()) {
            pm = new Piix4Pm(ports, irqs.isa(9), this, config.vcpus());
            pciBus.plug(1, 3, pm);
            for (Piix4Pm.PortRange r : pm.fixedPorts()) {
                register(r.base(), r.length(), r.device(), r.name());
            }
        } else {
            pm = null;
        }

        nicUnplug = new PciNicUnplug(pciBus);
        if (config.xenPlatformDevice()) {
            platform = new XenPlatformDevice(new PciDeviceUnplug(nicUnplug, ide), this::setRomReadOnly);
            pciBus.plug(2, 0, platform);
            register(XenPlatformDevice.FIXED_PORT_BASE, XenPlatformDevice.FIXED_PORT_COUNT, platform.fixedPorts(),
                    "xen-platform-fixed");
        } else {
            platform = null;
        }

        cmos = new CmosPorts(CmosNvram.xenfv(config.ramBytes()).bootOrder(config.bootOrder()).build());
        register(CmosPorts.BASE_PORT, CmosPorts.PORT_COUNT, cmos, "cmos-nvram");

        // The Xen DSDT always lists PS2K and PS2M, and the i8042 is FreeBSD's first reset method.
        i8042 = new I8042(irqs.isa(I8042.KBD_IRQ), irqs.isa(I8042.AUX_IRQ), this);
        register(I8042.DATA_PORT, 1, i8042.dataPort(), "i8042-data");
        register(I8042.COMMAND_PORT, 1, i8042.commandPort(), "i8042-command");
        isaDevices.add(i8042);
    }

    /** Adds the next 16550A (COM1, then COM2, ...) talking to {@code backend}, as each {@code -serial} does. */
    public Uart16550 addSerialPort(CharBackend backend) {
        int index = serialPorts.size();
        if (index >= SERIAL_PORTS.length) {
            throw new IllegalArgumentException("at most " + SERIAL_PORTS.length + " serial ports (COM1-COM4)");
        }
        Uart16550 uart = new Uart16550(loop, irqs.isa(SERIAL_IRQS[index]), backend);
        register(SERIAL_PORTS[index], 8, uart, "com" + (index + 1));
        serialPorts.add(uart);
        return uart;
    }

    public List<Uart16550> serialPorts() {
        return List.copyOf(serialPorts);
    }

    public I8042 i8042() {
        return i8042;
    }

    /** Registers an ISA device's ports; the ioreq server claims them from Xen. */
    public void register(int base, int length, BusDevice device, String name) {
        ports.register(base, length, device, name);
        if (device instanceof Resettable && !isaDevices.contains(device)) {
            isaDevices.add((Resettable) device);
        }
    }

    public PciBus pciBus() {
        return pciBus;
    }

    public XenIrqLines irqs() {
        return irqs;
    }

    /** The next slot on bus 0 with no device, as QEMU picks for {@code -device} without {@code addr=}. */
    public int nextFreeSlot() {
        for (int slot = 1; slot < 32; slot++) {
            if (pciBus.function(slot << 3) == null) {
                return slot;
            }
        }
        throw new IllegalStateException("PCI bus 0 is full");
    }

    public void plug(int slot, PciFunction function) {
        pciBus.plug(slot, 0, function);
    }

    public XenPlatformDevice platformDevice() {
        return platform;
    }

    public PciNicUnplug nicUnplug() {
        return nicUnplug;
    }

    public Piix3IsaBridge isaBridge() {
        return isaBridge;
    }

    /** The PIIX3 IDE controller at 00:01.1, where {@code -drive if=ide} and {@code ide-cd} drives go. */
    public PiixIde ide() {
        return ide;
    }

    public Piix4Pm powerManagement() {
        return pm;
    }

    public CmosPorts cmos() {
        return cmos;
    }

    /** Resets and power-offs the guest asked for, oldest first. */
    public List<String> powerEvents() {
        return List.copyOf(powerEvents);
    }

    private void routeLink(int link, int isaIrq) {
        try {
            dm.setPciLinkRoute(link, isaIrq);
        } catch (XenException e) {
            LOG.log(Level.WARNING, "PIRQ" + (char) ('A' + link) + " -> IRQ " + isaIrq + ": " + e.getMessage());
        }
    }

    private boolean setRomReadOnly(boolean readOnly) {
        try {
            dm.setMemType(readOnly ? MemType.RAM_RO : MemType.RAM_RW, BiosRomLock.FIRST_PFN, BiosRomLock.PAGE_COUNT);
            return true;
        } catch (XenException e) {
            LOG.log(Level.WARNING, "BIOS ROM lock: " + e.getMessage());
            return false;
        }
    }

    /** Every device back to its power-on state (QEMU's qemu_system_reset). */
    public void resetDevices() {
        pciBus.reset();
        for (Resettable d : isaDevices) {
            d.reset();
        }
    }

    @Override
    public void requestReset(String cause) {
        LOG.log(Level.INFO, "guest reset: " + cause);
        powerEvents.add("reset: " + cause);
        resetDevices();
        shutdown(ShutdownReason.REBOOT);
    }

    @Override
    public void requestPoweroff(String cause) {
        LOG.log(Level.INFO, "guest power-off: " + cause);
        powerEvents.add("poweroff: " + cause);
        shutdown(ShutdownReason.POWEROFF);
    }

    @Override
    public void requestSuspend(String cause) {
        // qemu-xen sets HVM_PARAM_ACPI_S_STATE through libxenctrl, which the hypervisor interface does not
        // offer yet; the guest then just stays running.
        LOG.log(Level.WARNING, "guest asked for S3 (" + cause + "); suspend to RAM is not supported, the guest keeps running");
        powerEvents.add("suspend refused: " + cause);
    }

    private void shutdown(ShutdownReason reason) {
        try {
            dm.remoteShutdown(reason);
        } catch (XenException e) {
            LOG.log(Level.ERROR, "could not ask Xen for " + reason + ": " + e.getMessage());
        }
    }
}
