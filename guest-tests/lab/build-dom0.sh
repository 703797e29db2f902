#!/bin/bash
# build-dom0.sh — the nested lab's Dom0: Xen 4.17 + Debian kernel + a debootstrapped Dom0 tree as an initramfs.
#
# Everything comes from Debian's archive (the host's apt sources). The expensive part (debootstrap, package
# install, kernel extraction, module trimming, cpio) is cached under $LAB_CACHE/dom0/<key>/, where <key> is a
# hash of this script and the candidate versions of every package that goes in. Re-running with the same
# inputs reuses it. The per-run part (an extra directory and a job script) is a second, small cpio archive
# appended to the cached one (the kernel unpacks concatenated archives in order).
#
# Usage: build-dom0.sh [--extra DIR] [--job SCRIPT] [--out FILE]
#   --extra DIR    copied into the Dom0 tree as /lab (stubdm jars, test guests, xl configs, ...)
#   --job SCRIPT   copied to /lab/job.sh; /init runs it after set-up (output on the console = hvc0 =
#                  Xen's serial line), then powers the whole machine off
#   --out FILE     where to write the run's initramfs (default $LAB_CACHE/run/dom0-run.cpio.gz)
# Prints (last lines of stdout) shell assignments: XEN=..., DOM0_KERNEL=..., DOM0_INITRD=...
# Needs root (debootstrap, chroot), and host packages debootstrap cpio gzip kmod.
set -euo pipefail

LAB_CACHE=${LAB_CACHE:-/work/lab-cache}
SUITE=${LAB_SUITE:-bookworm}
MIRROR=${LAB_MIRROR:-http://deb.debian.org/debian}
EXTRA=""; JOB=""; OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --extra) EXTRA=$2; shift 2;;
    --job) JOB=$2; shift 2;;
    --out) OUT=$2; shift 2;;
    -h|--help) sed -n '2,20p' "$0"; exit 0;;
    *) echo "build-dom0.sh: unknown option $1" >&2; exit 2;;
  esac
done
OUT=${OUT:-$LAB_CACHE/run/dom0-run.cpio.gz}
log() { echo "[build-dom0 $(date +%T)] $*" >&2; }

for t in debootstrap cpio gzip depmod modprobe apt-cache apt-get dpkg-deb; do
  command -v "$t" >/dev/null || { echo "build-dom0.sh: missing host tool $t (apt-get install debootstrap cpio gzip kmod)" >&2; exit 1; }
done

# Packages of the Dom0 tree (installed with apt inside the chroot, so security updates apply and Xen's tools
# match the hypervisor taken from the same archive).
DOM0_PKGS="xen-utils-4.17 xenstore-utils qemu-system-xen seabios ipxe-qemu busybox kmod iproute2 procps
  openjdk-17-jre-headless util-linux mount dmsetup"
KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$KPKG" ] || { echo "build-dom0.sh: cannot resolve linux-image-amd64 (run apt-get update)" >&2; exit 1; }
KVER=${KPKG#linux-image-}
XENPKG=xen-hypervisor-4.17-amd64

versions() {
  for p in $XENPKG $KPKG $DOM0_PKGS; do
    printf '%s=%s\n' "$p" "$(apt-cache policy "$p" | awk '/Candidate:/{print $2}')"
  done
}
VERSIONS=$(versions)
# The key covers the package versions and the parts of this script that shape the cached tree (everything
# except the per-run overlay at the end, marked below).
SELF_CORE=$(sed '/^# ---- per-run overlay ----/,$d' "$0")
KEY=$(printf '%s\n%s\n%s\n' "$SUITE" "$VERSIONS" "$SELF_CORE" | sha256sum | cut -c1-16)
C=$LAB_CACHE/dom0/$KEY
mkdir -p "$LAB_CACHE/debs" "$LAB_CACHE/dom0"

exec 9>"$LAB_CACHE/dom0/.lock"
flock 9

if [ -f "$C/.complete" ]; then
  log "reusing cached Dom0 $C"
else
  log "building Dom0 into $C (key $KEY)"
  T0=$(date +%s)
  rm -rf "$C"; mkdir -p "$C"
  printf '%s\n' "$VERSIONS" > "$C/versions.txt"
  R=$C/rootfs

  # 1. Xen and the kernel, from the archive as .debs (apt-get download uses the host's sources).
  (cd "$LAB_CACHE/debs" && apt-get download "$XENPKG" "$KPKG" 2>&1 | grep -v unsandboxed >&2 || true)
  XDEB=$(ls -t "$LAB_CACHE/debs/${XENPKG}_"*.deb | head -1)
  KDEB=$(ls -t "$LAB_CACHE/debs/${KPKG}_"*.deb | head -1)
  mkdir -p "$C/xen" "$C/kernel"
  dpkg-deb -x "$XDEB" "$C/xen"
  dpkg-deb -x "$KDEB" "$C/kernel"
  # QEMU's multiboot loader needs the plain ELF, not xen.gz.
  gunzip -c "$C/xen/boot/xen-4.17-amd64.gz" > "$C/xen.elf"
  cp "$C/kernel/boot/vmlinuz-$KVER" "$C/vmlinuz"

  # 2. debootstrap minbase, then install the Dom0 packages from all of the host's suites (incl. security).
  log "debootstrap $SUITE (minbase)"
  debootstrap --variant=minbase "$SUITE" "$R" "$MIRROR" > "$C/debootstrap.log" 2>&1 \
    || { tail -30 "$C/debootstrap.log" >&2; exit 1; }
  rm -f "$R"/etc/apt/sources.list
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$R/etc/apt/sources.list.d/"
  else
    echo "deb $MIRROR $SUITE main" > "$R/etc/apt/sources.list"
  fi
  printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"; chmod +x "$R/usr/sbin/policy-rc.d"
  umount_all() { for m in dev/pts dev sys proc; do umount -l "$R/$m" 2>/dev/null || true; done; }
  trap umount_all EXIT
  mount -t proc proc "$R/proc"; mount -t sysfs sysfs "$R/sys"
  mount --bind /dev "$R/dev"; mount --bind /dev/pts "$R/dev/pts"
  log "apt-get install $DOM0_PKGS"
  chroot "$R" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 sh -c \
    "apt-get update && apt-get -y dist-upgrade && apt-get install -y --no-install-recommends $(echo $DOM0_PKGS)" \
    > "$C/apt.log" 2>&1 || { tail -40 "$C/apt.log" >&2; exit 1; }
  chroot "$R" dpkg-query -W -f '${Package}=${Version}\n' > "$C/installed.txt"
  umount_all; trap - EXIT
  rm -f "$R/usr/sbin/policy-rc.d"

  # 3. Kernel modules. Extracting the kernel .deb straight into the tree would replace the merged-/usr
  # `lib -> usr/lib` symlink with a directory (pitfall 3), so it was extracted aside and only the modules
  # Dom0 needs (with their dependencies, resolved by modprobe) are copied to usr/lib/modules.
  KM=$C/kernel/lib/modules/$KVER
  depmod -b "$C/kernel" "$KVER"
  MODS="xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xen-netback xen-blkback tun bridge loop dm-snapshot"
  DST=$R/usr/lib/modules/$KVER
  rm -rf "$DST"; mkdir -p "$DST"
  cp "$KM"/modules.order "$KM"/modules.builtin* "$DST"/
  for m in $MODS; do
    modprobe -d "$C/kernel" -S "$KVER" --show-depends "$m" 2>/dev/null | awk '$1=="insmod"{print $2}'
  done | sort -u | while read -r f; do
    rel=${f#"$KM"/}
    mkdir -p "$DST/$(dirname "$rel")"; cp "$f" "$DST/$rel"
  done
  depmod -b "$R" "$KVER"
  [ -L "$R/lib" ] || { echo "build-dom0.sh: $R/lib is not the merged-/usr symlink" >&2; exit 1; }

  # 4. Trim what a RAM-only Dom0 never reads.
  rm -rf "$R"/usr/share/doc/* "$R"/usr/share/man/* "$R"/usr/share/info/* "$R"/var/cache/apt/*.bin \
         "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/*_Packages "$R"/var/lib/apt/lists/*_InRelease
  find "$R/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'C*' -exec rm -rf {} + 2>/dev/null || true

  # 5. /init (pitfall 4: no systemd/udev; everything by hand).
  cat > "$R/init" <<'EOF'
#!/bin/sh
# stubdm nested lab: Dom0 init (PID 1 inside the initramfs).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /run /tmp
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /dev/shm
# Xen's hotplug locking.sh loops forever on `stat /dev/stdin` without these.
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
hostname dom0
ip link set lo up
echo "STUBDM-LAB dom0-init uptime=$(cut -d' ' -f1 /proc/uptime)"
for m in xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xen-netback xen-blkback tun bridge loop dm-snapshot; do
  modprobe "$m" || echo "STUBDM-LAB warning: modprobe $m failed"
done
mount -t xenfs xenfs /proc/xen
mkdir -p /run/xen /run/xenstored /var/log/xen /var/lib/xen /var/lib/xenstored
/usr/lib/xen-4.17/bin/xenstored --pid-file /run/xenstored.pid
/usr/lib/xen-4.17/bin/xen-init-dom0
/usr/lib/xen-4.17/bin/xenconsoled --pid-file=/run/xen/xenconsoled.pid
ip link add xenbr0 type bridge
ip addr add 10.99.0.1/24 dev xenbr0
ip link set xenbr0 up
echo "STUBDM-LAB dom0-ready uptime=$(cut -d' ' -f1 /proc/uptime)"
rc=0
if [ -x /lab/job.sh ]; then
  cd /lab && /lab/job.sh; rc=$?
else
  echo "STUBDM-LAB no /lab/job.sh: nothing to do"
fi
echo "STUBDM-LAB-DONE rc=$rc"
sync
busybox poweroff -f
sleep 5
echo o > /proc/sysrq-trigger
EOF
  chmod 755 "$R/init"

  # 6. The cached base archive.
  log "cpio + gzip -1 of $(du -sh "$R" | cut -f1)"
  (cd "$R" && find . -xdev | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) > "$C/dom0-base.cpio.gz"
  [ -s "$C/dom0-base.cpio.gz" ] || { echo "build-dom0.sh: empty cpio (is cpio installed?)" >&2; exit 1; }
  echo "$KVER" > "$C/kver"
  touch "$C/.complete"
  log "Dom0 built in $(( $(date +%s) - T0 )) s: $(du -h "$C/dom0-base.cpio.gz" | cut -f1) initramfs"
fi

# ---- per-run overlay ---- (not part of the cache key)
mkdir -p "$(dirname "$OUT")" "$LAB_CACHE/run"
O=$(mktemp -d "$LAB_CACHE/run/overlay.XXXXXX")
mkdir -p "$O/lab"
[ -n "$EXTRA" ] && cp -a "$EXTRA"/. "$O/lab/"
if [ -n "$JOB" ]; then cp "$JOB" "$O/lab/job.sh"; chmod 755 "$O/lab/job.sh"; fi
(cd "$O" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) > "$O.cpio.gz"
cat "$C/dom0-base.cpio.gz" "$O.cpio.gz" > "$OUT"
rm -rf "$O" "$O.cpio.gz"
log "run initramfs $OUT ($(du -h "$OUT" | cut -f1))"
echo "XEN=$C/xen.elf"
echo "DOM0_KERNEL=$C/vmlinuz"
echo "DOM0_INITRD=$OUT"
echo "DOM0_CACHE=$C"
