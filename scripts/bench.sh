#!/usr/bin/env bash
# bench.sh — run the wpbridge benchmark (cmd/wpbench) on this machine.
#
# Starts a private throwaway WordPress (scripts/wordpress.sh, state in
# $WPBRIDGE_WP_HOME, default /tmp/wpbridge-wp-bench, port $WPBRIDGE_WP_PORT,
# default 8095), runs `go run ./cmd/wpbench` with any arguments given here,
# and stops WordPress again on exit. Everything stays on 127.0.0.1.
# With WPBRIDGE_WP_ENV set to the env file of a WordPress that is already
# running (e.g. /tmp/wpbridge-wp/env), that one is used and left alone.
#
#   bash scripts/bench.sh                                  # full run (~3-5 min)
#   bash scripts/bench.sh smoke                            # every part, tiny (~30 s): does it run? (scripts/test.sh)
#   bash scripts/bench.sh -rate 100 -duration 5s -storm-webhooks 500
#   bash scripts/bench.sh scenarios                        # WP Fusion's scenarios, AC ~1 ms then +300 ms (~25 min)
#   bash scripts/bench.sh scenarios -scenarios lone-add,seq10 -lone-n 5
#   go run ./cmd/wpbench -h                                # every flag
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v go >/dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null 2>&1 || { echo "bench.sh: Go is not installed (need Go >= 1.26)" >&2; exit 1; }

args=("$@")
case ${1:-} in
scenarios)
	# Every scenario, once with the fake AC answering at once and once after
	# +300 ms; later arguments override (-scenarios, -ac-delay, -lone-n, ...).
	args=(-scenarios all -ac-delay 0,300ms "${@:2}")
	;;
smoke)
	# Each part of the full run, as small as it gets: the figures mean nothing.
	args=(-rate 20 -duration 1s -flat-duration 1s -senders 2 -ack-contacts 10
		-storm-contacts 4 -storm-webhooks 10 -storm-senders 2 -timeout 5m "${@:2}")
	;;
esac

if [[ -n ${WPBRIDGE_WP_ENV:-} ]]; then
	[[ -f $WPBRIDGE_WP_ENV ]] || { echo "bench.sh: WPBRIDGE_WP_ENV=$WPBRIDGE_WP_ENV: no such file" >&2; exit 1; }
	exec go run ./cmd/wpbench -wp-env "$WPBRIDGE_WP_ENV" "${args[@]}"
fi

export WPBRIDGE_WP_HOME=${WPBRIDGE_WP_HOME:-/tmp/wpbridge-wp-bench}
export WPBRIDGE_WP_PORT=${WPBRIDGE_WP_PORT:-8095} # demo.sh has 8093 and 8094

trap 'bash scripts/wordpress.sh stop' EXIT
bash scripts/wordpress.sh start
go run ./cmd/wpbench -wp-env "$WPBRIDGE_WP_HOME/env" "${args[@]}"
