package io.stubdm.backends.net;

import static io.stubdm.backends.net.Frames.*;
import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** The -netdev forms libxl and QEMU users write; everything rejected here is rejected before anything is opened. */
class NetBackendsTest {

    private static String rejection(String spec) {
        return assertThrows(IllegalArgumentException.class, () -> NetBackends.parse(spec).backend().close(), spec)
                .getMessage();
    }

    @Test
    void noneDropsWhatTheNicSendsAndCountsIt() {
        NetBackends.Netdev none = NetBackends.parse("none");
        assertNull(none.id());
        assertEquals("none", none.backend().describe());
        assertTrue(none.backend().send(ByteBuffer.wrap(new byte[60])));
        assertEquals(1, none.backend().stats().drops("no-backend"));
        assertEquals("n0", NetBackends.parse("type=none,id=n0").id());
    }

    @Test
    void socketUdpForm() throws Exception {
        int local = freePort();
        int remote = freePort();
        NetBackends.Netdev n = NetBackends.parse("socket,id=n,udp=127.0.0.1:" + remote + ",localaddr=127.0.0.1:" + local);
        try (NetBackend b = n.backend()) {
            assertEquals("n", n.id());
            assertEquals("udp:127.0.0.1:" + local + "->127.0.0.1:" + remote, b.describe());
        }
    }

    @Test
    void dgramForm() throws Exception {
        int local = freePort();
        int remote = freePort();
        NetBackends.Netdev n = NetBackends.parse("dgram,id=d,local.type=inet,local.host=127.0.0.1,local.port=" + local
                + ",remote.type=inet,remote.host=127.0.0.1,remote.port=" + remote);
        try (NetBackend b = n.backend()) {
            assertEquals("d", n.id());
            assertEquals("udp:127.0.0.1:" + local + "->127.0.0.1:" + remote, b.describe());
        }
    }

    @Test
    void tapOptionsStubdmDoesNotImplementAreRejectedByName() {
        assertTrue(rejection("type=tap,id=net0,ifname=vif5.0-emu,vhost=on").contains("'vhost'"));
        assertTrue(rejection("tap,id=net0,ifname=vif5.0-emu,queues=4").contains("'queues'"));
        String script = rejection("type=tap,id=net0,ifname=vif5.0-emu,br=xenbr0,script=/etc/xen/scripts/qemu-ifup");
        assertTrue(script.contains("never runs scripts"), script);
        assertTrue(rejection("type=tap,id=net0,downscript=/bin/true").contains("downscript"));
        assertTrue(rejection("type=tap,ifname=vif5.0-emu").contains("missing id="));
        assertTrue(rejection("type=tap,id=net0,ifname=a-name-far-too-long").contains("not a network interface name"));
    }

    @Test
    void socketAndDgramFormsOtherThanUnicastUdpAreRejected() {
        assertTrue(rejection("socket,id=n,listen=:1234").contains("listen="));
        assertTrue(rejection("socket,id=n,mcast=230.0.0.1:1234").contains("mcast="));
        assertTrue(rejection("socket,id=n,udp=127.0.0.1:5556").contains("missing localaddr="));
        assertTrue(rejection("socket,id=n,udp=127.0.0.1,localaddr=127.0.0.1:5555").contains("not HOST:PORT"));
        assertTrue(rejection("socket,id=n,udp=127.0.0.1:99999,localaddr=127.0.0.1:5555").contains("not a port"));
        assertTrue(rejection("dgram,id=n,local.type=unix,local.path=/tmp/x,remote.type=inet,remote.host=127.0.0.1,"
                + "remote.port=1").contains("'local.path'"));
        assertTrue(rejection("dgram,id=n,local.type=unix,local.port=1,remote.type=inet,remote.host=127.0.0.1,"
                + "remote.port=1").contains("only inet"));
    }

    @Test
    void malformedSpecificationsAreRejected() {
        assertTrue(rejection("user,id=n").contains("type 'user' is not supported"));
        assertTrue(rejection("id=n").contains("no type"));
        assertTrue(rejection("tap,id=a,id=b").contains("given twice"));
        assertTrue(rejection("tap,,id=a").contains("not KEY=VALUE"));
        assertThrows(IllegalArgumentException.class, () -> NetBackends.parse(""));
    }
}
