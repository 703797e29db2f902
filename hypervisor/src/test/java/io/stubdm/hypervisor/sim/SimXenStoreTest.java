package io.stubdm.hypervisor.sim;

import static io.stubdm.hypervisor.XenException.E2BIG;
import static io.stubdm.hypervisor.XenException.EACCES;
import static io.stubdm.hypervisor.XenException.EEXIST;
import static io.stubdm.hypervisor.XenException.EINVAL;
import static io.stubdm.hypervisor.XenException.ENOENT;
import static io.stubdm.hypervisor.XenException.EPERM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.stubdm.hypervisor.XenException;
import io.stubdm.hypervisor.XenStore;
import io.stubdm.hypervisor.XenStorePermission;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SimXenStoreTest {

    private static final long TIMEOUT_MS = 2000;

    private final SimXenStoreDaemon daemon = new SimXenStoreDaemon();
    private final List<XenStore> connections = new ArrayList<>();
    private final XenStore dom0 = connect(0);

    @AfterEach
    void closeConnections() {
        connections.forEach(XenStore::close);
    }

    // ---- tree and permissions ----

    @Test
    void rootIsOwnedByDom0AndClosedToOthers() {
        assertEquals(List.of(perm("n0")), dom0.getPermissions("/"));
        assertEquals(Optional.of(""), dom0.read("/"));
        assertEquals(List.of(), dom0.directory("/"));
        assertEquals("/ = \"\" (n0)\n", daemon.dump());

        XenStore dom5 = connect(5);
        assertErrno(EACCES, () -> dom5.read("/"));
        assertErrno(EACCES, () -> dom5.write("/x", "1"));
    }

    @Test
    void connectionActsAsItsDomain() {
        assertEquals(0, dom0.ownDomid());
        assertEquals(7, connect(7).ownDomid());
        assertThrows(IllegalArgumentException.class, () -> daemon.connect(0x7ff0));
        assertThrows(IllegalArgumentException.class, () -> daemon.connect(-1));
    }

    @Test
    void writeCreatesMissingParentsWithTheParentsPermissions() {
        dom0.mkdir("/a");
        dom0.setPermissions("/a", perms("n0", "r5"));

        dom0.write("/a/b/c", "v");

        assertEquals(Optional.of("v"), dom0.read("/a/b/c"));
        assertEquals(Optional.of(""), dom0.read("/a/b"));
        assertEquals(perms("n0", "r5"), dom0.getPermissions("/a/b"));
        assertEquals(perms("n0", "r5"), dom0.getPermissions("/a/b/c"));
        assertEquals(List.of("c"), dom0.directory("/a/b"));
    }

    @Test
    void unprivilegedCreatorOwnsWhatItCreates() {
        dom0.mkdir("/d");
        dom0.setPermissions("/d", perms("r0", "b7"));
        XenStore dom7 = connect(7);

        dom7.write("/d/x/y", "1");

        assertEquals(perms("r7", "b7"), dom0.getPermissions("/d/x"));
        assertEquals(perms("r7", "b7"), dom0.getPermissions("/d/x/y"));
        dom7.setPermissions("/d/x/y", perms("n7", "r8"));
        assertEquals(Optional.of("1"), connect(8).read("/d/x/y"));
        assertErrno(EACCES, () -> connect(9).read("/d/x/y"));
    }

    @Test
    void directoryListsChildrenInCreationOrder() {
        dom0.write("/l/zeta", "");
        dom0.write("/l/alpha", "");
        dom0.mkdir("/l/mid");
        assertEquals(List.of("zeta", "alpha", "mid"), dom0.directory("/l"));

        dom0.rm("/l/alpha");
        dom0.write("/l/alpha", "");
        assertEquals(List.of("zeta", "mid", "alpha"), dom0.directory("/l"));
    }

    @Test
    void accessIsTheOwnersThenTheDomainsOwnEntryThenTheFirstEntrys() {
        dom0.write("/p", "v");
        dom0.setPermissions("/p", perms("r3", "n4", "w5"));
        XenStore owner = connect(3);
        XenStore deniedByOwnEntry = connect(4);
        XenStore writeOnly = connect(5);
        XenStore everyoneElse = connect(6);

        assertEquals(Optional.of("v"), owner.read("/p"));
        owner.write("/p", "by3");
        assertEquals(perms("r3", "n4", "w5"), owner.getPermissions("/p"));

        assertErrno(EACCES, () -> deniedByOwnEntry.read("/p"));
        assertErrno(EACCES, () -> deniedByOwnEntry.write("/p", "by4"));

        writeOnly.write("/p", "by5");
        assertErrno(EACCES, () -> writeOnly.read("/p"));
        assertErrno(EACCES, () -> writeOnly.directory("/p"));

        assertEquals(Optional.of("by5"), everyoneElse.read("/p"));
        assertEquals(List.of(), everyoneElse.directory("/p"));
        assertErrno(EACCES, () -> everyoneElse.write("/p", "by6"));
        assertErrno(EACCES, () -> everyoneElse.rm("/p"));

        assertEquals(Optional.of("by5"), dom0.read("/p"));
    }

    @Test
    void creatingANodeNeedsWriteAccessToTheNearestExistingAncestor() {
        dom0.mkdir("/w");
        dom0.setPermissions("/w", perms("n0", "w5"));
        XenStore dom5 = connect(5);
        XenStore dom6 = connect(6);

        dom5.write("/w/a/b", "x");
        dom5.mkdir("/w/c");

        assertEquals(Optional.of("x"), dom5.read("/w/a/b"));
        assertEquals(perms("n5", "w5"), dom0.getPermissions("/w/c"));
        assertErrno(EACCES, () -> dom6.write("/w/d", "x"));
        assertErrno(EACCES, () -> dom6.write("/w/a/b/e", "x"));
        assertErrno(EACCES, () -> dom6.mkdir("/w/a/f"));
        assertEquals(List.of("a", "c"), dom0.directory("/w"));
        assertEquals(List.of("b"), dom0.directory("/w/a"));
    }

    @Test
    void unprivilegedChangesOutsideItsPermissionsFailAndChangeNothing() throws InterruptedException {
        dom0.write("/local/domain/0/secret", "s");
        dom0.setPermissions("/local/domain/0", perms("n0", "r5"));
        Events dom0Events = new Events(dom0);
        dom0Events.watch("local", "/local");
        assertEquals("local /local", dom0Events.next());
        String before = daemon.dump();
        XenStore dom5 = connect(5);

        assertErrno(EACCES, () -> dom5.write("/local/domain/0/secret", "x"));
        assertErrno(EACCES, () -> dom5.write("/local/domain/0/new", "x"));
        assertErrno(EACCES, () -> dom5.mkdir("/local/domain/0/new"));
        assertErrno(EACCES, () -> dom5.mkdir("/local/domain/0"));
        assertErrno(EACCES, () -> dom5.rm("/local/domain/0/secret"));
        assertErrno(EACCES, () -> dom5.setPermissions("/local/domain/0/secret", perms("n0", "b5")));

        assertEquals(before, daemon.dump());
        dom0Events.assertNoMoreEvents();
    }

    @Test
    void missingNodes() {
        dom0.write("/m/present", "");

        assertEquals(Optional.empty(), dom0.read("/m/absent"));
        assertErrno(ENOENT, () -> dom0.directory("/m/absent"));
        assertErrno(ENOENT, () -> dom0.getPermissions("/m/absent"));
        assertErrno(ENOENT, () -> dom0.setPermissions("/m/absent", perms("n0")));
        dom0.rm("/m/absent");
        dom0.rm("/m/absent/child/of/absent");
        assertEquals(List.of("present"), dom0.directory("/m"));
    }

    @Test
    void missingNodeUnderANodeTheDomainMayNotAccessIsDenied() {
        dom0.mkdir("/hidden");
        dom0.mkdir("/visible");
        dom0.setPermissions("/visible", perms("n0", "r5"));
        XenStore dom5 = connect(5);

        assertErrno(EACCES, () -> dom5.read("/hidden/absent"));
        assertErrno(EACCES, () -> dom5.directory("/hidden/absent"));
        assertEquals(Optional.empty(), dom5.read("/visible/absent/deeper"));
        assertErrno(ENOENT, () -> dom5.directory("/visible/absent"));
        // Removing needs write access where the node would be, even when there is nothing to remove.
        assertErrno(EACCES, () -> dom5.rm("/visible/absent"));
    }

    @Test
    void rmRemovesTheWholeSubtree() {
        dom0.write("/t/a/b", "1");
        dom0.write("/t/a/c/d", "2");
        dom0.write("/t/e", "3");

        dom0.rm("/t/a");

        assertEquals(Optional.empty(), dom0.read("/t/a"));
        assertEquals(Optional.empty(), dom0.read("/t/a/c/d"));
        assertEquals(List.of("e"), dom0.directory("/t"));
        assertEquals("/ = \"\" (n0)\n/t = \"\" (n0)\n/t/e = \"3\" (n0)\n", daemon.dump());
        assertErrno(EINVAL, () -> dom0.rm("/"));
    }

    @Test
    void rmNeedsWriteAccessToTheNode() {
        dom0.write("/shared/node", "v");
        dom0.setPermissions("/shared", perms("n0", "b5"));
        dom0.setPermissions("/shared/node", perms("n0", "r5"));
        XenStore dom5 = connect(5);

        assertErrno(EACCES, () -> dom5.rm("/shared/node"));
        assertEquals(Optional.of("v"), dom0.read("/shared/node"));
    }

    @Test
    void onlyTheOwnerSetsPermissionsAndOnlyDom0ChangesTheOwner() {
        dom0.write("/o/node", "v");
        dom0.setPermissions("/o", perms("n0", "b6"));
        dom0.setPermissions("/o/node", perms("n5", "b6"));
        XenStore owner = connect(5);
        XenStore mayReadAndWrite = connect(6);

        assertErrno(EACCES, () -> mayReadAndWrite.setPermissions("/o/node", perms("n6")));
        assertErrno(EPERM, () -> owner.setPermissions("/o/node", perms("n6")));
        assertErrno(EINVAL, () -> owner.setPermissions("/o/node", List.of()));
        assertEquals(perms("n5", "b6"), dom0.getPermissions("/o/node"));

        owner.setPermissions("/o/node", perms("r5"));
        assertEquals(perms("r5"), dom0.getPermissions("/o/node"));
        dom0.setPermissions("/o/node", perms("n6"));
        assertEquals(perms("n6"), mayReadAndWrite.getPermissions("/o/node"));
    }

    // ---- paths and values ----

    @ParameterizedTest
    @ValueSource(strings = {"", "relative", "/trailing/", "//", "//double", "/a//b", "/sp ace", "/dot.ted",
            "/col:on", "/umla\u00fct", "/new\nline", "@special"})
    void malformedPathIsInvalid(String path) {
        for (Executable operation : List.<Executable>of(
                () -> dom0.read(path),
                () -> dom0.write(path, "v"),
                () -> dom0.mkdir(path),
                () -> dom0.rm(path),
                () -> dom0.directory(path),
                () -> dom0.getPermissions(path),
                () -> dom0.setPermissions(path, perms("n0")))) {
            assertErrno(EINVAL, operation);
        }
        assertEquals("/ = \"\" (n0)\n", daemon.dump());
    }

    @Test
    void nullPathIsInvalid() {
        assertErrno(EINVAL, () -> dom0.read(null));
        assertErrno(EINVAL, () -> dom0.watch(null, "t", path -> { }));
    }

    @Test
    void everyPermittedCharacterIsAccepted() {
        String path = "/AZaz09-_@";
        dom0.write(path, "v");
        assertEquals(Optional.of("v"), dom0.read(path));
    }

    @Test
    void pathsAreLimitedTo3072Bytes() {
        String longest = "/" + "a".repeat(SimXenStoreDaemon.ABS_PATH_MAX - 1);

        dom0.mkdir(longest);

        assertEquals(Optional.of(""), dom0.read(longest));
        assertErrno(EINVAL, () -> dom0.mkdir(longest + "a"));
        assertErrno(EINVAL, () -> dom0.watch(longest + "a", "t", path -> { }));
    }

    @Test
    void requestsAreLimitedTo4096BytesIncludingThePath() {
        String path = "/v";
        int longestValue = SimXenStoreDaemon.PAYLOAD_MAX - path.length() - 1;
        dom0.write(path, "old");

        assertErrno(E2BIG, () -> dom0.write(path, "x".repeat(longestValue + 1)));
        assertErrno(E2BIG, () -> dom0.write("/new", "x".repeat(SimXenStoreDaemon.PAYLOAD_MAX)));
        // Values are bytes on the wire: two bytes for each of these characters.
        assertErrno(E2BIG, () -> dom0.write(path, "\u00e9".repeat(longestValue / 2 + 1)));
        assertEquals(Optional.of("old"), dom0.read(path));
        assertEquals(Optional.empty(), dom0.read("/new"));

        dom0.write(path, "x".repeat(longestValue));
        assertEquals(longestValue, dom0.read(path).orElseThrow().length());

        String longestToken = "t".repeat(SimXenStoreDaemon.PAYLOAD_MAX - path.length() - 2);
        dom0.watch(path, longestToken, changed -> { });
        assertErrno(E2BIG, () -> dom0.watch(path, longestToken + "t", changed -> { }));
    }

    // ---- watches ----

    @Test
    void watchFiresOnceAtOnceWithItsOwnPathEvenIfAbsentOrUnreadable() throws InterruptedException {
        Events dom0Events = new Events(dom0);
        dom0Events.watch("w", "/not/there/yet");
        assertEquals("w /not/there/yet", dom0Events.next());
        dom0Events.assertNoMoreEvents();

        dom0.mkdir("/private");
        Events dom5Events = new Events(connect(5));
        dom5Events.watch("w", "/private");
        assertEquals("w /private", dom5Events.next());
        dom5Events.assertNoMoreEvents();
    }

    @Test
    void eventsArriveInOrderOffTheWritersThreadAndCallbacksMayUseTheStore() throws InterruptedException {
        dom0.write("/o", "parent");
        BlockingQueue<String> seen = new LinkedBlockingQueue<>();
        AtomicReference<Thread> deliveryThread = new AtomicReference<>();
        dom0.watch("/o", "t", path -> {
            deliveryThread.set(Thread.currentThread());
            seen.add(path + "=" + dom0.read(path).orElse("(absent)"));
        });

        for (int i = 1; i <= 5; i++) {
            dom0.write("/o/" + i, "v" + i);
        }

        List<String> expected = List.of("/o=parent", "/o/1=v1", "/o/2=v2", "/o/3=v3", "/o/4=v4", "/o/5=v5");
        for (String event : expected) {
            assertEquals(event, poll(seen));
        }
        assertNotEquals(Thread.currentThread(), deliveryThread.get());
    }

    @Test
    void writeFiresWatchesOnTheNodeAndItsAncestorsOnly() throws InterruptedException {
        Events events = new Events(dom0);
        events.watch("root", "/");
        events.watch("parent", "/a");
        events.watch("node", "/a/b");
        events.watch("sibling", "/a/c");
        events.watch("child", "/a/b/c");
        events.skip(5);

        dom0.write("/a/b", "1");

        assertEquals("root /a/b", events.next());
        assertEquals("parent /a/b", events.next());
        assertEquals("node /a/b", events.next());
        events.assertNoMoreEvents();
    }

    @Test
    void mkdirFiresOnlyWhenItCreatesWhileWriteAlwaysFires() throws InterruptedException {
        Events events = new Events(dom0);
        events.watch("m", "/m");
        events.skip(1);

        dom0.mkdir("/m/a");
        assertEquals("m /m/a", events.next());
        dom0.mkdir("/m/a");
        events.assertNoMoreEvents();
        dom0.write("/m/a", "");
        dom0.write("/m/a", "");
        assertEquals("m /m/a", events.next());
        assertEquals("m /m/a", events.next());
    }

    @Test
    void setPermissionsFiresWatches() throws InterruptedException {
        dom0.mkdir("/s");
        Events events = new Events(dom0);
        events.watch("s", "/s");
        events.skip(1);

        dom0.setPermissions("/s", perms("n0", "r1"));

        assertEquals("s /s", events.next());
    }

    @Test
    void rmFiresTheRemovedPathAboveAndEachWatchedRemovedNodeItsOwnPath() throws InterruptedException {
        dom0.write("/r/a/b/c", "");
        Events events = new Events(dom0);
        events.watch("above", "/r");
        events.watch("at", "/r/a");
        events.watch("removedDescendant", "/r/a/b/c");
        events.watch("absentDescendant", "/r/a/ghost");
        events.watch("unrelated", "/r/z");
        events.skip(5);

        dom0.rm("/r/a");

        // Children go first, as xenstored removes the tree bottom up.
        assertEquals("removedDescendant /r/a/b/c", events.next());
        assertEquals("above /r/a", events.next());
        assertEquals("at /r/a", events.next());
        events.assertNoMoreEvents();
    }

    @Test
    void rmOfAMissingNodeFiresNothing() throws InterruptedException {
        Events events = new Events(dom0);
        events.watch("root", "/");
        events.skip(1);

        dom0.rm("/absent");

        events.assertNoMoreEvents();
    }

    @Test
    void unprivilegedWatcherHearsOnlyOfNodesItOrTheirParentLetItRead() throws InterruptedException {
        Events dom5Events = new Events(connect(5));
        dom5Events.watch("all", "/");
        dom5Events.skip(1);

        dom0.write("/secret/x", "s");
        dom0.mkdir("/pub");
        dom5Events.assertNoMoreEvents();

        dom0.setPermissions("/pub", perms("n0", "r5"));
        assertEquals("all /pub", dom5Events.next());
        dom0.write("/pub/x", "1");
        assertEquals("all /pub/x", dom5Events.next());

        dom0.setPermissions("/pub/x", perms("n0"));
        assertEquals("all /pub/x", dom5Events.next(), "told of losing read access");
        dom0.write("/pub/x", "2");
        assertEquals("all /pub/x", dom5Events.next(), "the parent still lets dom5 read");
        dom0.write("/pub/x/y", "3");
        dom5Events.assertNoMoreEvents();
    }

    @Test
    void rmReachesUnprivilegedWatchersThatCouldReadTheRemovedNode() throws InterruptedException {
        dom0.write("/shared/child", "");
        dom0.setPermissions("/shared", perms("n0", "r5"));
        dom0.setPermissions("/shared/child", perms("n0", "r5"));
        dom0.write("/hidden/child", "");
        Events dom5Events = new Events(connect(5));
        dom5Events.watch("shared", "/shared");
        dom5Events.watch("hidden", "/hidden");
        dom5Events.skip(2);

        dom0.rm("/hidden");
        dom0.rm("/shared");

        assertEquals("shared /shared", dom5Events.next());
        dom5Events.assertNoMoreEvents();
    }

    @Test
    void specialWatchesFireOnlyForTheirEvents() throws InterruptedException {
        Events events = new Events(dom0);
        events.watch("introduce", "@introduceDomain");
        events.watch("release", "@releaseDomain");
        assertEquals("introduce @introduceDomain", events.next());
        assertEquals("release @releaseDomain", events.next());

        dom0.write("/local/domain/7/name", "guest");
        dom0.rm("/local/domain/7");
        events.assertNoMoreEvents();

        daemon.introduceDomain(7);
        daemon.releaseDomain(7);
        assertEquals("introduce @introduceDomain", events.next());
        assertEquals("release @releaseDomain", events.next());
        events.assertNoMoreEvents();
    }

    @Test
    void specialEventsAlsoReachWatchesOnTheRoot() throws InterruptedException {
        Events events = new Events(dom0);
        events.watch("root", "/");
        events.skip(1);

        daemon.introduceDomain(3);

        assertEquals("root @introduceDomain", events.next());
    }

    @Test
    void specialEventsReachOtherDomainsOnlyOnceDom0LetsThemRead() throws InterruptedException {
        XenStore dom5 = connect(5);
        Events dom5Events = new Events(dom5);
        dom5Events.watch("release", "@releaseDomain");
        dom5Events.skip(1);

        daemon.releaseDomain(8);
        dom5Events.assertNoMoreEvents();
        assertErrno(EACCES, () -> dom5.setPermissions("@releaseDomain", perms("n0", "r5")));

        dom0.setPermissions("@releaseDomain", perms("n0", "r5"));
        daemon.releaseDomain(8);
        assertEquals("release @releaseDomain", dom5Events.next());
        assertErrno(EINVAL, () -> dom0.setPermissions("@noSuchEvent", perms("n0")));
    }

    @Test
    void sameWatchTwiceOnOneConnectionIsRejected() throws InterruptedException {
        Events events = new Events(dom0);
        XenStore.Watch first = events.watch("t", "/same");
        assertEquals("t /same", events.next());

        assertErrno(EEXIST, () -> dom0.watch("/same", "t", path -> { }));
        events.watch("other-token", "/same");
        assertEquals("other-token /same", events.next());
        new Events(connect(0)).watch("t", "/same");

        first.close();
        events.watch("t", "/same");
        assertEquals("t /same", events.next());
    }

    @Test
    void closedWatchGetsNoMoreEvents() throws InterruptedException {
        Events events = new Events(dom0);
        XenStore.Watch watch = events.watch("w", "/w");
        events.skip(1);

        watch.close();
        watch.close();
        dom0.write("/w", "1");

        events.assertNoMoreEvents();
    }

    @Test
    void closingAWatchDropsItsEventsNotYetDelivered() throws InterruptedException {
        CountDownLatch secondEventQueued = new CountDownLatch(1);
        BlockingQueue<String> seen = new LinkedBlockingQueue<>();
        XenStore.Watch closed = dom0.watch("/closed", "c", path -> seen.add("closed " + path));
        dom0.watch("/closer", "c", path -> {
            if (path.equals("/closer/go")) {
                await(secondEventQueued);
                closed.close();
            }
            seen.add("closer " + path);
        });
        assertEquals("closed /closed", poll(seen));
        assertEquals("closer /closer", poll(seen));

        dom0.write("/closer/go", "");
        dom0.write("/closed/x", "");
        secondEventQueued.countDown();

        assertEquals("closer /closer/go", poll(seen));
        dom0.watch("@marker", "m", path -> seen.add("marker"));
        assertEquals("marker", poll(seen));
    }

    @Test
    void closingTheConnectionStopsItsThreadAndItsWatches() throws InterruptedException {
        XenStore connection = connect(0);
        CountDownLatch laterEventQueued = new CountDownLatch(1);
        BlockingQueue<String> seen = new LinkedBlockingQueue<>();
        AtomicReference<Thread> deliveryThread = new AtomicReference<>();
        connection.watch("/c", "t", path -> {
            deliveryThread.set(Thread.currentThread());
            if (path.equals("/c/go")) {
                await(laterEventQueued);
                connection.close();
            }
            seen.add(path);
        });
        assertEquals("/c", poll(seen));

        dom0.write("/c/go", "");
        dom0.write("/c/later", "");
        laterEventQueued.countDown();

        assertEquals("/c/go", poll(seen));
        deliveryThread.get().join(TIMEOUT_MS);
        assertFalse(deliveryThread.get().isAlive());
        assertEquals(List.of(), List.copyOf(seen));
    }

    @Test
    void closedConnectionRefusesOperations() {
        XenStore connection = connect(5);
        connection.close();
        connection.close();

        for (Executable operation : List.<Executable>of(
                () -> connection.read("/"),
                () -> connection.write("/x", "v"),
                () -> connection.mkdir("/x"),
                () -> connection.rm("/x"),
                () -> connection.directory("/"),
                () -> connection.getPermissions("/"),
                () -> connection.setPermissions("/", perms("n0")),
                () -> connection.watch("/", "t", path -> { }))) {
            assertThrows(IllegalStateException.class, operation);
        }
    }

    // ---- the device model handshake ----

    @Test
    void stubDomainDeviceModelHandshake() throws InterruptedException {
        int guest = 5;
        int stubdom = 6;
        String dom0Side = "/local/domain/0/device-model/" + guest;
        String stubdomSide = "/local/domain/" + stubdom + "/device-model/" + guest;
        dom0.mkdir(dom0Side);
        dom0.setPermissions(dom0Side, perms("n0", "r" + guest));
        dom0.mkdir(stubdomSide);
        dom0.setPermissions(stubdomSide, perms("n0", "b" + stubdom));
        Events toolstack = new Events(dom0);
        toolstack.watch("dm-state", stubdomSide + "/state");
        assertEquals("dm-state " + stubdomSide + "/state", toolstack.next());
        XenStore deviceModel = connect(stubdom);
        Events deviceModelEvents = new Events(deviceModel);
        deviceModelEvents.watch("dm-command", stubdomSide + "/command");
        assertEquals("dm-command " + stubdomSide + "/command", deviceModelEvents.next());

        deviceModel.write(stubdomSide + "/state", "running");

        assertEquals("dm-state " + stubdomSide + "/state", toolstack.next());
        assertEquals(Optional.of("running"), dom0.read(stubdomSide + "/state"));
        assertEquals(perms("n" + stubdom, "b" + stubdom), dom0.getPermissions(stubdomSide + "/state"));

        dom0.write(stubdomSide + "/command", "continue");
        assertEquals("dm-command " + stubdomSide + "/command", deviceModelEvents.next());
        assertEquals(Optional.of("continue"), deviceModel.read(stubdomSide + "/command"));

        String before = daemon.dump();
        assertErrno(EACCES, () -> deviceModel.write(dom0Side + "/state", "running"));
        assertErrno(EACCES, () -> deviceModel.read(dom0Side));
        assertErrno(EACCES, () -> connect(guest).write(dom0Side + "/state", "running"));
        assertEquals(Optional.empty(), connect(guest).read(dom0Side + "/state"));
        assertEquals(before, daemon.dump());
        toolstack.assertNoMoreEvents();
    }

    @Test
    void dumpListsEveryNodeWithValueAndPermissions() {
        dom0.write("/b", "2");
        dom0.write("/a/x", "q\"uote\\\n");
        dom0.setPermissions("/a", perms("n0", "r5"));

        assertEquals("""
                / = "" (n0)
                /a = "" (n0,r5)
                /a/x = "q\\"uote\\\\\\x0a" (n0)
                /b = "2" (n0)
                """, daemon.dump());
    }

    // ---- helpers ----

    private XenStore connect(int domid) {
        XenStore connection = daemon.connect(domid);
        connections.add(connection);
        return connection;
    }

    private static XenStorePermission perm(String text) {
        return XenStorePermission.parse(text);
    }

    private static List<XenStorePermission> perms(String... texts) {
        return Arrays.stream(texts).map(XenStorePermission::parse).toList();
    }

    private static void assertErrno(int errno, Executable operation) {
        XenException e = assertThrows(XenException.class, operation);
        assertEquals(XenException.errnoName(errno), XenException.errnoName(e.errno()), e.getMessage());
    }

    private static String poll(BlockingQueue<String> queue) throws InterruptedException {
        String item = queue.poll(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        assertNotNull(item, "nothing arrived within " + TIMEOUT_MS + " ms");
        return item;
    }

    private static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(TIMEOUT_MS, TimeUnit.MILLISECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** The events of one connection's watches, as "token path", in the order they are delivered. */
    private static final class Events {
        private final XenStore store;
        private final BlockingQueue<String> queue = new LinkedBlockingQueue<>();
        private int markers;

        Events(XenStore store) {
            this.store = store;
        }

        XenStore.Watch watch(String token, String path) {
            return store.watch(path, token, changed -> queue.add(token + " " + changed));
        }

        String next() throws InterruptedException {
            return poll(queue);
        }

        void skip(int count) throws InterruptedException {
            for (int i = 0; i < count; i++) {
                next();
            }
        }

        /**
         * A new watch's first event is queued behind every event already due to the connection, so if it is the next
         * event, no other was due.
         */
        void assertNoMoreEvents() throws InterruptedException {
            String marker = "marker" + markers++;
            XenStore.Watch watch = store.watch("@" + marker, marker, changed -> queue.add(marker));
            try {
                assertEquals(marker, next());
            } finally {
                watch.close();
            }
        }
    }
}
