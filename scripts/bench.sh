#!/usr/bin/env bash
# bench.sh — run the wpbridge benchmark (cmd/wpbench) on this machine.
#
# Starts a private throwaway WordPress (scripts/wordpress.sh, state in
# $WPBRIDGE_WP_HOME, default /tmp/wpbridge-wp-bench, port $WPBRIDGE_WP_PORT,
# default 8093), runs `go run ./cmd/wpbench` with any arguments given here,
# and stops WordPress again on exit. Everything stays on 127.0.0.1.
#
#   bash scripts/bench.sh                                  # full run (~3-5 min)
#   bash scripts/bench.sh -rate 100 -duration 5s -storm-webhooks 500
#   go run ./cmd/wpbench -h                                # every flag
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v go >/dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null 2>&1 || { echo "bench.sh: Go is not installed (need Go >= 1.26)" >&2; exit 1; }

export WPBRIDGE_WP_HOME=${WPBRIDGE_WP_HOME:-/tmp/wpbridge-wp-bench}
export WPBRIDGE_WP_PORT=${WPBRIDGE_WP_PORT:-8093}

trap 'bash scripts/wordpress.sh stop' EXIT
bash scripts/wordpress.sh start
go run ./cmd/wpbench -wp-env "$WPBRIDGE_WP_HOME/env" "$@"
