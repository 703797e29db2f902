package io.stubdm.boottest;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A stand-in for xl: a shell script that keeps the calls it gets (and the config it was given) in its directory
 * and, as {@code xl console}, plays a recorded console at speed in raw mode, as xenconsole does, keeping what is
 * typed into it.
 */
final class FakeXl {
    private FakeXl() {
    }

    /** Writes {@code dir}/xl, whose console plays {@code fixture} (the Transcripts format, without the waits). */
    static Path write(Path dir, String fixture) throws Exception {
        Path xl = dir.resolve("xl");
        String transcript;
        try (InputStream in = FakeXl.class.getResourceAsStream(fixture)) {
            transcript = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Files.writeString(dir.resolve("console.txt"), transcript);
        Files.writeString(xl, String.join("\n",
                "#!/bin/bash",
                "D=$(cd \"$(dirname \"$0\")\" && pwd)",
                "echo \"$*\" >> \"$D/calls\"",
                "case \"$1\" in",
                "  create) cp \"$3\" \"$D/created.cfg\";;",
                "  domid) echo 7;;",
                "  unpause|destroy) ;;",
                "  qemu-monitor-command) f=${3#screendump }; f=${f% -f png}; printf 'PNG' > \"$f\";;",
                "  console)",
                "    stty raw -echo 2>/dev/null",
                "    cat <&0 > \"$D/typed\" &   # explicit: a background job's stdin is /dev/null otherwise",
                "    while IFS= read -r line; do",
                "      text=${line#* }; [ \"$text\" = \"$line\" ] && text=''",
                "      text=${text//\\\\e/$'\\e'}; text=${text//\\\\r/$'\\r'}",
                "      if [[ $text == *'\\c' ]]; then printf '%s' \"${text%'\\c'}\"; else printf '%s\\r\\n' \"$text\"; fi",
                "      sleep 0.01",
                "    done < \"$D/console.txt\"",
                "    sleep 60;;",
                "  *) echo \"fake xl: $1?\" >&2; exit 1;;",
                "esac", ""));
        Files.setPosixFilePermissions(xl, PosixFilePermissions.fromString("rwxr-xr-x"));
        return xl;
    }

}
