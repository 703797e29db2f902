#!/bin/bash
# build-guest.sh — the lab's test guests, from Debian packages, without root or loop mounts (pitfall 7).
#
# A Debian kernel + a busybox initramfs whose /init prints parseable `STUBDM-CHECK ...` lines on ttyS0:
#   STUBDM-CHECK init uptime=<s>
#   STUBDM-CHECK pci <vendor:device> slot=<bdf> class=<c> irq=<n> driver=<drv>      (one per PCI function)
#   STUBDM-CHECK disk-sha256 <hash> ok|MISMATCH source=<dev> bytes=<n> read_s=<s> kib_per_s=<n>
#   STUBDM-CHECK net <ifname> driver=<drv> ping=<ip> ok|FAIL received=<n>/<n> rtt_min/avg/max_ms=<a/b/c>
#   STUBDM-CHECK serial-ready                       (then it waits up to 240 s for a line with Dom0's token)
#   STUBDM-CHECK serial-echo <the line>|TIMEOUT
#   STUBDM-CHECK vga-console <names>                (only with a VGA console; it also writes "STUBDM-VGA-OK" there)
#   STUBDM-CHECK keyboard-ready                     (when Dom0's token line ends in " vnc" and there is a VGA console:
#                                                    then it reads a line typed on the console's keyboard, 240 s)
#   STUBDM-CHECK keyboard-line <the line>|TIMEOUT
#   STUBDM-CHECK done uptime=<s>                    (then `poweroff -f`: ACPI S5 through PIIX4 PM)
# Outputs, in $LAB_CACHE/guest/<key>/ (key: package versions + this script):
#   disk.img  bootable IDE disk: MBR (syslinux mbr.bin), p1 FAT16 with syslinux + kernel + initrd,
#             p2 raw data (DATA_BYTES of known content; its sha256 is in data.sha256 and in the initramfs)
#   cd.iso    El Torito CD-ROM (xorriso + isolinux) with the same kernel/initrd and data.bin
#   data.sha256, guest.env
# Prints GUEST_DIR=<dir> as the last line. Host packages: cpio xz-utils kmod mtools dosfstools fdisk syslinux
# syslinux-common isolinux xorriso.
set -euo pipefail
LAB_CACHE=${LAB_CACHE:-/work/lab-cache}
log() { echo "[build-guest $(date +%T)] $*" >&2; }
for t in cpio xz depmod modprobe mcopy mkfs.fat sfdisk syslinux xorriso apt-get dpkg-deb; do
  command -v "$t" >/dev/null || { echo "build-guest.sh: missing host tool $t" >&2; exit 1; }
done
MBR=/usr/lib/syslinux/mbr/mbr.bin
ISOLINUX=/usr/lib/ISOLINUX/isolinux.bin
LDLINUX_C32=/usr/lib/syslinux/modules/bios/ldlinux.c32
for f in $MBR $ISOLINUX $LDLINUX_C32; do [ -f "$f" ] || { echo "build-guest.sh: missing $f (apt-get install syslinux-common isolinux)" >&2; exit 1; }; done

KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
KVER=${KPKG#linux-image-}
PKGS="$KPKG busybox-static syslinux syslinux-common isolinux"
VERSIONS=$(for p in $PKGS; do printf '%s=%s\n' "$p" "$(apt-cache policy "$p" | awk '/Candidate:/{print $2}')"; done)
KEY=$(printf '%s\n' "$VERSIONS" | cat - "$0" | sha256sum | cut -c1-16)
G=$LAB_CACHE/guest/$KEY
mkdir -p "$LAB_CACHE/debs" "$LAB_CACHE/guest"
exec 9>"$LAB_CACHE/guest/.lock"; flock 9
if [ -f "$G/.complete" ]; then log "reusing cached guest $G"; echo "GUEST_DIR=$G"; exit 0; fi

log "building guest into $G"
rm -rf "$G"; mkdir -p "$G/stage"; S=$G/stage
printf '%s\n' "$VERSIONS" > "$G/versions.txt"
(cd "$LAB_CACHE/debs" && apt-get download "$KPKG" busybox-static 2>&1 | grep -v unsandboxed >&2 || true)
dpkg-deb -x "$(ls -t "$LAB_CACHE/debs/${KPKG}_"*.deb | head -1)" "$S/kernel"
dpkg-deb -x "$(ls -t "$LAB_CACHE/debs/busybox-static_"*.deb | head -1)" "$S/busybox"
KM=$S/kernel/lib/modules/$KVER
depmod -b "$S/kernel" "$KVER"

# ---- the data the guest checksums: 8 MiB where every 16-byte line differs (a misplaced sector shows) ----
DATA_BYTES=$((8 * 1024 * 1024))
seq -f '%015.0f' 0 $((DATA_BYTES / 16 - 1)) > "$S/data.bin"
[ "$(stat -c %s "$S/data.bin")" = "$DATA_BYTES" ] || { echo "data size wrong" >&2; exit 1; }
DATA_SHA=$(sha256sum "$S/data.bin" | cut -d' ' -f1)
echo "$DATA_SHA" > "$G/data.sha256"

# ---- initramfs: static busybox + the few modules needed ----
I=$S/initramfs
mkdir -p "$I"/{bin,dev,proc,sys,mnt,etc,tmp}
cp "$S/busybox/bin/busybox" "$I/bin/busybox"
MODS="ata_piix sd_mod sr_mod isofs e1000 8139cp 8139too"
# Loaded only when the kernel unplugged the emulated devices (disk-pv.img): the PV disk and NIC.
PV_MODS="xen-blkfront xen-netfront"
for m in $MODS $PV_MODS; do
  modprobe -d "$S/kernel" -S "$KVER" --show-depends "$m" | awk '$1=="insmod"{print $2}'
done | sort -u | while read -r f; do
  rel=${f#"$KM"/}; mkdir -p "$I/lib/modules/$KVER/$(dirname "$rel")"; cp "$f" "$I/lib/modules/$KVER/$rel"
done
cp "$KM"/modules.order "$KM"/modules.builtin "$I/lib/modules/$KVER/"
depmod -b "$I" "$KVER"
cat > "$I/etc/lab.conf" <<EOF
DATA_BYTES=$DATA_BYTES
DATA_SHA256=$DATA_SHA
MODULES="$MODS"
PV_MODULES="$PV_MODS"
GUEST_IP=10.99.0.2
DOM0_IP=10.99.0.1
EOF
cat > "$I/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
. /etc/lab.conf
up() { cut -d' ' -f1 /proc/uptime; }
say() { echo "STUBDM-CHECK $*"; }
say init uptime=$(up)
for m in $MODULES; do modprobe "$m" 2>/dev/null || say warning modprobe-failed "$m"; done
# Without xen_emul_unplug=never the kernel has asked the platform device to unplug the emulated disks and
# NICs; the PV front-ends take over (Dom0's blkback and netback serve them, not the device model).
if ! grep -q xen_emul_unplug=never /proc/cmdline; then
  say unplug-mode pv
  for m in $PV_MODULES; do modprobe "$m" 2>/dev/null || say warning modprobe-failed "$m"; done
fi

# Wait (30 s at most) for the block device holding the data: IDE disk partition 2, or the CD-ROM.
i=0
while [ ! -b /dev/sda2 ] && [ ! -b /dev/xvda2 ] && [ ! -b /dev/sr0 ] && [ $i -lt 60 ]; do sleep 0.5; i=$((i+1)); done

for d in /sys/bus/pci/devices/*; do
  drv=none; [ -e "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
  v=$(cat "$d/vendor"); dv=$(cat "$d/device")
  say pci "${v#0x}:${dv#0x}" slot=$(basename "$d") class=$(cat "$d/class") irq=$(cat "$d/irq") driver=$drv
done

src=""
if [ -b /dev/sda2 ]; then src=/dev/sda2
elif [ -b /dev/xvda2 ]; then src=/dev/xvda2
elif [ -b /dev/sr0 ] && mount -t iso9660 -o ro /dev/sr0 /mnt; then src=/mnt/data.bin
fi
if [ -n "$src" ]; then
  t0=$(up); h=$(head -c "$DATA_BYTES" "$src" | sha256sum | cut -d' ' -f1); t1=$(up)
  ok=MISMATCH; [ "$h" = "$DATA_SHA256" ] && ok=ok
  say disk-sha256 "$h" $ok source=$src bytes=$DATA_BYTES \
    $(awk -v a="$t0" -v b="$t1" -v n="$DATA_BYTES" 'BEGIN{d=b-a; if(d<=0)d=0.01; printf "read_s=%.2f kib_per_s=%d", d, n/1024/d}')
else
  say disk-sha256 none FAIL no-data-device
fi

ifc=""
for n in /sys/class/net/*; do n=$(basename "$n"); [ "$n" != lo ] && { ifc=$n; break; }; done
if [ -n "$ifc" ]; then
  drv=$(basename "$(readlink /sys/class/net/$ifc/device/driver)" 2>/dev/null)
  ip link set lo up; ip link set "$ifc" up; ip addr add "$GUEST_IP/24" dev "$ifc"
  out=$(ping -c 5 -W 5 -w 40 "$DOM0_IP" 2>&1)
  rx=$(echo "$out" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
  rtt=$(echo "$out" | sed -n 's/.*min\/avg\/max = \([0-9.\/]*\) ms.*/\1/p')
  ok=FAIL; [ -n "$rx" ] && [ "$rx" -gt 0 ] && ok=ok
  say net "$ifc" driver=$drv ping=$DOM0_IP $ok received=${rx:-0}/5 rtt_min/avg/max_ms=${rtt:-none}
else
  say net none FAIL no-interface
fi

# ttyS0 is opened before the guest says it is ready: opening the port resets the UART's FIFOs.
exec 4< /dev/ttyS0
say serial-ready
# Dom0 sends its token again every few seconds until it sees the echo: a copy that arrives before the shell
# has opened ttyS0 is thrown away with the UART's FIFO when the port opens, as on real hardware. So the first
# whole line that carries the token counts, within 240 s.
echo_line=TIMEOUT
end=$(( $(cut -d. -f1 /proc/uptime) + 240 ))
while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
  if read -t 10 line <&4; then
    case "$line" in *stubdm-echo-*) echo_line=stubdm-echo-${line##*stubdm-echo-}; break;; esac
  fi
done
exec 4<&-
say serial-echo "$echo_line"
# On a VGA text console (vga="stdvga") a line for the lab to find in a screendump: the VT, not the serial port.
if grep -qs VGA /sys/class/vtconsole/vtcon*/name; then
  printf '\nSTUBDM-VGA-OK %s\n' "$(cat /sys/class/vtconsole/vtcon*/name | tr -s ' \n' ' ')" > /dev/tty1
  say vga-console "$(cat /sys/class/vtconsole/vtcon*/name | tr -s ' \n' ' ')"
  # A VNC scenario types a line into the VT through the device model's VNC server and its PS/2 keyboard. The
  # VT echoes it (so it is on the screen too) and hands it over at Enter.
  case "$echo_line" in *" vnc")
    say keyboard-ready
    kbd_line=TIMEOUT
    read -t 240 line < /dev/tty1 && kbd_line=$line
    say keyboard-line "$kbd_line";;
  esac
fi
say done uptime=$(up)
sync
poweroff -f
EOF
chmod 755 "$I/init"
(cd "$I" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | xz -9 --check=crc32) > "$S/initrd.img"
cp "$S/kernel/boot/vmlinuz-$KVER" "$S/vmlinuz"
APPEND="console=ttyS0,115200 loglevel=6 xen_emul_unplug=never panic=5 rdinit=/init"

# ---- IDE disks: MBR + FAT16 boot partition (syslinux) + raw data partition ----
# disk.img boots with the emulated devices kept (xen_emul_unplug=never); disk-pv.img, identical but for the
# kernel command line, lets Linux unplug them through the Xen platform device and use its PV drivers instead.
P1_SECT=$((24 * 2048)); P2_SECT=$((DATA_BYTES / 512))
build_disk() {  # <image> <kernel command line>
  printf 'SERIAL 0 115200\nDEFAULT lab\nPROMPT 0\nTIMEOUT 0\nLABEL lab\n  KERNEL vmlinuz\n  INITRD initrd.img\n  APPEND %s\n' \
    "$2" > "$S/syslinux.cfg"
  rm -f "$S/p1.img"
  mkfs.fat -C -h 2048 -n STUBDMLAB "$S/p1.img" $((P1_SECT / 2)) >/dev/null
  mcopy -i "$S/p1.img" "$S/vmlinuz" "$S/initrd.img" "$S/syslinux.cfg" ::
  syslinux --install "$S/p1.img"
  truncate -s $(( (2048 + P1_SECT + P2_SECT) * 512 )) "$1"
  printf 'label: dos\nunit: sectors\nstart=2048, size=%d, type=6, bootable\nstart=%d, size=%d, type=da\n' \
    $P1_SECT $((2048 + P1_SECT)) $P2_SECT | sfdisk -q "$1"
  dd if="$S/p1.img" of="$1" bs=512 seek=2048 conv=notrunc status=none
  dd if="$S/data.bin" of="$1" bs=512 seek=$((2048 + P1_SECT)) conv=notrunc status=none
  dd if=$MBR of="$1" bs=440 count=1 conv=notrunc status=none
}
build_disk "$G/disk-pv.img" "${APPEND/ xen_emul_unplug=never/}"
build_disk "$G/disk.img" "$APPEND"   # last, so that syslinux.cfg below is the emulated-devices one

# ---- CD-ROM: El Torito no-emulation boot with isolinux ----
C=$S/cd; mkdir -p "$C/isolinux"
cp $ISOLINUX $LDLINUX_C32 "$C/isolinux/"
cp "$S/vmlinuz" "$S/initrd.img" "$S/data.bin" "$C/"
sed 's/^  KERNEL vmlinuz/  KERNEL \/vmlinuz/; s/^  INITRD initrd.img/  INITRD \/initrd.img/' "$S/syslinux.cfg" > "$C/isolinux/isolinux.cfg"
xorriso -as mkisofs -quiet -o "$G/cd.iso" -V STUBDM_LAB -J -r \
  -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table "$C" 2>&1 | grep -v '^xorriso : UPDATE' >&2 || true
[ -s "$G/cd.iso" ] || { echo "build-guest.sh: xorriso failed" >&2; exit 1; }

cat > "$G/guest.env" <<EOF
GUEST_KVER=$KVER
GUEST_KERNEL_BYTES=$(stat -c %s "$S/vmlinuz")
GUEST_INITRD_BYTES=$(stat -c %s "$S/initrd.img")
DATA_BYTES=$DATA_BYTES
DATA_SHA256=$DATA_SHA
EOF
rm -rf "$S"
touch "$G/.complete"
log "guest built: $(cat "$G/guest.env" | tr '\n' ' ')"
ls -la "$G" >&2
echo "GUEST_DIR=$G"
