package io.stubdm.runtime;

import io.stubdm.backends.block.BlockBackend;
import io.stubdm.backends.block.BlockBackends;
import io.stubdm.backends.block.DriveSpec;
import io.stubdm.backends.chardev.CharBackend;
import io.stubdm.backends.chardev.CharBackends;
import io.stubdm.backends.net.NetBackend;
import io.stubdm.backends.net.NetBackends;
import io.stubdm.devices.ide.AtaDisk;
import io.stubdm.devices.ide.AtapiCdrom;
import io.stubdm.devices.ide.IdeDrive;
import io.stubdm.devices.pci.PciFunction;
import io.stubdm.devices.e1000.E1000;
import io.stubdm.devices.rtl8139.Rtl8139;
import io.stubdm.devices.vga.CirrusVga;
import io.stubdm.devices.vga.DisplayAdapter;
import io.stubdm.devices.vga.StdVga;
import io.stubdm.firmware.OptionRom;
import io.stubdm.firmware.OptionRomFinder;
import io.stubdm.hypervisor.Hypervisor;
import io.stubdm.hypervisor.MapCacheGuestMemory;
import io.stubdm.hypervisor.XenException;
import io.stubdm.ioreq.DeviceLoop;
import io.stubdm.ioreq.IoBus;
import io.stubdm.ioreq.IoreqDispatcher;
import io.stubdm.ioreq.IoreqObserver;
import io.stubdm.ioreq.IoreqServer;
import io.stubdm.ioreq.IoreqStats;
import io.stubdm.ioreq.PciConfigBus;
import io.stubdm.machine.GuestRamVideoMemory;
import io.stubdm.machine.XenfvMachine;
import io.stubdm.runtime.cli.DeviceModelArgs;
import io.stubdm.runtime.cli.QemuOpts;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * One HVM guest's device model, assembled from a qemu-xen command line: the xenfv machine, the drives, NICs and
 * serial ports the command line names, the ioreq server that connects them to Xen, and the device loop that
 * runs them. QMP and the process around it live in {@link DeviceModelProcess}.
 *
 * <p>Everything the command line asks for is opened before the guest can run: a drive that cannot be opened, a
 * TAP that cannot be created or a device stubdm does not have ends the start-up with an error naming it, and
 * whatever was opened so far is closed again.
 */
public final class DeviceModel implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(DeviceModel.class.getName());

    /** QEMU's default romfile for each NIC model (the ipxe-qemu package's EFI+PXE images). */
    private static final Map<String, String> NIC_ROMS = Map.of("e1000", "efi-e1000.rom", "rtl8139", "efi-rtl8139.rom");

    /** A serial port as {@code query-chardev} reports it. */
    public record SerialPort(String label, CharBackend backend) {
    }

    /** A drive as {@code query-block} reports it. */
    public record Drive(String device, DriveSpec spec, Optional<BlockBackend> backend, boolean cdrom) {
    }

    /** A NIC: the {@code -netdev} id it uses, its model, and its backend (whose counters metrics read). */
    public record Nic(String netdev, String model, PciFunction device, NetBackend backend, BooleanSupplier linkUp) {
    }

    /** The device loop's thread is named this, then the domain id. */
    public static final String LOOP_THREAD_PREFIX = "device-loop-";

    private final DeviceModelArgs args;
    private final DeviceLoop loop;
    private final MapCacheGuestMemory memory;
    private final IoBus ports = IoBus.ports();
    private final IoBus mmio = IoBus.mmio();
    private final PciConfigBus pciConfig = new PciConfigBus();
    private final IoreqServer server;
    private final XenfvMachine machine;
    private final List<SerialPort> serialPorts = new ArrayList<>();
    private final List<Drive> drives = new ArrayList<>();
    private final Map<String, NetBackends.Netdev> netdevs = new LinkedHashMap<>();
    /** NICs by the id of the -netdev they use. */
    private final Map<String, Nic> nics = new LinkedHashMap<>();
    private final Hypervisor hypervisor;
    private DisplayAdapter display;
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private volatile boolean loopStarted;
    private boolean closed;

    private DeviceModel(DeviceModelArgs args, Hypervisor hypervisor, OptionRomFinder roms) throws IOException {
        if (args.mode() == DeviceModelArgs.Mode.XENPV) {
            // A stub domain's Dom0 process has no machine to build: Stubdm runs the PV console backend instead.
            throw new IllegalArgumentException("-machine xenpv is a stub domain's console backend "
                    + "(io.stubdm.runtime.xenpv.PvBackendProcess), not an HVM device model");
        }
        this.args = args;
        this.hypervisor = hypervisor;
        int domid = args.domid();
        loop = new DeviceLoop(hypervisor.openEventChannels(), LOOP_THREAD_PREFIX + domid);
        toClose.add(loop);
        memory = new MapCacheGuestMemory(hypervisor.foreignMemory(domid));
        IoreqDispatcher dispatcher = new IoreqDispatcher(ports, mmio, pciConfig, memory);
        server = new IoreqServer(hypervisor, domid, args.maxVcpus(), loop, dispatcher);
        XenfvMachine.Config config = new XenfvMachine.Config(args.maxVcpus(), args.memoryMiB() << 20,
                args.bootOrder(), args.machine().acpi(), args.mode() == DeviceModelArgs.Mode.XENFV);
        machine = new XenfvMachine(config, hypervisor.deviceModel(domid), loop, memory, ports, mmio, pciConfig);

        openSerialPorts();
        for (String spec : args.netdevs()) {
            NetBackends.Netdev netdev = NetBackends.parse(spec);
            toClose.add(netdev.backend()::close);
            if (netdevs.putIfAbsent(netdev.id(), netdev) != null) {
                throw new IllegalArgumentException("-netdev id=" + netdev.id() + " is given twice");
            }
        }
        Map<String, DriveSpec> unattached = openIdeDrives();
        for (QemuOpts device : args.devices()) {
            plugDevice(device, unattached, roms);
        }
        for (String id : unattached.keySet()) {
            throw new IllegalArgumentException("-drive id=" + id + " (if=none) is used by no -device");
        }
        for (String id : netdevs.keySet()) {
            if (!nics.containsKey(id)) {
                LOG.log(Level.WARNING, "-netdev " + id + " is used by no NIC; its frames go nowhere");
            }
        }
    }

    /**
     * Builds the device model and sets up its ioreq server in Xen; the guest's accesses are served once
     * {@link #run()} starts the loop.
     *
     * @throws IllegalArgumentException when the command line asks for something stubdm does not have
     * @throws IOException naming the drive or backend that could not be opened
     */
    public static DeviceModel create(DeviceModelArgs args, Hypervisor hypervisor, OptionRomFinder roms)
            throws IOException {
        DeviceModel dm = null;
        try {
            dm = new DeviceModel(args, hypervisor, roms);
            dm.server.start();
            dm.toClose.add(dm.server);
            return dm;
        } catch (IOException | RuntimeException e) {
            if (dm != null) {
                dm.close();
            }
            throw e;
        }
    }

    private void openSerialPorts() {
        int index = 0;
        for (String spec : args.serials()) {
            Optional<CharBackend> backend = CharBackends.parse(spec);
            if (backend.isEmpty()) {
                continue; // -serial none: no port at all
            }
            toClose.add(backend.get()::close);
            machine.addSerialPort(backend.get());
            serialPorts.add(new SerialPort("serial" + index++, backend.get()));
            LOG.log(Level.INFO, "COM" + index + ": " + backend.get().describe());
        }
    }

    /** Opens every {@code -drive}: {@code if=ide} ones are attached now, {@code if=none} ones wait for a -device. */
    private Map<String, DriveSpec> openIdeDrives() throws IOException {
        Map<String, DriveSpec> pending = new LinkedHashMap<>();
        for (String option : args.drives()) {
            DriveSpec spec = DriveSpec.parse(option);
            if (spec.iface() == DriveSpec.Interface.NONE) {
                String id = spec.id().orElseThrow(() -> new IllegalArgumentException(
                        "-drive " + option + ": if=none needs an id= for a -device to refer to"));
                if (pending.putIfAbsent(id, spec) != null) {
                    throw new IllegalArgumentException("-drive id=" + id + " is given twice");
                }
                continue;
            }
            int index = spec.index().orElseThrow(() -> new IllegalArgumentException(
                    "-drive " + option + ": if=ide needs index=0..3"));
            boolean cdrom = spec.media() == DriveSpec.Media.CDROM;
            attachDrive(index, spec, ideName(index, cdrom), cdrom);
        }
        return pending;
    }

    private void attachDrive(int index, DriveSpec spec, String device, boolean cdrom) throws IOException {
        if (machine.ide().drive(index) != null) {
            throw new IllegalArgumentException("IDE position " + index + " (" + device + ") is given twice");
        }
        Optional<BlockBackend> backend = BlockBackends.open(spec, loop);
        backend.ifPresent(b -> toClose.add(b::close));
        IdeDrive drive;
        if (cdrom) {
            drive = new AtapiCdrom(backend.orElse(null));
        } else {
            drive = new AtaDisk(backend.orElseThrow(() -> new IllegalArgumentException(
                    "-drive " + spec.label() + ": a hard disk needs file=")), spec.cache() != DriveSpec.Cache.WRITETHROUGH);
        }
        machine.ide().attach(index, drive);
        drives.add(new Drive(device, spec, backend, cdrom));
        LOG.log(Level.INFO, device + ": " + (cdrom ? "CD-ROM" : "disk") + " on IDE " + (index / 2 == 0 ? "primary" : "secondary")
                + (index % 2 == 0 ? " master" : " slave") + ", " + backend.map(BlockBackend::describe).orElse("no medium"));
    }

    /** QEMU's names for IDE drives, as query-block and libxenstat see them. */
    private static String ideName(int index, boolean cdrom) {
        return "ide" + (index / 2) + "-" + (cdrom ? "cd" : "hd") + (index % 2);
    }

    private void plugDevice(QemuOpts device, Map<String, DriveSpec> unattached, OptionRomFinder roms) throws IOException {
        String driver = device.require("driver");
        switch (driver) {
            case "e1000":
            case "rtl8139":
                plugNic(driver, device, roms);
                break;
            case "ide-cd":
            case "ide-hd": {
                QemuOpts opts = device.only(Set.of("driver", "id", "drive", "bus", "unit"));
                String driveId = opts.require("drive");
                DriveSpec spec = unattached.remove(driveId);
                if (spec == null) {
                    throw new IllegalArgumentException("-device " + driver + ": no -drive if=none,id=" + driveId);
                }
                String bus = opts.require("bus");
                if (!bus.matches("ide\\.[01]")) {
                    throw new IllegalArgumentException("-device " + driver + ",bus=" + bus + ": the IDE buses are ide.0 and ide.1");
                }
                int unit = opts.integer("unit", 0);
                if (unit != 0 && unit != 1) {
                    throw new IllegalArgumentException("-device " + driver + ",unit=" + unit + ": must be 0 or 1");
                }
                boolean cdrom = driver.equals("ide-cd");
                if (!cdrom && spec.media() == DriveSpec.Media.CDROM) {
                    throw new IllegalArgumentException("-device ide-hd cannot take the CD-ROM drive " + driveId);
                }
                // libxl names CD-ROM drives ide-<devnum>; QMP eject and change refer to that id.
                attachDrive((bus.charAt(4) - '0') * 2 + unit, spec, driveId, cdrom);
                break;
            }
            case "VGA":
                plugVga(device, roms, VgaModel.STD);
                break;
            case "cirrus-vga":
                plugVga(device, roms, VgaModel.CIRRUS);
                break;
            case "qxl-vga":
                throw new IllegalArgumentException("-device " + driver + ": stubdm has no QXL adapter; set "
                        + "vga=\"stdvga\" or vga=\"cirrus\" (or vga=\"none\") in the guest's xl config");
            default:
                throw new IllegalArgumentException("-device " + driver + ": stubdm has no such device (it has VGA, "
                        + "cirrus-vga, e1000, rtl8139, ide-hd and ide-cd)");
        }
    }

    /** The display adapters of {@code -device}: QEMU's name, default video RAM, VGA BIOS and PCI IDs. */
    private enum VgaModel {
        STD("VGA", 16, "vgabios-stdvga.bin", StdVga.VENDOR_BOCHS, StdVga.DEVICE_STD_VGA, "std"),
        CIRRUS("cirrus-vga", 8, "vgabios-cirrus.bin", CirrusVga.VENDOR_CIRRUS, CirrusVga.DEVICE_GD5446, "Cirrus GD5446");

        final String driver;
        final int defaultMiB;
        final String romfile;
        final int vendor;
        final int deviceId;
        final String label;

        VgaModel(String driver, int defaultMiB, String romfile, int vendor, int deviceId, String label) {
            this.driver = driver;
            this.defaultMiB = defaultMiB;
            this.romfile = romfile;
            this.vendor = vendor;
            this.deviceId = deviceId;
            this.label = label;
        }

        /** QEMU takes 1-256 MiB (a power of two) for the standard VGA, and 4, 8 or 16 MiB for the GD5446. */
        boolean validSize(int mib) {
            return this == CIRRUS ? mib == 4 || mib == 8 || mib == 16 : mib >= 1 && mib <= 256 && Integer.bitCount(mib) == 1;
        }
    }

    /**
     * {@code -device VGA,vgamem_mb=N} (xl's {@code vga="stdvga"}) or {@code -device cirrus-vga,vgamem_mb=N} (xl's
     * default): video RAM populated in the guest above its RAM block, as qemu-xen does it, and SeaBIOS's VGA BIOS
     * for the adapter in the ROM BAR.
     */
    private void plugVga(QemuOpts device, OptionRomFinder roms, VgaModel model) {
        if (display != null) {
            throw new IllegalArgumentException("-device " + model.driver + ": a second display adapter; stubdm has one");
        }
        QemuOpts opts = device.only(Set.of("driver", "id", "vgamem_mb", "addr", "romfile"));
        int vgamemMiB = opts.integer("vgamem_mb", model.defaultMiB);
        if (!model.validSize(vgamemMiB)) {
            throw new IllegalArgumentException("-device " + model.driver + ",vgamem_mb=" + vgamemMiB + ": video RAM "
                    + (model == VgaModel.CIRRUS ? "is 4, 8 or 16 MiB" : "is a power of two from 1 to 256 MiB"));
        }
        long lowMemoryTop = args.machine().maxRamBelow4g().orElse(GuestRamVideoMemory.DEFAULT_LOW_MEMORY_TOP);
        long home = GuestRamVideoMemory.homeAddress(args.memoryMiB() << 20, lowMemoryTop);
        GuestRamVideoMemory vram;
        try {
            vram = new GuestRamVideoMemory(hypervisor.deviceModel(args.domid()),
                    hypervisor.foreignMemory(args.domid()), home, vgamemMiB << 20);
        } catch (XenException e) {
            throw new IllegalArgumentException("-device " + model.driver + ": Xen would not give the guest its "
                    + vgamemMiB + " MiB of video RAM at 0x" + Long.toHexString(home) + " (" + e.getMessage()
                    + "); is videoram= in the xl config smaller than vgamem_mb?", e);
        }
        toClose.add(vram);
        String romfile = opts.get("romfile", model.romfile);
        Optional<OptionRom> bios = Optional.empty();
        if (!romfile.isEmpty()) {
            OptionRomFinder.Lookup lookup = roms.find(romfile, model.vendor, model.deviceId);
            lookup.warnings().forEach(w -> LOG.log(Level.WARNING, "VGA: " + w));
            bios = lookup.rom();
        }
        PciFunction adapter;
        if (model == VgaModel.CIRRUS) {
            CirrusVga cirrus = new CirrusVga(vram, bios);
            display = cirrus;
            adapter = cirrus;
        } else {
            StdVga std = new StdVga(vram, bios);
            display = std;
            adapter = std;
        }
        int slot = opts.get("addr") == null ? machine.nextFreeSlot() : parseSlot(opts.get("addr"));
        machine.plug(slot, adapter);
        for (StdVga.LegacyRange r : display.legacyRanges()) {
            (r.mmio() ? mmio : ports).register(r.base(), r.length(), r.device(), r.name());
        }
        LOG.log(Level.INFO, String.format("VGA (%s) at 00:%02x.0, %d MiB video RAM at 0x%x, %s", model.label, slot,
                vgamemMiB, home, bios.isPresent() ? "VGA BIOS " + romfile : "no VGA BIOS"));
    }

    /** The display adapter, if the command line has one. */
    public Optional<DisplayAdapter> display() {
        return Optional.ofNullable(display);
    }

    private void plugNic(String model, QemuOpts device, OptionRomFinder roms) {
        QemuOpts opts = device.only(Set.of("driver", "id", "netdev", "mac", "romfile", "addr"));
        String netdevId = opts.require("netdev");
        NetBackends.Netdev netdev = netdevs.get(netdevId);
        if (netdev == null) {
            throw new IllegalArgumentException("-device " + model + ",netdev=" + netdevId + ": no -netdev with that id");
        }
        if (nics.containsKey(netdevId)) {
            throw new IllegalArgumentException("-netdev " + netdevId + " is used by two NICs");
        }
        byte[] mac = parseMac(opts.get("mac", "52:54:00:12:34:" + String.format("%02x", 0x56 + nics.size())));
        Optional<OptionRom> rom = Optional.empty();
        String romfile = opts.get("romfile", args.globals(model).getOrDefault("romfile", NIC_ROMS.get(model)));
        if (!romfile.isEmpty()) {
            int vendor = model.equals("e1000") ? E1000.VENDOR_ID : Rtl8139.VENDOR_REALTEK;
            int deviceId = model.equals("e1000") ? E1000.DEVICE_ID : Rtl8139.DEVICE_8139;
            OptionRomFinder.Lookup lookup = roms.find(romfile, vendor, deviceId);
            lookup.warnings().forEach(w -> LOG.log(Level.WARNING, model + " " + netdevId + ": " + w));
            rom = lookup.rom();
        }
        int slot = opts.get("addr") == null ? machine.nextFreeSlot() : parseSlot(opts.get("addr"));
        PciFunction nic;
        BooleanSupplier linkUp;
        if (model.equals("e1000")) {
            E1000 e1000 = new E1000(loop, memory, netdev.backend(), mac, rom);
            nic = e1000;
            linkUp = e1000::linkUp;
        } else {
            nic = new Rtl8139(loop, memory, netdev.backend(), mac, rom);
            linkUp = () -> true; // its PHY is always linked (see Rtl8139)
        }
        machine.plug(slot, nic);
        nics.put(netdevId, new Nic(netdevId, model, nic, netdev.backend(), linkUp));
        LOG.log(Level.INFO, String.format("%s at 00:%02x.0, MAC %s, %s%s", model, slot, opts.get("mac", "(default)"),
                netdev.backend().describe(), rom.map(r -> ", option ROM " + r.name()).orElse(", no option ROM")));
    }

    static byte[] parseMac(String text) {
        String[] parts = text.split(":");
        if (parts.length != 6) {
            throw new IllegalArgumentException("mac=" + text + ": expected six hexadecimal bytes separated by ':'");
        }
        byte[] mac = new byte[6];
        for (int i = 0; i < 6; i++) {
            if (!parts[i].matches("[0-9A-Fa-f]{1,2}")) {
                throw new IllegalArgumentException("mac=" + text + ": '" + parts[i] + "' is not a hexadecimal byte");
            }
            mac[i] = (byte) Integer.parseInt(parts[i], 16);
        }
        if ((mac[0] & 1) != 0) {
            throw new IllegalArgumentException("mac=" + text + ": a multicast address cannot be a NIC's address");
        }
        return mac;
    }

    private int parseSlot(String addr) {
        String slotText = addr.contains(".") ? addr.substring(0, addr.indexOf('.')) : addr;
        if (addr.contains(".") && !addr.endsWith(".0")) {
            throw new IllegalArgumentException("addr=" + addr + ": stubdm's NICs are single-function (function 0)");
        }
        int slot;
        try {
            slot = Integer.decode(slotText.startsWith("0x") ? slotText : "0x" + slotText);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("addr=" + addr + ": not a PCI slot number");
        }
        if (slot < 3 || slot > 31 || machine.pciBus().function(slot << 3) != null) {
            throw new IllegalArgumentException("addr=" + addr + ": PCI slot " + slot + " is not free");
        }
        return slot;
    }

    /** Starts serving the guest on the device loop's own thread. */
    public synchronized void run() {
        if (!loopStarted) {
            loop.start();
            loopStarted = true;
        }
    }

    /** QMP {@code stop} and {@code cont}: a stopped device model leaves the guest's I/O to Xen's null handler. */
    public void setRunning(boolean on) {
        onLoop(() -> {
            server.setEnabled(on);
            return null;
        });
    }


    /**
     * Runs {@code action} on the device loop and waits for its result: how QMP (on its own thread) reads or
     * changes device state.
     */
    public <T> T onLoop(Supplier<T> action) {
        return loop.call(action, 10_000);
    }

    /** Posts {@code action} to the device loop without waiting: how input from a VNC client reaches the devices. */
    public void post(Runnable action) {
        loop.execute(action);
    }

    public DeviceModelArgs args() {
        return args;
    }

    public XenfvMachine machine() {
        return machine;
    }


    public List<SerialPort> serialPorts() {
        return List.copyOf(serialPorts);
    }

    public List<Drive> drives() {
        return List.copyOf(drives);
    }

    public List<Nic> nics() {
        return List.copyOf(nics.values());
    }

    /** What the ioreq engine has served and refused. */
    public IoreqStats ioreqStats() {
        return server.stats();
    }

    /** Where each answered vCPU request is reported, with its service time (metrics). */
    public void setIoreqObserver(IoreqObserver observer) {
        server.setObserver(observer);
    }

    public IoBus ports() {
        return ports;
    }

    public IoBus mmio() {
        return mmio;
    }

    public PciConfigBus pciConfig() {
        return pciConfig;
    }



    /** Stops the loop, destroys the ioreq server and closes every backend, newest first. Safe to call twice. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<AutoCloseable> reversed = new ArrayList<>(toClose);
        Collections.reverse(reversed);
        // The loop goes first, so no device touches a backend that is already closed.
        loop.close();
        for (AutoCloseable c : reversed) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.log(Level.WARNING, "closing: " + e.getMessage());
            }
        }
    }
}
