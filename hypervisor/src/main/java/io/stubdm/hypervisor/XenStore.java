package io.stubdm.hypervisor;

import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A xenstore connection ({@code docs/misc/xenstore.txt}): the paths libxl and the device model talk through.
 * Paths are absolute ({@code /local/domain/0/device-model/5/state}). Failures throw {@link XenException} with
 * xenstored's errno ({@code ENOENT} for a missing node, {@code EACCES} when permissions forbid).
 */
public interface XenStore extends AutoCloseable {

    /** The node's value, or empty if the node does not exist. */
    Optional<String> read(String path);

    /** Writes a value, creating the node and any missing parents (which inherit the parent's permissions). */
    void write(String path, String value);

    /** Creates an empty node (and parents) if it does not exist. */
    void mkdir(String path);

    /** Removes the node and everything below it; removing a missing node is not an error. */
    void rm(String path);

    /** The names (not paths) of the node's children, in xenstored's order; {@code ENOENT} if the node is absent. */
    List<String> directory(String path);

    List<XenStorePermission> getPermissions(String path);

    /** The first entry names the owner and what every other domain may do; later entries grant to one domain. */
    void setPermissions(String path, List<XenStorePermission> permissions);

    /**
     * Watches {@code path} and everything below it. The callback gets the path that changed (or {@code path}
     * itself once at registration, as xenstored fires every new watch) on the connection's own thread; it must
     * not block. Close the returned handle to stop watching.
     */
    Watch watch(String path, String token, Consumer<String> onChange);

    /** The domain this connection acts as (0 in Dom0; the stub domain's id inside it). */
    int ownDomid();

    @Override
    void close();

    interface Watch extends AutoCloseable {
        @Override
        void close();
    }
}
