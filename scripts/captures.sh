#!/usr/bin/env bash
# Capture real DHCPv4 exchanges between ISC Kea 2.2 and real clients (ISC dhclient, busybox
# udhcpc, perfdhcp) inside two private network namespaces, and turn them into the hex fixtures
# that crates/proto/tests/oracle_dhcproto.rs decodes with Nestor and with dhcproto.
#
# Usage (root):  scripts/captures.sh [OUTPUT_DIR]
#   OUTPUT_DIR defaults to crates/proto/tests/fixtures (relative to the repository root).
#   KEEP_WORKDIR=1 keeps /tmp/nestor-cap.* (pcaps, Kea log, client logs) for inspection.
#
# Usage (any user): scripts/captures.sh kea-verdicts [FIXTURE] > NEW_FIXTURE
#   Sends every packet of FIXTURE (default: the malformed fixture) to a real kea-dhcp4 on
#   loopback (UDP sockets, ports $KEA_VERDICT_PORT and +1, default 16967) and prints FIXTURE back
#   with each packet's "#   kea-dhcp4 2.2: <verdict>" line (re)written from Kea's debug log:
#   "parse-failed: <reason>", "parsed", or the later drop Kea logged.
#
# Topology (addresses from the benchmarking range 198.18.0.0/15, RFC 2544):
#
#   netns nestor-cap-srv                        netns nestor-cap-cli
#   ncap-srv 198.18.0.1/24  <--- veth --->  ncap-cli (no address for dhclient/udhcpc,
#   kea-dhcp4 (raw sockets), tshark                    198.18.0.2/24 for perfdhcp)
#
# Nothing leaves the two namespaces. Every step is bounded by `timeout`; every process this script
# starts is remembered by PID and killed by PID, and both namespaces are deleted on exit (trap).
#
# Fixture format (read by the oracle test): lines starting with '#' are comments; every other
# non-empty line is one UDP payload (a whole BOOTP/DHCP message) in lowercase hex. Each packet
# line is preceded by a comment naming its sender and message type, e.g. "# kea-offer ...".
set -euo pipefail

readonly NS_SRV=nestor-cap-srv
readonly NS_CLI=nestor-cap-cli
readonly IF_SRV=ncap-srv
readonly IF_CLI=ncap-cli
readonly SRV_ADDR=198.18.0.1
readonly CLI_ADDR=198.18.0.2
# At most this many packets of one (sender, message type) pair per capture go into a fixture:
# the fixtures stay small enough to read and commit, yet keep every shape each client produces.
readonly PER_KIND=3

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() { echo "captures.sh: $*" >&2; exit 1; }

# wait_for SECONDS COMMAND...: poll COMMAND every 0.2 s until it succeeds, at most SECONDS.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# kea_verdicts FIXTURE: see the usage above. Loopback only; one kea-dhcp4, killed by PID.
kea_verdicts() {
    local fixture=$1 port=${KEA_VERDICT_PORT:-16967}
    [[ -r $fixture ]] || die "cannot read $fixture"
    # Another process on the port would receive the probes and every verdict would be wrong.
    if ss -Hlun "sport = :$port" 2>/dev/null | grep -q .; then
        die "UDP port $port is in use; set KEA_VERDICT_PORT"
    fi
    command -v kea-dhcp4 >/dev/null && command -v python3 >/dev/null || die "needs kea-dhcp4 and python3"
    # Globals, not locals: the EXIT trap runs after this function has returned.
    vwork=$(mktemp -d /tmp/nestor-verdicts.XXXXXX)
    kea_pid=
    # Kea must stop whatever happens: EXIT trap, by its PID only (never an empty PID, which
    # `kill` would read as "the whole process group").
    trap '[[ -n $kea_pid ]] && kill -TERM "$kea_pid" 2>/dev/null; rm -rf "$vwork"' EXIT
    cat >"$vwork/kea.json" <<EOF
{ "Dhcp4": {
    "interfaces-config": { "interfaces": [ "lo" ], "dhcp-socket-type": "udp" },
    "lease-database": { "type": "memfile", "persist": false },
    "subnet4": [ { "id": 1, "subnet": "198.18.5.0/24", "pools": [ { "pool": "198.18.5.10 - 198.18.5.200" } ],
                   "relay": { "ip-addresses": [ "127.0.0.2" ] } } ],
    "loggers": [ { "name": "kea-dhcp4", "severity": "DEBUG", "debuglevel": 99,
                   "output_options": [ { "output": "$vwork/kea.log" } ] } ] } }
EOF
    KEA_PIDFILE_DIR=$vwork KEA_LOCKFILE_DIR=$vwork timeout 300 \
        kea-dhcp4 -p "$port" -P "$((port + 1))" -c "$vwork/kea.json" >"$vwork/stdout.log" 2>&1 &
    kea_pid=$!
    wait_for 20 grep -qs DHCP4_STARTED "$vwork/kea.log" ||
        die "kea-dhcp4 did not start: $(tail -3 "$vwork/stdout.log" "$vwork/kea.log" 2>/dev/null)"
    # One packet at a time from 127.0.0.2 (a relay address of the subnet), 0.3 s apart, so that
    # the log lines written after each send are that packet's.
    timeout 120 python3 - "$fixture" "$vwork/kea.log" "$port" <<'EOF'
import re, socket, sys, time
fixture, log_path, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
later = {"DHCP4_PACKET_DROP_0009": "dropped after parsing: no message type (DHCP4_PACKET_DROP_0009)",
         "DHCP4_PACKET_DROP_0005": "dropped after parsing: unsupported message type (DHCP4_PACKET_DROP_0005)",
         "DHCP4_PACKET_DROP_0003": "dropped after parsing: not its server identifier (DHCP4_PACKET_DROP_0003)",
         "DHCP4_BUFFER_RECEIVE_FAIL": "not received: shorter than the header (DHCP4_BUFFER_RECEIVE_FAIL)"}
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.2", port))
def log_lines():
    with open(log_path) as f:
        return f.read().splitlines()
out = []
for line in open(fixture).read().splitlines():
    if line.startswith("#   kea-dhcp4 2.2:"):
        continue
    if line and not line.startswith("#"):
        before = len(log_lines())
        sock.sendto(bytes.fromhex(line), ("127.0.0.1", port))
        time.sleep(0.3)
        new = log_lines()[before:]
        drop = [re.sub(r".*reason: ", "", l).rstrip(".") for l in new if "DHCP4_PACKET_DROP_0001" in l]
        if drop:
            verdict = "parse-failed: " + drop[0]
        elif any("DHCP4_PACKET_RECEIVED" in l for l in new):
            verdict = "parsed"
        else:
            ids = [k for k in later if any(k in l for l in new)]
            verdict = later[ids[0]] if ids else "no log line"
        out.append("#   kea-dhcp4 2.2: " + verdict)
    out.append(line)
print("\n".join(out))
EOF
}

if [[ ${1:-} == kea-verdicts ]]; then
    kea_verdicts "${2:-$repo_root/crates/proto/tests/fixtures/malformed.hex}"
    exit 0
fi

out_dir=${1:-"$repo_root/crates/proto/tests/fixtures"}

[[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces, raw sockets)"
for tool in ip kea-dhcp4 tshark dhclient udhcpc perfdhcp timeout; do
    command -v "$tool" >/dev/null || die "missing tool: $tool"
done
for ns in "$NS_SRV" "$NS_CLI"; do
    if ip netns list | grep -qw "$ns"; then
        die "namespace $ns already exists (a previous run still going, or not cleaned up?)"
    fi
done

work=$(mktemp -d /tmp/nestor-cap.XXXXXX)
pids=()

cleanup() {
    local pid
    # Kill in reverse start order, by PID only: the capture must outlive the server and clients.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        pid=${pids[i]}
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in 1 2 3 4 5 6 7 8 9 10; do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.2
            done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    ip netns del "$NS_CLI" 2>/dev/null || true
    ip netns del "$NS_SRV" 2>/dev/null || true
    if [[ ${KEEP_WORKDIR:-0} == 1 ]]; then
        echo "captures.sh: work directory kept: $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_srv() { ip netns exec "$NS_SRV" "$@"; }
in_cli() { ip netns exec "$NS_CLI" "$@"; }

# ---------------------------------------------------------------------------------------------
# Network
ip netns add "$NS_SRV"
ip netns add "$NS_CLI"
ip link add "$IF_SRV" netns "$NS_SRV" type veth peer name "$IF_CLI" netns "$NS_CLI"
in_srv ip link set lo up
in_cli ip link set lo up
in_srv ip addr add "$SRV_ADDR/24" dev "$IF_SRV"
in_srv ip link set "$IF_SRV" up
in_cli ip link set "$IF_CLI" up

# ---------------------------------------------------------------------------------------------
# Kea 2.2, raw sockets on the server veth. Options chosen so that the replies exercise more of
# the codec than a bare OFFER: siaddr (next-server), sname and file filled, lists of addresses,
# a domain name, a domain search list and renew/rebind timers.
mkdir -p "$work/kea"
cat >"$work/kea/kea-dhcp4.json" <<EOF
{
  "Dhcp4": {
    "interfaces-config": { "interfaces": [ "$IF_SRV" ], "dhcp-socket-type": "raw" },
    "lease-database": { "type": "memfile", "persist": true, "name": "$work/kea/leases4.csv", "lfc-interval": 0 },
    "valid-lifetime": 600,
    "renew-timer": 300,
    "rebind-timer": 525,
    "subnet4": [
      {
        "id": 1,
        "subnet": "198.18.0.0/24",
        "pools": [ { "pool": "198.18.0.100 - 198.18.0.200" } ],
        "next-server": "$SRV_ADDR",
        "server-hostname": "nestor-cap-srv",
        "boot-file-name": "pxelinux.0",
        "relay": { "ip-addresses": [ "$CLI_ADDR" ] },
        "option-data": [
          { "name": "routers", "data": "$SRV_ADDR" },
          { "name": "domain-name-servers", "data": "$SRV_ADDR, 198.18.0.3" },
          { "name": "domain-name", "data": "cap.nestor.test" },
          { "name": "domain-search", "data": "cap.nestor.test, nestor.test" },
          { "name": "ntp-servers", "data": "198.18.0.4" }
        ]
      }
    ],
    "loggers": [
      { "name": "kea-dhcp4", "severity": "DEBUG", "debuglevel": 40,
        "output_options": [ { "output": "$work/kea/kea-dhcp4.log" } ] }
    ]
  }
}
EOF
export KEA_PIDFILE_DIR="$work/kea" KEA_LOCKFILE_DIR="$work/kea" KEA_LOGGER_DESTINATION="$work/kea/kea.log"
in_srv timeout 20 kea-dhcp4 -t "$work/kea/kea-dhcp4.json" >"$work/kea/check.log" 2>&1 ||
    die "kea-dhcp4 -t rejected the capture config: $(tail -3 "$work/kea/check.log")"

# start_capture NAME: tshark on the server veth, into $work/NAME.pcap; waits until it captures.
# Started with no shell function or subshell in between (ip netns exec execs tshark), so that $!
# is tshark's own PID; `-a duration:` bounds it even if this script dies by SIGKILL.
start_capture() {
    local name=$1
    ip netns exec "$NS_SRV" tshark -q -a duration:120 -i "$IF_SRV" -f 'udp port 67 or udp port 68' \
        -w "$work/$name.pcap" >"$work/$name.tshark.log" 2>&1 &
    cap_pid=$!
    pids+=("$cap_pid")
    wait_for 15 grep -q "Capturing on" "$work/$name.tshark.log" ||
        die "tshark did not start: $(cat "$work/$name.tshark.log")"
}

# stop_pid PID: SIGTERM, SIGKILL after 5 s, then reap. (Not SIGINT: a non-interactive shell
# starts its asynchronous commands with SIGINT ignored.)
stop_pid() {
    kill -TERM "$1" 2>/dev/null || true
    wait_for 5 bash -c "! kill -0 $1 2>/dev/null" || kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# stop_capture: stop the last tshark started; on SIGTERM it flushes and closes the pcap.
stop_capture() {
    sleep 1 # let the last reply reach the wire
    stop_pid "$cap_pid"
}

# `timeout` (exec'ed by ip netns exec, so $! is its PID) forwards our SIGTERM to kea-dhcp4.
ip netns exec "$NS_SRV" timeout 300 kea-dhcp4 -c "$work/kea/kea-dhcp4.json" \
    >"$work/kea/stdout.log" 2>&1 &
kea_pid=$!
pids+=("$kea_pid")
# Kea logs DHCP4_STARTED once its sockets are open.
wait_for 20 grep -qs DHCP4_STARTED "$work/kea/kea-dhcp4.log" ||
    die "kea-dhcp4 did not start: $(tail -5 "$work/kea/kea-dhcp4.log" "$work/kea/stdout.log" 2>/dev/null)"

# ---------------------------------------------------------------------------------------------
# 1. ISC dhclient: DISCOVER/OFFER/REQUEST/ACK with a hostname, a client identifier, a vendor
#    class and a longer parameter request list, then a RELEASE. /bin/true as script: dhclient
#    does not configure the interface.
mkdir -p "$work/dhclient"
cat >"$work/dhclient/dhclient.conf" <<'EOF'
send host-name "nestor-dhclient";
send dhcp-client-identifier 01:02:00:5e:10:00:01;
send vendor-class-identifier "nestor-capture";
request subnet-mask, broadcast-address, time-offset, routers, domain-name, domain-name-servers,
        domain-search, host-name, ntp-servers, interface-mtu;
EOF
start_capture dhclient
ip netns exec "$NS_CLI" timeout 30 dhclient -d -1 -v -cf "$work/dhclient/dhclient.conf" \
    -sf /bin/true -lf "$work/dhclient/leases" -pf "$work/dhclient/pid" "$IF_CLI" \
    >"$work/dhclient/bind.log" 2>&1 &
dhclient_pid=$!
pids+=("$dhclient_pid")
if wait_for 25 grep -q "bound to" "$work/dhclient/bind.log"; then
    stop_pid "$dhclient_pid"
    # dhclient sends its RELEASE by unicast through the kernel (its fallback socket), which needs
    # the leased address on the interface; with /bin/true as script nobody configured it.
    leased=$(sed -n 's/^ *fixed-address \([0-9.]*\);/\1/p' "$work/dhclient/leases" | tail -1)
    in_cli ip addr add "$leased/24" dev "$IF_CLI"
    in_cli timeout 15 dhclient -r -v -cf "$work/dhclient/dhclient.conf" -sf /bin/true \
        -lf "$work/dhclient/leases" -pf "$work/dhclient/pid" "$IF_CLI" \
        >"$work/dhclient/release.log" 2>&1 ||
        echo "captures.sh: warning: dhclient -r failed: $(tail -3 "$work/dhclient/release.log")" >&2
    in_cli ip addr flush dev "$IF_CLI"
else
    echo "captures.sh: warning: dhclient did not bind: $(tail -3 "$work/dhclient/bind.log")" >&2
    stop_pid "$dhclient_pid"
fi
stop_capture

# ---------------------------------------------------------------------------------------------
# 2. busybox udhcpc: foreground (-f), no retry after failure (-n), with hostname, vendor class and
#    extra requested options; SIGUSR2 once bound makes it send a RELEASE. (Not -q: with -q it
#    exits before entering BOUND and -R then releases nothing.) Its script only puts the leased
#    address on the client veth, inside the client namespace, because udhcpc sends the RELEASE
#    by unicast through the kernel. udhcpc is exec'ed directly (no `timeout`, which would die of
#    SIGUSR2), so $! is its PID; the wait below and stop_pid bound its life.
cat >"$work/udhcpc.script" <<'EOF'
#!/bin/sh
[ "$1" = bound ] && exec ip addr add "$ip/${mask:-24}" dev "$interface"
exit 0
EOF
chmod +x "$work/udhcpc.script"
start_capture udhcpc
ip netns exec "$NS_CLI" udhcpc -i "$IF_CLI" -n -f -t 3 -T 2 -s "$work/udhcpc.script" \
    -x hostname:nestor-udhcpc -V nestor-capture -O 42 -O 119 >"$work/udhcpc.log" 2>&1 &
udhcpc_pid=$!
pids+=("$udhcpc_pid")
if wait_for 20 grep -q "lease of" "$work/udhcpc.log"; then
    kill -USR2 "$udhcpc_pid" 2>/dev/null || true
    wait_for 5 grep -q "entering released state" "$work/udhcpc.log" ||
        echo "captures.sh: warning: udhcpc did not release: $(tail -3 "$work/udhcpc.log")" >&2
else
    echo "captures.sh: warning: udhcpc got no lease: $(tail -3 "$work/udhcpc.log")" >&2
fi
stop_pid "$udhcpc_pid"
stop_capture
in_cli ip addr flush dev "$IF_CLI"

# ---------------------------------------------------------------------------------------------
# perfdhcp exits 3 when it counted drops (typically the last exchange, cut short by -p): not a
# failure for a capture, so only other non-zero statuses are reported.
in_cli ip addr add "$CLI_ADDR/24" dev "$IF_CLI"

# 3. perfdhcp as a relay (unicast to the server, giaddr = 198.18.0.2): 20 four-way exchanges at
#    10/s, 20 distinct simulated clients.
start_capture perfdhcp-relay
rc=0
in_cli timeout 60 perfdhcp -4 -r 10 -n 20 -R 20 -p 10 -l "$CLI_ADDR" "$SRV_ADDR" \
    >"$work/perfdhcp-relay.log" 2>&1 || rc=$?
((rc == 0 || rc == 3)) ||
    echo "captures.sh: warning: relayed perfdhcp exited $rc: $(tail -3 "$work/perfdhcp-relay.log")" >&2
stop_capture

# 4. perfdhcp as directly connected clients (broadcast on the client veth).
start_capture perfdhcp-direct
rc=0
in_cli timeout 60 perfdhcp -4 -r 10 -n 20 -R 20 -p 10 -l "$IF_CLI" \
    >"$work/perfdhcp-direct.log" 2>&1 || rc=$?
((rc == 0 || rc == 3)) ||
    echo "captures.sh: warning: direct perfdhcp exited $rc: $(tail -3 "$work/perfdhcp-direct.log")" >&2
stop_capture

stop_pid "$kea_pid"

# ---------------------------------------------------------------------------------------------
# Extraction: every DHCP packet seen on the server veth, as hex, PER_KIND per (sender, type).
msg_name() {
    case $1 in
        1) echo discover ;; 2) echo offer ;; 3) echo request ;; 4) echo decline ;;
        5) echo ack ;; 6) echo nak ;; 7) echo release ;; 8) echo inform ;;
        "") echo bootp ;; *) echo "type$1" ;;
    esac
}

mkdir -p "$out_dir"
captured_on=$(date -u +%Y-%m-%d)
total=0
for name in dhclient udhcpc perfdhcp-relay perfdhcp-direct; do
    pcap="$work/$name.pcap"
    [[ -s $pcap ]] || { echo "captures.sh: warning: no capture for $name" >&2; continue; }
    fixture="$out_dir/$name-1.hex"
    {
        echo "# source: $name <-> kea-dhcp4 $(kea-dhcp4 -v), captured $captured_on by scripts/captures.sh"
        echo "# on veth $IF_SRV (netns $NS_SRV, $SRV_ADDR/24); UDP payloads, one per line, hex."
    } >"$fixture.tmp"
    declare -A seen=()
    kept=0
    while IFS=$'\t' read -r frame src sport dst dport mtype payload; do
        [[ -n $payload ]] || continue
        if [[ $sport == 67 && $src == "$SRV_ADDR" ]]; then sender=kea; else sender=${name%%-*}; fi
        kind="$sender-$(msg_name "$mtype")"
        count=${seen[$kind]:-0}
        ((count < PER_KIND)) || continue
        seen[$kind]=$((count + 1))
        echo "# $kind (frame $frame, $src:$sport -> $dst:$dport)" >>"$fixture.tmp"
        echo "${payload//:/}" >>"$fixture.tmp"
        kept=$((kept + 1))
    done < <(tshark -r "$pcap" -Y 'udp.port == 67 || udp.port == 68' -T fields -E separator=/t \
        -e frame.number -e ip.src -e udp.srcport -e ip.dst -e udp.dstport -e dhcp.option.dhcp \
        -e udp.payload 2>/dev/null)
    kinds=$(printf '%s ' "${!seen[@]}")
    unset seen
    if ((kept == 0)); then
        echo "captures.sh: warning: $name captured no DHCP packet" >&2
        rm -f "$fixture.tmp"
        continue
    fi
    mv "$fixture.tmp" "$fixture"
    total=$((total + kept))
    echo "captures.sh: $fixture: $kept packets (${kinds% })"
done
echo "captures.sh: $total packets written to $out_dir"
