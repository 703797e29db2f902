package io.stubdm.boottest;

import java.util.regex.Pattern;

/** A console line that means the boot has failed for good (a kernel panic, a root-mount prompt), whatever follows. */
public record FailureSign(String name, Pattern pattern) {
    public static FailureSign of(String name, String regex) {
        return new FailureSign(name, Pattern.compile(regex));
    }
}
