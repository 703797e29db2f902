package io.stubdm.runtime.stubdom.image;

/**
 * Debian's version ordering ([epoch:]upstream[-revision]; Debian Policy §5.6.12, dpkg's verrevcmp): which of two
 * downloaded .deb files of a package is the newer.
 */
public final class DebianVersion {
    private DebianVersion() {
    }

    /** Negative, zero or positive as {@code a} is older than, equal to or newer than {@code b}. */
    public static int compare(String a, String b) {
        long epochA = epoch(a);
        long epochB = epoch(b);
        if (epochA != epochB) {
            return Long.compare(epochA, epochB);
        }
        String restA = a.substring(a.indexOf(':') + 1);
        String restB = b.substring(b.indexOf(':') + 1);
        int dashA = restA.lastIndexOf('-');
        int dashB = restB.lastIndexOf('-');
        String upstreamA = dashA < 0 ? restA : restA.substring(0, dashA);
        String upstreamB = dashB < 0 ? restB : restB.substring(0, dashB);
        int c = compareParts(upstreamA, upstreamB);
        if (c != 0) {
            return c;
        }
        return compareParts(dashA < 0 ? "" : restA.substring(dashA + 1), dashB < 0 ? "" : restB.substring(dashB + 1));
    }

    private static long epoch(String version) {
        int colon = version.indexOf(':');
        if (colon < 0) {
            return 0;
        }
        try {
            return Long.parseLong(version.substring(0, colon));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("version '" + version + "': the epoch is not a number");
        }
    }

    /** Alternating non-digit and digit runs; '~' sorts before anything, even the end of the string. */
    private static int compareParts(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() || j < b.length()) {
            int firstDiff = 0;
            while ((i < a.length() && !Character.isDigit(a.charAt(i))) || (j < b.length() && !Character.isDigit(b.charAt(j)))) {
                int ac = i < a.length() && !Character.isDigit(a.charAt(i)) ? order(a.charAt(i)) : 0;
                int bc = j < b.length() && !Character.isDigit(b.charAt(j)) ? order(b.charAt(j)) : 0;
                if (ac != bc) {
                    return ac - bc;
                }
                i++;
                j++;
            }
            while (i < a.length() && a.charAt(i) == '0') {
                i++;
            }
            while (j < b.length() && b.charAt(j) == '0') {
                j++;
            }
            while (i < a.length() && Character.isDigit(a.charAt(i)) && j < b.length() && Character.isDigit(b.charAt(j))) {
                if (firstDiff == 0) {
                    firstDiff = a.charAt(i) - b.charAt(j);
                }
                i++;
                j++;
            }
            if (i < a.length() && Character.isDigit(a.charAt(i))) {
                return 1;
            }
            if (j < b.length() && Character.isDigit(b.charAt(j))) {
                return -1;
            }
            if (firstDiff != 0) {
                return firstDiff;
            }
        }
        return 0;
    }

    private static int order(char c) {
        if (Character.isLetter(c)) {
            return c;
        }
        if (c == '~') {
            return -1;
        }
        return c + 256;
    }
}
