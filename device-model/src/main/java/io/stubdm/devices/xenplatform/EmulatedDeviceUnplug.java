package io.stubdm.devices.xenplatform;

import java.util.List;

/**
 * What the Xen platform device asks of the machine when a guest's PV drivers take over
 * ({@code docs/misc/hvm-emulated-unplug.pandoc}): the emulated devices of one kind vanish from their buses, so
 * the guest does not drive the same disk or network both through an emulated controller and through
 * blkfront/netfront. Each method runs on the device loop, inside the guest's port write, and returns what it
 * removed (empty when there was nothing left), for the device's unplug record.
 *
 * <p>Unplugged devices stay gone until the domain is rebuilt: a device-model reset does not bring them back,
 * and {@code xl reboot} re-creates the domain anyway.
 */
public interface EmulatedDeviceUnplug {

    /**
     * Every emulated IDE and SCSI hard disk, never a CD-ROM (installers and FreeBSD's blkfront rely on the
     * emulated CD). With {@code keepPrimaryMaster}, the IDE primary master stays (the protocol's "aux disks").
     */
    List<String> unplugDisks(boolean keepPrimaryMaster);

    /** Every emulated PCI network controller. */
    List<String> unplugNics();

    /** Every emulated NVMe controller. */
    List<String> unplugNvme();
}
