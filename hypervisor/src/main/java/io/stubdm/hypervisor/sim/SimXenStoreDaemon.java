package io.stubdm.hypervisor.sim;

import static io.stubdm.hypervisor.XenException.E2BIG;
import static io.stubdm.hypervisor.XenException.EACCES;
import static io.stubdm.hypervisor.XenException.EINVAL;
import static io.stubdm.hypervisor.XenException.ENOENT;
import static io.stubdm.hypervisor.XenException.EPERM;

import io.stubdm.hypervisor.XenException;
import io.stubdm.hypervisor.XenStore;
import io.stubdm.hypervisor.XenStorePermission;
import io.stubdm.hypervisor.XenStorePermission.Access;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * An in-process xenstored for tests: the one node tree of a simulated host, shared by every {@link #connect
 * connection}, with the C xenstored's (Xen 4.17) rules for paths, permissions, errors and watch events.
 *
 * <p>Where the rules are not obvious:
 * <ul>
 *   <li>Dom0 bypasses permission checks. For any other domain the owner (first entry) has full access, else the
 *       domain's own later entry applies, else the first entry's access.</li>
 *   <li>A missing node is reported (empty read, {@code ENOENT}) only if its nearest existing ancestor grants the
 *       access asked for; otherwise {@code EACCES}, so that a domain cannot probe what it may not see.</li>
 *   <li>{@code mkdir} of an existing node still needs write access to it; only the owner may set permissions, and a
 *       domain other than dom0 may not hand the node to another owner ({@code EPERM}).</li>
 *   <li>A write's payload ({@code path NUL value}) is limited to 4096 bytes ({@code E2BIG}), as libxenstore limits
 *       every request; the value alone therefore gets {@code 4095 - path length} bytes.</li>
 *   <li>Removing a node fires, children first, the watches set exactly on each removed descendant (with its own path)
 *       and, last, the watches on the removed node and above it (with the removed path). A watch on an absent path
 *       below the removed node hears nothing.</li>
 *   <li>A domain other than dom0 hears about a change only if it may read the node or its parent (before a removal,
 *       or before or after a permission change).</li>
 *   <li>{@code @introduceDomain}/{@code @releaseDomain} events reach connections whose domain may read that special
 *       name's permissions ({@code n0} until dom0 sets others), and match watches on the name itself and on
 *       {@code /}, which xenstored treats as the parent of everything.</li>
 * </ul>
 * Not simulated: transactions, quotas, relative paths, {@code SET_TARGET}, and the {@code /tool/xenstored} node.
 * Unlike xenstored, removing a node whose parent is also missing is not an error ({@link XenStore#rm}'s contract).
 */
public final class SimXenStoreDaemon {

    static final int ABS_PATH_MAX = 3072;
    static final int PAYLOAD_MAX = 4096;
    /** xenstored's limit on special watch paths ({@code XENSTORE_REL_PATH_MAX}). */
    static final int SPECIAL_PATH_MAX = 2048;

    private static final int DOMID_FIRST_RESERVED = 0x7ff0;
    private static final String INTRODUCE_DOMAIN = "@introduceDomain";
    private static final String RELEASE_DOMAIN = "@releaseDomain";
    private static final List<XenStorePermission> DOM0_ONLY = List.of(new XenStorePermission(0, Access.NONE));

    /** Guards the tree, the connections and every connection's watch list. */
    final Object lock = new Object();

    private final Node root = new Node("/", null, DOM0_ONLY);
    private final Map<String, List<XenStorePermission>> specialPermissions =
            new HashMap<>(Map.of(INTRODUCE_DOMAIN, DOM0_ONLY, RELEASE_DOMAIN, DOM0_ONLY));
    private final List<SimXenStore> connections = new ArrayList<>();

    /** A connection acting as {@code domid}; dom0's is privileged. */
    public XenStore connect(int domid) {
        if (domid < 0 || domid >= DOMID_FIRST_RESERVED) {
            throw new IllegalArgumentException("not a domain id: " + domid);
        }
        synchronized (lock) {
            SimXenStore connection = new SimXenStore(this, domid);
            connections.add(connection);
            return connection;
        }
    }

    /** Fires {@code @introduceDomain}, as xenstored does when the toolstack introduces a new domain. */
    public void introduceDomain(int domid) {
        requireGuestDomid(domid);
        synchronized (lock) {
            fireSpecialWatches(INTRODUCE_DOMAIN);
        }
    }

    /** Fires {@code @releaseDomain}, as xenstored does when a domain shuts down, crashes or is released. */
    public void releaseDomain(int domid) {
        requireGuestDomid(domid);
        synchronized (lock) {
            fireSpecialWatches(RELEASE_DOMAIN);
        }
    }

    /**
     * Every node as {@code path = "value" (perms)}, one a line, parents before children and siblings by name;
     * quotes, backslashes and control characters in values are escaped.
     */
    public String dump() {
        StringBuilder out = new StringBuilder();
        synchronized (lock) {
            appendTree(root, out);
        }
        return out.toString();
    }

    Optional<String> read(SimXenStore caller, String path) {
        synchronized (lock) {
            caller.requireOpen();
            requireValidPath("xs_read", path);
            Node node = lookup(caller, "xs_read", path, Need.READ);
            return node == null ? Optional.empty() : Optional.of(node.value);
        }
    }

    void write(SimXenStore caller, String path, String value) {
        Objects.requireNonNull(value, "value");
        synchronized (lock) {
            caller.requireOpen();
            requireValidPath("xs_write", path);
            requirePayloadFits("xs_write", path, utf8Length(path) + 1 + utf8Length(value));
            Node node = lookup(caller, "xs_write", path, Need.WRITE);
            if (node == null) {
                node = create(caller.ownDomid(), path);
            }
            node.value = value;
            fireChangeWatches(path, node, null);
        }
    }

    void mkdir(SimXenStore caller, String path) {
        synchronized (lock) {
            caller.requireOpen();
            requireValidPath("xs_mkdir", path);
            if (lookup(caller, "xs_mkdir", path, Need.WRITE) == null) {
                fireChangeWatches(path, create(caller.ownDomid(), path), null);
            }
        }
    }

    void rm(SimXenStore caller, String path) {
        synchronized (lock) {
            caller.requireOpen();
            requireValidPath("xs_rm", path);
            Node node = lookup(caller, "xs_rm", path, Need.WRITE);
            if (node == null) {
                return;
            }
            if (node == root) {
                throw new XenException("xs_rm", EINVAL, "cannot remove /");
            }
            // Before unlinking: whether a watcher may hear of a removal depends on the removed nodes' permissions.
            fireRemovalWatches(node, node);
            node.parent.children.remove(node.name());
        }
    }

    List<String> directory(SimXenStore caller, String path) {
        synchronized (lock) {
            caller.requireOpen();
            requireValidPath("xs_directory", path);
            return List.copyOf(requireNode(caller, "xs_directory", path, Need.READ).children.keySet());
        }
    }

    List<XenStorePermission> getPermissions(SimXenStore caller, String path) {
        synchronized (lock) {
            caller.requireOpen();
            requireValidPath("xs_get_permissions", path);
            return requireNode(caller, "xs_get_permissions", path, Need.READ).permissions;
        }
    }

    void setPermissions(SimXenStore caller, String path, List<XenStorePermission> permissions) {
        String op = "xs_set_permissions";
        synchronized (lock) {
            caller.requireOpen();
            List<XenStorePermission> newPermissions = List.copyOf(permissions);
            if (newPermissions.isEmpty()) {
                throw new XenException(op, EINVAL, "no permissions for " + describe(path));
            }
            if (path != null && path.startsWith("@")) {
                setSpecialPermissions(caller, path, newPermissions);
                return;
            }
            requireValidPath(op, path);
            Node node = requireNode(caller, op, path, Need.OWNERSHIP);
            if (caller.ownDomid() != 0 && newPermissions.get(0).domid() != node.permissions.get(0).domid()) {
                throw new XenException(op, EPERM, "only dom0 may change the owner of " + path);
            }
            List<XenStorePermission> oldPermissions = node.permissions;
            node.permissions = newPermissions;
            fireChangeWatches(path, node, oldPermissions);
        }
    }

    XenStore.Watch watch(SimXenStore caller, String path, String token, Consumer<String> onChange) {
        Objects.requireNonNull(token, "token");
        Objects.requireNonNull(onChange, "onChange");
        synchronized (lock) {
            caller.requireOpen();
            boolean special = path != null && path.startsWith("@");
            if (special ? utf8Length(path) > SPECIAL_PATH_MAX : !isValidPath(path)) {
                throw new XenException("xs_watch", EINVAL, "bad watch path " + describe(path));
            }
            requirePayloadFits("xs_watch", path, utf8Length(path) + 1 + utf8Length(token) + 1);
            return caller.addWatch(path, token, onChange);
        }
    }

    void disconnected(SimXenStore connection) {
        connections.remove(connection);
    }

    private void setSpecialPermissions(SimXenStore caller, String name, List<XenStorePermission> permissions) {
        List<XenStorePermission> current = specialPermissions.get(name);
        if (current == null) {
            throw new XenException("xs_set_permissions", EINVAL, "no special node " + describe(name));
        }
        if (!owns(caller.ownDomid(), current)) {
            throw new XenException("xs_set_permissions", EACCES, name);
        }
        specialPermissions.put(name, permissions);
    }

    /**
     * xenstored's {@code get_node()}: the node if the caller has the access; {@code null} if it is absent and the
     * nearest existing ancestor would grant the access; {@code EACCES} otherwise.
     */
    private Node lookup(SimXenStore caller, String op, String path, Need need) {
        int domid = caller.ownDomid();
        Node node = root;
        for (String name : names(path)) {
            Node child = node.children.get(name);
            if (child == null) {
                if (!need.grantedAboveAbsentNode(domid, node.permissions)) {
                    throw new XenException(op, EACCES, path);
                }
                return null;
            }
            node = child;
        }
        if (!need.granted(domid, node.permissions)) {
            throw new XenException(op, EACCES, path);
        }
        return node;
    }

    private Node requireNode(SimXenStore caller, String op, String path, Need need) {
        Node node = lookup(caller, op, path, need);
        if (node == null) {
            throw new XenException(op, ENOENT, path);
        }
        return node;
    }

    /** Creates the node and its missing parents, each inheriting its parent's permissions. */
    private Node create(int creatorDomid, String path) {
        Node node = root;
        for (String name : names(path)) {
            Node parent = node;
            node = parent.children.computeIfAbsent(name,
                    n -> new Node(childPath(parent, n), parent, inheritedPermissions(parent.permissions, creatorDomid)));
        }
        return node;
    }

    /** What a node created by {@code creatorDomid} under a node with {@code parentPermissions} gets. */
    private static List<XenStorePermission> inheritedPermissions(List<XenStorePermission> parentPermissions,
                                                                 int creatorDomid) {
        if (creatorDomid == 0) {
            return parentPermissions;
        }
        // A domain owns what it creates, so it can always read back and remove its own nodes.
        List<XenStorePermission> permissions = new ArrayList<>(parentPermissions);
        permissions.set(0, new XenStorePermission(creatorDomid, parentPermissions.get(0).access()));
        return List.copyOf(permissions);
    }

    private void fireRemovalWatches(Node node, Node removedRoot) {
        for (Node child : node.children.values()) {
            fireRemovalWatches(child, removedRoot);
        }
        fireWatches(node.path, node == removedRoot, watcher -> mayHearOf(watcher.ownDomid(), node, null));
    }

    private void fireChangeWatches(String path, Node node, List<XenStorePermission> oldPermissions) {
        fireWatches(path, true, watcher -> mayHearOf(watcher.ownDomid(), node, oldPermissions));
    }

    private void fireSpecialWatches(String name) {
        fireWatches(name, true, watcher -> accessOf(watcher.ownDomid(), specialPermissions.get(name)).canRead());
    }

    /**
     * Posts {@code path} to the watches of permitted connections that are set on {@code path} itself or, when
     * {@code alsoAbove}, on any of its ancestors.
     */
    private void fireWatches(String path, boolean alsoAbove, Predicate<SimXenStore> permitted) {
        for (SimXenStore connection : connections) {
            if (!permitted.test(connection)) {
                continue;
            }
            for (SimXenStore.RegisteredWatch watch : connection.watches()) {
                if (alsoAbove ? isChild(path, watch.path()) : path.equals(watch.path())) {
                    connection.post(watch, path);
                }
            }
        }
    }

    /**
     * xenstored's {@code watch_permitted()}: a watcher hears of a change to a node it or its parent lets it read, and
     * of a permission change that takes its read access away.
     */
    private static boolean mayHearOf(int domid, Node node, List<XenStorePermission> oldPermissions) {
        return oldPermissions != null && accessOf(domid, oldPermissions).canRead()
                || accessOf(domid, node.permissions).canRead()
                || node.parent != null && accessOf(domid, node.parent.permissions).canRead();
    }

    private static boolean isChild(String path, String ancestor) {
        return ancestor.equals("/") || path.equals(ancestor) || path.startsWith(ancestor + "/");
    }

    private static boolean owns(int domid, List<XenStorePermission> permissions) {
        return domid == 0 || permissions.get(0).domid() == domid;
    }

    /** xenstored's {@code perm_for_conn()}. */
    private static Access accessOf(int domid, List<XenStorePermission> permissions) {
        if (owns(domid, permissions)) {
            return Access.BOTH;
        }
        for (XenStorePermission permission : permissions.subList(1, permissions.size())) {
            if (permission.domid() == domid) {
                return permission.access();
            }
        }
        return permissions.get(0).access();
    }

    private enum Need {
        READ, WRITE, OWNERSHIP;

        boolean granted(int domid, List<XenStorePermission> permissions) {
            return switch (this) {
                case READ -> accessOf(domid, permissions).canRead();
                case WRITE -> accessOf(domid, permissions).canWrite();
                case OWNERSHIP -> owns(domid, permissions);
            };
        }

        /** xenstored reveals that a node is absent to whoever could read, or write, where it would be. */
        boolean grantedAboveAbsentNode(int domid, List<XenStorePermission> ancestorPermissions) {
            Access access = accessOf(domid, ancestorPermissions);
            return this == READ ? access.canRead() : access.canWrite();
        }
    }

    private static void requireGuestDomid(int domid) {
        if (domid <= 0 || domid >= DOMID_FIRST_RESERVED) {
            throw new IllegalArgumentException("not a guest domain id: " + domid);
        }
    }

    private static void requireValidPath(String op, String path) {
        if (!isValidPath(path)) {
            throw new XenException(op, EINVAL, "bad path " + describe(path));
        }
    }

    private static boolean isValidPath(String path) {
        return path != null
                && path.startsWith("/")
                && (path.equals("/") || !path.endsWith("/"))
                && !path.contains("//")
                && path.length() <= ABS_PATH_MAX
                && path.chars().allMatch(SimXenStoreDaemon::isPathChar);
    }

    private static boolean isPathChar(int c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || "-/_@".indexOf(c) >= 0;
    }

    private static void requirePayloadFits(String op, String path, int payloadBytes) {
        if (payloadBytes > PAYLOAD_MAX) {
            throw new XenException(op, E2BIG,
                    "request for " + describe(path) + " is " + payloadBytes + " bytes, over " + PAYLOAD_MAX);
        }
    }

    private static int utf8Length(String text) {
        return text.getBytes(StandardCharsets.UTF_8).length;
    }

    /** The path for an error message: quoted, and cut short so an over-long path does not swamp the message. */
    private static String describe(String path) {
        if (path == null) {
            return "null";
        }
        return path.length() <= 80 ? "'" + path + "'" : "'" + path.substring(0, 80) + "...' (" + path.length() + " chars)";
    }

    private static List<String> names(String path) {
        return path.equals("/") ? List.of() : List.of(path.substring(1).split("/"));
    }

    private static String childPath(Node parent, String name) {
        return parent.path.equals("/") ? "/" + name : parent.path + "/" + name;
    }

    private static void appendTree(Node node, StringBuilder out) {
        out.append(node.path).append(" = \"");
        appendEscaped(node.value, out);
        out.append("\" (")
                .append(node.permissions.stream().map(XenStorePermission::toString).collect(Collectors.joining(",")))
                .append(")\n");
        node.children.values().stream()
                .sorted(Comparator.comparing(Node::name))
                .forEach(child -> appendTree(child, out));
    }

    private static void appendEscaped(String value, StringBuilder out) {
        for (char c : value.toCharArray()) {
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20 || c == 0x7f) {
                out.append(String.format("\\x%02x", (int) c));
            } else {
                out.append(c);
            }
        }
    }

    private static final class Node {
        final String path;
        final Node parent;
        /** In creation order, which is the order xenstored lists children in. */
        final Map<String, Node> children = new LinkedHashMap<>();
        String value = "";
        List<XenStorePermission> permissions;

        Node(String path, Node parent, List<XenStorePermission> permissions) {
            this.path = path;
            this.parent = parent;
            this.permissions = permissions;
        }

        String name() {
            return path.substring(path.lastIndexOf('/') + 1);
        }
    }
}
