package io.stubdm.devices.xenplatform;

import io.stubdm.devices.pci.PciFunction;
import java.lang.System.Logger.Level;
import java.util.List;

/**
 * The machine's {@link EmulatedDeviceUnplug}: NICs leave the PCI bus through {@link PciNicUnplug}, disks are
 * detached by the disk controller's {@link DiskUnplugTarget}, and NVMe has nothing to remove because stubdm
 * emulates no NVMe controller.
 */
public final class PciDeviceUnplug implements EmulatedDeviceUnplug {
    private static final System.Logger LOG = System.getLogger(PciDeviceUnplug.class.getName());

    private final PciNicUnplug nics;
    private final DiskUnplugTarget disks;

    public PciDeviceUnplug(PciNicUnplug nics, DiskUnplugTarget disks) {
        this.nics = nics;
        this.disks = disks;
    }

    @Override
    public List<String> unplugDisks(boolean keepPrimaryMaster) {
        return disks.unplugDisks(keepPrimaryMaster);
    }

    @Override
    public List<String> unplugNics() {
        return nics.unplugNics().stream().map(PciFunction::toString).toList();
    }

    @Override
    public List<String> unplugNvme() {
        LOG.log(Level.INFO, "no emulated NVMe disks to unplug");
        return List.of();
    }
}
