#!/usr/bin/env bash
# Many checks in one boot of the test VM (tests/vm/run -- tests/vm/checks.sh [NAME...]).
#
# Runs as root inside the VM (its own kernel: nothing here reaches the host). Each check
# prints `CHECK NAME: ok` or `CHECK NAME: FAIL why`, and the run ends with `CHECKS DONE`;
# a failed check does not stop the others. tests/vm.rs asserts on these lines. With NAMEs,
# only those checks run.
set -uo pipefail

fail() {
	echo "CHECK $check: FAIL $*"
	failed=1
}
ok() { [ "$failed" = 1 ] || echo "CHECK $check: ok"; }
# Runs hosttune with the check's state dir, shows its output, keeps the exit code in $rc and
# the output in $out.
ht() {
	out="$(hosttune --state-dir "$state" "$@" 2>&1)"
	rc=$?
	printf '%s\n' "$out" | sed "s/^/  [$check] /"
}
expect_rc() {
	[ "$rc" = "$1" ] || fail "hosttune $2: exit $rc, expected $1"
}
by_driver() {
	local d
	for d in /sys/class/net/*/device/driver; do
		[ "$(basename "$(readlink "$d")")" = "$1" ] && basename "$(dirname "$(dirname "$d")")"
	done | head -n1
}
ring() { ethtool -g "$1" | awk -v k="$2:" '/^Current/{c=1} c && $1==k {print $2; exit}'; }
combined() { ethtool -l "$1" | awk '/^Current/{c=1} c && $1=="Combined:" {print $2; exit}'; }
# The queue IRQs of an interface's PCI function (msi_irqs) whose names match a pattern, as
# `IRQ NAME` lines.
irqs_of() {
	local dev irq
	dev="$(readlink -f "/sys/class/net/$1/device")"
	[ -d "$dev/msi_irqs" ] || dev="$(dirname "$dev")"
	for irq in $(ls "$dev/msi_irqs" | sort -n); do
		awk -v i="$irq:" -v p="$2" '$1==i && $NF ~ p {print substr(i, 1, length(i)-1), $NF}' /proc/interrupts
	done
}
affinities() {
	local irq name
	irqs_of "$1" "$2" | while read -r irq name; do
		echo "$name $(cat "/proc/irq/$irq/smp_affinity_list")"
	done
}
# A bridge BR, up, and one namespace per NAME with eth0 on it (its peer vNAME on BR), lo and
# eth0 up, and the address PREFIX<n>/LEN on eth0, n counting from 1 (IPv6 ones without DAD).
bridged() {
	local br="$1" prefix="$2" len="$3" n=0 ns dad=()
	shift 3
	case "$prefix" in *:*) dad=(nodad) ;; esac
	ip link add "$br" type bridge && ip link set "$br" up
	for ns in "$@"; do
		n=$((n + 1))
		ip netns add "$ns"
		ip link add "v$ns" type veth peer name eth0 netns "$ns"
		ip link set "v$ns" master "$br" up
		ip -n "$ns" link set lo up
		ip -n "$ns" link set eth0 up
		ip -n "$ns" addr add "$prefix$n/$len" dev eth0 "${dad[@]}"
	done
}
# Deletes what `bridged BR ... NAME...` made.
unbridged() {
	local br="$1" ns
	shift
	for ns in "$@"; do ip netns del "$ns"; done
	ip link del "$br"
}
# Serves DIR over HTTP on port 80 in namespace NS (its pid in $served) and returns once namespace
# CLIENT fetches URL from it: Python starts slowly under TCG.
serve() {
	local ns="$1" dir="$2" client="$3" url="$4" bind=0.0.0.0
	case "$url" in *\[*) bind=:: ;; esac
	ip netns exec "$ns" python3 -m http.server 80 --bind "$bind" --directory "$dir" >/dev/null 2>&1 &
	served=$!
	for _ in $(seq 60); do
		ip netns exec "$client" curl -s --max-time 2 -o /dev/null "$url" && return
		sleep 0.5
	done
}
profile() {
	local f="$state/$1.toml"
	cat >"$f"
	echo "$f"
}

state="$(mktemp -d /tmp/hosttune-vm-state.XXXXXX)"
trap 'rm -rf "$state"' EXIT
echo "VM kernel $(uname -r), isolated $(cat /sys/devices/system/cpu/isolated), online $(cat /sys/devices/system/cpu/online)"
e1000e="$(by_driver e1000e)"
virtio="$(by_driver virtio_net)"
echo "VM e1000e ${e1000e:-none}, virtio-net ${virtio:-none}"
for i in $e1000e $virtio; do ip link set "$i" up; done
sleep 1

# e1000e: rings 256 -> 1024 and its queue vectors pinned NUMA-local (node 1: CPUs 2-3, of the
# isolated 1,3 only 3); apply, audit in sync, second apply writes nothing, rollback exact.
check_e1000e() {
	check=e1000e_apply_audit_rollback failed=0
	[ -n "$e1000e" ] || { fail "no e1000e interface"; return; }
	echo "  [$check] numa_node $(cat "/sys/class/net/$e1000e/device/numa_node") local_cpulist $(cat "/sys/class/net/$e1000e/device/local_cpulist")"
	local rx0 tx0 aff0 p
	rx0="$(ring "$e1000e" RX)" tx0="$(ring "$e1000e" TX)"
	aff0="$(affinities "$e1000e" '-(rx|tx)-[0-9]+$')"
	[ -n "$aff0" ] || fail "no queue vectors found for $e1000e"
	p="$(profile e1000e <<EOF
[[nic]]
match = "$e1000e"
rings = { rx = 1024, tx = 1024 }
irq_cpus = "isolated"
EOF
)"
	ht audit "$p"
	expect_rc 1 "audit before apply"
	grep -q "numa node 1" <<<"$out" || fail "audit does not name numa node 1"
	ht apply "$p"
	expect_rc 0 apply
	[ "$(ring "$e1000e" RX)/$(ring "$e1000e" TX)" = 1024/1024 ] || fail "rings $(ring "$e1000e" RX)/$(ring "$e1000e" TX) after apply"
	local name cpu
	while read -r name cpu; do
		[ "$cpu" = 3 ] || fail "$name on CPU $cpu after apply, expected 3 (isolated and on node 1)"
	done < <(affinities "$e1000e" '-(rx|tx)-[0-9]+$')
	ht audit "$p"
	expect_rc 0 "audit after apply"
	ht apply "$p"
	expect_rc 0 "second apply"
	grep -q "in sync, nothing written" <<<"$out" || fail "second apply wrote"
	ht rollback
	expect_rc 0 rollback
	[ "$(ring "$e1000e" RX)/$(ring "$e1000e" TX)" = "$rx0/$tx0" ] || fail "rings not restored"
	[ "$(affinities "$e1000e" '-(rx|tx)-[0-9]+$')" = "$aff0" ] || fail "affinities not restored: $(affinities "$e1000e" '-(rx|tx)-[0-9]+$' | tr '\n' ' ') (were $(tr '\n' ' ' <<<"$aff0"))"
	ok
}

# e1000e: kill -9 in the middle of an apply (as soon as its journal exists, so after the
# snapshot and around the first writes), then rollback: rings and queue vectors as at boot.
check_e1000e_kill9() {
	check=e1000e_kill9_mid_apply_then_rollback failed=0
	[ -n "$e1000e" ] || { fail "no e1000e interface"; return; }
	local rx0 tx0 aff0 p pid k9="$state/k9" i
	rx0="$(ring "$e1000e" RX)" tx0="$(ring "$e1000e" TX)"
	aff0="$(affinities "$e1000e" '-(rx|tx)-[0-9]+$')"
	p="$(profile k9 <<EOF
[[nic]]
match = "$e1000e"
rings = { rx = 2048, tx = 2048 }
irq_cpus = "isolated"
EOF
)"
	mkdir -m 700 "$k9"
	hosttune --state-dir "$k9" apply "$p" >/dev/null 2>&1 &
	pid=$!
	for i in $(seq 100000); do
		[ -e "$k9/journal.json" ] && break
		kill -0 "$pid" 2>/dev/null || break
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	echo "  [$check] killed with the journal $([ -e "$k9/journal.json" ] && echo present || echo absent), rings $(ring "$e1000e" RX)/$(ring "$e1000e" TX)"
	out="$(hosttune --state-dir "$k9" rollback 2>&1)"
	rc=$?
	printf '%s\n' "$out" | sed "s/^/  [$check] /"
	expect_rc 0 rollback
	[ "$(ring "$e1000e" RX)/$(ring "$e1000e" TX)" = "$rx0/$tx0" ] || fail "rings $(ring "$e1000e" RX)/$(ring "$e1000e" TX) after rollback, were $rx0/$tx0"
	[ "$(affinities "$e1000e" '-(rx|tx)-[0-9]+$')" = "$aff0" ] || fail "affinities not restored"
	[ ! -e "$k9/journal.json" ] || fail "the journal is still there"
	ok
}

# virtio-net: channels 4 -> 2 with IRQ affinity and RPS planned again for the queues that
# exist after the change; rollback to 4 with every queue vector's affinity as before. RPS goes
# to the housekeeping CPUs 0,2: the kernel refuses an RPS mask of isolated CPUs only (EINVAL;
# store_rps_map keeps housekeeping CPUs); hosttune plans without them (check_rps_isolated).
check_virtio() {
	check=virtio_channels_irq_rps_rollback failed=0
	[ -n "$virtio" ] || { fail "no virtio-net interface"; return; }
	local ch0 aff0 rps0 p
	ch0="$(combined "$virtio")"
	[ "$ch0" = 4 ] || fail "combined $ch0 at boot, expected 4"
	aff0="$(affinities "$virtio" 'put\.[0-9]+$')"
	rps0="$(cat /sys/class/net/"$virtio"/queues/rx-*/rps_cpus | tr '\n' ' ')"
	echo "  [$check] before: $(tr '\n' ' ' <<<"$aff0")"
	p="$(profile virtio <<EOF
[[nic]]
match = "$virtio"
channels = { combined = 2 }
irq_cpus = "isolated"
rps_cpus = "0,2"
EOF
)"
	ht apply "$p"
	expect_rc 0 apply
	[ "$(combined "$virtio")" = 2 ] || fail "combined $(combined "$virtio") after apply"
	local name cpu
	while read -r name cpu; do
		case "$name" in
		*put.0 | *put.1) [ "$cpu" = 1 ] || [ "$cpu" = 3 ] || fail "$name on CPU $cpu after apply, expected 1 or 3" ;;
		esac
	done < <(affinities "$virtio" 'put\.[0-9]+$')
	for f in /sys/class/net/"$virtio"/queues/rx-*/rps_cpus; do
		[ "$(tr -d ',\n' <"$f" | sed 's/^0*//')" = 5 ] || fail "$f is $(cat "$f") after apply, expected CPUs 0,2"
	done
	echo "  [$check] after apply: $(affinities "$virtio" 'put\.[0-9]+$' | tr '\n' ' ')"
	ht audit "$p"
	expect_rc 0 "audit after apply"
	ht apply "$p"
	expect_rc 0 "second apply"
	grep -q "in sync, nothing written" <<<"$out" || fail "second apply wrote"
	ht rollback
	expect_rc 0 rollback
	[ "$(combined "$virtio")" = "$ch0" ] || fail "combined $(combined "$virtio") after rollback, was $ch0"
	local aff1
	aff1="$(affinities "$virtio" 'put\.[0-9]+$')"
	[ "$aff1" = "$aff0" ] || fail "affinities after rollback: $(tr '\n' ' ' <<<"$aff1") (were $(tr '\n' ' ' <<<"$aff0"))"
	[ "$(cat /sys/class/net/"$virtio"/queues/rx-*/rps_cpus | tr '\n' ' ')" = "$rps0" ] || fail "rps_cpus not restored"
	ok
}

# rps_cpus = "isolated" on a host booted with isolcpus: the kernel refuses the mask (EINVAL),
# the apply fails and is undone, and the host reads back as before.
check_rps_isolated() {
	check=rps_isolated_refused_at_plan_time failed=0
	[ -n "$virtio" ] || { fail "no virtio-net interface"; return; }
	local rps0 p
	rps0="$(cat /sys/class/net/"$virtio"/queues/rx-*/rps_cpus | tr '\n' ' ')"
	p="$(profile rps <<EOF
[[nic]]
match = "$virtio"
rps_cpus = "isolated"
EOF
)"
	ht apply "$p"
	expect_rc 2 "apply of isolated-only rps_cpus"
	grep -q "all isolated" <<<"$out" || fail "apply did not name the isolated CPUs"
	[ "$(cat /sys/class/net/"$virtio"/queues/rx-*/rps_cpus | tr '\n' ' ')" = "$rps0" ] || fail "rps_cpus changed"
	# A set that mixes isolated and housekeeping CPUs is planned without the isolated ones,
	# so it reads back exactly and audits in sync.
	p="$(profile rps2 <<EOF
[[nic]]
match = "$virtio"
rps_cpus = "0-3"
EOF
)"
	ht apply "$p"
	expect_rc 0 "apply of rps_cpus 0-3"
	for f in /sys/class/net/"$virtio"/queues/rx-*/rps_cpus; do
		[ "$(tr -d ',\n' <"$f" | sed 's/^0*//')" = 5 ] || fail "$f is $(cat "$f"), expected CPUs 0,2 (1 and 3 isolated)"
	done
	ht audit "$p"
	expect_rc 0 "audit after apply"
	ht rollback
	expect_rc 0 rollback
	[ "$(cat /sys/class/net/"$virtio"/queues/rx-*/rps_cpus | tr '\n' ' ')" = "$rps0" ] || fail "rps_cpus not restored"
	ok
}

# rx_flow_hash on virtio-net with RSS (rss=on,hash=on): udp4 from sdfn to sd and back.
# e1000e: interrupt coalescing (rx-usecs, 3 at boot: dynamic conservative mode) and pause
# frames (autoneg, rx and tx on at boot). With autoneg on, e1000e resolves rx/tx itself, so
# the profile turns autoneg off to force them. Apply, audit in sync (with the driver's
# pause-frame counters as evidence), second apply writes nothing, rollback exact.
check_coalesce_pause() {
	check=e1000e_coalesce_pause_apply_rollback failed=0
	[ -n "$e1000e" ] || { fail "no e1000e interface"; return; }
	local c0 a0 p
	c0="$(ethtool -c "$e1000e")" a0="$(ethtool -a "$e1000e")"
	grep -q '^rx-usecs: *3$' <<<"$c0" || fail "rx-usecs at boot is not 3: $(grep '^rx-usecs' <<<"$c0")"
	p="$(profile coalesce <<EOF
[[nic]]
match = "$e1000e"
coalesce = { "rx-usecs" = 64 }
pause = { autoneg = false, rx = false, tx = false }
EOF
)"
	ht apply "$p"
	expect_rc 0 apply
	ethtool -c "$e1000e" | grep -q '^rx-usecs: *64$' || fail "rx-usecs after apply: $(ethtool -c "$e1000e" | grep '^rx-usecs')"
	[ "$(ethtool -a "$e1000e" | grep -c -E '^(Autonegotiate|RX|TX):[[:space:]]*off$')" = 3 ] || fail "pause after apply: $(ethtool -a "$e1000e" | tr '\n' ' ')"
	ht audit --evidence --format json "$p"
	expect_rc 0 "audit after apply"
	grep -q rx_flow_control_xon <<<"$out" || fail "no pause-frame counter in the evidence"
	ht apply "$p"
	expect_rc 0 "second apply"
	grep -q "in sync, nothing written" <<<"$out" || fail "second apply wrote"
	ht rollback
	expect_rc 0 rollback
	# Turning pause autonegotiation back on resets e1000e's link: compare once it is up.
	local n=0
	while [ "$(cat "/sys/class/net/$e1000e/operstate")" != up ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
	[ "$(ethtool -c "$e1000e")" = "$c0" ] || fail "ethtool -c not restored: $(ethtool -c "$e1000e" | grep '^rx-usecs')"
	[ "$(ethtool -a "$e1000e")" = "$a0" ] || fail "ethtool -a not restored: $(ethtool -a "$e1000e" | tr '\n' ' ') (was $(tr '\n' ' ' <<<"$a0"))"
	ok
}

check_rxfh() {
	check=virtio_rx_flow_hash_apply_rollback failed=0
	[ -n "$virtio" ] || { fail "no virtio-net interface"; return; }
	local h0 p
	fields() { ethtool -n "$virtio" rx-flow-hash udp4 | grep -c -e '^IP [SD]A' -e '^L4 bytes'; }
	h0="$(fields)"
	[ "$h0" = 4 ] || fail "udp4 hashes on $h0 fields at boot, expected 4 (sdfn)"
	p="$(profile rxfh <<EOF
[[nic]]
match = "$virtio"
rx_flow_hash = { udp4 = "sd" }
EOF
)"
	ht apply "$p"
	expect_rc 0 apply
	[ "$(fields)" = 2 ] || fail "udp4 hashes on $(fields) fields after apply, expected 2 (sd)"
	ht audit "$p"
	expect_rc 0 "audit after apply"
	ht apply "$p"
	grep -q "in sync, nothing written" <<<"$out" || fail "second apply wrote"
	ht rollback
	expect_rc 0 rollback
	[ "$(fields)" = "$h0" ] || fail "udp4 hash fields not restored"
	ok
}

# rss_indir on virtio-net with RSS (rss=on,hash=on, 4 combined channels): channels cut to 2
# with a 1:3 weight table, planned again after the channel change; audit in sync, second apply
# writes nothing, rollback puts back 4 channels and the boot table. Without an indirection
# table on this kernel, hosttune must report the item unsupported.
check_rss_indir() {
	check=virtio_rss_indir_apply_rollback failed=0
	[ -n "$virtio" ] || { fail "no virtio-net interface"; return; }
	local t0 t1 p zeros ones
	entries() { ethtool -x "$virtio" | awk '/^ +[0-9]+:/ {for (i = 2; i <= NF; i++) printf "%s ", $i}'; }
	if ! ethtool -x "$virtio" >/dev/null 2>&1; then
		echo "  [$check] ethtool -x fails on $virtio: no indirection table on $(uname -r)"
		p="$(profile rss0 <<EOF
[[nic]]
match = "$virtio"
rss_indir = "equal"
EOF
)"
		ht audit "$p"
		grep -q "rss_indir.*unsupported" <<<"$out" || fail "rss_indir not reported unsupported"
		ok
		return
	fi
	t0="$(entries)"
	echo "  [$check] boot table: $(wc -w <<<"$t0") entries, queues $(tr ' ' '\n' <<<"$t0" | sort -un | tr '\n' ' ')"
	[ -n "$t0" ] || fail "ethtool -x shows no entries"
	p="$(profile rss <<EOF
[[nic]]
match = "$virtio"
channels = { combined = 2 }
rss_indir = { weights = [1, 3] }
EOF
)"
	ht apply "$p"
	expect_rc 0 apply
	[ "$(combined "$virtio")" = 2 ] || fail "combined $(combined "$virtio") after apply"
	t1="$(entries)"
	zeros="$(tr ' ' '\n' <<<"$t1" | grep -cx 0)"
	ones="$(tr ' ' '\n' <<<"$t1" | grep -cx 1)"
	[ $((zeros + ones)) = "$(wc -w <<<"$t1")" ] || fail "table uses queues beyond 0-1: $t1"
	[ "$ones" = $((3 * zeros)) ] || fail "table has $zeros entries on queue 0 and $ones on 1, expected 1:3"
	ht audit "$p"
	expect_rc 0 "audit after apply"
	ht apply "$p"
	grep -q "in sync, nothing written" <<<"$out" || fail "second apply wrote"
	ht rollback
	expect_rc 0 rollback
	[ "$(combined "$virtio")" = 4 ] || fail "combined $(combined "$virtio") after rollback"
	[ "$(entries)" = "$t0" ] || fail "table after rollback: $(entries)"
	ok
}

# Every writable net sysctl of this kernel (the VM's own namespace), at its live value: each
# parses and compares equal (audit in sync), and apply writes nothing. Per-interface keys only
# for conf/all and conf/default.
check_sysctls() {
	check=net_sysctls_live_values_in_sync failed=0
	local p n
	p="$state/sysctls.toml"
	python3 - "$p" <<'PY' || fail "cannot build the profile"
import os, sys
out = ['[sysctl]']
for d, dirs, files in os.walk('/proc/sys/net'):
    parts = d.split('/')[3:]
    if len(parts) >= 4 and parts[2] in ('conf', 'neigh') and parts[3] not in ('all', 'default'):
        dirs[:] = []
        continue
    for f in files:
        path = os.path.join(d, f)
        st = os.stat(path)
        if not (st.st_mode & 0o200 and st.st_mode & 0o400):
            continue
        try:
            v = open(path).read().strip()
        except OSError:
            continue
        if not v or '\n' in v or '"' in v or '\\' in v:
            continue
        key = '/'.join(path.split('/')[3:])
        # Secrets and keys the kernel changes by itself between reads.
        if any(s in key for s in ('stable_secret', 'fastopen_key', 'flush')):
            continue
        out.append('"%s" = "%s"' % (key, ' '.join(v.split())))
open(sys.argv[1], 'w').write('\n'.join(out) + '\n')
print('  [sysctls] %d keys' % (len(out) - 1))
PY
	n="$(grep -c ' = ' "$p")"
	[ "$n" -gt 100 ] || fail "only $n keys"
	out="$(hosttune --state-dir "$state" audit "$p" 2>&1)"
	rc=$?
	grep -v ' ok *$' <<<"$out" | grep -v '^KIND' | sed "s/^/  [$check] /" | head -40
	expect_rc 0 "audit at the live values ($n keys)"
	out="$(hosttune --state-dir "$state" apply "$p" 2>&1)"
	rc=$?
	expect_rc 0 "apply at the live values"
	grep -q "in sync, nothing written" <<<"$out" || fail "apply at the live values wrote: $(grep -m5 changed <<<"$out")"
	ok
}

# LVS-DR end to end: client, director and two real servers in namespaces on a bridge. The
# director is real IPVS in direct-routing mode (ipvsadm -g); the real servers are set up only
# by hosttune (a site [dsr] VIP: on lo, arp_ignore 1, arp_announce 2). HTTP through the VIP reaches both
# real servers, replies bypass the director, only the director answers ARP for the VIP, and
# after rollback on a real server it no longer serves the VIP.
check_lvs_dr() {
	check=lvs_dr_end_to_end failed=0
	local vip=10.77.0.100 pids=() www="$state/www" p i seen dmac
	modprobe ip_vs 2>/dev/null || { fail "modprobe ip_vs"; return; }
	bridged htbr0 10.77.0. 24 htcl htdir htrs1 htrs2
	ip -n htdir addr add "$vip/24" dev eth0
	ip netns exec htdir ipvsadm -A -t "$vip:80" -s rr
	for i in 3 4; do ip netns exec htdir ipvsadm -a -t "$vip:80" -r "10.77.0.$i:80" -g; done
	# Only [dsr]: the built-in web role does not apply inside a namespace on 6.1, where
	# net.core.rmem_max/wmem_max exist in the initial namespace only (per namespace since 6.15).
	p="$(profile rs <<EOF
[dsr]
vips = ["$vip/32"]
EOF
)"
	for i in 1 2; do
		mkdir -p "$www/rs$i"
		echo "rs$i" >"$www/rs$i/index.html"
		ip netns exec "htrs$i" hosttune --state-dir "$state/rs$i" apply "$p" >"$state/rs$i.apply" 2>&1 ||
			fail "apply on rs$i: $(tail -n3 "$state/rs$i.apply")"
		serve "htrs$i" "$www/rs$i" htcl "http://10.77.0.$((i + 2))/"
		pids+=("$served")
	done
	ip -n htrs1 -br addr show lo | grep -q "$vip/32" || fail "rs1 lo has no $vip/32 after apply"
	seen="$(for i in 1 2 3 4 5 6; do ip netns exec htcl curl -s --max-time 5 "http://$vip/"; done | sort | uniq -c | tr -s ' \n' ' ')"
	echo "  [$check] through the VIP: $seen"
	grep -q "3 rs1" <<<"$seen" && grep -q "3 rs2" <<<"$seen" || fail "six requests did not reach rs1 and rs2 three times each: $seen"
	# Direct routing: the director sees the requests, never the replies.
	ip netns exec htdir ipvsadm -Ln --stats | sed "s/^/  [$check] /"
	ip netns exec htdir ipvsadm -Ln --stats | awk -v v="TCP  $vip:80" 'index($0, v) == 1 {print $3, $5}' | {
		read -r inpkts outpkts
		[ "${inpkts:-0}" -gt 0 ] && [ "${outpkts:-1}" = 0 ] || { echo "CHECK $check: FAIL director stats InPkts ${inpkts:-?} OutPkts ${outpkts:-?}"; exit 1; }
	} || failed=1
	# ARP: only the director's MAC answers for the VIP.
	dmac="$(ip -n htdir -br link show eth0 | awk '{print $3}')"
	ip netns exec htcl arping -c 3 -w 4 -I eth0 "$vip" >"$state/arping" 2>&1
	local macs
	macs="$(grep -io '\[[0-9a-f:]*\]' "$state/arping" | tr -d '[]' | tr 'A-F' 'a-f' | sort -u | tr '\n' ' ')"
	echo "  [$check] ARP replies for $vip from: $macs (director $dmac)"
	[ "$macs" = "$dmac " ] || fail "ARP for the VIP answered by $macs, expected only the director $dmac"
	# Rollback on rs1: the VIP leaves its lo; requests scheduled to it are no longer served.
	ip netns exec htrs1 hosttune --state-dir "$state/rs1" rollback >"$state/rs1.rollback" 2>&1 ||
		fail "rollback on rs1: $(tail -n3 "$state/rs1.rollback")"
	! ip -n htrs1 -br addr show lo | grep -q "$vip" || fail "rs1 still has $vip on lo after rollback"
	seen="$(for i in 1 2 3 4; do ip netns exec htcl curl -s --max-time 2 "http://$vip/" || echo none; done | sort | uniq -c | tr -s ' \n' ' ')"
	echo "  [$check] after rollback on rs1: $seen"
	grep -q rs1 <<<"$seen" && fail "rs1 still serves the VIP after rollback: $seen"
	grep -q rs2 <<<"$seen" || fail "rs2 stopped serving: $seen"
	kill "${pids[@]}" 2>/dev/null
	wait "${pids[@]}" 2>/dev/null
	unbridged htbr0 htcl htdir htrs1 htrs2
	ok
}

# L3 DSR behind a real IPVS director in tunnel mode: client -> director -> (IPIP, then GUE)
# -> real server, whose replies go straight back. The real server is set up by hosttune
# alone; it starts with conf/all/rp_filter = 1 (strict), as many distributions ship, which
# drops decapsulated packets unless the decapsulation device is loose. Before apply requests
# fail, after apply they are served and audit is in sync; strict rp_filter put back on the
# device by hand drops them again, counted by IPReversePathFilter and named by audit; after
# rollback requests fail and the real server's links, addresses, FOU ports and conf sysctls
# read back as before (the first stage loads ipip, whose fallback tunl0 stays, down:
# hosttune never unloads a module).
check_l3dsr() {
	check=l3dsr_ipvs_tunnel_ipip_gue failed=0
	local vip=10.78.0.100 p www="$state/www3" pid stage seen drops drops2 dev before after applied
	modprobe ip_vs 2>/dev/null || { fail "modprobe ip_vs"; return; }
	if lsmod | grep -q '^ipip '; then fail "ipip is loaded before the check: the autoload path is not exercised"; fi
	bridged htbr3 10.78.0. 24 l3cl l3dir l3rs
	ip -n l3dir addr add "$vip/24" dev eth0
	ip netns exec l3rs sysctl -qw net.ipv4.conf.all.rp_filter=1
	mkdir -p "$www"
	echo l3rs >"$www/index.html"
	serve l3rs "$www" l3cl "http://10.78.0.3/"
	pid=$served
	surface() {
		ip -n l3rs -d -o link show | sed 's/^[0-9]*: //' | grep -v '^tunl0' | sort
		echo '--'
		ip -n l3rs -o addr show | sed 's/^[0-9]*: //' | sort
		echo '--'
		ip netns exec l3rs sysctl -a 2>/dev/null | grep -E '^net\.ipv[46]\.conf\.' | grep -v '\.tunl0\.' | sort
		echo '--'
		if lsmod | grep -q '^fou '; then ip -n l3rs fou show; fi
	}
	get() { ip netns exec l3cl curl -s --max-time 3 "http://$vip/" || echo none; }
	# The client's TCP_MAXSEG on a connection to ADDR:80.
	maxseg() {
		ip netns exec l3cl python3 -c 'import socket,sys
s = socket.create_connection((sys.argv[1], 80), timeout=5)
print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG))' "$1" 2>/dev/null
	}
	for stage in ipip gue; do
		ip netns exec l3dir ipvsadm -C
		ip netns exec l3dir ipvsadm -A -t "$vip:80" -s rr
		if [ "$stage" = ipip ]; then
			dev=tunl0
			ip netns exec l3dir ipvsadm -a -t "$vip:80" -r 10.78.0.3:80 -i
			p="$(printf '[dsr]\nvips = ["%s"]\nencap = "ipip"\n' "$vip" | profile l3ipip)"
		else
			dev=ipip0
			ip netns exec l3dir ipvsadm -a -t "$vip:80" -r 10.78.0.3:80 -i --tun-type gue --tun-port 6080
			p="$(printf '[dsr]\nvips = ["%s"]\nencap = "gue"\ngue_port = 6080\ndecap_device = "ipip0"\nvips_on = "tunnel"\nmss = 1300\n' "$vip" | profile l3gue)"
		fi
		before="$(surface)"
		seen="$(get)"
		echo "  [$check] $stage before apply: $seen"
		[ "$seen" = none ] || fail "$stage: served before apply: $seen"
		out="$(ip netns exec l3rs hosttune --state-dir "$state/l3$stage" apply "$p" 2>&1)"
		rc=$?
		printf '%s\n' "$out" | sed "s/^/  [$check] /"
		expect_rc 0 "$stage apply"
		seen="$(for i in 1 2 3; do get; done | sort | uniq -c | tr -s ' \n' ' ')"
		echo "  [$check] $stage after apply: $seen"
		[ "$seen" = " 3 l3rs " ] || fail "$stage: not served after apply: $seen"
		ip netns exec l3dir ipvsadm -Ln --stats | sed "s/^/  [$check] /"
		out="$(ip netns exec l3rs hosttune --state-dir "$state/l3$stage" audit "$p" 2>&1)"
		rc=$?
		expect_rc 0 "$stage audit after apply"
		[ "$rc" = 0 ] || printf '%s\n' "$out" | sed "s/^/  [$check] /"
		if [ "$stage" = gue ]; then
			ip -n l3rs fou show | grep -q "port 6080 gue" || fail "gue: no FOU port 6080 after apply"
			ip -n l3rs -br addr show ipip0 | grep -q "$vip/32" || fail "gue: $vip not on ipip0"
			# mss = 1300: the client's segments to the VIP shrink; to the real server's own
			# address they do not.
			local mss_vip mss_rs
			mss_vip="$(maxseg "$vip")"
			mss_rs="$(maxseg 10.78.0.3)"
			echo "  [$check] client TCP_MAXSEG via the VIP $mss_vip, to the real server directly $mss_rs"
			[ -n "$mss_vip" ] && [ "$mss_vip" -le 1300 ] && [ "$mss_vip" -ge 1288 ] || fail "gue: TCP_MAXSEG via the VIP is ${mss_vip:-none}, expected 1288-1300"
			[ "${mss_rs:-0}" -gt 1400 ] || fail "gue: TCP_MAXSEG to the real server's own address is ${mss_rs:-none}"
		fi
		drops="$(ip netns exec l3rs nstat -az TcpExtIPReversePathFilter | awk '/IPReversePathFilter/ {print $2}')"
		applied="$(ip netns exec l3rs sysctl -n "net.ipv4.conf.$dev.rp_filter")"
		echo "  [$check] $stage applied: all=$(ip netns exec l3rs sysctl -n net.ipv4.conf.all.rp_filter) eth0=$(ip netns exec l3rs sysctl -n net.ipv4.conf.eth0.rp_filter) $dev=$applied"
		ip netns exec l3rs sysctl -qw "net.ipv4.conf.$dev.rp_filter=1"
		seen="$(get)"
		drops2="$(ip netns exec l3rs nstat -az TcpExtIPReversePathFilter | awk '/IPReversePathFilter/ {print $2}')"
		echo "  [$check] $stage with $dev rp_filter=1: $seen, IPReversePathFilter $drops -> $drops2"
		[ "$seen" = none ] || fail "$stage: served with strict rp_filter on $dev"
		[ "${drops2:-0}" -gt "${drops:-0}" ] || fail "$stage: IPReversePathFilter did not count the drops"
		out="$(ip netns exec l3rs hosttune --state-dir "$state/l3$stage" audit "$p" 2>&1)"
		rc=$?
		expect_rc 1 "$stage audit with strict rp_filter"
		grep -q "rp_filter $dev" <<<"$out" || fail "$stage: audit does not name rp_filter $dev: $out"
		ip netns exec l3rs sysctl -qw "net.ipv4.conf.$dev.rp_filter=$applied"
		out="$(ip netns exec l3rs hosttune --state-dir "$state/l3$stage" rollback 2>&1)"
		rc=$?
		printf '%s\n' "$out" | sed "s/^/  [$check] /"
		expect_rc 0 "$stage rollback"
		seen="$(get)"
		echo "  [$check] $stage after rollback: $seen"
		[ "$seen" = none ] || fail "$stage: still served after rollback: $seen"
		after="$(surface)"
		[ "$before" = "$after" ] || fail "$stage: the real server differs after rollback: $(diff <(echo "$before") <(echo "$after") | tr '\n' ' ')"
	done
	ip -n l3rs -o link show tunl0 | grep -q 'state DOWN' || fail "tunl0 not down after rollback: $(ip -n l3rs -o link show tunl0)"
	# Held by the agent: it applies at start, puts back a tunl0 taken down by hand, and one
	# rollback after it stops restores the real server as before.
	ip netns exec l3dir ipvsadm -C
	ip netns exec l3dir ipvsadm -A -t "$vip:80" -s rr
	ip netns exec l3dir ipvsadm -a -t "$vip:80" -r 10.78.0.3:80 -i
	p="$state/l3ipip.toml"
	before="$(surface)"
	ip netns exec l3rs hosttune --state-dir "$state/l3agent" agent --interval 1 "$p" >"$state/l3agent.log" 2>&1 &
	local agent=$! up=0
	for _ in $(seq 60); do
		[ "$(get)" = l3rs ] && { up=1; break; }
		sleep 0.5
	done
	[ "$up" = 1 ] || fail "agent: not served after the agent started"
	ip -n l3rs link set tunl0 down
	up=0
	for _ in $(seq 60); do
		ip -n l3rs -o link show tunl0 | grep -q '<[^>]*,UP' && [ "$(get)" = l3rs ] && { up=1; break; }
		sleep 0.5
	done
	echo "  [$check] agent: tunl0 taken down by hand, back up and served: $up"
	[ "$up" = 1 ] || fail "agent: tunl0 not put back up"
	kill -TERM "$agent"
	wait "$agent"
	rc=$?
	sed "s/^/  [$check] agent: /" "$state/l3agent.log" | grep -v "kernel also changed" | tail -n 8
	[ "$rc" = 0 ] || fail "agent: exit $rc after SIGTERM"
	out="$(ip netns exec l3rs hosttune --state-dir "$state/l3agent" rollback 2>&1)"
	rc=$?
	expect_rc 0 "rollback after the agent"
	[ "$(get)" = none ] || fail "agent: still served after rollback"
	after="$(surface)"
	[ "$before" = "$after" ] || fail "agent: the real server differs after rollback: $(diff <(echo "$before") <(echo "$after") | tr '\n' ' ')"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unbridged htbr3 l3cl l3dir l3rs
	ok
}

# L3 DSR for IPv6 VIPs: a real IPVS director in tunnel mode sends IPv6 in IPv6 to the real
# server, whose ip6_tunnel fallback ip6tnl0 hosttune brings up (loading the module as the
# kernel does on use). Fails before apply, served after, audit in sync, fails after rollback
# with links, addresses and conf sysctls as before (ip6tnl0 stays with its module, down).
check_l3dsr6() {
	check=l3dsr_ipvs_tunnel_ip6ip6 failed=0
	# The VIP outside the bridge's prefix, on the director's lo, routed to it by the client:
	# with it on the shared /64 the director could pick it as the tunnel's source address,
	# and the real server (which holds it too) would drop the director's neighbour
	# solicitations from it.
	local vip=2001:db8:99::100 p www="$state/www6" pid seen before after
	modprobe ip_vs 2>/dev/null || { fail "modprobe ip_vs"; return; }
	bridged htbr6 2001:db8:78:: 64 l6cl l6dir l6rs
	ip -n l6dir addr add "$vip/128" dev lo
	ip -n l6cl route add "$vip/128" via 2001:db8:78::2
	ip netns exec l6dir ipvsadm -A -t "[$vip]:80" -s rr
	ip netns exec l6dir ipvsadm -a -t "[$vip]:80" -r "[2001:db8:78::3]:80" -i
	mkdir -p "$www"
	echo l6rs >"$www/index.html"
	serve l6rs "$www" l6cl "http://[2001:db8:78::3]/"
	pid=$served
	surface6() {
		ip -n l6rs -d -o link show | sed 's/^[0-9]*: //' | grep -v '^ip6tnl0' | sort
		echo '--'
		ip -n l6rs -o addr show | sed 's/^[0-9]*: //' | grep -v ' ip6tnl0 ' | sed 's/valid_lft.*//' | sort
		echo '--'
		ip netns exec l6rs sysctl -a 2>/dev/null | grep -E '^net\.ipv[46]\.conf\.' | grep -v '\.ip6tnl0\.' | sort
	}
	get6() { ip netns exec l6cl curl -s --max-time 3 "http://[$vip]/" || echo none; }
	p="$(printf '[dsr]\nvips = ["%s"]\nencap = "ip6ip6"\n' "$vip" | profile l3ip6)"
	before="$(surface6)"
	seen="$(get6)"
	echo "  [$check] before apply: $seen"
	[ "$seen" = none ] || fail "served before apply: $seen"
	out="$(ip netns exec l6rs hosttune --state-dir "$state/l36" apply "$p" 2>&1)"
	rc=$?
	printf '%s\n' "$out" | grep -v "arp_" | sed "s/^/  [$check] /"
	expect_rc 0 apply
	seen="$(for i in 1 2 3; do get6; done | sort | uniq -c | tr -s ' \n' ' ')"
	echo "  [$check] after apply: $seen"
	[ "$seen" = " 3 l6rs " ] || {
		fail "not served after apply: $seen"
		ip netns exec l6dir ipvsadm -Ln --stats | sed "s/^/  [$check] director: /"
		ip -n l6rs -s -d link show ip6tnl1 | sed "s/^/  [$check] rs: /"
		ip -n l6rs -6 addr show | sed "s/^/  [$check] rs: /"
		ip netns exec l6rs nstat -az | grep -E 'Ip6|Tcp' | grep -v ' 0 \|Octets\|Mcast' | sed "s/^/  [$check] rs: /"
		ip netns exec l6cl nstat -az | grep -E 'Ip6|Tcp|Icmp6' | grep -v ' 0 \|Octets\|Mcast' | sed "s/^/  [$check] client: /"
		ip -n l6rs -6 route show table all | sed "s/^/  [$check] rs route: /"
		ip netns exec l6rs sysctl net.ipv6.conf.ip6tnl0.disable_ipv6 net.ipv6.conf.all.forwarding | sed "s/^/  [$check] rs: /"
		ip netns exec l6rs ss -ltn | sed "s/^/  [$check] rs: /"
	}
	out="$(ip netns exec l6rs hosttune --state-dir "$state/l36" audit "$p" 2>&1)"
	rc=$?
	expect_rc 0 "audit after apply"
	[ "$rc" = 0 ] || printf '%s\n' "$out" | sed "s/^/  [$check] /"
	out="$(ip netns exec l6rs hosttune --state-dir "$state/l36" rollback 2>&1)"
	rc=$?
	expect_rc 0 rollback
	seen="$(get6)"
	echo "  [$check] after rollback: $seen"
	[ "$seen" = none ] || fail "still served after rollback: $seen"
	after="$(surface6)"
	[ "$before" = "$after" ] || fail "the real server differs after rollback: $(diff <(echo "$before") <(echo "$after") | tr '\n' ' ')"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unbridged htbr6 l6cl l6dir l6rs
	ok
}

# The fault matrix for the L3 DSR steps on the real kernel: at the device (tunnel), the GUE
# port (fou), the reverse-path filter (rp_filter: the device's key; with VIPs on lo also the
# conf/all write), the MSS table (nft) and the VIP, inject an error, a partial effect, a
# kill -9 and a SIGTERM (HOSTTUNE_FAULT, the test-hooks build of hosttune that `cargo test`
# makes). After each the real server's links, addresses, conf sysctls, FOU ports and nft
# ruleset read back exactly as before; then apply and rollback still leave it as before.
check_l3dsr_faults() {
	check=l3dsr_fault_matrix failed=0
	local bin="$PWD/target/vm-hooks/hosttune" n=l3f p1 p2 kind k cell fault before after mark pid d="$state/l3f"
	[ -x "$bin" ] || { fail "$bin is missing (tests/vm.rs copies the test-hooks build there)"; return; }
	modprobe -a ipip fou 2>/dev/null
	ip netns add "$n"
	ip link add l3fa type veth peer name eth0 netns "$n"
	ip -n "$n" link set lo up
	ip -n "$n" link set eth0 up
	ip -n "$n" addr add 10.79.0.3/24 dev eth0
	ip netns exec "$n" sysctl -qw net.ipv4.conf.all.rp_filter=1
	p1="$(printf '[dsr]\nvips = ["10.79.0.100"]\nencap = "gue"\ngue_port = 6081\ndecap_device = "ipip0"\nvips_on = "tunnel"\nmss = 1300\n' | profile l3fgue)"
	p2="$(printf '[dsr]\nvips = ["10.79.0.100"]\nencap = "ipip"\n' | profile l3fipip)"
	F() { ip netns exec "$n" env HOSTTUNE_FAULT="$1" HOSTTUNE_FAULT_MARK="$mark" "$bin" --state-dir "$d" "${@:2}"; }
	H() { ip netns exec "$n" "$bin" --state-dir "$d" "$@"; }
	surface() {
		ip -n "$n" -d -o link show | sed 's/^[0-9]*: //' | grep -v '^tunl0' | sort
		ip -n "$n" -d -o link show tunl0 2>/dev/null | grep -o 'state [A-Z]*'
		ip -n "$n" -o addr show | sed 's/^[0-9]*: //' | sort
		ip netns exec "$n" sysctl -a 2>/dev/null | grep -E '^net\.ipv[46]\.conf\.' | grep -v '\.tunl0\.' | sort
		ip -n "$n" fou show
		ip netns exec "$n" nft list ruleset
	}
	for cell in "$p1 tunnel:1" "$p1 fou:1" "$p1 nft:1" "$p2 rp_filter:4"; do
		set -- $cell
		p="$1" kind="$2"
		for fault in error partial kill9 term; do
			rm -rf "$d"
			before="$(surface)"
			mark="$state/mark-$kind-$fault"
			rm -f "$mark"
			case "$fault" in
			error | partial)
				out="$(F "$kind:$fault" apply "$p" 2>&1)"
				rc=$?
				[ "$rc" = 1 ] || fail "$kind $fault: exit $rc: $out"
				grep -q "injected fault" <<<"$out" && grep -q "the host reads back as before" <<<"$out" ||
					fail "$kind $fault: the report does not name the fault and the undo: $out"
				;;
			kill9 | term)
				# Not through F: $! must be hosttune itself (ip netns exec and env exec it).
				ip netns exec "$n" env HOSTTUNE_FAULT="$kind:pause" HOSTTUNE_FAULT_MARK="$mark" \
					"$bin" --state-dir "$d" apply "$p" >"$state/l3f.out" 2>&1 &
				pid=$!
				for _ in $(seq 300); do [ -e "$mark" ] && break; sleep 0.1; done
				[ -e "$mark" ] || { fail "$kind $fault: never reached the fault: $(cat "$state/l3f.out")"; kill -9 "$pid"; wait "$pid"; continue; }
				if [ "$fault" = term ]; then
					kill -TERM "$pid"
					wait "$pid" 2>/dev/null
					rc=$?
					[ "$rc" = 1 ] || fail "$kind term: exit $rc: $(cat "$state/l3f.out")"
					grep -q "interrupted by SIGTERM" "$state/l3f.out" || fail "$kind term: $(cat "$state/l3f.out")"
				else
					kill -9 "$pid"
					wait "$pid" 2>/dev/null
					out="$(H apply "$p" 2>&1)"
					rc=$?
					[ "$rc" = 0 ] && grep -q "was interrupted" <<<"$out" || fail "$kind kill9: the next apply: exit $rc: $out"
					out="$(H rollback 2>&1)"
					rc=$?
					[ "$rc" = 0 ] || fail "$kind kill9: rollback: exit $rc: $out"
				fi
				;;
			esac
			after="$(surface)"
			[ "$before" = "$after" ] || { fail "$kind $fault: differs from before: $(diff <(echo "$before") <(echo "$after") | tr '\n' ' ')"; break 2; }
		done
		# The profile still applies and rolls back cleanly afterwards.
		out="$(H apply "$p" 2>&1)" || fail "$kind: apply afterwards: $out"
		out="$(H rollback 2>&1)" || fail "$kind: rollback afterwards: $out"
		after="$(surface)"
		[ "$before" = "$after" ] || { fail "$kind: after apply and rollback: $(diff <(echo "$before") <(echo "$after") | tr '\n' ' ')"; break; }
		echo "  [$check] $kind ($(basename "$p")): error, partial, kill -9, SIGTERM"
	done
	ip netns del "$n"
	ok
}

# Offload features on a real driver: e1000e has GRO on and changeable, LRO absent or fixed.
# GRO off by ethtool's name; apply, audit in sync, second apply writes nothing, rollback
# leaves `ethtool -k` exactly as before.
check_features() {
	check=e1000e_features_apply_audit_rollback failed=0
	[ -n "$e1000e" ] || { fail "no e1000e interface"; return; }
	local k0 p
	k0="$(ethtool -k "$e1000e")"
	grep -q '^generic-receive-offload: on$' <<<"$k0" || fail "GRO is not on and changeable at boot"
	p="$(profile features <<EOF
[[nic]]
match = "$e1000e"
features = { "generic-receive-offload" = false }
EOF
)"
	ht apply "$p"
	expect_rc 0 apply
	ethtool -k "$e1000e" | grep -q '^generic-receive-offload: off$' || fail "GRO not off after apply"
	ht audit "$p"
	expect_rc 0 "audit after apply"
	ht apply "$p"
	expect_rc 0 "second apply"
	grep -q "in sync, nothing written" <<<"$out" || fail "second apply wrote"
	ht rollback
	expect_rc 0 rollback
	[ "$(ethtool -k "$e1000e")" = "$k0" ] || fail "ethtool -k differs after rollback: $(diff <(echo "$k0") <(ethtool -k "$e1000e") | tr '\n' ' ')"
	ok
}

# Every built-in role audited read-only on this kernel: exit 0 or 1 (never 2), nothing written.
check_roles() {
	check=builtin_roles_audit_read_only failed=0
	local before after name
	before="$(sysctl -a 2>/dev/null | grep -v -e '^fs\.\(dentry\|inode\|file-nr\)' -e '^kernel\.random\.' -e '^kernel\.ns_last_pid' -e 'nr_\|_stat\|timestamp\|^fs\.quota' | md5sum)"
	for name in $(hosttune profiles | awk '/\[built-in\]$/ {print $1}'); do
		ht audit "$name"
		case "$rc" in
		0 | 1) ;;
		*) fail "audit $name: exit $rc" ;;
		esac
	done
	after="$(sysctl -a 2>/dev/null | grep -v -e '^fs\.\(dentry\|inode\|file-nr\)' -e '^kernel\.random\.' -e '^kernel\.ns_last_pid' -e 'nr_\|_stat\|timestamp\|^fs\.quota' | md5sum)"
	[ "$before" = "$after" ] || fail "sysctls changed during the audits"
	ok
}

# The link seam on a kernel with the tunnel modules (this machine's has none): what an L3 DSR
# real server needs to decapsulate, made by examples/linkops (hosttune's LinkOps over
# rtnetlink and generic netlink) in a namespace and checked with iproute2 at every step.
# ipip0 external and ip6tnl1 external up, the fallback tunl0 up, a dummy with its MTU; FOU
# ports for GUE (in both families) and direct IPIP over IPv6 opened, listed, refused twice,
# closed; everything deleted again. Refusals carry the errno FakeLinks models.
check_links() {
	check=tunnel_links_ipip_fou failed=0
	local lo="target/debug/examples/linkops" n=htlinks d
	[ -x "$lo" ] || { fail "$lo is missing (cargo build --example linkops)"; return; }
	modprobe -a ipip ip6_tunnel fou dummy 2>/dev/null || { fail "modprobe ipip ip6_tunnel fou dummy"; return; }
	ip netns add "$n"
	L() { ip netns exec "$n" "$lo" "$@" 2>&1 | sed "s/^/  [$check] linkops $1: /"; return "${PIPESTATUS[0]}"; }
	details() { ip -n "$n" -d -o link show dev "$1" 2>/dev/null; }
	# The kernel refuses with ERRNO, as FakeLinks has it.
	refused() {
		local errno="$1"
		shift
		L "$@" >"$state/refused" && { fail "$* was not refused"; return; }
		cat "$state/refused"
		grep -q "$errno" "$state/refused" || fail "$* refused otherwise than $errno"
	}
	L create ipip0 ipip external || fail "create ipip0 ipip external"
	L create ip6tnl1 ip6tnl external || fail "create ip6tnl1 ip6tnl external"
	L create dum0 dummy mtu 9000 || fail "create dum0 dummy mtu 9000"
	for d in ipip0 ip6tnl1; do
		details "$d" | sed "s/^/  [$check] ip: /"
		details "$d" | grep -qw external || fail "$d is not external for iproute2"
	done
	details dum0 | grep -qw dummy || fail "dum0 is no dummy for iproute2"
	details dum0 | grep -q " mtu 9000 " || fail "dum0 mtu is not 9000 for iproute2"
	refused EEXIST create ipip1 ipip external
	for d in ipip0 ip6tnl1 tunl0; do
		L set "$d" up || fail "set $d up"
		ip -n "$n" -o link show dev "$d" | grep -q '[<,]UP[,>]' || fail "$d is not up for iproute2"
	done
	L set ipip0 mtu 1400 || fail "set ipip0 mtu 1400"
	details ipip0 | grep -q " mtu 1400 " || fail "ipip0 mtu is not 1400 for iproute2"
	out="$(ip netns exec "$n" "$lo" list)"
	printf '%s\n' "$out" | sed "s/^/  [$check] list: /"
	grep -qx "ipip0 ipip up mtu 1400 external" <<<"$out" || fail "list does not show ipip0 up, external, mtu 1400"
	grep -qx "ip6tnl1 ip6tnl up mtu [0-9]* external" <<<"$out" || fail "list does not show ip6tnl1 up and external"
	grep -qx "tunl0 ipip up mtu 1480" <<<"$out" || fail "list does not show tunl0 up"
	grep -qx "dum0 dummy down mtu 9000" <<<"$out" || fail "list does not show dum0"
	L fou-add 6080 gue || fail "fou-add 6080 gue"
	L fou-add 5555 ipproto 4 -6 || fail "fou-add 5555 ipproto 4 -6"
	refused EADDRINUSE fou-add 6080 gue
	# IPv6 ports are v6-only: the same number opens in both families.
	L fou-add 6080 gue -6 || fail "fou-add 6080 gue -6 beside the IPv4 one"
	ip -n "$n" fou show | sed "s/^/  [$check] ip fou show: /"
	ip -n "$n" fou show | grep -q "port 6080 gue" || fail "iproute2 does not show port 6080 gue"
	ip -n "$n" fou show | grep -q "port 5555 ipproto 4 -6" || fail "iproute2 does not show port 5555 ipproto 4 -6"
	out="$(ip netns exec "$n" "$lo" fou-list | LC_ALL=C sort | tr '\n' ';')"
	[ "$out" = "port 5555 ipproto 4 -6;port 6080 gue;port 6080 gue -6;" ] || fail "fou-list: $out"
	L fou-del 6080 gue || fail "fou-del 6080 gue"
	L fou-del 6080 gue -6 || fail "fou-del 6080 gue -6"
	L fou-del 5555 ipproto 4 -6 || fail "fou-del 5555 ipproto 4 -6"
	[ -z "$(ip -n "$n" fou show)" ] || fail "FOU ports left: $(ip -n "$n" fou show | tr '\n' ' ')"
	refused EINVAL fou-del 6080 gue
	for d in ipip0 ip6tnl1 dum0; do
		L delete "$d" || fail "delete $d"
		details "$d" | grep -q . && fail "$d is still there"
		L delete "$d" || fail "delete $d again"
	done
	ip netns del "$n"
	ok
}

checks=("$@")
[ ${#checks[@]} -gt 0 ] || checks=(e1000e e1000e_kill9 features coalesce_pause virtio rps_isolated rxfh rss_indir sysctls roles lvs_dr l3dsr l3dsr6 links l3dsr_faults)
for c in "${checks[@]}"; do
	"check_$c"
done
echo "CHECKS DONE"
