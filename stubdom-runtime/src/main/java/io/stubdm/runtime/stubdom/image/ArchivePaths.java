package io.stubdm.runtime.stubdom.image;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;
import java.util.StringJoiner;

/** Path spelling shared by the .deb reader and the initramfs writer, so a path read from one is a key of the other. */
final class ArchivePaths {

    /**
     * Byte-wise order of the UTF-8 spelling: what sort(1) under LC_ALL=C does, and unlike String.compareTo it does
     * not depend on UTF-16 surrogates. A parent is a prefix of its children, so it always sorts before them, which
     * the kernel's cpio unpacker needs (it does not create missing parent directories).
     */
    static final Comparator<String> BYTEWISE =
            (a, b) -> Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

    private ArchivePaths() {
    }

    /**
     * "./usr/bin/x", "/usr/bin/x" and "usr//bin/./x/" all become "usr/bin/x"; the archive root ("./", "/", ".")
     * becomes "". A ".." component is refused outright rather than resolved: in an archive it can only be a mistake
     * or an attempt to write outside the tree.
     *
     * @throws IllegalArgumentException for a ".." component or a NUL byte (which cpio and tar use as terminator)
     */
    static String normalise(String path) {
        if (path.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("path contains a NUL byte: " + path.replace('\0', '?'));
        }
        StringJoiner normalised = new StringJoiner("/");
        for (String component : path.split("/")) {
            if (component.equals("..")) {
                throw new IllegalArgumentException("path escapes the archive root with '..': " + path);
            }
            if (!component.isEmpty() && !component.equals(".")) {
                normalised.add(component);
            }
        }
        return normalised.toString();
    }

    /** The parent of a normalised path, "" for a top-level one. */
    static String parent(String normalisedPath) {
        int slash = normalisedPath.lastIndexOf('/');
        return slash < 0 ? "" : normalisedPath.substring(0, slash);
    }
}
