#!/usr/bin/env bash
# proxies.sh install — Debian's nginx and caddy for the tests of deploy/ (deploy/deploy_test.go).
#
# Installs the packages when missing (apt, as root) without letting them start their
# services: the tests run their own nginx and caddy on free 127.0.0.1 ports with the
# shipped files, and a packaged daemon on port 80 (or Caddy's admin port 2019) would only
# be in the way. On a machine run by systemd the two services are also disabled and
# stopped; elsewhere a policy-rc.d keeps the maintainer scripts from starting them.
set -euo pipefail

PACKAGES=(nginx caddy)
APT_LOG=/tmp/wpbridge-proxies-apt.log

SCRIPT=proxies.sh
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

missing_packages() {
	local p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
	done
}

# apt_install PKG...: installs with the services kept from starting (policy-rc.d answers
# 101, "action forbidden", to invoke-rc.d and deb-systemd-invoke alike).
apt_install() {
	[ "$(id -u)" -eq 0 ] || die "packages missing ($*); run as root or install them first"
	log "installing $* (apt)"
	local created=0 rc=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		created=1
	fi
	{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		-o DPkg::Lock::Timeout=300 --no-install-recommends "$@"; } >"$APT_LOG" 2>&1 || rc=$?
	[ "$created" -eq 1 ] && rm -f /usr/sbin/policy-rc.d
	[ "$rc" -eq 0 ] || die "apt-get failed" "$APT_LOG"
}

# quiet_services: with systemd running, the packaged services are disabled and stopped
# (the tests never use them). Without systemd nothing was started (policy-rc.d).
quiet_services() {
	[ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 || return 0
	local s
	for s in "${PACKAGES[@]}"; do
		if systemctl is-enabled --quiet "$s" 2>/dev/null || systemctl is-active --quiet "$s" 2>/dev/null; then
			log "disabling the packaged $s service (the tests start their own)"
			systemctl disable --now "$s" >/dev/null 2>&1 || log "warning: could not disable $s"
		fi
	done
}

do_install() {
	local missing
	missing=$(missing_packages)
	if [ -n "$missing" ]; then
		# shellcheck disable=SC2086 # one package name per word
		apt_install $missing
		quiet_services
	fi
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || die "nginx not found after install"
	command -v caddy >/dev/null 2>&1 || die "caddy not found after install"
	log "$(/usr/sbin/nginx -v 2>&1), $(caddy version | head -n 1)"
}

case "${1:-}" in
install) do_install ;;
*)
	echo "usage: $0 install" >&2
	exit 2
	;;
esac
