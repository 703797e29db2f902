package io.stubdm.runtime.stubdom.image;

import java.util.Objects;

/**
 * One member of a .deb's data.tar, as {@link DebPackage#entries()} lists it.
 *
 * @param path       normalised: no leading "./" or "/", no trailing "/"
 * @param type       what the tar header says the member is
 * @param mode       permission bits including setuid, setgid and sticky (e.g. 04755), without the file-type bits
 * @param size       content length in bytes; for a hard link the length of its target, 0 for directories and
 *                   symbolic links
 * @param linkTarget a symbolic link's target as written in the archive, a hard link's target path normalised;
 *                   null for files and directories
 */
public record DebEntry(String path, Type type, int mode, long size, String linkTarget) {

    /** The member kinds a Debian binary package carries (policy 10.9 keeps device files and FIFOs out of them). */
    public enum Type { FILE, DIRECTORY, SYMLINK, HARDLINK }

    public DebEntry {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(type, "type");
        boolean isLink = type == Type.SYMLINK || type == Type.HARDLINK;
        if (isLink != (linkTarget != null)) {
            throw new IllegalArgumentException(path + ": a " + type + " entry " + (isLink ? "needs" : "takes no")
                    + " link target");
        }
        if ((mode & ~07777) != 0) {
            throw new IllegalArgumentException(path + ": mode " + Integer.toOctalString(mode)
                    + " has bits beyond the permission bits 07777");
        }
    }
}
