#!/usr/bin/env bash
# postgres.sh start|stop|env — a throwaway PostgreSQL 15 cluster (Debian's `postgresql`) for tests.
#
#   WPBRIDGE_PG_HOME  state dir (default /tmp/wpbridge-pg); everything lives here, `stop` removes it
#   WPBRIDGE_PG_PORT  TCP port on 127.0.0.1 (default 5499)
#
# `start` installs the package when missing (apt, as root, without starting the packaged cluster),
# creates a cluster owned by the postgres user (initdb and postgres refuse to run as root) with
# trust authentication on 127.0.0.1 only (fsync off: nothing here outlives the tests), creates the
# database wpbridge_test and writes $WPBRIDGE_PG_HOME/env with WPBRIDGE_PG_URL. Starting a running
# cluster again is a no-op.
# Tests read that env file by default (internal/testing/pgtest). See shared/reference/queue.md.
set -euo pipefail

H=${WPBRIDGE_PG_HOME:-/tmp/wpbridge-pg}
PORT=${WPBRIDGE_PG_PORT:-5499}
BIN=/usr/lib/postgresql/15/bin
DBNAME=wpbridge_test
URL="postgres://postgres@127.0.0.1:$PORT/$DBNAME?sslmode=disable"

SCRIPT=postgres.sh
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

as_pg() { runuser -u postgres -- "$@"; }

install_packages() {
	if [ -x "$BIN/postgres" ] && id postgres >/dev/null 2>&1; then
		return 0
	fi
	[ "$(id -u)" -eq 0 ] || die "PostgreSQL 15 missing; run as root or install the postgresql package first"
	log "installing postgresql (apt)"
	local created=0 rc=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then # keep apt from starting the packaged cluster
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		created=1
	fi
	{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		postgresql; } >/tmp/wpbridge-apt-pg.log 2>&1 || rc=$?
	[ "$created" -eq 1 ] && rm -f /usr/sbin/policy-rc.d
	[ "$rc" -eq 0 ] || die "apt-get failed" /tmp/wpbridge-apt-pg.log
	[ -x "$BIN/postgres" ] || die "$BIN/postgres not found after installing postgresql (not version 15?)"
}

running() { [ -f "$H/data/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$H/data" status >/dev/null 2>&1; }

do_start() {
	[ "$(id -u)" -eq 0 ] || die "run as root (the cluster runs as the postgres user)"
	install_packages
	if running; then
		log "PostgreSQL already running on 127.0.0.1:$PORT; env file: $H/env"
		return 0
	fi
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && die "port $PORT is in use (set WPBRIDGE_PG_PORT)"
	rm -rf "$H"
	install -d -m 0700 -o postgres -g postgres "$H"
	as_pg "$BIN/initdb" -D "$H/data" -A trust -U postgres -E UTF8 >"$H/initdb.log" 2>&1 ||
		die "initdb failed" "$H/initdb.log"
	as_pg "$BIN/pg_ctl" -D "$H/data" -l "$H/log" -w -t 30 \
		-o "-p $PORT -k $H -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null ||
		die "PostgreSQL did not start" "$H/log"
	as_pg "$BIN/psql" -h "$H" -p "$PORT" -U postgres -q -c "CREATE DATABASE $DBNAME" >/dev/null ||
		die "CREATE DATABASE failed" "$H/log"
	printf 'WPBRIDGE_PG_URL=%s\n' "$URL" >"$H/env"
	log "PostgreSQL $("$BIN/postgres" -V | awk '{print $3}') ready on 127.0.0.1:$PORT; env file: $H/env"
}

do_stop() {
	if [ -d "$H/data" ]; then
		as_pg "$BIN/pg_ctl" -D "$H/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
	fi
	rm -rf "$H"
}

case "${1:-}" in
start) do_start ;;
stop) do_stop ;;
env)
	[ -f "$H/env" ] || die "$H/env not found (run: $0 start)"
	cat "$H/env"
	;;
*)
	echo "usage: $0 start|stop|env" >&2
	exit 2
	;;
esac
