package io.stubdm.runtime.metrics;

import io.stubdm.hypervisor.XenException;
import io.stubdm.hypervisor.XenStore;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The guests whose device models can be scraped, as Dom0's xenstore describes them, and where each one's QMP
 * socket is:
 * <ul>
 *   <li>a device model in Dom0 announces {@code /local/domain/0/device-model/<domid>/state = running} and serves
 *       QMP on {@code qmp-libxenstat-<domid>}, the monitor libxl creates for libxenstat (libxl keeps
 *       {@code qmp-libxl-<domid>} for itself);</li>
 *   <li>a device model in a stub domain S for guest G announces {@code /local/domain/S/device-model/G/state =
 *       running}, where {@code /local/domain/S/target = G}; Dom0 reaches its QMP through vchan-socket-proxy on
 *       {@code qmp-libxl-G}. S's own Dom0-side process (its consoles' backend, {@code -machine xenpv}) also has a
 *       {@code /local/domain/0/device-model/S} entry: it is not a guest's device model and is skipped.</li>
 * </ul>
 * Identities come only from nodes the toolstack owns: {@code target}, and the guest's {@code name} and {@code vm}.
 * A stub domain can write its own {@code device-model/} subtree, so it can at most claim (or deny) that its own
 * target's device model runs.
 */
public final class GuestDirectory {
    private static final System.Logger LOG = System.getLogger(GuestDirectory.class.getName());
    /** Where libxl puts the QMP sockets (and vchan-socket-proxy its ends of them). */
    public static final Path DEFAULT_QMP_DIR = Path.of("/var/run/xen");
    /** Guest domain ids: DOMID_FIRST_RESERVED (0x7FF0) and above are Xen's own. */
    private static final int MAX_GUEST_DOMID = 0x7FEF;
    private static final Pattern DOMID = Pattern.compile("[0-9]{1,5}");
    private static final Pattern UUID = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    /** Where a guest's device model runs, as the {@code placement} label says it. */
    public enum Placement {
        DOM0, STUBDOM;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * A device model to scrape: the guest's domain id, name and uuid (empty when xenstore has none that is well
     * formed), where its device model runs ({@code deviceModelDomid}: 0, or the stub domain's id) and its QMP socket.
     */
    public record Guest(int domid, String name, String uuid, Placement placement, int deviceModelDomid, Path socket) {
        @Override
        public String toString() {
            return "domain " + domid + " (" + name + (placement == Placement.STUBDOM
                    ? ", stub domain " + deviceModelDomid : "") + ")";
        }
    }

    private final XenStore xenstore;
    private final Path qmpDir;

    public GuestDirectory(XenStore xenstore, Path qmpDir) {
        this.xenstore = xenstore;
        this.qmpDir = qmpDir;
    }

    /**
     * The guests whose device model says it is running, by domain id. Entries that are malformed, or belong to a
     * domain going away while they are read, are left out (malformed ones with a warning).
     *
     * <p>Synchronized because scrapes may overlap and a xenstore connection is one conversation.
     *
     * @throws XenException when xenstore cannot be read at all
     */
    public synchronized List<Guest> guests() {
        Map<Integer, Guest> guests = new TreeMap<>();
        Set<Integer> stubDomains = new HashSet<>();
        for (String entry : children("/local/domain")) {
            OptionalInt stub = domid(entry);
            if (stub.isEmpty()) {
                continue; // not a domain's home; nothing of ours
            }
            String home = "/local/domain/" + stub.getAsInt();
            Optional<String> target = read(home + "/target");
            if (target.isEmpty()) {
                continue;
            }
            stubDomains.add(stub.getAsInt());
            OptionalInt guest = domid(target.get());
            if (guest.isEmpty()) {
                LOG.log(Level.WARNING, home + "/target = '" + target.get() + "' is not a guest's domain id; "
                        + "stub domain " + stub.getAsInt() + " is not scraped");
                continue;
            }
            int g = guest.getAsInt();
            if (running(home + "/device-model/" + g + "/state")) {
                describe(g, Placement.STUBDOM, stub.getAsInt(), qmpDir.resolve("qmp-libxl-" + g))
                        .ifPresent(d -> guests.put(g, d));
            }
        }
        for (String entry : children("/local/domain/0/device-model")) {
            OptionalInt domid = domid(entry);
            if (domid.isEmpty()) {
                LOG.log(Level.WARNING, "/local/domain/0/device-model/" + entry + " is not a guest's domain id; "
                        + "skipped");
                continue;
            }
            int d = domid.getAsInt();
            // A stub domain's entry is its consoles' backend; a guest that has a stub domain is served there.
            if (stubDomains.contains(d) || guests.containsKey(d)) {
                continue;
            }
            if (running("/local/domain/0/device-model/" + d + "/state")) {
                describe(d, Placement.DOM0, 0, qmpDir.resolve("qmp-libxenstat-" + d)).ifPresent(g -> guests.put(d, g));
            }
        }
        return List.copyOf(guests.values());
    }

    /** The guest's name and uuid; empty if its home has no name (it is being destroyed). */
    private Optional<Guest> describe(int domid, Placement placement, int deviceModelDomid, Path socket) {
        String home = "/local/domain/" + domid;
        Optional<String> name = read(home + "/name");
        if (name.isEmpty()) {
            return Optional.empty();
        }
        String uuid = "";
        Optional<String> vm = read(home + "/vm");
        String tail = vm.map(v -> v.startsWith("/vm/") ? v.substring("/vm/".length()) : "").orElse("");
        if (UUID.matcher(tail).matches()) {
            uuid = tail.toLowerCase(Locale.ROOT);
        } else {
            LOG.log(Level.WARNING, home + "/vm = " + vm.map(v -> "'" + v + "'").orElse("(missing)")
                    + " names no /vm/<uuid>; domain " + domid + " is reported with an empty uuid");
        }
        return Optional.of(new Guest(domid, name.get(), uuid, placement, deviceModelDomid, socket));
    }

    private boolean running(String statePath) {
        return read(statePath).map(s -> s.trim().equals("running")).orElse(false);
    }

    /** A node's value; empty when it is missing or cannot be read (a domain going away as it is looked at). */
    private Optional<String> read(String path) {
        try {
            return xenstore.read(path);
        } catch (XenException e) {
            LOG.log(Level.WARNING, "reading " + path + ": " + e.getMessage());
            return Optional.empty();
        }
    }

    /** A node's children; none when the node does not exist (no guest has a Dom0 device model yet). */
    private List<String> children(String path) {
        try {
            return new ArrayList<>(xenstore.directory(path));
        } catch (XenException e) {
            if (e.errno() == XenException.ENOENT) {
                return List.of();
            }
            throw e;
        }
    }

    private static OptionalInt domid(String text) {
        String t = text.trim();
        if (!DOMID.matcher(t).matches()) {
            return OptionalInt.empty();
        }
        int d = Integer.parseInt(t);
        return d >= 1 && d <= MAX_GUEST_DOMID ? OptionalInt.of(d) : OptionalInt.empty();
    }
}
