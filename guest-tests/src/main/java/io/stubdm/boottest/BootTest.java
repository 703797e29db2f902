package io.stubdm.boottest;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A JUnit 5 test that boots an image with xl (see {@link BootTestExtension}). Values may name system properties
 * or environment variables as {@code ${NAME}}, so one test class serves any image:
 *
 * <pre>
 * &#64;Test
 * &#64;BootTest(image = "${OPNSENSE_IMAGE}", profile = "opnsense", placement = "stubdom")
 * void opnsenseReachesItsMenu() { }                          // fails, naming the milestone missed
 *
 * &#64;Test
 * &#64;BootTest(image = "${FREEBSD_IMAGE}", login = "root", command = "uname -r", commandExpect = "14\\.1")
 * void freebsdRuns(BootRun run) { ... }                      // gets the run and decides itself
 * </pre>
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(BootTestExtension.class)
public @interface BootTest {
    String image();

    String profile() default "freebsd";

    String placement() default "dom0";

    String nic() default "e1000";

    int memory() default 1024;

    String vga() default "none";

    double timeoutScale() default 1;

    /** Milestone patterns to replace, each {@code MILESTONE=REGEX}. */
    String[] expect() default {};

    String login() default "";

    String password() default "";

    String command() default "";

    String commandExpect() default "";

    /** Extra xl config lines, each {@code key = value}. */
    String[] xlConfig() default {};

    /** The stubdm launcher; empty: this installation's, or /usr/lib/stubdm/bin/stubdm. */
    String stubdm() default "";

    /** Where reports go; empty: {@code target/boot-tests}. */
    String out() default "";

    /** Xen's xl; empty: {@code xl} on the PATH. */
    String xl() default "";

    /** Where libxl's QMP sockets are; empty: /var/run/xen. */
    String qmpDir() default "";
}
