#!/usr/bin/env bash
# browser.sh install — Debian's chromium for the admin page's browser tests
# (internal/admin, driven by chromedp). Installs the package when missing (apt, as
# root) and prints the version. The tests start Chromium themselves, headless, with
# a fresh profile and no outside networking.
set -euo pipefail

APT_LOG=/tmp/wpbridge-browser-apt.log

SCRIPT=browser.sh
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

chromium_path() {
	command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null || true
}

do_install() {
	if [ -z "$(chromium_path)" ]; then
		[ "$(id -u)" -eq 0 ] || die "chromium is missing; run as root or install it first (apt-get install chromium)"
		log "installing chromium (apt)"
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			-o DPkg::Lock::Timeout=300 --no-install-recommends chromium fonts-dejavu-core; } >"$APT_LOG" 2>&1 ||
			die "apt-get failed" "$APT_LOG"
	fi
	local bin
	bin=$(chromium_path)
	[ -n "$bin" ] || die "chromium not found after install"
	log "$("$bin" --version 2>/dev/null | head -n 1)"
}

case "${1:-}" in
install) do_install ;;
*)
	echo "usage: $0 install" >&2
	exit 2
	;;
esac
