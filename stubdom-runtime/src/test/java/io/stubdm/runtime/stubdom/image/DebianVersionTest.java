package io.stubdm.runtime.stubdom.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Debian Policy §5.6.12, with cases in the style of dpkg's own t-version tests, then dpkg itself as the oracle. */
class DebianVersionTest {

    @TempDir
    Path dir;

    @Test
    void aRevisionMakesAVersionNewer() {
        assertOlder("1.0", "1.0-1");
        assertOlder("1.0-1", "1.0-2");
        assertOlder("1.0-9", "1.0-10");
    }

    @Test
    void aMissingRevisionEqualsRevisionZero() {
        // dpkg compares an absent revision as the empty string, and leading zeros of a number do not count.
        assertSame("1.0", "1.0-0");
        assertSame("1.0-0", "1.0-00");
    }

    @Test
    void tildeSortsBeforeEverythingEvenTheEnd() {
        assertOlder("1.0~rc1", "1.0");
        assertOlder("1.0~rc1", "1.0~rc2");
        assertOlder("1.0~~", "1.0~");
        assertOlder("1.0~", "1.0");
        assertOlder("1.0~~a", "1.0~");
        assertOlder("1.0-1~bpo1", "1.0-1");
    }

    @Test
    void theEpochWinsOverEverythingElse() {
        assertNewer("1:0.1", "2.0");
        assertNewer("2:0.1", "1:9.9");
        assertSame("0:1.0", "1.0");
    }

    @Test
    void numbersCompareNumericallyNotAsText() {
        assertOlder("1.2.3", "1.2.10");
        assertOlder("1.9", "1.10");
        assertSame("1.01", "1.1");
        assertOlder("9", "10");
    }

    @Test
    void lettersSortBeforeOtherCharactersAndAfterTheEnd() {
        assertOlder("1.0a", "1.0b");
        assertOlder("1.0", "1.0a");
        // A letter sorts before any non-letter: '+' and '.' come after 'z'.
        assertOlder("1.0z", "1.0+");
        assertOlder("1.0a", "1.0.");
        assertOlder("1.0+", "1.0.");
        assertOlder("1.0A", "1.0a");
    }

    @Test
    void binNmusAndStableUpdatesAreNewer() {
        assertNewer("1.0+b1", "1.0");
        assertNewer("1:1.35.0-4+deb12u1+b1", "1:1.35.0-4+deb12u1");
        assertNewer("6.1.192-3", "6.1.158-1");
        assertOlder("4.17.7+13-g2445b30a44-0+deb12u1", "4.17.7+13-g2445b30a44-0+deb12u2");
        assertOlder("2.36-9+deb12u9", "2.36-9+deb12u10");
    }

    @Test
    void equalVersionsCompareEqual() {
        for (String v : List.of("1.0", "1:1.2.13.dfsg-1+deb12u1", "4.17.7+13-g2445b30a44-0+deb12u1", "1.0~rc1-1", "0")) {
            assertEquals(0, DebianVersion.compare(v, v), v);
        }
    }

    @Test
    void theLastHyphenSeparatesTheRevision() {
        // Upstream "4.17.7+13-g2445b30a44", revision "0+deb12u1": the upstream part decides first.
        assertOlder("4.17.7+13-g1-9", "4.17.7+13-g2-0");
        assertNewer("1.0-1-1", "1.0-2");
    }

    @Test
    void aNonNumericEpochIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> DebianVersion.compare("x:1.0", "1.0"));
    }

    /** Random versions built from the characters that matter, each pair judged by dpkg --compare-versions. */
    @Test
    void agreesWithDpkgOnRandomPairs() throws IOException, InterruptedException {
        assumeTrue(onPath("dpkg"), "no dpkg on this machine");
        Random random = new Random(5612);
        List<String[]> pairs = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            String a = randomVersion(random);
            // Half the pairs are near each other, which is where the ordering rules are subtle.
            String b = random.nextBoolean() ? randomVersion(random) : mutate(a, random);
            pairs.add(new String[] {a, b});
        }
        List<Integer> dpkg = dpkgCompare(pairs);

        List<String> disagreements = new ArrayList<>();
        for (int i = 0; i < pairs.size(); i++) {
            int ours = Integer.signum(DebianVersion.compare(pairs.get(i)[0], pairs.get(i)[1]));
            if (ours != dpkg.get(i)) {
                disagreements.add(pairs.get(i)[0] + " vs " + pairs.get(i)[1] + ": dpkg " + dpkg.get(i) + ", ours " + ours);
            }
        }
        assertEquals(List.of(), disagreements);
    }

    private static final String[] FRAGMENTS = {"0", "1", "2", "9", "10", "00", "007", "123", "a", "b", "z", "A",
        "dfsg", ".", "+", "~", "~~", "+b1", "."};
    private static final String[] REVISION_FRAGMENTS = {"0", "1", "2", "10", "a", "deb12u", ".", "+", "~", "bpo"};

    /** [epoch:]upstream[-revision] as dpkg accepts it: upstream starts with a digit, '-' only with a revision. */
    private static String randomVersion(Random random) {
        StringBuilder v = new StringBuilder();
        if (random.nextInt(5) == 0) {
            v.append(random.nextInt(3)).append(':');
        }
        v.append(random.nextInt(10));
        boolean hyphenInUpstream = false;
        for (int n = random.nextInt(6); n > 0; n--) {
            if (random.nextInt(12) == 0) {
                v.append('-');
                hyphenInUpstream = true;
            }
            v.append(FRAGMENTS[random.nextInt(FRAGMENTS.length)]);
        }
        if (hyphenInUpstream || random.nextBoolean()) {
            v.append('-');
            for (int n = 1 + random.nextInt(4); n > 0; n--) {
                v.append(REVISION_FRAGMENTS[random.nextInt(REVISION_FRAGMENTS.length)]);
            }
        }
        return v.toString();
    }

    /** Appends, drops or replaces a fragment at the end, keeping the version valid. */
    private static String mutate(String version, Random random) {
        String tail = REVISION_FRAGMENTS[random.nextInt(REVISION_FRAGMENTS.length)];
        return switch (random.nextInt(4)) {
            case 0 -> version + tail;
            case 1 -> version + (version.contains("-") ? "" : "-") + "1";
            case 2 -> version.length() > 2 && Character.isLetterOrDigit(version.charAt(version.length() - 2))
                    ? version.substring(0, version.length() - 1) : version;
            default -> version.replace("~", "+");
        };
    }

    /** One shell runs dpkg for every pair: -1, 0 or 1 as {@code a} is older, equal or newer. */
    private List<Integer> dpkgCompare(List<String[]> pairs) throws IOException, InterruptedException {
        StringBuilder input = new StringBuilder();
        for (String[] pair : pairs) {
            input.append(pair[0]).append(' ').append(pair[1]).append('\n');
        }
        Path file = Files.writeString(dir.resolve("pairs"), input);
        String script = "while read -r a b; do"
                + " if dpkg --compare-versions \"$a\" lt \"$b\"; then echo -1;"
                + " elif dpkg --compare-versions \"$a\" eq \"$b\"; then echo 0;"
                + " elif dpkg --compare-versions \"$a\" gt \"$b\"; then echo 1;"
                + " else echo \"error $a $b\"; fi; done < " + file;
        Process p = new ProcessBuilder("sh", "-c", script).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(60, TimeUnit.SECONDS);
        List<Integer> results = new ArrayList<>();
        for (String line : output.split("\n")) {
            // A warning or "error" line means the generator made a version dpkg finds invalid: a test bug.
            results.add(Integer.parseInt(line.trim()));
        }
        assertEquals(pairs.size(), results.size(), output);
        return results;
    }

    private static boolean onPath(String program) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, program))) {
                return true;
            }
        }
        return false;
    }

    private static void assertOlder(String a, String b) {
        assertEquals(-1, Integer.signum(DebianVersion.compare(a, b)), a + " < " + b);
        assertEquals(1, Integer.signum(DebianVersion.compare(b, a)), b + " > " + a);
    }

    private static void assertNewer(String a, String b) {
        assertOlder(b, a);
    }

    private static void assertSame(String a, String b) {
        assertEquals(0, DebianVersion.compare(a, b), a + " = " + b);
        assertEquals(0, DebianVersion.compare(b, a), b + " = " + a);
    }
}
