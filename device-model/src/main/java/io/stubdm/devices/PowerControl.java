package io.stubdm.devices;

/**
 * What a device asks of the machine when the guest resets or powers off through it (port 0xCF9, i8042 command
 * 0xFE, ACPI PM1a_CNT). The machine resets its devices and tells Xen, before the guest's access is answered.
 */
public interface PowerControl {

    void requestReset(String cause);

    void requestPoweroff(String cause);

    /** ACPI S3: the guest asked to suspend to RAM. */
    default void requestSuspend(String cause) {
    }
}
