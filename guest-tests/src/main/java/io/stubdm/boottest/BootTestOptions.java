package io.stubdm.boottest;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * One boot test: the image and the guest around it (placement, NIC, memory, adapter), the profile it must follow,
 * and where its results go. {@code xl} and {@code qmpDir} are Xen's tools and QMP sockets (replaced in tests).
 */
public record BootTestOptions(Path image, Profile profile, Placement placement, String nic, int memoryMiB, String vga,
        Path stubdm, int stubdomMemoryMiB, String bridge, List<String> extraConfig, Path outDir, String name,
        String xl, Path qmpDir, Duration createTimeout) {

    public enum Placement {
        /** The device model in Dom0 (device_model_override). */
        DOM0("dom0"),
        /** The device model in a stub domain (device_model_stubdomain_override = 1). */
        STUBDOM("stubdom");

        private final String label;

        Placement(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }

        public static Placement parse(String s) {
            for (Placement p : values()) {
                if (p.label.equals(s)) {
                    return p;
                }
            }
            throw new IllegalArgumentException("placement " + s + ": dom0 or stubdom");
        }
    }

    public BootTestOptions {
        extraConfig = List.copyOf(extraConfig);
        if (!nic.equals("e1000") && !nic.equals("rtl8139")) {
            throw new IllegalArgumentException("NIC " + nic + ": e1000 or rtl8139");
        }
        if (!vga.equals("none") && !vga.equals("stdvga") && !vga.equals("cirrus")) {
            throw new IllegalArgumentException("VGA " + vga + ": none, stdvga or cirrus");
        }
        if (memoryMiB < 16 || stubdomMemoryMiB < 64) {
            throw new IllegalArgumentException("memory " + memoryMiB + " MiB (at least 16), stub domain "
                    + stubdomMemoryMiB + " MiB (at least 64)");
        }
        if (!name.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,40}")) {
            throw new IllegalArgumentException("guest name " + name + ": letters, digits, '.', '_' and '-', at most 41");
        }
        for (String line : extraConfig) {
            if (line.contains("\n") || !line.matches("\\s*[a-z_]+\\s*=.*")) {
                throw new IllegalArgumentException("xl config line '" + line + "': expected key = value");
            }
        }
    }
}
