package io.stubdm.backends.block;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * One {@code -drive} option as libxl writes it for an HVM guest, parsed with QEMU's option syntax: comma-separated
 * {@code key=value} pairs, {@code ,,} standing for a literal comma inside a value, a bare {@code key} meaning
 * {@code key=on}. The forms libxl produces (xen-dm-protocol.md §1.2 item 14, §4.3):
 * <ul>
 *   <li>{@code file=/p,if=ide,index=0,media=disk,format=raw,cache=writeback} (a disk; {@code format=host_device}
 *       and {@code file=/dev/xvda} in a stub domain);</li>
 *   <li>{@code if=none,readonly=on,id=ide-5632[,file=/p,format=raw]} (a CD-ROM, the drive of an
 *       {@code -device ide-cd}; no {@code file} means an empty drive).</li>
 * </ul>
 * Keys stubdm cannot honour are refused by name rather than ignored, so a configuration never silently means
 * something else than it says.
 *
 * @param file     the image or device; empty for a drive without a medium
 * @param iface    {@code if=}: where the drive is attached
 * @param index    {@code index=}: the IDE position, 0..3 (primary master, primary slave, secondary master, ...)
 * @param media    {@code media=}
 * @param format   {@code format=}; empty means probe the file, as QEMU does
 * @param cache    {@code cache=}, default {@code writeback}
 * @param readOnly {@code readonly=on}, or implied by {@code media=cdrom}
 * @param id       {@code id=}, the name {@code -device ...,drive=} and QMP refer to
 */
public record DriveSpec(Optional<Path> file, Interface iface, OptionalInt index, Media media, Optional<Format> format,
                        Cache cache, boolean readOnly, Optional<String> id) {

    /** The {@code if=} values stubdm serves: its only disk controller is the PIIX3 IDE. */
    public enum Interface { IDE, NONE }

    public enum Media { DISK, CDROM }

    /** Image formats stubdm opens; compressed raw images are recognised by their file name, not by a format. */
    public enum Format {
        RAW, HOST_DEVICE, QCOW2;

        public String qemuName() {
            return name().toLowerCase();
        }
    }

    /**
     * QEMU's {@code cache=} modes. Java offers no O_DIRECT, so {@link #NONE} and {@link #DIRECTSYNC} cannot bypass
     * the host page cache; both are served as {@link #WRITETHROUGH}, which is at least as durable.
     */
    public enum Cache {
        /** Writes complete into the host page cache; a guest flush reaches stable storage. */
        WRITEBACK,
        /** Every write reaches stable storage before it completes. */
        WRITETHROUGH,
        NONE,
        DIRECTSYNC,
        /** Guest flushes are ignored: fast, and a host crash may lose or tear anything. */
        UNSAFE;

        /** Whether each write must be on stable storage before it completes. */
        public boolean syncsEveryWrite() {
            return this == WRITETHROUGH || this == NONE || this == DIRECTSYNC;
        }
    }

    /** IDE on xenfv has two channels of two devices each. */
    private static final int IDE_POSITIONS = 4;
    private static final Pattern ID = Pattern.compile("[A-Za-z][A-Za-z0-9._-]*");

    /**
     * Parses a {@code -drive} argument.
     *
     * @throws IllegalArgumentException naming the key or value that is malformed, unknown or not supported
     */
    public static DriveSpec parse(String option) {
        Map<String, String> opts = split(option);
        Optional<Path> file = Optional.ofNullable(opts.remove("file")).filter(f -> !f.isEmpty()).map(Path::of);
        Interface iface = Interface.IDE;
        String ifValue = opts.remove("if");
        if (ifValue != null) {
            iface = switch (ifValue) {
                case "ide" -> Interface.IDE;
                case "none" -> Interface.NONE;
                default -> throw bad(option, "if=" + ifValue + ": stubdm emulates an IDE controller only (if=ide, "
                        + "or if=none for a drive that -device ide-cd or ide-hd refers to)");
            };
        }
        OptionalInt index = OptionalInt.empty();
        String indexValue = opts.remove("index");
        if (indexValue != null) {
            index = OptionalInt.of(parseIndex(option, indexValue, iface));
        }
        Media media = Media.DISK;
        String mediaValue = opts.remove("media");
        if (mediaValue != null) {
            media = switch (mediaValue) {
                case "disk" -> Media.DISK;
                case "cdrom" -> Media.CDROM;
                default -> throw bad(option, "media=" + mediaValue + ": must be disk or cdrom");
            };
        }
        Optional<Format> format = Optional.ofNullable(opts.remove("format")).map(f -> parseFormat(option, f));
        Cache cache = Cache.WRITEBACK;
        String cacheValue = opts.remove("cache");
        if (cacheValue != null) {
            cache = Arrays.stream(Cache.values()).filter(c -> c.name().toLowerCase().equals(cacheValue)).findFirst()
                    .orElseThrow(() -> bad(option, "cache=" + cacheValue
                            + ": must be writeback, writethrough, none, directsync or unsafe"));
        }
        boolean readOnly = false;
        String readOnlyValue = opts.remove("readonly");
        if (readOnlyValue != null) {
            readOnly = parseBool(option, "readonly", readOnlyValue);
        }
        Optional<String> id = Optional.ofNullable(opts.remove("id"));
        if (id.isPresent() && !ID.matcher(id.get()).matches()) {
            throw bad(option, "id=" + id.get() + ": must start with a letter and hold only letters, digits, "
                    + "'-', '.' and '_'");
        }
        if (!opts.isEmpty()) {
            throw bad(option, "unknown key" + (opts.size() > 1 ? "s " : " ")
                    + opts.keySet().stream().sorted().map(k -> "'" + k + "'").collect(Collectors.joining(", "))
                    + " (stubdm understands file, if, index, media, format, cache, readonly, id)");
        }
        // A CD-ROM is read-only whatever readonly= says, as in QEMU.
        return new DriveSpec(file, iface, index, media, format, cache, readOnly || media == Media.CDROM, id);
    }

    /** The drive's name for messages: its id, else the one QEMU would give it ({@code ide0-hd1}), else its file. */
    public String label() {
        if (id.isPresent()) {
            return id.get();
        }
        if (iface == Interface.IDE && index.isPresent()) {
            int i = index.getAsInt();
            return "ide" + i / 2 + (media == Media.CDROM ? "-cd" : "-hd") + i % 2;
        }
        return file.map(Path::toString).orElse("without a file");
    }

    private static Map<String, String> split(String option) {
        if (option == null || option.isEmpty()) {
            throw new IllegalArgumentException("empty -drive option");
        }
        Map<String, String> opts = new HashMap<>();
        int i = 0;
        while (i < option.length()) {
            int keyEnd = i;
            while (keyEnd < option.length() && option.charAt(keyEnd) != '=' && option.charAt(keyEnd) != ',') {
                keyEnd++;
            }
            String key = option.substring(i, keyEnd);
            if (key.isEmpty()) {
                throw bad(option, "empty key at position " + i);
            }
            String value;
            if (keyEnd < option.length() && option.charAt(keyEnd) == '=') {
                StringBuilder v = new StringBuilder();
                i = keyEnd + 1;
                // QEMU's get_opt_value: a doubled comma is a literal comma, a single one ends the value.
                while (i < option.length()) {
                    char c = option.charAt(i);
                    if (c == ',') {
                        if (i + 1 < option.length() && option.charAt(i + 1) == ',') {
                            v.append(',');
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    v.append(c);
                    i++;
                }
                value = v.toString();
            } else {
                value = "on";
                i = keyEnd;
            }
            if (opts.put(key, value) != null) {
                throw bad(option, "key '" + key + "' given twice");
            }
            i++; // the separating comma
        }
        return opts;
    }

    private static int parseIndex(String option, String value, Interface iface) {
        int index;
        try {
            index = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw bad(option, "index=" + value + ": not a number");
        }
        if (index < 0 || (iface == Interface.IDE && index >= IDE_POSITIONS)) {
            throw bad(option, "index=" + value + ": IDE has positions 0 to " + (IDE_POSITIONS - 1));
        }
        return index;
    }

    private static Format parseFormat(String option, String value) {
        return Arrays.stream(Format.values()).filter(f -> f.qemuName().equals(value)).findFirst()
                .orElseThrow(() -> bad(option, "format=" + value + ": not supported; stubdm opens raw, host_device "
                        + "and qcow2 images, and raw images compressed as .bz2, .xz or .gz"));
    }

    private static boolean parseBool(String option, String key, String value) {
        return switch (value) {
            case "on", "yes", "true", "y" -> true;
            case "off", "no", "false", "n" -> false;
            default -> throw bad(option, key + "=" + value + ": must be on or off");
        };
    }

    private static IllegalArgumentException bad(String option, String what) {
        return new IllegalArgumentException("-drive " + option + ": " + what);
    }
}
