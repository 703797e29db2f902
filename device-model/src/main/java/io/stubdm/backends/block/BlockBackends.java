package io.stubdm.backends.block;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Executor;

/**
 * Opens the backend a {@code -drive} names: {@code format=raw}, {@code host_device} or {@code qcow2}; when the format
 * is not given, qcow2 if the file starts with its magic and raw otherwise, as QEMU probes. A file named
 * {@code .bz2}, {@code .xz} or {@code .gz} is decompressed once through a {@link CompressedImageCache} and its copy
 * opened instead.
 */
public final class BlockBackends {
    private static final System.Logger LOG = System.getLogger(BlockBackends.class.getName());

    private BlockBackends() {
    }

    /**
     * Opens the drive's medium, compressed images cached beside themselves.
     *
     * @param completions where request completions run (the device loop)
     * @return empty for a drive without a file (an empty CD-ROM drive)
     * @throws IOException naming the drive, the file and what is wrong with it; nothing has been written to it
     */
    public static Optional<BlockBackend> open(DriveSpec drive, Executor completions) throws IOException {
        return open(drive, completions, new CompressedImageCache());
    }

    /** As {@link #open(DriveSpec, Executor)}, with compressed images cached by {@code compressedImages}. */
    public static Optional<BlockBackend> open(DriveSpec drive, Executor completions,
                                              CompressedImageCache compressedImages) throws IOException {
        if (drive.file().isEmpty()) {
            return Optional.empty();
        }
        BlockBackend backend;
        try {
            backend = openFile(drive.file().get(), drive, completions, compressedImages);
        } catch (IOException e) {
            throw new IOException("drive " + drive.label() + ": " + e.getMessage(), e);
        }
        LOG.log(Level.INFO, "drive {0}: {1}, {2} bytes, {3}, cache={4}", drive.label(), backend.describe(),
                backend.sizeBytes(), backend.readOnly() ? "read-only" : "read-write",
                drive.cache().name().toLowerCase());
        return Optional.of(backend);
    }

    private static BlockBackend openFile(Path file, DriveSpec drive, Executor completions,
                                         CompressedImageCache compressedImages) throws IOException {
        DriveSpec.Format format = drive.format().orElse(null);
        if (format == DriveSpec.Format.HOST_DEVICE) {
            boolean device;
            try {
                device = RawFileBackend.isDevice(file);
            } catch (NoSuchFileException e) {
                throw new IOException(file + ": no such file", e);
            }
            if (!device) {
                throw new IOException(file + ": format=host_device needs a block or character device, and this is "
                        + "not one (format=raw opens a regular file)");
            }
            return RawFileBackend.open(file, drive.readOnly(), drive.cache(), completions);
        }
        Path image = file;
        String description = null;
        if (CompressedImageCache.isCompressed(file)) {
            image = compressedImages.decompressed(file, (done, total) -> { });
            description = file + " (raw, decompressed into " + image + ")";
        }
        boolean probed = format == null;
        if (probed) {
            format = Qcow2Backend.isQcow2(image) ? DriveSpec.Format.QCOW2 : DriveSpec.Format.RAW;
        }
        if (format == DriveSpec.Format.QCOW2) {
            return Qcow2Backend.open(image, drive.readOnly(), drive.cache(), completions);
        }
        return RawFileBackend.open(image, description, drive.readOnly(), probed, drive.cache(), completions);
    }
}
