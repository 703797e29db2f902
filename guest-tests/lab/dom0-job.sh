#!/bin/bash
# dom0-job.sh — runs INSIDE the lab's Dom0 (as /lab/job.sh, started by /init after xenstored, xenconsoled
# and xenbr0 are up). For each scenario in /lab/lab.env it `xl create`s the test guest from /lab/xl/<sc>.cfg,
# follows the guest's serial pty and `xl dmesg`, answers the serial-echo check, waits for the guest's ACPI
# power-off, `xl destroy`s it and prints a summary with timings. Everything it prints goes to the Dom0
# console (hvc0), which Xen forwards to the lab's serial log.
#   STUBDM-LAB-GUEST <sc> <t> <line>    each guest serial line, t = seconds since `xl create` started
#   STUBDM-LAB-SUMMARY <sc> key=value ...
#   STUBDM-LAB-RESULT <sc> PASS|FAIL <reasons>
set -u
. /lab/lab.env            # DM, SCENARIOS, GUEST_TIMEOUT, DATA_SHA256
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mkdir -p /var/log/xen /tmp/lab
# xenconsole (`xl console`) takes a lock file in /var/lock, Debian's link to /run/lock, and /run is a fresh tmpfs.
mkdir -p /run/lock
OVERALL=0
# The logs are text, but a guest's serial log can hold a stray binary byte (one did around the guest's power-off),
# and then plain grep prints "binary file matches" instead of the line a check needs.
grep() { timeout -k 2 60 grep -a "$@"; }
# Pitfall 17: a Dom0 tool can spin for good once pitfall 18 has corrupted it (the watchdog caught an `awk` in
# state R for minutes, with the job waiting on it), so every tool the job runs has a time limit too.
for tool in awk sed tail head base64 stat gzip; do eval "$tool() { timeout -k 2 60 $tool \"\$@\"; }"; done

# Seconds (one decimal) since $1, an $EPOCHREALTIME value; pure bash (no fork: the pty reader calls it
# per line, and a forked awk once came back empty under load).
elapsed() { local d=$(( ${EPOCHREALTIME/./} - ${1/./} )); printf '%d.%d' $((d / 1000000)) $((d / 100000 % 10)); }

# -prom scenarios: one instant query to the Dom0 Prometheus server's HTTP API; prints the value ("" if none).
urlencode() {
  local s=$1 out="" c i
  for (( i = 0; i < ${#s}; i++ )); do
    c=${s:i:1}
    case "$c" in [a-zA-Z0-9._~-]) out+=$c;; *) printf -v c '%%%02X' "'$c"; out+=$c;; esac
  done
  printf '%s' "$out"
}
prom_query() {
  timeout -k 2 20 busybox wget -qO- "http://127.0.0.1:9090/api/v1/query?query=$(urlencode "$1")" 2>/dev/null \
    | sed -n 's/.*"value":\[[^,]*,"\([^"]*\)"\].*/\1/p'
}

# Each line of the guest's serial port (standard input) into the scenario's log and onto the console, with the
# seconds since `xl create`.
record_serial() {
  local line t
  while IFS= read -r line; do
    line=${line//$'\r'/}
    t=$(elapsed "$T0")
    echo "$t $line" >> "$slog"
    echo "STUBDM-LAB-GUEST $sc $t $line"
  done
}

run_scenario() {
  local sc=$1 cfg=/lab/xl/$1.cfg name=lab-${1/@/-} dm=$DM
  case "$sc" in *@*) dm=${sc#*@};; esac
  local slog=/tmp/lab/$sc-serial.log dlog=/tmp/lab/$sc-dmesg.log
  local token="stubdm-echo-$RANDOM$RANDOM"
  # -vnc scenarios: the token line ends in " vnc", which tells the guest to read a line from its VT's keyboard;
  # Dom0's RFB client (/lab/vncprobe) types one with this token through the device model's VNC server.
  local vnc="" vnc_token="stubdm-vnc-$RANDOM$RANDOM" vnc_probe="" vnc_port=""
  grep -q '^vnc = 1' "$cfg" && vnc=started-not
  local vnc_password=""; grep -q '^vncpasswd = ' "$cfg" && vnc_password=$LAB_VNC_PASSWORD
  : > "$slog"; rm -f /tmp/lab/$sc-vnc.*
  echo "STUBDM-LAB scenario $sc: DM=$dm config $cfg"
  sed 's/^/STUBDM-LAB   cfg: /' "$cfg"
  xl dmesg -c > /dev/null
  # @stubdom: the guest's disk image goes on the loop device its config names (see run-lab.sh).
  local loopdev="" loopimg=""
  read -r _ _ loopdev loopimg < <(grep -m1 '^# lab-loop: ' "$cfg")
  # -prom: Prometheus's view of the guest's disk bytes and NIC frames when its init starts and after it powered off.
  local prom="" prom_disk1="" prom_nic1="" prom_disk2="" prom_nic2="" prom_up=""
  grep -q '^# lab-prom: yes' "$cfg" && prom=wait-init
  if [ -n "$loopdev" ]; then
    losetup -d "$loopdev" 2>/dev/null
    local ro=""; grep -q 'access=ro' "$cfg" && ro=-r
    losetup $ro "$loopdev" "$loopimg" || echo "STUBDM-LAB $sc losetup $loopdev $loopimg failed"
  fi
  local T0=$EPOCHREALTIME
  # @stubdom with LAB_PIN: libxl gives a stub domain no CPU affinity of its own, so it is pinned as soon as it
  # exists, before it is unpaused. Pitfall 20: unpinned, or pinned to Dom0's CPU, its JVM died of internal errors
  # in five runs of six; pinned to the guests' CPU (STUBDOM_CPU, default 1) it ran through the guest's boot.
  local pinner=""
  if [ "$dm" = stubdom ] && grep -q '^cpus = "1"' "$cfg"; then
    ( for i in $(seq 1 900); do
        id=$(xl domid "$name-dm" 2>/dev/null) && { xl vcpu-pin "$id" all "${STUBDOM_CPU:-1}" && echo "STUBDM-LAB $sc stub domain $id pinned to CPU ${STUBDOM_CPU:-1}"; break; }
        sleep 0.2
      done ) &
    pinner=$!
  fi
  # -p: created paused, so the serial pty is opened before the guest's first byte (QEMU's pty chardev
  # drops output while nobody holds the other end).
  if ! xl create -p "$cfg" > /tmp/lab/$sc-create.log 2>&1; then
    [ -n "$pinner" ] && { kill "$pinner" 2>/dev/null; wait "$pinner" 2>/dev/null; }
    echo "STUBDM-LAB-RESULT $sc FAIL xl-create"; sed 's/^/STUBDM-LAB   xl: /' /tmp/lab/$sc-create.log
    tail -40 /var/log/xen/qemu-dm-$name.log 2>/dev/null | sed 's/^/STUBDM-LAB   dm-log: /'
    # @stubdom: the stub domain's console backend in Dom0 (libxl's qemu-dm-<guest>-dm.log).
    tail -30 /var/log/xen/qemu-dm-$name-dm.log 2>/dev/null | sed 's/^/STUBDM-LAB   dom0-backend-log: /'
    # libxl gives a device model 60 s to say "running"; a JVM in a one-vCPU Dom0 under TCG came within a second of
    # that once (LAB_PIN), so a device model that did not start in time gets another go, warm.
    grep -q 'device model did not start' /tmp/lab/$sc-create.log && LAST_WHY=" xl-create-dm-start"
    timeout -k 5 60 xl destroy "$name" 2>/dev/null; OVERALL=1; return
  fi
  local t_create; t_create=$(elapsed "$T0")
  [ -n "$pinner" ] && { kill "$pinner" 2>/dev/null; wait "$pinner" 2>/dev/null; }
  local domid; domid=$(xl domid "$name")
  local dmpid; dmpid=$(xenstore-read /local/domain/$domid/image/device-model-pid 2>/dev/null || echo "")
  local tty; tty=$(xenstore-read /local/domain/$domid/serial/0/tty 2>/dev/null || echo "")
  # @stubdom: the device model runs in domain <stubid>; the guest's serial port is that domain's console 3 (what
  # `xl console` opens), and the Dom0 process is the stub domain's console backend, stubdm -machine xenpv.
  local stubid="" qemu_seen=0 qemu_procs=""
  if [ "$dm" = stubdom ]; then
    stubid=$(xenstore-read /local/domain/$domid/image/device-model-domid 2>/dev/null || echo "")
    dmpid=$(xenstore-read /local/domain/$stubid/image/device-model-pid 2>/dev/null || echo "")
    tty=$(xenstore-read /local/domain/$stubid/device/console/3/tty 2>/dev/null || echo "")
    echo "STUBDM-LAB $sc stub domain $stubid ($(timeout 20 xl list 2>/dev/null | awk -v d="$stubid" '$2 == d {print $1 ", " $3 " MiB"}')), Dom0 console backend pid $dmpid"
    ps -eo pid,rss,args 2>/dev/null | grep -E 'stubdm|qemu|vchan|xenconsole' | grep -v grep | cut -c1-220 | sed "s/^/STUBDM-LAB $sc   dom0-ps: /"
    # What hvmloader will read (hvmloader/bios: libxl writes it for a stub domain's guest itself).
    timeout 10 xenstore-ls -fp /local/domain/$domid 2>&1 | grep -E "hvmloader|/local/domain/$domid  |/vm |/target " | head -8 | sed "s/^/STUBDM-LAB $sc   xenstore: /"
  fi
  echo "STUBDM-LAB $sc created domid=$domid in ${t_create}s dm-pid=$dmpid serial=$tty"
  local reader="" serial_in=$tty console_hold=""
  if [ -n "$stubid" ]; then
    # @stubdom: the serial line goes through `xl console <guest>`, as an administrator reaches it: libxl finds the
    # stub domain's console 3, and xenconsole opens the pty stubdm's Dom0 process published there. xenconsole
    # forwards keystrokes only when its stdin and stdout are terminals (pitfall 25), so it runs under script(1),
    # which gives it a pty; script's input is a FIFO this job holds open (an EOF would end the session).
    serial_in=/tmp/lab/$sc-console.in
    rm -f "$serial_in"; mkfifo "$serial_in"
    exec {console_hold}<>"$serial_in"
    ( script -qfec "xl console $name" /dev/null < "$serial_in" 2>/tmp/lab/$sc-xl-console.err | record_serial ) &
    reader=$!
  elif [ -n "$tty" ] && [ -e "$tty" ]; then
    stty -F "$tty" raw -echo 2>/dev/null
    ( record_serial < "$tty" ) &
    reader=$!
  else
    echo "STUBDM-LAB $sc warning: no serial pty in xenstore"
  fi
  # A stub domain answers QMP (and says "running") before its machine is built; libxl's `cont` then waits for the
  # machine, and may give up first (a JVM that interprets, pitfall 20). The guest stays paused until a `cont` is
  # answered, so unpausing again is safe.
  local tries=0
  until timeout -k 5 120 xl unpause "$name" 2>/tmp/lab/$sc-unpause.err; do
    tries=$((tries + 1)); echo "STUBDM-LAB $sc t=$(elapsed "$T0") xl unpause failed ($(tail -1 /tmp/lab/$sc-unpause.err)); again"
    [ $tries -ge 6 ] && break
    sleep 10
  done

  local dm_died="" stuck="" t_hvmloader="" t_seabios="" t_poweroff="" sent_echo="" sent_at=0 dm_ticks=0 f=() rss="" rss_max=0 shutdown_reason="" state="" last_state="" missing=0
  local deadline; deadline=$(( ${EPOCHREALTIME%.*} + GUEST_TIMEOUT ))
  local beat=${EPOCHREALTIME%.*}
  while :; do
    : > "$HEARTBEAT"
    # A heartbeat, so that run-lab.sh can tell a quiet guest from a nested machine that stopped altogether.
    # With it, the newest lines of xl dmesg and of the device model's log, so a guest stuck before its first
    # serial byte shows where.
    if [ $(( ${EPOCHREALTIME%.*} - beat )) -ge 60 ]; then
      beat=${EPOCHREALTIME%.*}; echo "STUBDM-LAB $sc heartbeat t=$(elapsed "$T0")"
      tail -n 3 "$dlog" 2>/dev/null | sed "s/^/STUBDM-LAB $sc   xl-dmesg: /"
      tail -n 3 /var/log/xen/qemu-dm-$name.log 2>/dev/null | sed "s/^/STUBDM-LAB $sc   dm-log: /"
      # The device model's size and threads, to tell a runaway (pitfall 18: a JVM at 1.3 GB a minute after start)
      # from a leak.
      [ -n "$dmpid" ] && [ -d /proc/$dmpid ] && echo "STUBDM-LAB $sc   dm: rss_kib=${rss:-?} threads=$(ls /proc/$dmpid/task 2>/dev/null | wc -l)"
    fi
    # Each xl call is bounded: twice this loop stopped for good inside one (pitfall 17), and with it the serial
    # token, the timings and the verdict.
    timeout -k 5 20 xl dmesg -c >> "$dlog" 2>/dev/null || { rc=$?; echo "STUBDM-LAB $sc t=$(elapsed "$T0") xl dmesg failed (rc $rc; 124: no answer in 20 s)"; }
    [ -z "$t_hvmloader" ] && grep -q "(d$domid) HVM Loader" "$dlog" && t_hvmloader=$(elapsed "$T0")
    [ -z "$t_seabios" ] && grep -q "(d$domid) SeaBIOS" "$dlog" && t_seabios=$(elapsed "$T0")
    # VmRSS (KiB) read with bash's own read: no ps forked every second on a TCG Dom0.
    if [ -n "$dmpid" ] && [ -r /proc/$dmpid/status ]; then
      while read -r k v _; do [ "$k" = VmRSS: ] && rss=$v; done < /proc/$dmpid/status 2>/dev/null
      [ -n "$rss" ] && [ "$rss" -gt "$rss_max" ] && rss_max=$rss
      # CPU time the device model has used (user + system, clock ticks): fields 14 and 15 of /proc/PID/stat.
      if read -r st < /proc/$dmpid/stat 2>/dev/null; then
        f=(${st##*) }); dm_ticks=$(( f[11] + f[12] ))
      fi
    fi
    if [ "$prom" = wait-init ] && grep -q 'STUBDM-CHECK init' "$slog"; then
      prom=seen-init
      prom_disk1=$(prom_query "sum(stubdm_disk_bytes_total{name=\"$name\"})")
      prom_nic1=$(prom_query "sum(stubdm_nic_frames_total{name=\"$name\"})")
      echo "STUBDM-LAB $sc t=$(elapsed "$T0") prometheus at init: disk bytes ${prom_disk1:-none}, NIC frames ${prom_nic1:-none}"
    fi
    # The token goes out again every 10 s until the guest echoes something (see the guest's init).
    if grep -q 'STUBDM-CHECK serial-ready' "$slog" && ! grep -q 'STUBDM-CHECK serial-echo' "$slog" \
        && [ $(( ${EPOCHREALTIME%.*} - ${sent_at:-0} )) -ge 10 ]; then
      sleep 1; timeout 5 sh -c 'printf "%s\n" "$1" > "$2"' token "$token${vnc:+ vnc}" "$serial_in"
      sent_at=${EPOCHREALTIME%.*}; sent_echo=${sent_echo:-$(elapsed "$T0")}
    fi
    # The VNC check: once the guest reads its keyboard, the lab's RFB client connects to the port libxl learnt
    # from query-vnc, takes the picture, types the token line and takes the picture again.
    if [ "$vnc" = started-not ] && grep -q 'STUBDM-CHECK keyboard-ready' "$slog"; then
      vnc=started; vnc_port=$(timeout 10 xenstore-read /local/domain/$domid/console/vnc-port 2>/dev/null)
      echo "STUBDM-LAB $sc t=$(elapsed "$T0") VNC client to 127.0.0.1:${vnc_port:-?} (console/vnc-port)"
      ( for try in 1 2; do  # pitfall 18 kills a JVM in Dom0 now and then
          timeout -k 5 150 java -XX:TieredStopAtLevel=1 -Xmx64m -cp /lab/vncprobe io.stubdm.lab.VncProbe \
            127.0.0.1 "${vnc_port:-5900}" "$vnc_password" "$vnc_token" /tmp/lab/$sc-vnc.ppm \
            >> /tmp/lab/$sc-vnc.log 2>&1 && break
          echo "VNC-PROBE exit $? (try $try)" >> /tmp/lab/$sc-vnc.log
        done ) &
      vnc_probe=$!
    fi
    # @stubdom: no QEMU process may exist in Dom0 at any point (looked for every 5 s, by program and arguments).
    if [ -n "$stubid" ] && [ $(( ${EPOCHREALTIME%.*} % 5 )) = 0 ]; then
      local q; q=$(timeout 10 pgrep -af 'qemu-system|qemu-dm|xen-qemu' 2>/dev/null | grep -v pgrep)
      [ -n "$q" ] && { qemu_seen=$((qemu_seen + 1)); qemu_procs=$q; echo "STUBDM-LAB $sc QEMU in Dom0: $q"; }
    fi
    # Domain state from `xl list` (r b p s c d). A single empty answer is not trusted (seen once: the
    # loop took a running guest for gone); shut down = 's' or 'c' seen, or the domain missing twice.
    state=$(timeout -k 5 20 xl list "$name" 2>/dev/null | awk 'NR==2{print $5}')
    if [ "$state" != "$last_state" ]; then echo "STUBDM-LAB $sc t=$(elapsed "$T0") state=${state:-none}"; last_state=$state; fi
    # 4th letter s = shut down; 5th = why: '-' poweroff, r reboot (a triple fault shows as this), c crash
    if [ "${state:3:1}" = s ]; then
      t_poweroff=$(elapsed "$T0")
      case "${state:4:1}" in -) shutdown_reason=poweroff;; r) shutdown_reason=reboot;; c) shutdown_reason=crash;; *) shutdown_reason="other(${state:4:1})";; esac
      break
    fi
    if [ -z "$state" ]; then
      # xl itself dies of pitfall 18 now and then: gone means three empty answers and no name in xenstore.
      missing=$((missing + 1))
      if [ $missing -ge 3 ] && ! timeout 10 xenstore-read "/local/domain/$domid/name" >/dev/null 2>&1; then
        t_poweroff=$(elapsed "$T0"); break
      fi
    else missing=0; fi
    # A device model that died leaves its guest stopped at the next emulated access: no reason to wait for
    # GUEST_TIMEOUT (a JVM that crashed once cost a CI run 700 s of nothing).
    # (With -no-shutdown it outlives the guest's power-off; the state is read again so a race cannot count.)
    if [ -n "$dmpid" ] && [ ! -d /proc/$dmpid ]; then
      sleep 3; state=$(timeout -k 5 20 xl list "$name" 2>/dev/null | awk 'NR==2{print $5}')
      if [ "${state:3:1}" != s ]; then
        dm_died=$(elapsed "$T0"); echo "STUBDM-LAB $sc t=$dm_died the device model (pid $dmpid) is gone while the guest runs"
        break
      fi
    fi
    # @stubdom: the device model's process is in the stub domain; its init says when it ended.
    if [ -n "$stubid" ] && grep -q 'stubdm-stubdom: stubdm ended' /var/log/xen/qemu-dm-$name.log 2>/dev/null; then
      dm_died=$(elapsed "$T0"); echo "STUBDM-LAB $sc t=$dm_died stubdm in the stub domain ended while the guest runs"
      sleep 5; break
    fi
    if [ "${EPOCHREALTIME%.*}" -ge "$deadline" ]; then echo "STUBDM-LAB $sc TIMEOUT after ${GUEST_TIMEOUT}s"; break; fi
    # Pitfalls 13 and 18: a guest that is not in its kernel by KERNEL_DEADLINE seconds (75-215 s in healthy
    # runs) went off the rails in the firmware or the boot loader; that is ended here and run again.
    if [ -z "$stuck" ] && [ $(( ${EPOCHREALTIME%.*} - ${T0%.*} )) -ge "${KERNEL_DEADLINE:-450}" ] \
        && ! grep -q 'Linux version' "$slog"; then
      stuck=$(elapsed "$T0"); echo "STUBDM-LAB $sc t=$stuck no kernel banner after ${KERNEL_DEADLINE:-450}s"; break
    fi
    sleep 1
  done
  rm -f "$HEARTBEAT"   # what follows is bounded step by step; the watchdog minds the loop above
  timeout -k 5 20 xl dmesg -c >> "$dlog" 2>/dev/null
  # With a VGA (-stdvga): what the screen shows, through the device model's human monitor, as PNG (or gzipped
  # PPM) in base64 on the console (run-lab.sh turns it back into a file).
  local screen=""
  if grep -Eq '^vga = "(stdvga|cirrus)"' "$cfg"; then
    screen=no
    rm -f "/tmp/lab/$sc.png" "/tmp/lab/$sc.ppm" "/tmp/lab/$sc.ppm.gz"
    local shot fmt=png; shot=$(timeout -k 5 60 xl qemu-monitor-command "$name" "screendump /tmp/lab/$sc.png -f png" 2>&1)
    if [ ! -s "/tmp/lab/$sc.png" ]; then
      # Debian's qemu-system-xen has no libpng ("Enable PNG support with libpng"): its PPM, gzipped for the console.
      fmt=ppm.gz
      shot="$shot; $(timeout -k 5 60 xl qemu-monitor-command "$name" "screendump /tmp/lab/$sc.ppm" 2>&1)"
      [ -s "/tmp/lab/$sc.ppm" ] && gzip -9 "/tmp/lab/$sc.ppm"
    fi
    if [ -s "/tmp/lab/$sc.$fmt" ]; then
      screen=yes
      echo "STUBDM-LAB-SCREEN $sc begin $(stat -c %s "/tmp/lab/$sc.$fmt") $fmt"
      base64 -w 100 "/tmp/lab/$sc.$fmt" | sed "s/^/STUBDM-LAB-SCREEN $sc /"
      echo "STUBDM-LAB-SCREEN $sc end"
    else
      echo "STUBDM-LAB $sc screendump failed: ${shot:-no file}"
    fi
  fi
  # stubdm scenarios: `stubdm check-xen` maps the guest's xenstore and console rings both as foreign frames and
  # through the grant references libxl seeded for Dom0, and compares them (libxengnttab under real Xen). The
  # domain is shut down but not yet destroyed, so its memory and grant table are still there.
  local xencheck=""
  if [ "$dm" = stubdm ]; then
    xencheck=no
    for try in 1 2; do
      timeout -k 5 120 /lab/stubdm/bin/stubdm check-xen "$domid" > /tmp/lab/$sc-check-xen.log 2>&1; rc=$?
      [ $rc -lt 124 ] && break   # 124: timed out; 128+: killed by a signal (pitfall 18): once more
      echo "(exit $rc, try $try)" >> /tmp/lab/$sc-check-xen.log
    done
    sed "s/^/STUBDM-LAB $sc   check-xen: /" /tmp/lab/$sc-check-xen.log
    grep -q "check-xen: domain $domid OK" /tmp/lab/$sc-check-xen.log && xencheck=yes
  fi
  if [ -n "$vnc" ]; then
    [ -n "$vnc_probe" ] && wait "$vnc_probe" 2>/dev/null
    sed "s/^/STUBDM-LAB $sc   vnc: /" /tmp/lab/$sc-vnc.log 2>/dev/null
    if [ -s /tmp/lab/$sc-vnc.ppm ]; then
      gzip -9 -f /tmp/lab/$sc-vnc.ppm
      echo "STUBDM-LAB-SCREEN $sc-vnc begin $(stat -c %s /tmp/lab/$sc-vnc.ppm.gz) ppm.gz"
      base64 -w 100 /tmp/lab/$sc-vnc.ppm.gz | sed "s/^/STUBDM-LAB-SCREEN $sc-vnc /"
      echo "STUBDM-LAB-SCREEN $sc-vnc end"
    fi
  fi
  # -prom: the guest is shut down but its device model still runs (on_poweroff="preserve"); one scrape interval
  # later Prometheus holds its last counters.
  if [ -n "$prom" ]; then
    sleep 7
    prom_disk2=$(prom_query "sum(stubdm_disk_bytes_total{name=\"$name\"})")
    prom_nic2=$(prom_query "sum(stubdm_nic_frames_total{name=\"$name\"})")
    prom_up=$(prom_query "max(stubdm_up{name=\"$name\"})")
    echo "STUBDM-LAB $sc prometheus after power-off: disk bytes ${prom_disk2:-none}, NIC frames ${prom_nic2:-none}, stubdm_up ${prom_up:-none}"
    echo "STUBDM-LAB $sc   prometheus query: stubdm_disk_bytes_total{name=\"$name\"} = $(timeout -k 2 20 busybox wget -qO- "http://127.0.0.1:9090/api/v1/query?query=$(urlencode "stubdm_disk_bytes_total{name=\"$name\"}")" 2>/dev/null | cut -c1-600)"
  fi
  sleep 1
  local T1=$EPOCHREALTIME destroy_rc=0
  if timeout -k 5 20 xl domid "$name" >/dev/null 2>&1; then timeout -k 5 60 xl destroy "$name"; destroy_rc=$?; fi
  local t_destroy; t_destroy=$(elapsed "$T1")
  sleep 1
  local dm_left=no; [ -n "$dmpid" ] && [ -d /proc/$dmpid ] && dm_left=yes
  local stub_left=no stub_mem=""
  if [ -n "$stubid" ]; then
    timeout 20 xl list 2>/dev/null | awk '{print $2}' | grep -qx "$stubid" && stub_left=yes
    # The stub domain's own report (StubDomain: once a minute, in its console log) and when stubdm said running.
    stub_mem=$(grep 'stub domain memory:' /var/log/xen/qemu-dm-$name.log 2>/dev/null | tail -1 | sed 's/.*stub domain memory: //')
    echo "STUBDM-LAB $sc stub domain memory: ${stub_mem:-no report}"
    grep -E 'stubdm-stubdom:|= running|ERROR|SEVERE|Exception|^#' /var/log/xen/qemu-dm-$name.log 2>/dev/null | head -150 | sed "s/^/STUBDM-LAB $sc   stub-log: /"
    tail -15 /var/log/xen/qemu-dm-$name-dm.log 2>/dev/null | sed "s/^/STUBDM-LAB $sc   dom0-backend-log: /"
  fi
  [ -n "$loopdev" ] && losetup -d "$loopdev" 2>/dev/null
  [ -n "$reader" ] && kill "$reader" 2>/dev/null
  [ -n "$reader" ] && wait "$reader" 2>/dev/null
  if [ -n "$console_hold" ]; then
    exec {console_hold}>&-
    timeout 5 pkill -f "xenconsole $stubid " 2>/dev/null
    sed "s/^/STUBDM-LAB $sc   xl-console: /" /tmp/lab/$sc-xl-console.err 2>/dev/null | head -5
  fi

  # ---- summary ----
  local hz; hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
  local dm_cpu; dm_cpu=$(awk -v t="$dm_ticks" -v h="$hz" 'BEGIN{printf "%.1f", t/h}')
  local t_syslinux t_kernel t_init t_pci t_disk t_net t_echo t_done diskline netline echoline rtt kibs why=""
  # The verdict, from the serial log, the device model's log and what the loop above saw. Each grep, awk or
  # subshell here can die of pitfall 18 and make a check fail that passed: a failing verdict is worked out again
  # (twice at most) before it counts; a real failure fails every time.
  evaluate() {
    first() { awk -v p="$1" 'index($0,p) && $1 ~ /^[0-9.]+$/ {print $1; exit}' "$slog"; }
    t_syslinux=$(awk '/SYSLINUX|ISOLINUX/{print $1; exit}' "$slog")
    t_kernel=$(first "Linux version"); t_init=$(first "STUBDM-CHECK init")
    t_pci=$(first "STUBDM-CHECK pci"); t_disk=$(first "STUBDM-CHECK disk-sha256")
    t_net=$(first "STUBDM-CHECK net"); t_echo=$(first "STUBDM-CHECK serial-echo"); t_done=$(first "STUBDM-CHECK done")
    diskline=$(grep -m1 'STUBDM-CHECK disk-sha256' "$slog"); netline=$(grep -m1 'STUBDM-CHECK net' "$slog")
    echoline=$(grep -m1 'STUBDM-CHECK serial-echo' "$slog")
    rtt=$(echo "$netline" | sed -n 's/.*rtt_min\/avg\/max_ms=\([0-9.\/]*\).*/\1/p')
    kibs=$(echo "$diskline" | sed -n 's/.*kib_per_s=\([0-9]*\).*/\1/p')
    why=""
    [ -n "$t_seabios" ] || why="$why no-seabios"
    [ -n "$t_init" ] || why="$why no-init"
    for id in 8086:1237 8086:7000 8086:7010 8086:7113 5853:0001; do
      grep -q "STUBDM-CHECK pci $id" "$slog" || why="$why no-pci-$id"
    done
    echo "$diskline" | grep -q " $DATA_SHA256 ok" || why="$why disk"
    echo "$netline" | grep -q ' ok ' || why="$why net"
    echo "$echoline" | grep -q "serial-echo $token" || why="$why serial-echo"
    # -prom: both counters rose between the guest's init and its power-off, as Prometheus saw them.
    if [ -n "$prom" ]; then
      awk -v a="${prom_disk1:-x}" -v b="${prom_disk2:-x}" 'BEGIN { exit !(a ~ /^[0-9.e+]+$/ && b ~ /^[0-9.e+]+$/ && b + 0 > a + 0) }' \
        || why="$why prometheus-disk"
      awk -v a="${prom_nic1:-x}" -v b="${prom_nic2:-x}" 'BEGIN { exit !(a ~ /^[0-9.e+]+$/ && b ~ /^[0-9.e+]+$/ && b + 0 > a + 0) }' \
        || why="$why prometheus-nic"
      [ "$prom_up" = 1 ] || why="$why prometheus-up"
    fi
    # pv scenarios: the guest unplugged the emulated disk and NIC and uses blkfront/netfront instead; the
    # emulated NIC must be gone from its PCI bus, and stubdm must have logged the unplug.
    case "$sc" in pv*)
      grep -q 'STUBDM-CHECK unplug-mode pv' "$slog" || why="$why no-unplug-mode"
      grep -Eq 'STUBDM-CHECK pci (8086:100e|10ec:8139)' "$slog" && why="$why emulated-nic-not-unplugged"
      echo "$diskline" | grep -q 'source=/dev/xvda2' || why="$why disk-not-pv"
      echo "$netline" | grep -q 'driver=vif' || why="$why net-not-pv"
      if [ "$dm" = stubdm ]; then
        grep -Eq 'guest unplugged DISKS \(.*\): \[.+\]' /var/log/xen/qemu-dm-$name.log || why="$why no-disk-unplug-in-dm-log"
        grep -Eq 'guest unplugged NICS \(.*\): \[.+\]' /var/log/xen/qemu-dm-$name.log || why="$why no-nic-unplug-in-dm-log"
      fi;;
    esac
    if [ -n "$screen" ]; then
      [ "$screen" = yes ] || why="$why no-screendump"
      grep -q 'STUBDM-CHECK vga-console' "$slog" || why="$why no-vga-console"
    fi
    if [ -n "$vnc" ]; then
      grep -q "STUBDM-CHECK keyboard-line $vnc_token" "$slog" || why="$why vnc-keyboard"
      grep -q '^VNC-PROBE connected' /tmp/lab/$sc-vnc.log 2>/dev/null || why="$why vnc-connect"
    fi
    [ "$xencheck" = no ] && why="$why check-xen"
    if [ -n "$stubid" ]; then
      [ "$qemu_seen" = 0 ] || why="$why qemu-in-dom0"
      [ "$stub_left" = no ] || why="$why stub-domain-left"
    elif [ "$dm" = stubdom ]; then
      why="$why no-stub-domain"
    fi
    [ -n "$t_done" ] || why="$why no-done"
    [ -n "$t_poweroff" ] || why="$why no-poweroff"
    [ "$shutdown_reason" = poweroff ] || why="$why shutdown=${shutdown_reason:-none}"
    [ "$destroy_rc" = 0 ] || why="$why destroy-rc=$destroy_rc"
    [ "$dm_left" = no ] || why="$why dm-still-running"
    [ -z "$stuck" ] || why="$why stuck-before-kernel"
    if [ -n "$dm_died" ]; then
      why="$why dm-died"
      # Died of a signal in native code (a JVM's fatal-error report, or the kernel's segfault / OOM-kill line
      # for that pid): run-lab.sh boots the scenario again, because the nested machine kills Dom0 processes now
      # and then (pitfall 18). A device model that exits by itself is a plain failure.
      if [ -f /lab/hs_err_pid$dmpid.log ] || dmesg | grep -Eq "\[$dmpid\]: (segfault|general protection)|traps: [^ ]*\[$dmpid\]|Killed process $dmpid "; then
        why="$why dm-crashed"
      fi
    fi
  }
  local reading
  for reading in 1 2 3; do
    evaluate
    [ -z "$why" ] && break
    if [ $reading -lt 3 ]; then echo "STUBDM-LAB $sc checks say$why; reading the logs again"; sleep 2; fi
  done
  echo "STUBDM-LAB $sc PCI functions seen by the guest:"
  grep 'STUBDM-CHECK pci' "$slog" | sed 's/^[0-9.]* /STUBDM-LAB   /'
  cat <<EOF
STUBDM-LAB ---------------- $sc (DM=$dm) ----------------
STUBDM-LAB  seconds since 'xl create':
STUBDM-LAB    xl create (paused) returned ${t_create}
STUBDM-LAB    first hvmloader line      ${t_hvmloader:--}   (xl dmesg, polled every ~1 s)
STUBDM-LAB    first SeaBIOS line        ${t_seabios:--}   (xl dmesg, polled every ~1 s)
STUBDM-LAB    syslinux banner           ${t_syslinux:--}
STUBDM-LAB    kernel banner             ${t_kernel:--}
STUBDM-LAB    init started              ${t_init:--}
STUBDM-LAB    pci check                 ${t_pci:--}
STUBDM-LAB    disk check                ${t_disk:--}
STUBDM-LAB    net check                 ${t_net:--}
STUBDM-LAB    serial echo               ${t_echo:--}
STUBDM-LAB    done / poweroff -f        ${t_done:--}
STUBDM-LAB    domain shut down          ${t_poweroff:--}  (${shutdown_reason:-?})
STUBDM-LAB  xl destroy took ${t_destroy}s (rc $destroy_rc), DM process left: $dm_left
STUBDM-LAB  DM resident memory: ${rss:-?} KiB at the end, ${rss_max} KiB max; DM CPU time: $dm_cpu s
STUBDM-LAB  ping rtt min/avg/max ms: ${rtt:-none}; disk read: ${kibs:-?} KiB/s
EOF
  echo "STUBDM-LAB-SUMMARY $sc dm=$dm create_s=$t_create hvmloader_s=${t_hvmloader:--} seabios_s=${t_seabios:--} syslinux_s=${t_syslinux:--} kernel_s=${t_kernel:--} init_s=${t_init:--} disk_s=${t_disk:--} net_s=${t_net:--} echo_s=${t_echo:--} done_s=${t_done:--} poweroff_s=${t_poweroff:--} shutdown=${shutdown_reason:-none} destroy_s=$t_destroy dm_rss_kib=${rss:-?} dm_rss_max_kib=$rss_max dm_cpu_s=$dm_cpu ping_rtt_ms=${rtt:-none} disk_kib_per_s=${kibs:-?}$([ -n "$stubid" ] && echo " stub_mib=$(grep -m1 '^stubdomain_memory' "$cfg" | awk '{print $3}') stub_avail_kib=$(echo "$stub_mem" | sed -n 's/.*MemAvailable=\([0-9]*\).*/\1/p') stub_dm_rss_kib=$(echo "$stub_mem" | sed -n 's/.*VmRSS=\([0-9]*\).*/\1/p') qemu_in_dom0=$qemu_seen")"
  # The device model's own log (qemu-dm-<name>.log: stderr of qemu-xen or stubdm), for every scenario.
  head -c 20000 /var/log/xen/qemu-dm-$name.log 2>/dev/null | tail -40 | sed 's/^/STUBDM-LAB   dm-log: /'
  # Pitfall 13: the guest triple-faulted after Xen failed to fetch the instruction it had to emulate (no
  # instruction bytes in the message). That is the nested TCG machine failing, not a device model: run-lab.sh
  # boots such a scenario again.
  if [ -n "$why" ] && grep -q "d${domid}v[0-9]* Triple fault" "$dlog" \
      && grep -Eq "MMIO emulation failed \(1\): d${domid}v[0-9]+ .* -> ?\r?$" "$dlog"; then
    why="$why nested-tcg-fault"
  fi
  if [ -z "$why" ]; then
    LAST_WHY=""
    echo "STUBDM-LAB-RESULT $sc PASS"
  else
    LAST_WHY=$why
    echo "STUBDM-LAB-RESULT $sc FAIL$why"; OVERALL=1
    echo "STUBDM-LAB $sc diagnostics:"
    tail -30 "$dlog" | sed 's/^/STUBDM-LAB   xl-dmesg: /'
    tail -20 /var/log/xen/xl-$name.log 2>/dev/null | sed 's/^/STUBDM-LAB   xl-log: /'
    # A JVM that crashed writes hs_err_pid<pid>.log into its working directory: its head names the frame and
    # the thread, its tail Dom0's memory map.
    [ -n "$dmpid" ] && head -n 60 /lab/hs_err_pid$dmpid.log 2>/dev/null | sed 's/^/STUBDM-LAB   hs_err: /'
  fi
}

echo "STUBDM-LAB job: default DM=$DM scenarios=$SCENARIOS xl=$(xl info 2>/dev/null | awk '/xen_version/{print $3}') caps=$(xl info 2>/dev/null | awk -F': ' '/virt_caps/{print $2}')"
# @stubdom scenarios: the stub domain's images go where libxl looks for them by default, as an administrator would
# put them.
if [ -d /lab/stubdom ]; then
  /lab/stubdm/bin/stubdm stubdom-install --from /lab/stubdom 2>&1 | sed 's/^/STUBDM-LAB /'
fi
# What an administrator does once after installing stubdm: the self-test, which also archives the classes a
# start-up loads (class-data sharing), so that each device model reaches "running" sooner.
if [ -x /lab/stubdm/bin/stubdm ]; then
  t=$EPOCHREALTIME
  /lab/stubdm/bin/stubdm --prepare 2>&1 | grep -v ' INFO ' | sed 's/^/STUBDM-LAB stubdm --prepare: /'
  echo "STUBDM-LAB stubdm --prepare took $(elapsed "$t")s"
fi
# A device model killed by a signal, or a guest that never reached its kernel (pitfalls 13 and 18), leaves Dom0
# itself working: the scenario runs again here, up to DM_CRASH_RETRIES more times, before run-lab.sh's slower
# remedy (booting the nested machine again) applies. The last STUBDM-LAB-RESULT of a scenario is its verdict.
DM_CRASH_RETRIES=${DM_CRASH_RETRIES:-2}
# Pitfall 17: the loop that follows a guest has stopped for good now and then, while the guest and its serial
# reader went on (so the console is not silent and run-lab.sh's stall check does not see it). The loop rewrites
# HEARTBEAT on every pass; this watchdog, a process of its own, shows what Dom0's processes wait on when the
# heartbeat is JOB_STALL seconds old, and powers Dom0 off: run-lab.sh then boots again for what is left.
HEARTBEAT=/tmp/lab/heartbeat
(
  while sleep 15; do
    [ -f "$HEARTBEAT" ] || continue
    age=$(( $(date +%s) - $(stat -c %Y "$HEARTBEAT" 2>/dev/null || date +%s) ))
    if [ "$age" -ge "${JOB_STALL:-150}" ]; then
      echo "STUBDM-LAB job-stalled: the job's loop made no progress for ${age}s (pitfall 17); powering Dom0 off"
      ps -eo pid,ppid,stat,wchan:24,etime,args 2>/dev/null | grep -v ' \[' | head -60 | sed 's/^/STUBDM-LAB   ps: /'
      sync; busybox poweroff -f
    fi
  done
) &
# bt-* scenarios: `stubdm boot-test` itself boots the lab's Linux guest (its own xl config and copy-on-write overlay,
# the linux profile with the guest's own init line) and writes its reports; the job shows the Markdown report on
# the console and takes the harness's exit status as the verdict.
run_boottest() {
  local sc=$1 cfg=/lab/xl/$1.cfg dm=${1#*@} placement=dom0 out=/tmp/lab/bt-${1/@/-} name=lab-${1/@/-}
  [ "$dm" = stubdom ] && placement=stubdom
  local nic; nic=$(sed -n "s/^vif = \[ 'model=\([a-z0-9]*\),.*/\1/p" "$cfg")
  local smem; smem=$(sed -n 's/^stubdomain_memory = //p' "$cfg"); smem=${smem:-256}
  echo "STUBDM-LAB scenario $sc: stubdm boot-test, placement $placement, NIC $nic"
  local pinner=""
  if [ "$placement" = stubdom ] && [ "${LAB_PIN:-yes}" = yes ]; then
    ( for i in $(seq 1 900); do
        id=$(xl domid "$name-dm" 2>/dev/null) && { xl vcpu-pin "$id" all "${STUBDOM_CPU:-1}"; echo "STUBDM-LAB $sc stub domain $id pinned to CPU ${STUBDOM_CPU:-1}"; break; }
        sleep 0.2
      done ) &
    pinner=$!
  fi
  local vga; vga=$(sed -n 's/^vga = "\(.*\)"/\1/p' "$cfg"); vga=${vga:-none}
  local extra=(--vga "$vga" --xl-config 'cpuid = "host,rdtscp=0"' --xl-config 'tsc_mode = "native"')
  grep -q '^cpus = "1"' "$cfg" && extra+=(--xl-config 'cpus = "1"')
  local t=$EPOCHREALTIME rc=0
  timeout -k 10 "$GUEST_TIMEOUT" /lab/stubdm/bin/stubdm boot-test /lab/guest/disk.img --profile linux \
    --expect 'init=STUBDM-CHECK (init)' --timeout-scale 3 --placement "$placement" --nic "$nic" --memory 256 \
    --stubdom-memory "$smem" --name "$name" --out "$out" "${extra[@]}" > /tmp/lab/$sc-boottest.log 2>&1 &
  local bt=$!
  # A line every 30 s: run-lab.sh takes a console silent for minutes for a hung nested machine.
  while kill -0 "$bt" 2>/dev/null; do
    sleep 30
    kill -0 "$bt" 2>/dev/null && echo "STUBDM-LAB $sc boot-test running t=$(elapsed "$t") $(timeout 20 xl list 2>/dev/null | awk -v n="$name" '$1 == n {print "state=" $5}')"
  done
  wait "$bt" || rc=$?
  [ -n "$pinner" ] && { kill "$pinner" 2>/dev/null; wait "$pinner" 2>/dev/null; }
  sed "s/^/STUBDM-LAB $sc   boot-test: /" /tmp/lab/$sc-boottest.log | head -60
  # The report, as the harness wrote it (the console transcript section left out: the guest's lines are long).
  sed '/^## Console/,$d' "$out/$name.md" 2>/dev/null | sed "s/^/STUBDM-LAB-BOOTTEST $sc /"
  local junit; junit=$(ls "$out"/TEST-*.xml 2>/dev/null | head -1)
  echo "STUBDM-LAB $sc boot-test exit $rc after $(elapsed "$t")s; JUnit XML: ${junit:-none} ($(grep -c '<testcase' "$junit" 2>/dev/null) test cases, $(grep -o 'failures="[0-9]*"' "$junit" 2>/dev/null | head -1))"
  # With a VGA: the harness's screenshots (one per milestone and one at the end), each a PNG.
  local shots=ok
  if [ "$vga" != none ]; then
    local n=0 f
    for f in "$out"/"$name"-*.png; do
      [ -s "$f" ] && [ "$(head -c 4 "$f" | od -An -tx1 | tr -d ' ')" = 89504e47 ] && n=$((n + 1))
    done
    echo "STUBDM-LAB $sc boot-test screenshots: $n PNG file(s): $(ls "$out"/*.png 2>/dev/null | xargs -n1 basename 2>/dev/null | tr '\n' ' ')"
    [ "$n" -ge 3 ] || shots=no
  fi
  # The image is untouched (the guest wrote to the harness's overlay only).
  local sum; sum=$(sha256sum /lab/guest/disk.img | cut -c1-64)
  if [ "$rc" = 0 ] && [ -s "$out/$name.md" ] && [ -n "$junit" ] && [ "$shots" = ok ] && [ "$sum" = "$(cat /tmp/lab/disk.sha256)" ]; then
    echo "STUBDM-LAB-RESULT $sc PASS"
  else
    echo "STUBDM-LAB-RESULT $sc FAIL boot-test-exit-$rc$([ "$shots" = ok ] || echo ' no-screenshots')$([ "$sum" = "$(cat /tmp/lab/disk.sha256)" ] || echo ' image-modified')"; OVERALL=1
  fi
}
sha256sum /lab/guest/disk.img | cut -c1-64 > /tmp/lab/disk.sha256
# -prom scenarios (PROM=yes): stubdm's exporter and a Prometheus server scraping it every 5 s, for the whole job.
if [ "${PROM:-no}" = yes ]; then
  /lab/stubdm/bin/stubdm exporter --listen 127.0.0.1:9750 > /tmp/lab/exporter.log 2>&1 &
  printf '%s\n' 'global: {scrape_interval: 5s, scrape_timeout: 4s}' 'scrape_configs:' '  - job_name: stubdm' \
    "    static_configs: [{targets: ['127.0.0.1:9750']}]" > /tmp/lab/prometheus.yml
  /lab/prom/prometheus --config.file=/tmp/lab/prometheus.yml --storage.tsdb.path=/tmp/lab/prometheus \
    --web.listen-address=127.0.0.1:9090 > /tmp/lab/prometheus.log 2>&1 &
  for i in $(seq 1 60); do
    timeout 5 busybox wget -qO- http://127.0.0.1:9090/-/ready >/dev/null 2>&1 && break
    sleep 2
  done
  echo "STUBDM-LAB prometheus: $(timeout 5 busybox wget -qO- http://127.0.0.1:9090/-/ready 2>&1 | head -1); exporter: $(timeout 10 busybox wget -qO- http://127.0.0.1:9750/metrics 2>&1 | grep -c '^stubdm_') stubdm series before any guest"
fi
for sc in $SCENARIOS; do
  case "$sc" in bt-*) run_boottest "$sc"; continue;; esac
  LAST_WHY=""; run_scenario "$sc"; again=0
  while [[ "$LAST_WHY" == *dm-crashed* || "$LAST_WHY" == *stuck-before-kernel* || "$LAST_WHY" == *xl-create-dm-start* ]] \
      && [ $again -lt "$DM_CRASH_RETRIES" ]; do
    again=$((again + 1))
    echo "STUBDM-LAB $sc: ${LAST_WHY# } (pitfalls 13, 18); running the scenario again ($again of $DM_CRASH_RETRIES)"
    LAST_WHY=""; run_scenario "$sc"
  done
done
# Pitfall 18's count for this boot: Dom0 processes the kernel saw fault.
echo "STUBDM-LAB dom0-faults $(dmesg | grep -cE 'segfault at|general protection|traps:') ($(nproc) Dom0 vCPUs)"
exit $OVERALL
