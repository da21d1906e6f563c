#!/usr/bin/env bash
# Builds the Debian package with cargo-deb, installs it on THIS machine with dpkg -i, checks
# what it installed, and purges it again (also when a check fails).
#
# Meant for CI's fresh VMs (tests/fleet/deb_package.rs runs it under `cargo test` as root). It
# refuses to run where a hosttune package or /usr/sbin/hosttune is already there, so that it
# never replaces or removes an operator's install. The package starts and enables nothing;
# this script checks that too. No hosttune command here reads or writes kernel settings.
#
# Env: CARGO_TARGET_DIR (the build, default target/; tests/fleet/deb_package.rs gives it its own so
# that the nested cargo does not wait on the outer one's lock), HOSTTUNE_DEB_OUT (where the
# .deb goes, default $CARGO_TARGET_DIR/debian).
set -euo pipefail
cd "$(dirname "$0")/../.."

start=$(date +%s)
fail() {
	echo "test-install: FAIL: $*" >&2
	exit 1
}
step() { echo "test-install: $*"; }

[ "$(id -u)" = 0 ] || fail "needs root (dpkg -i)"
command -v dpkg >/dev/null || fail "dpkg is missing (not a Debian system?)"
cargo deb --version >/dev/null 2>&1 || fail "cargo-deb is missing: cargo install cargo-deb --locked"
if dpkg-query -W -f='${db:Status-Status}' hosttune 2>/dev/null | grep -qv '^not-installed$'; then
	fail "a hosttune package is already on this machine; this test installs and purges one, so it does not run here"
fi
[ ! -e /usr/sbin/hosttune ] || fail "/usr/sbin/hosttune already exists; this test would replace it"

target=${CARGO_TARGET_DIR:-target}
out=${HOSTTUNE_DEB_OUT:-$target/debian}
mkdir -p "$out"
step "building the package (cargo deb, release build in $target)"
deb=$(CARGO_TARGET_DIR=$target cargo deb --locked --output "$out/" | tail -n 1)
[ -f "$deb" ] || fail "cargo deb did not print the path of a .deb: $deb"
built=$(date +%s)
step "built $deb in $((built - start)) s"

# Before installing: the maintainer scripts must not enable or start a unit.
ctl=$(mktemp -d)
installed=
cleanup() {
	rm -rf "$ctl"
	if [ -n "$installed" ]; then
		step "purging the package"
		dpkg --purge hosttune >/dev/null || echo "test-install: dpkg --purge hosttune failed" >&2
	fi
}
trap cleanup EXIT
dpkg-deb -e "$deb" "$ctl"
for s in "$ctl"/postinst "$ctl"/preinst; do
	[ -f "$s" ] || continue
	if grep -nE 'deb-systemd-invoke (start|restart)|systemctl .*(start|enable)' "$s"; then
		fail "$(basename "$s") starts or enables a unit"
	fi
	# d-s-h enable only under `was-enabled`: an upgrade keeps a unit the operator enabled.
	if ! awk '/was-enabled/ { g = NR } /deb-systemd-helper enable/ && NR - g > 2 { print; bad = 1 } END { exit bad }' "$s"; then
		fail "$(basename "$s") enables a unit outside a was-enabled guard"
	fi
done

step "dpkg -i"
installed=1
dpkg -i "$deb" >/dev/null

bin=/usr/sbin/hosttune
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
got=$("$bin" --version)
[ "$got" = "hosttune $version" ] || fail "$bin --version: '$got', want 'hosttune $version'"
step "$bin --version: $got"

profiles=$("$bin" profiles)
for p in web lb client site-example; do
	grep -q "^$p " <<<"$profiles" || fail "hosttune profiles does not list $p:
$profiles"
done
grep -q '^site-example .*\[/etc/hosttune/profiles' <<<"$profiles" ||
	fail "site-example is not listed from /etc/hosttune/profiles:
$profiles"
step "hosttune profiles lists the built-ins and site-example"
[ "$("$bin" validate site-example)" = "site-example: valid" ] || fail "site-example is not valid"

for f in \
	/usr/share/man/man8/hosttune.8.gz \
	/usr/share/bash-completion/completions/hosttune \
	/usr/share/zsh/vendor-completions/_hosttune \
	/usr/share/fish/vendor_completions.d/hosttune.fish \
	/usr/share/doc/hosttune/README.md \
	/usr/share/doc/hosttune/copyright \
	/usr/lib/systemd/system/hosttune.service \
	/usr/lib/systemd/system/hosttune-agent.service \
	/etc/hosttune/profiles/site-example.toml; do
	[ -s "$f" ] || fail "$f is missing or empty"
done
gzip -dc /usr/share/man/man8/hosttune.8.gz | head -n 1 | grep -q '^\.TH HOSTTUNE 8 ' ||
	fail "hosttune.8.gz is not the man page"
cmp -s <(gzip -dc /usr/share/man/man8/hosttune.8.gz) <("$bin" man) ||
	fail "the installed man page differs from what the installed binary prints"
cmp -s /usr/share/bash-completion/completions/hosttune <("$bin" completions bash) ||
	fail "the installed bash completion differs from what the installed binary prints"
for u in hosttune.service hosttune-agent.service; do
	grep -q '^ExecStart=/usr/sbin/hosttune ' "/usr/lib/systemd/system/$u" ||
		fail "$u does not run /usr/sbin/hosttune"
	grep -q '^Documentation=.*file:/usr/share/doc/hosttune/README.md' "/usr/lib/systemd/system/$u" ||
		fail "$u: Documentation= does not name the installed README"
done
step "man page, completions, README, units and site profile are in place"

conffiles=$(dpkg-query -W -f='${Conffiles}' hosttune)
grep -q '^ */etc/hosttune/profiles/site-example.toml ' <<<"$conffiles" ||
	fail "site-example.toml is not a conffile: '$conffiles'"
depends=$(dpkg-query -W -f='${Depends}' hosttune)
grep -q 'libc6' <<<"$depends" || fail "Depends has no libc6: '$depends'"
step "site-example.toml is a conffile; Depends: $depends"

# Nothing enabled or started: no wants/ link anywhere, and systemd (when it runs here) says
# disabled and inactive.
links=$(find /etc/systemd/system /usr/lib/systemd/system -name 'hosttune*.service' -path '*.wants/*' 2>/dev/null || true)
[ -z "$links" ] || fail "units were enabled: $links"
if [ -d /run/systemd/system ]; then
	for u in hosttune.service hosttune-agent.service; do
		state=$(systemctl is-enabled "$u" 2>/dev/null || true)
		[ "$state" = disabled ] || fail "$u is $state after install, want disabled"
		! systemctl --quiet is-active "$u" || fail "$u is running after install"
	done
fi
step "no unit enabled or started"

installed=
step "dpkg --purge"
dpkg --purge hosttune >/dev/null
for f in "$bin" /etc/hosttune/profiles/site-example.toml /usr/share/man/man8/hosttune.8.gz \
	/usr/lib/systemd/system/hosttune.service; do
	[ ! -e "$f" ] || fail "$f is still there after dpkg --purge"
done
if dpkg-query -W -f='${db:Status-Status}' hosttune 2>/dev/null | grep -qv '^not-installed$'; then
	fail "hosttune is still known to dpkg after --purge"
fi

end=$(date +%s)
step "ok: build $((built - start)) s, install + checks + purge $((end - built)) s, total $((end - start)) s"
