package io.stubdm.devices.xenplatform;

import java.lang.System.Logger.Level;
import java.util.List;

/**
 * A disk controller's part in the unplug protocol, implemented by the IDE controller (and any later SATA or
 * SCSI one). Like QEMU's {@code pci_xen_ide_unplug}, it detaches its hard disks, never its CD-ROMs, and the
 * controller itself stays on the bus; a controller that lost a disk resets itself, so the guest does not see
 * a half-finished command on a drive that is gone.
 */
@FunctionalInterface
public interface DiskUnplugTarget {

    /** Detaches the hard disks, keeping the primary master when asked; returns the names of those detached. */
    List<String> unplugDisks(boolean keepPrimaryMaster);

    /** The machine's target while it emulates no disk controller: nothing to detach, which it says in the log. */
    static DiskUnplugTarget none() {
        return keepPrimaryMaster -> {
            System.getLogger(DiskUnplugTarget.class.getName()).log(Level.INFO, "no emulated disks to unplug");
            return List.of();
        };
    }
}
