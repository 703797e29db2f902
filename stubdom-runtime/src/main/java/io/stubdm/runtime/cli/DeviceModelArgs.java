package io.stubdm.runtime.cli;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a qemu-xen command line asks for, as libxl generates it (xen-dm-protocol.md §1), after parsing.
 * Specifications that another part of stubdm interprets (drives, netdevs, serial backends) are kept as QEMU
 * wrote them.
 */
public record DeviceModelArgs(
        int domid,
        Mode mode,
        String name,
        Machine machine,
        long memoryMiB,
        int vcpus,
        int maxVcpus,
        String bootOrder,
        List<QemuOpts> chardevs,
        List<QemuOpts> monitors,
        List<String> serials,
        List<QemuOpts> devices,
        List<String> netdevs,
        boolean noNetwork,
        List<String> drives,
        Optional<String> vnc,
        boolean startPaused,
        Optional<String> incoming,
        boolean noShutdown,
        Optional<String> romDirectory,
        Map<String, String> globals) {

    /** The {@code -global <driver>.<property>=<value>} defaults for {@code driver}'s devices, by property. */
    public Map<String, String> globals(String driver) {
        Map<String, String> props = new java.util.TreeMap<>();
        globals.forEach((k, v) -> {
            if (k.startsWith(driver + ".")) {
                props.put(k.substring(driver.length() + 1), v);
            }
        });
        return props;
    }

    /** {@code -machine xenfv} (HVM with the platform device), {@code pc,accel=xen} (without), or {@code xenpv}. */
    public enum Mode { XENFV, PC_XEN, XENPV }

    public record Machine(Mode type, boolean acpi, Optional<Long> maxRamBelow4g) {}

    /** The chardev with this id, as {@code -mon chardev=<id>} and {@code -device ...,chardev=} refer to it. */
    public Optional<QemuOpts> chardev(String id) {
        return chardevs.stream().filter(c -> id.equals(c.get("id"))).findFirst();
    }
}
