package io.stubdm.boottest;

import io.stubdm.backends.block.CompressedImageCache;
import io.stubdm.backends.block.Qcow2Backend;
import io.stubdm.backends.block.Qcow2Overlay;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The disk a boot test's guest gets, made so that the image itself is never written: a compressed image is
 * decompressed into a cache first; an ISO is a read-only CD-ROM; a disk image gets a copy-on-write overlay. In Dom0
 * placement that is a qcow2 overlay stubdm opens itself. A stub domain can only be given block devices (libxl would
 * back anything else with a QEMU qdisk in Dom0), so there the overlay is the kernel's: a device-mapper snapshot of
 * the image on a read-only loop device, its changes kept in a sparse file.
 */
final class GuestDisk implements AutoCloseable {
    private static final Duration TOOL_LIMIT = Duration.ofSeconds(60);

    /** The xl disk specification, e.g. {@code format=qcow2,vdev=hda,access=rw,target=/path}. */
    final String spec;
    /** xl's boot order: c (disk) or d (CD-ROM). */
    final String boot;
    final String description;
    private final List<List<String>> undo = new ArrayList<>();

    private GuestDisk(String spec, String boot, String description) {
        this.spec = spec;
        this.boot = boot;
        this.description = description;
    }

    static GuestDisk prepare(BootTestOptions o) throws IOException {
        Path image = o.image().toAbsolutePath().normalize();
        if (!Files.isRegularFile(image)) {
            throw new IOException(image + ": no such image");
        }
        if (CompressedImageCache.isCompressed(image)) {
            image = new CompressedImageCache(o.outDir().resolve("image-cache")).decompressed(image, (a, b) -> { });
        }
        String base = o.image().getFileName().toString().toLowerCase(Locale.ROOT).replaceAll("\\.(bz2|xz|gz)$", "");
        boolean iso = base.endsWith(".iso");
        String format = Qcow2Backend.isQcow2(image) ? "qcow2" : "raw";
        if (o.placement() == BootTestOptions.Placement.DOM0) {
            if (iso) {
                return new GuestDisk("format=raw,vdev=hdc,access=ro,devtype=cdrom,target=" + image, "d",
                        image + " as a read-only CD-ROM");
            }
            Path overlay = o.outDir().resolve(o.name() + ".overlay.qcow2");
            Qcow2Overlay.create(overlay, image, format);
            return new GuestDisk("format=qcow2,vdev=hda,access=rw,target=" + overlay, "c",
                    overlay + ", a qcow2 overlay over " + image + " (" + format + ")");
        }
        if (format.equals("qcow2")) {
            throw new IOException(image + " is a qcow2 image: a stub domain's disk must be raw on a block device "
                    + "(convert it with qemu-img convert -O raw, or boot it in Dom0 placement)");
        }
        String loop = Commands.run(TOOL_LIMIT, List.of("losetup", "--find", "--show", "--read-only", image.toString()))
                .strip();
        GuestDisk disk;
        if (iso) {
            disk = new GuestDisk("format=raw,vdev=hdc,access=ro,devtype=cdrom,target=" + loop, "d",
                    image + " on " + loop + " (read-only) as a CD-ROM");
            disk.undo.add(List.of("losetup", "-d", loop));
            return disk;
        }
        // A snapshot target: reads come from the origin (the image's loop, read-only) until written; writes go to
        // the exception store, a sparse file the size of the image, in 4 KiB chunks (8 sectors).
        Path cow = o.outDir().resolve(o.name() + ".cow");
        try {
            Files.deleteIfExists(cow);
            try (var f = new java.io.RandomAccessFile(cow.toFile(), "rw")) {
                f.setLength(Files.size(image));
            }
            String cowLoop = Commands.run(TOOL_LIMIT, List.of("losetup", "--find", "--show", cow.toString())).strip();
            long sectors = Files.size(image) / 512;
            String dm = "stubdm-" + o.name();
            List<List<String>> undo = new ArrayList<>();
            undo.add(List.of("losetup", "-d", cowLoop));
            undo.add(List.of("losetup", "-d", loop));
            try {
                Commands.run(TOOL_LIMIT, List.of("dmsetup", "create", dm, "--table",
                        "0 " + sectors + " snapshot " + loop + " " + cowLoop + " N 8"));
                // Without udev (a minimal Dom0, the nested lab's) nothing makes /dev/mapper/<name>: make it here.
                Commands.run(TOOL_LIMIT, List.of("dmsetup", "mknodes", dm));
            } catch (IOException e) {
                undo.add(0, List.of("dmsetup", "remove", dm));
                runAll(undo);
                throw new IOException("cannot make a copy-on-write device for the stub domain (dmsetup, Debian's "
                        + "dmsetup package, and the dm-snapshot module are needed): " + e.getMessage(), e);
            }
            disk = new GuestDisk("format=raw,vdev=hda,access=rw,target=/dev/mapper/" + dm, "c",
                    "/dev/mapper/" + dm + ", a device-mapper snapshot of " + image + " (on " + loop
                            + ", read-only) with its changes in " + cow);
            disk.undo.add(List.of("dmsetup", "remove", dm));
            disk.undo.addAll(undo);
            return disk;
        } catch (IOException | RuntimeException e) {
            try {
                Commands.run(TOOL_LIMIT, List.of("losetup", "-d", loop));
            } catch (IOException ignored) {
                // already reported by the failure being thrown
            }
            throw e;
        }
    }

    private static void runAll(List<List<String>> commands) {
        for (List<String> c : commands) {
            try {
                Commands.run(TOOL_LIMIT, c);
            } catch (IOException e) {
                System.getLogger(GuestDisk.class.getName()).log(System.Logger.Level.WARNING, e.getMessage());
            }
        }
    }

    /** Takes down the loop and device-mapper devices it set up, newest first. */
    @Override
    public void close() {
        runAll(undo);
        undo.clear();
    }
}
