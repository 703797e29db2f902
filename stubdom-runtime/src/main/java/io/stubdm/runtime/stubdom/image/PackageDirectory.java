package io.stubdm.runtime.stubdom.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A directory of downloaded .deb files, named as apt names them: {@code <package>_<version>_<arch>.deb}, with the
 * epoch's colon written {@code %3a}. Several versions of a package may sit side by side (a cache that apt-get
 * download keeps filling); the newest by Debian's ordering is the one used.
 */
final class PackageDirectory {
    private static final Pattern VERSION_EPOCH_COLON = Pattern.compile("%3[aA]");
    private static final Pattern VERSION = Pattern.compile("[A-Za-z0-9.+~:-]+");

    private PackageDirectory() {
    }

    /** The newest .deb of {@code name} for amd64 (or all). */
    static Path find(Path directory, String name) throws IOException {
        Path best = null;
        String bestVersion = null;
        for (Path deb : debs(directory)) {
            String[] parts = split(deb);
            if (parts != null && parts[0].equals(name) && usable(parts[2])
                    && (bestVersion == null || DebianVersion.compare(parts[1], bestVersion) > 0)) {
                best = deb;
                bestVersion = parts[1];
            }
        }
        if (best == null) {
            throw new IOException("no " + name + "_<version>_amd64.deb in " + directory
                    + " (apt-get download " + name + ", or stubdm stubdom-image --fetch)");
        }
        return best;
    }

    /** The newest version's package name among those whose name matches {@code regex} (e.g. kernels). */
    static Optional<String> newestMatching(Path directory, String regex) throws IOException {
        Pattern pattern = Pattern.compile(regex);
        String bestName = null;
        String bestVersion = null;
        for (Path deb : debs(directory)) {
            String[] parts = split(deb);
            if (parts != null && pattern.matcher(parts[0]).matches() && usable(parts[2])
                    && (bestVersion == null || DebianVersion.compare(parts[1], bestVersion) > 0)) {
                bestName = parts[0];
                bestVersion = parts[1];
            }
        }
        return Optional.ofNullable(bestName);
    }

    /** Packages an amd64 stub domain can take; {@link #find} and {@link #newestMatching} must agree on them. */
    private static boolean usable(String architecture) {
        return architecture.equals("amd64") || architecture.equals("all");
    }

    private static List<Path> debs(Path directory) throws IOException {
        if (!Files.isDirectory(directory)) {
            throw new IOException(directory + " is not a directory of .deb files");
        }
        try (Stream<Path> list = Files.list(directory)) {
            return new ArrayList<>(list.filter(p -> p.getFileName().toString().endsWith(".deb")).sorted().toList());
        }
    }

    /**
     * {name, version, arch}, or null for a file not named the apt way. apt writes the epoch's colon as %3a and leaves
     * the rest of a version as it is (a '+' stays a '+', so this is not URL decoding), and a version holds only
     * [A-Za-z0-9.+~:-] (Debian Policy §5.6.12): a name with anything else in its version is not apt's.
     */
    static String[] split(Path deb) {
        String file = deb.getFileName().toString();
        String stem = file.substring(0, file.length() - ".deb".length());
        String[] parts = stem.split("_");
        if (parts.length != 3) {
            return null;
        }
        parts[1] = VERSION_EPOCH_COLON.matcher(parts[1]).replaceAll(":");
        if (!VERSION.matcher(parts[1]).matches()) {
            return null;
        }
        return parts;
    }
}
