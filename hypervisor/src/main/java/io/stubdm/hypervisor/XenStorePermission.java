package io.stubdm.hypervisor;

/**
 * One xenstore permission entry as xenstored writes it: a letter for the access and the domain id,
 * e.g. {@code n0} (owner dom0, no access for others), {@code r5} (domain 5 may read), {@code b3} (read and write).
 */
public record XenStorePermission(int domid, Access access) {

    public enum Access {
        NONE('n'), READ('r'), WRITE('w'), BOTH('b');

        public final char letter;

        Access(char letter) {
            this.letter = letter;
        }

        public boolean canRead() {
            return this == READ || this == BOTH;
        }

        public boolean canWrite() {
            return this == WRITE || this == BOTH;
        }

        public static Access of(char letter) {
            for (Access a : values()) {
                if (a.letter == letter) {
                    return a;
                }
            }
            throw new IllegalArgumentException("unknown xenstore permission letter '" + letter + "'");
        }
    }

    public XenStorePermission {
        if (domid < 0 || domid > 0xffff) {
            throw new IllegalArgumentException("domain id out of range: " + domid);
        }
        if (access == null) {
            throw new IllegalArgumentException("access is required");
        }
    }

    /** Parses {@code n0}, {@code r5}, {@code b3}, {@code w12}. */
    public static XenStorePermission parse(String text) {
        if (text == null || text.length() < 2) {
            throw new IllegalArgumentException("bad xenstore permission '" + text + "'");
        }
        int domid;
        try {
            domid = Integer.parseInt(text.substring(1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad domain id in xenstore permission '" + text + "'");
        }
        return new XenStorePermission(domid, Access.of(text.charAt(0)));
    }

    @Override
    public String toString() {
        return access.letter + Integer.toString(domid);
    }
}
