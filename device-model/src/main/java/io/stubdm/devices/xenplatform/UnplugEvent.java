package io.stubdm.devices.xenplatform;

import java.util.List;

/**
 * One unplug the guest asked the Xen platform device for: which kind of device, through which of the three
 * protocols, and what the machine removed (empty when nothing of that kind was left).
 */
public record UnplugEvent(Kind kind, Protocol protocol, List<String> removed) {

    public UnplugEvent {
        removed = List.copyOf(removed);
    }

    /** The device classes of the unplug mask ({@code docs/misc/hvm-emulated-unplug.pandoc}). */
    public enum Kind {
        /** Mask bit 0: all IDE and SCSI hard disks. */
        DISKS,
        /** Mask bit 2 without bit 0: IDE hard disks except the primary master. */
        DISKS_EXCEPT_PRIMARY_MASTER,
        /** Mask bit 1. */
        NICS,
        /** Mask bit 3. */
        NVME
    }

    /** How the request arrived. */
    public enum Protocol {
        /** The official protocol: a 16-bit mask written to port 0x10. */
        UNPLUG_MASK,
        /** Old SUSE PVonHVM drivers: 1 written to BAR0 + 4. */
        SUSE_BAR0,
        /** Old Novell VMDP drivers: 1 (disks) or 2 (NICs) written to BAR0 + 8. */
        VMDP_BAR0
    }
}
