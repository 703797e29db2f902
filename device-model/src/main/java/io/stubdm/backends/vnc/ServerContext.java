package io.stubdm.backends.vnc;

import java.security.SecureRandom;

/** What every session of one server shares. */
record ServerContext(String desktopName, AuthConfig auth, AuthThrottle throttle, RefreshLoop display,
        VncConsole console, SecureRandom random) {}
