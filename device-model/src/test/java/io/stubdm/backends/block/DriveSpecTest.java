package io.stubdm.backends.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.stubdm.backends.block.DriveSpec.Cache;
import io.stubdm.backends.block.DriveSpec.Format;
import io.stubdm.backends.block.DriveSpec.Interface;
import io.stubdm.backends.block.DriveSpec.Media;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DriveSpecTest {

    @Test
    void libxlDiskInDom0() {
        DriveSpec d = DriveSpec.parse("file=/dev/vg0/hvm1,if=ide,index=0,media=disk,format=raw,cache=writeback");
        assertEquals(new DriveSpec(Optional.of(Path.of("/dev/vg0/hvm1")), Interface.IDE, OptionalInt.of(0),
                Media.DISK, Optional.of(Format.RAW), Cache.WRITEBACK, false, Optional.empty()), d);
        assertEquals("ide0-hd0", d.label());
    }

    @Test
    void libxlDiskInStubDomain() {
        DriveSpec d = DriveSpec.parse("file=/dev/xvdb,if=ide,index=1,media=disk,format=host_device,cache=writeback");
        assertEquals(Optional.of(Format.HOST_DEVICE), d.format());
        assertEquals(OptionalInt.of(1), d.index());
        assertEquals("ide0-hd1", d.label());
    }

    @Test
    void libxlCdromWithAndWithoutMedium() {
        DriveSpec empty = DriveSpec.parse("if=none,readonly=on,id=ide-5632");
        assertEquals(Optional.empty(), empty.file());
        assertEquals(Interface.NONE, empty.iface());
        assertTrue(empty.readOnly());
        assertEquals(Optional.empty(), empty.format());
        assertEquals("ide-5632", empty.label());

        DriveSpec iso = DriveSpec.parse("if=none,readonly=on,id=ide-5632,file=/isos/OPNsense.iso,format=raw");
        assertEquals(Optional.of(Path.of("/isos/OPNsense.iso")), iso.file());
        assertTrue(iso.readOnly());
    }

    @Test
    void cdromMediaIsReadOnly() {
        assertTrue(DriveSpec.parse("file=/a.iso,if=ide,index=2,media=cdrom").readOnly());
        assertEquals("ide1-cd0", DriveSpec.parse("file=/a.iso,if=ide,index=2,media=cdrom").label());
    }

    @Test
    void doubledCommaIsALiteralComma() {
        DriveSpec d = DriveSpec.parse("file=/images/a,,b,,,,c.img,format=raw");
        assertEquals(Optional.of(Path.of("/images/a,b,,c.img")), d.file());
        assertEquals(Optional.of(Format.RAW), d.format());
    }

    @Test
    void defaultsAreQemus() {
        DriveSpec d = DriveSpec.parse("file=/a.img");
        assertEquals(Interface.IDE, d.iface());
        assertEquals(Cache.WRITEBACK, d.cache());
        assertEquals(Media.DISK, d.media());
        assertEquals(Optional.empty(), d.format());
        assertFalse(d.readOnly());
        assertEquals(OptionalInt.empty(), d.index());
    }

    @ParameterizedTest
    @CsvSource({"writeback,false", "writethrough,true", "none,true", "directsync,true", "unsafe,false"})
    void cacheModes(String mode, boolean syncsEveryWrite) {
        DriveSpec d = DriveSpec.parse("file=/a.img,cache=" + mode);
        assertEquals(mode, d.cache().name().toLowerCase());
        assertEquals(syncsEveryWrite, d.cache().syncsEveryWrite());
    }

    @ParameterizedTest
    @CsvSource({"on,true", "off,false", "yes,true", "no,false"})
    void readonlyValues(String value, boolean readOnly) {
        assertEquals(readOnly, DriveSpec.parse("file=/a.img,readonly=" + value).readOnly());
    }

    @Test
    void bareKeyMeansOn() {
        assertTrue(DriveSpec.parse("file=/a.img,readonly").readOnly());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "file=/a.img,format=vpc|format=vpc",
        "file=/a.img,cache=sometimes|cache=sometimes",
        "file=/a.img,if=virtio|if=virtio",
        "file=/a.img,index=4|index=4",
        "file=/a.img,index=-1|index=-1",
        "file=/a.img,index=x|index=x",
        "file=/a.img,media=floppy|media=floppy",
        "file=/a.img,readonly=maybe|readonly=maybe",
        "file=/a.img,id=0bad|id=0bad",
        "file=/a.img,snapshot=on|'snapshot'",
        "file=/a.img,aio=native,werror=stop|'aio', 'werror'",
        "file=/a.img,file=/b.img|'file' given twice",
        ",file=/a.img|empty key",
    })
    void refusesNamingTheKey(String option, String named) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DriveSpec.parse(option));
        assertTrue(e.getMessage().contains(named), e.getMessage());
    }

    @Test
    void refusesEmptyOption() {
        assertThrows(IllegalArgumentException.class, () -> DriveSpec.parse(""));
    }
}
