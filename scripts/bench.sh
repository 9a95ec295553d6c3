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
#
# WP Fusion in the same run (issue 21): with WPBRIDGE_WPFUSION_DIR set to a WP Fusion source tree
# (or -wpfusion DIR), the scenarios runs install WP Fusion into the same WordPress after wpbridge's
# scenarios, measure it on the same lone webhooks against the same fake AC, and remove it again;
# the report prints both and the ratio. WP Fusion is GPL but never part of this repository; get
# 3.42.11 from its public mirror (the agent tools' `fetch github:kitfunnel/wp-fusion`, or a clone):
#   git --git-dir=/work/.mirror/kitfunnel+wp-fusion/repo archive 47ee1a4 | tar -x -C /tmp/wp-fusion-3.42.11
#   WPBRIDGE_WPFUSION_DIR=/tmp/wp-fusion-3.42.11 bash scripts/bench.sh scenarios \
#     -scenarios lone-add,lone-update-tags,lone-update,lone-update_tags-tags -ac-delay 0
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

# WP Fusion beside wpbridge only when asked for (smoke and scripts/test.sh leave it unset).
if [[ -n ${WPBRIDGE_WPFUSION_DIR:-} ]]; then
	[[ -f $WPBRIDGE_WPFUSION_DIR/wp-fusion.php ]] || { echo "bench.sh: WPBRIDGE_WPFUSION_DIR=$WPBRIDGE_WPFUSION_DIR: no wp-fusion.php there" >&2; exit 1; }
	args=(-wpfusion "$WPBRIDGE_WPFUSION_DIR" "${args[@]}")
fi

if [[ -n ${WPBRIDGE_WP_ENV:-} ]]; then
	[[ -f $WPBRIDGE_WP_ENV ]] || { echo "bench.sh: WPBRIDGE_WP_ENV=$WPBRIDGE_WP_ENV: no such file" >&2; exit 1; }
	exec go run ./cmd/wpbench -wp-env "$WPBRIDGE_WP_ENV" "${args[@]}"
fi

export WPBRIDGE_WP_HOME=${WPBRIDGE_WP_HOME:-/tmp/wpbridge-wp-bench}
export WPBRIDGE_WP_PORT=${WPBRIDGE_WP_PORT:-8095} # demo.sh has 8093 and 8094

trap 'bash scripts/wordpress.sh stop' EXIT
bash scripts/wordpress.sh start
go run ./cmd/wpbench -wp-env "$WPBRIDGE_WP_HOME/env" "${args[@]}"
