#!/bin/bash
# run-lab.sh — the nested Xen lab: Xen 4.17 + Debian Dom0 under qemu-system-x86_64 (TCG), which boots the
# test guests with `xl create` and checks what they print (see README.md next to this script).
#
#   DM=qemu     (default) Debian's qemu-xen (/usr/libexec/xen-qemu-system-i386) is the device model
#   DM=stubdm   stubdm via device_model_override (STUBDM_DIST, default stubdom-runtime/target/stubdm)
#   DM=stubdom  stubdm in a Linux stub domain (device_model_stubdomain_override=1) built by `stubdm stubdom-image`,
#               and stubdm in Dom0 as the stub domain's console backend; option -smem<MiB> sets stubdomain_memory
#   SCENARIOS   space-separated, default "ide": <medium>[-<nic>][-norom][-stdvga|-cirrus][-vnc][-smem<MiB>][-prom][@qemu|@stubdm|@stubdom]. Media: ide = the raw
#               IDE disk, qcow = the same disk as qcow2, cd = the CD-ROM ISO (hdc), pv = an IDE disk whose
#               kernel unplugs the emulated disk and NIC; NICs e1000 or rtl8139. A suffix @qemu or @stubdm picks
#               the DM of that one scenario, so "ide@qemu ide@stubdm" compares both in one run
#   LAB_SCREENS where the -stdvga/-cirrus scenarios' screendumps go as <scenario>.png or .ppm.gz, and the -vnc scenarios'
#               VNC client's picture as <scenario>-vnc.ppm.gz (default $LAB_CACHE/run/screens)
#   LAB_CACHE   scratch/cache directory (default /work/lab-cache; keep it outside the repository)
#   LAB_LOG     the serial log (default $LAB_CACHE/run/lab-<date>.log); streamed to stdout as it grows
#   (the QEMU monitor of the outer machine is on $LAB_CACHE/run/monitor.sock, e.g. for `info registers`
#    when the nested system hangs: socat - UNIX-CONNECT:...)
#   LAB_TIMEOUT wall-clock limit of one boot of the nested machine in seconds (default 3000); GUEST_TIMEOUT per
#               guest (default 1500); LAB_RETRIES boots again after a crash, stall or nested-emulation fault
#               (default 2); LAB_BUDGET limits the whole script, retries included (seconds, default none)
# Exit status 0 only if every scenario printed STUBDM-LAB-RESULT ... PASS.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export LAB_CACHE=${LAB_CACHE:-/work/lab-cache}
DM=${DM:-qemu}
SCENARIOS=${SCENARIOS:-ide}
LAB_TIMEOUT=${LAB_TIMEOUT:-3000}
START=$(date +%s)
GUEST_TIMEOUT=${GUEST_TIMEOUT:-1500}
mkdir -p "$LAB_CACHE/run"
LOG=${LAB_LOG:-$LAB_CACHE/run/lab-$(date +%Y%m%d-%H%M%S).log}
log() { echo "[run-lab $(date +%T)] $*" >&2; }
command -v qemu-system-x86_64 >/dev/null || { echo "run-lab.sh: apt-get install qemu-system-x86" >&2; exit 1; }

# ---- test guests ----
GUEST_DIR=$("$HERE/build-guest.sh" | sed -n 's/^GUEST_DIR=//p')
. "$GUEST_DIR/guest.env"

# ---- what goes into Dom0 as /lab ----
X=$(mktemp -d "$LAB_CACHE/run/extra.XXXXXX")
trap 'rm -rf "$X"' EXIT
mkdir -p "$X/guest" "$X/xl"
cp "$GUEST_DIR/disk.img" "$GUEST_DIR/disk-pv.img" "$GUEST_DIR/cd.iso" "$GUEST_DIR/guest.env" "$X/guest/"
# The IDE disk as a qcow2 image (the format most images come in), for the qcow medium.
case " $SCENARIOS " in *" qcow"*)
  command -v qemu-img >/dev/null || { echo "run-lab.sh: the qcow medium needs qemu-img (apt-get install qemu-utils)" >&2; exit 1; }
  qemu-img convert -f raw -O qcow2 "$GUEST_DIR/disk.img" "$X/guest/disk.qcow2";;
esac
cat > "$X/lab.env" <<EOF
DM=$DM
SCENARIOS="$SCENARIOS"
GUEST_TIMEOUT=$GUEST_TIMEOUT
STUBDOM_CPU=${STUBDOM_CPU:-1}
DATA_SHA256=$DATA_SHA256
EOF

# The device model lines of a guest config, per DM.
dm_lines() {
  case "$1" in
    qemu)
      # libxl's default: /usr/libexec/xen-qemu-system-i386 from Debian's qemu-system-xen.
      echo 'device_model_version = "qemu-xen"';;
    stubdm)
      echo 'device_model_version = "qemu-xen"'
      echo 'device_model_override = "/lab/stubdm/bin/stubdm"';;
    stubdom)
      # stubdm in a Linux stub domain, booted from the images `stubdm stubdom-image` built (installed in Dom0 by
      # `stubdm stubdom-install` at the default paths), and stubdm in Dom0 as the stub domain's console backend
      # (libxl runs the guest's device_model_override for that too): no QEMU anywhere.
      echo 'device_model_version = "qemu-xen"'
      echo 'device_model_override = "/lab/stubdm/bin/stubdm"'
      echo 'device_model_stubdomain_override = 1'
      echo "stubdomain_memory = $2"
      # Extra JVM options for the stub domain's stubdm (STUBDOM_JAVA_OPTS, comma-separated), for pitfall 20.
      [ -n "${STUBDOM_JAVA_OPTS:-}" ] && echo "stubdomain_cmdline = \"stubdm.java_opts=$STUBDOM_JAVA_OPTS\"";;
    *) echo "run-lab.sh: unknown DM '$1' (qemu, stubdm or stubdom)" >&2; exit 2;;
  esac
}

# stubdm goes into Dom0 as /lab/stubdm (bin/stubdm and lib/*.jar), run by Dom0's openjdk-17-jre-headless.
need_stubdm=no
for sc in $SCENARIOS; do
  case "$sc" in *@stubdm|*@stubdom) need_stubdm=yes;; *@*) ;; *) [ "$DM" = stubdm ] && need_stubdm=yes;; esac
done
if [ "$need_stubdm" = yes ]; then
  STUBDM_DIST=${STUBDM_DIST:-$HERE/../../stubdom-runtime/target/stubdm}
  if [ ! -x "$STUBDM_DIST/bin/stubdm" ]; then
    echo "run-lab.sh: no $STUBDM_DIST/bin/stubdm: build it first with 'mvn -B -DskipTests package' (or set STUBDM_DIST)" >&2
    exit 2
  fi
  cp -a "$STUBDM_DIST" "$X/stubdm"
fi

# @stubdom scenarios: the stub domain's kernel and rootfs, built from Debian's packages (downloaded into the lab's
# .deb cache) by the stubdm under test; Dom0's job installs them where libxl looks.
case " $SCENARIOS " in *@stubdom[\ ]*)
  log "stubdm stubdom-image (packages in $LAB_CACHE/debs)"
  "$STUBDM_DIST/bin/stubdm" stubdom-image --debs "$LAB_CACHE/debs" --fetch --out "$X/stubdom" >&2 \
    || { echo "run-lab.sh: stubdm stubdom-image failed" >&2; exit 1; }
  rm -f "$X/stubdm/lib/stubdm.jsa";;
esac

# -prom scenarios: Debian's Prometheus server (only its binary, from the .deb in the lab's cache) goes into Dom0 as
# /lab/prom/prometheus for this run; Dom0's job starts it and `stubdm exporter` before the first scenario.
case " $SCENARIOS " in *-prom[@\ -]*)
  (cd "$LAB_CACHE/debs" && ls prometheus_*.deb >/dev/null 2>&1 || apt-get download prometheus >&2) \
    || { echo "run-lab.sh: apt-get download prometheus failed" >&2; exit 1; }
  mkdir -p "$X/prom"
  dpkg-deb --fsys-tarfile "$(ls -t "$LAB_CACHE"/debs/prometheus_*.deb | head -1)" | tar -x -C "$X/prom" ./usr/bin/prometheus
  mv "$X/prom/usr/bin/prometheus" "$X/prom/prometheus"; rm -rf "$X/prom/usr"
  echo "PROM=yes" >> "$X/lab.env";;
esac

# The lab's RFB client (a test class of guest-tests and device-model's RfbClient, run by Dom0's Java) for the
# -vnc scenarios; `mvn test-compile` builds both.
LAB_VNC_PASSWORD=stubdm-l
case " $SCENARIOS " in *-vnc[@\ -]*)
  mkdir -p "$X/vncprobe/io/stubdm/lab" "$X/vncprobe/io/stubdm/backends/vnc"
  T=$HERE/../target/test-classes; D=$HERE/../../device-model/target/test-classes
  ls "$T"/io/stubdm/lab/VncProbe*.class "$D"/io/stubdm/backends/vnc/RfbClient*.class >/dev/null 2>&1 \
    || { echo "run-lab.sh: the -vnc scenarios need the lab's RFB client: mvn -B -DskipTests test-compile" >&2; exit 2; }
  cp "$T"/io/stubdm/lab/VncProbe*.class "$X/vncprobe/io/stubdm/lab/"
  cp "$D"/io/stubdm/backends/vnc/RfbClient*.class "$X/vncprobe/io/stubdm/backends/vnc/";;
esac
echo "LAB_VNC_PASSWORD=$LAB_VNC_PASSWORD" >> "$X/lab.env"

for sc in $SCENARIOS; do
  # <boot medium>-<NIC model>[-norom][@<dm>]; "ide" and "cd" are short for ide-e1000 and cd-rtl8139.
  dm=$DM; base=$sc
  case "$sc" in *@*) dm=${sc#*@}; base=${sc%@*};; esac
  case "$base" in ide) full=ide-e1000;; qcow) full=qcow-rtl8139;; cd) full=cd-rtl8139;; pv) full=pv-rtl8139;; *) full=$base;; esac
  case "${full%%-*}" in
    ide) disk="'format=raw,vdev=hda,access=rw,target=/lab/guest/disk.img'"; boot=c;;
    cd)  disk="'format=raw,vdev=hdc,access=ro,devtype=cdrom,target=/lab/guest/cd.iso'"; boot=d;;
    # the same IDE disk in qcow2
    qcow) disk="'format=qcow2,vdev=hda,access=rw,target=/lab/guest/disk.qcow2'"; boot=c;;
    # the IDE disk whose kernel unplugs the emulated disk and NIC and goes on with PV drivers
    pv)  disk="'format=raw,vdev=hda,access=rw,target=/lab/guest/disk-pv.img'"; boot=c;;
    # `stubdm boot-test` boots the raw IDE disk itself (its own xl config, a copy-on-write overlay) with the linux
    # profile; Dom0's job takes the NIC, the placement (@stubdm: Dom0, @stubdom) and -smem from this config
    bt)  disk="'format=raw,vdev=hda,access=ro,target=/lab/guest/disk.img'"; boot=c;;
    *) echo "run-lab.sh: unknown scenario $sc (ide|qcow|cd|pv|bt[-e1000|-rtl8139][@qemu|@stubdm|@stubdom])" >&2; exit 2;;
  esac
  rest=${full#*-}; nic=${rest%%-*}; extra=""; vga="none"; vnc="vnc = 0"; smem=${STUBDOM_MEMORY:-128}
  case "$nic" in e1000|rtl8139) ;; *) echo "run-lab.sh: unknown NIC in scenario $sc" >&2; exit 2;; esac
  for opt in $(echo "${rest#"$nic"}" | tr '-' ' '); do
    case "$opt" in
      # no option ROM on the NIC (QEMU's iPXE ROM is skipped; an experiment, see README)
      norom) extra="device_model_args_hvm = [ '-global', '$nic.romfile=' ]";;
      # the standard VGA with its VGA BIOS: Dom0 takes a screendump after the guest powered off
      stdvga) vga="stdvga";;
      # the Cirrus GD5446, xl's default adapter (-device cirrus-vga,vgamem_mb=8), with vgabios-cirrus
      cirrus) vga="cirrus";;
      # a VNC server with a password (libxl: -vnc ...,password=on, then QMP change-vnc-password); Dom0 connects
      # with the lab's RFB client, takes the picture and types a line the guest must read from its VT
      # (a password only for stubdm: Debian's qemu-system-xen refuses password=on, "Cipher backend does not
      # support DES algorithm")
      vnc) vnc=$(printf 'vnc = 1\nvnclisten = "127.0.0.1"'); [ "$dm" = stubdm ] && vnc=$(printf '%s\nvncpasswd = "%s"' "$vnc" "$LAB_VNC_PASSWORD");;
      # @stubdom: the stub domain's memory in MiB (stubdomain_memory; libxl's default and the goal is 128)
      smem[0-9]*) smem=${opt#smem};;
      # a Prometheus server in Dom0 scrapes `stubdm exporter` while the guest runs; its HTTP API must show the
      # guest's disk bytes and NIC frames rising (Dom0's job reads it)
      prom) extra="$extra
# lab-prom: yes";;
      *) echo "run-lab.sh: unknown option -$opt in scenario $sc (norom, stdvga, cirrus, vnc, smem<MiB>, prom)" >&2; exit 2;;
    esac
  done
  # A stub domain reaches the guest's disks through its own PV disks, and libxl backs a PV disk on a plain file with
  # qdisk, a QEMU device in Dom0; with a block device it is the kernel's blkback. So an @stubdom scenario's image
  # goes on a loop device (what an administrator's LVM volume would be): Dom0's job sets it up from this line.
  if [ "$dm" = stubdom ] && [ "${full%%-*}" != bt ]; then
    case "${full%%-*}" in qcow) echo "run-lab.sh: $sc: a stub domain's disk must be raw on a block device (no qdisk)" >&2; exit 2;; esac
    image=$(echo "$disk" | sed -n 's/.*target=\([^'"'"']*\).*/\1/p')
    disk=${disk/target=$image/target=/dev/loop7}
    extra="$extra
# lab-loop: /dev/loop7 $image"
  fi
  mac=00:16:3e:5d:00:$(printf '%02x' $(( $(echo "$sc" | cksum | cut -d' ' -f1) % 200 + 16 )))
  cat > "$X/xl/$sc.cfg" <<EOF
# stubdm nested lab, scenario $sc (generated by run-lab.sh)
name = "lab-${sc/@/-}"
type = "hvm"
memory = 256
vcpus = 1
$(dm_lines "$dm" "$smem")
# pitfall 5: TCG's SVM has no next-RIP assist and Xen cannot decode RDTSCP: hide it.
cpuid = "host,rdtscp=0"
tsc_mode = "native"
disk = [ $disk ]
vif = [ 'model=$nic,bridge=xenbr0,mac=$mac' ]
boot = "$boot"
serial = "pty"
# The checks read the serial console; with -stdvga, also a screendump of the VGA; with -vnc, a VNC client's view.
vga = "$vga"
$vnc
$([ "${LAB_PIN:-yes}" = yes ] && echo 'cpus = "1"')
on_poweroff = "preserve"
on_reboot = "preserve"
on_crash = "preserve"
$extra
EOF
done

# ---- Dom0 ----
eval "$("$HERE/build-dom0.sh" --extra "$X" --job "$HERE/dom0-job.sh" --out "$LAB_CACHE/run/dom0-run.cpio.gz" | grep -E '^(XEN|DOM0_KERNEL|DOM0_INITRD|DOM0_CACHE)=')"

# ---- boot Xen + Dom0 under TCG (recipe flags; pitfalls 1 and 8) ----
XEN_CMDLINE="console=com1 com1=115200,8n1 dom0_mem=2048M,max:2048M loglvl=all guest_loglvl=all conring_size=1M smap=0 smep=0"
# LAB_PIN=yes (default): Dom0 gets one vCPU pinned to the first CPU and every guest's vCPU is pinned to the
# second, so that no CPU ever switches between Dom0 and an HVM guest: pitfall 18 (Dom0 processes corrupted) did
# not show once that way. LAB_PIN=no gives Dom0 both CPUs, as before.
[ "${LAB_PIN:-yes}" = yes ] && XEN_CMDLINE="$XEN_CMDLINE dom0_max_vcpus=1 dom0_vcpus_pin"
# Pitfall 16: under heavy host load the nested machine can stop for good (both vCPUs spinning inside Xen with
# interrupts off, Dom0 programs dying of SIGSEGV/SIGABRT just before). Dom0's job prints at least one line a
# minute, so a console silent for LAB_STALL seconds means the nested machine, not a guest, is gone: the run
# is stopped (and booted again, see below).
LAB_STALL=${LAB_STALL:-240}
# The nested machine's CPU model (pitfall 8: no AVX).
LAB_CPU=${LAB_CPU:-max,-avx,-avx2}
boot_lab() {
  : > "$LOG"
  log "serial log: $LOG"
  log "DM=$DM scenarios=$SCENARIOS guest=$GUEST_DIR dom0=$DOM0_CACHE"
  T0=$(date +%s.%N)
  qemu-system-x86_64 -M pc -accel tcg -cpu "$LAB_CPU" -m 4096 -smp 2 -display none -vga none -no-reboot \
    -monitor unix:"$LAB_CACHE/run/monitor.sock",server=on,wait=off -chardev file,id=con,path="$LOG" -serial chardev:con \
    -kernel "$XEN" -append "$XEN_CMDLINE" \
    -initrd "$DOM0_KERNEL console=hvc0 rdinit=/init,$DOM0_INITRD" \
    > "$LAB_CACHE/run/qemu.stderr" 2>&1 &
  QPID=$!
  tail -n +1 -f --pid=$QPID "$LOG" &
  TPID=$!
  local done_seen="" size=-1 quiet_since
  quiet_since=$(date +%s)
  STALLED=no
  while kill -0 $QPID 2>/dev/null; do
    now=$(date +%s)
    if [ $(( now - ${T0%.*} )) -ge "$LAB_TIMEOUT" ] || { [ "${LAB_BUDGET:-0}" -gt 0 ] && [ $(( now - START )) -ge "$LAB_BUDGET" ]; }; then log "lab timeout (${LAB_TIMEOUT}s): stopping QEMU $QPID"; kill $QPID; break; fi
    if [ -z "$done_seen" ] && grep -q '^STUBDM-LAB-DONE' "$LOG"; then done_seen=$now; fi
    # Dom0 powers the machine off after the job; if Xen only halts, stop QEMU ourselves.
    if [ -n "$done_seen" ] && [ $(( now - done_seen )) -ge 60 ]; then log "Dom0 done but QEMU still up: stopping $QPID"; kill $QPID; break; fi
    cur=$(stat -c %s "$LOG")
    if [ "$cur" != "$size" ]; then size=$cur; quiet_since=$now
    elif [ -z "$done_seen" ] && [ $(( now - quiet_since )) -ge "$LAB_STALL" ]; then
      log "STALLED: no console output from the nested machine for ${LAB_STALL}s; stopping QEMU $QPID"
      STALLED=yes; kill $QPID; break
    fi
    sleep 2
  done
  wait $QPID 2>/dev/null || true
  sleep 1; kill $TPID 2>/dev/null || true; wait $TPID 2>/dev/null || true
  T1=$(date +%s.%N)
  cat "$LAB_CACHE/run/qemu.stderr" >&2 || true
}
# A nested machine that ends without Dom0's STUBDM-LAB-DONE (Xen itself double-faulted once, Dom0 programs
# die now and then, or it stalled) is booted again for the scenarios it had not finished, LAB_RETRIES times at
# most; so is a scenario whose guest died of a nested-emulation fault (dom0-job.sh marks it "nested-tcg-fault":
# Xen could not even fetch the instruction it had to emulate, which no device model causes).
LAB_RETRIES=${LAB_RETRIES:-2}
LOGS=()
attempt=0
todo=$SCENARIOS
while :; do
  boot_lab
  LOGS+=("$LOG")
  left=""
  for sc in $todo; do
    r=$(grep -a "^STUBDM-LAB-RESULT $sc " "$LOG" | tail -n 1 | tr -d '\r' || true)  # none yet: set -e must not end us
    case "$r" in ""|*nested-tcg-fault*|*dm-crashed*|*stuck-before-kernel*) left="$left $sc";; esac
  done
  left=${left# }
  [ -n "$left" ] && [ $attempt -lt "$LAB_RETRIES" ] || break
  # LAB_BUDGET (seconds for the whole script, 0 = none): no retry that could not finish within it.
  if [ "${LAB_BUDGET:-0}" -gt 0 ] && [ $(( $(date +%s) - START + 900 )) -gt "$LAB_BUDGET" ]; then
    log "no time left in LAB_BUDGET=${LAB_BUDGET}s for another boot"; break
  fi
  attempt=$((attempt + 1))
  why=crashed; [ "$STALLED" = yes ] && why=stalled
  grep -aq '^STUBDM-LAB-DONE' "$LOG" && why="finished, with nested-emulation faults"
  grep -aq '^STUBDM-LAB job-stalled' "$LOG" && why="was powered off by its watchdog (the job's loop stalled, pitfall 17)"
  log "the nested machine $why; booting it again (retry $attempt of $LAB_RETRIES) for: $left"
  todo=$left
  sed -i "s/^SCENARIOS=.*/SCENARIOS=\"$todo\"/" "$X/lab.env"
  eval "$("$HERE/build-dom0.sh" --extra "$X" --job "$HERE/dom0-job.sh" --out "$LAB_CACHE/run/dom0-run.cpio.gz" | grep -E '^(XEN|DOM0_KERNEL|DOM0_INITRD|DOM0_CACHE)=')"
  LOG=${LOG%.log}.retry$attempt.log
done
ALL=$LAB_CACHE/run/lab-all-attempts.log
cat "${LOGS[@]}" | tr -d '\r' > "$ALL"
# Screendumps (-stdvga scenarios), each scenario's last one, back into files in LAB_SCREENS: <scenario>.png, or
# <scenario>.ppm.gz from a QEMU built without libpng.
LAB_SCREENS=${LAB_SCREENS:-$LAB_CACHE/run/screens}
mkdir -p "$LAB_SCREENS"
for sc in $(grep -a '^STUBDM-LAB-SCREEN [^ ]* begin' "$ALL" | awk '{print $2}' | sort -u); do
  n=$(grep -ac "^STUBDM-LAB-SCREEN $sc begin" "$ALL" || true)
  [ "${n:-0}" -gt 0 ] || continue
  fmt=$(grep -a "^STUBDM-LAB-SCREEN $sc begin" "$ALL" | tail -1 | awk '{print $5}')
  case "$fmt" in ppm.gz) ;; *) fmt=png;; esac
  rm -f "$LAB_SCREENS/$sc.png" "$LAB_SCREENS/$sc.ppm.gz"
  awk -v sc="$sc" -v n="$n" '$1 == "STUBDM-LAB-SCREEN" && $2 == sc { if ($3 == "begin") k++; else if (k == n && $3 != "end") print $3 }' "$ALL" \
    | base64 -d > "$LAB_SCREENS/$sc.$fmt" 2>/dev/null && echo "STUBDM-LAB-SCREENSHOT $sc $LAB_SCREENS/$sc.$fmt"
done
echo
echo "==== stubdm lab summary (DM=$DM), serial logs ${LOGS[*]} ===="
[ "$STALLED" = yes ] && echo "STUBDM-LAB-STALLED the nested machine stopped producing output (see pitfall 16)"
awk -v a="$T0" -v b="$T1" 'BEGIN{printf "last boot of the lab (QEMU start to exit): %.0f s\n", b-a}'
grep -aE '^STUBDM-LAB (dom0-init|dom0-ready)' "$ALL" || true
sed -n '/^STUBDM-LAB ----------------/,/^STUBDM-LAB-RESULT/p' "$ALL" | grep -av 'STUBDM-LAB-GUEST\|dm-log:' || true
# Side by side: one column per scenario, one row per measure, from each scenario's last STUBDM-LAB-SUMMARY.
# (bt-* scenarios print no summary: an empty grep must not end the script under pipefail)
{ grep -a '^STUBDM-LAB-SUMMARY ' "$ALL" || true; } | tac | awk '!seen[$2]++' | tac | awk '
  { col[++n] = $2; for (i = 3; i <= NF; i++) { split($i, kv, "="); if (!(kv[1] in seen)) { seen[kv[1]] = 1; key[++k] = kv[1] } v[n, kv[1]] = substr($i, length(kv[1]) + 2) } }
  END { if (n == 0) exit; printf "%-16s", "measure"; for (c = 1; c <= n; c++) printf " | %-18s", col[c]; printf "\n";
        for (r = 1; r <= k; r++) { printf "%-16s", key[r]; for (c = 1; c <= n; c++) printf " | %-18s", v[c, key[r]]; printf "\n" } }'
fail=0
for sc in $SCENARIOS; do
  grep -a "^STUBDM-LAB-RESULT $sc " "$ALL" | tail -n 1 | grep -q "^STUBDM-LAB-RESULT $sc PASS" || fail=1
done
[ $fail = 0 ] && echo "LAB PASS" || echo "LAB FAIL"
exit $fail
