#!/usr/bin/env bash
# test.sh — the whole test suite, on a fresh Debian 12 machine as root:
# installs what the tests need from Debian's packages (nginx and caddy,
# chromium), starts a real WordPress 6.1 with MariaDB (scripts/wordpress.sh)
# and a multisite network of two sites (the same script, WPBRIDGE_WP_MULTISITE=1)
# and a throwaway PostgreSQL 15 (scripts/postgres.sh) on 127.0.0.1, runs
# gofmt, vet, the unit, integration and end-to-end tests with the race
# detector; then starts WordPress 6.8 (Debian 13's package, unpacked) and runs
# the packages that talk to WordPress again against it; then a short fuzzing
# pass; then runs the README's other scripts as a
# user would (demo.sh, demo.sh --keep and stop, bench.sh smoke, each with its own
# state directory and ports) and checks that each, and the stopped WordPress and
# PostgreSQL, leave nothing behind: no process, no listening port, no state
# directory. Stops everything on exit, on a failure too.
#
#   WP68       0 skips the WordPress 6.8 pass (default 1)
#
#   FUZZTIME   fuzzing per target, as go test -fuzztime takes it (default 50000x:
#              a count of runs, not a time: a time limit that expires while Go's
#              fuzzer minimizes a new input fails with "context deadline
#              exceeded", a flake of the fuzzer seen here); 0 skips fuzzing
#   SCRIPTS    0 skips the run of demo.sh and bench.sh (a minute or two)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SCRIPT=test.sh
# shellcheck source=lib.sh
. scripts/lib.sh

command -v go >/dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null 2>&1 || { echo "test.sh: Go is not installed (need Go >= 1.26)" >&2; exit 1; }

export WPBRIDGE_WP_HOME=${WPBRIDGE_WP_HOME:-/tmp/wpbridge-wp-test}
export WPBRIDGE_WP_PORT=${WPBRIDGE_WP_PORT:-8091}
export WPBRIDGE_WP_ENV="$WPBRIDGE_WP_HOME/env"
export WPBRIDGE_REQUIRE_WP=1 # integration tests fail instead of skipping without WordPress
export WPBRIDGE_PG_HOME=${WPBRIDGE_PG_HOME:-/tmp/wpbridge-pg-test}
export WPBRIDGE_PG_PORT=${WPBRIDGE_PG_PORT:-5498}
export WPBRIDGE_PG_ENV="$WPBRIDGE_PG_HOME/env"
FUZZTIME=${FUZZTIME:-50000x}
SCRIPTS=${SCRIPTS:-1}
WP68=${WP68:-1}
WP68_HOME=${WPBRIDGE_WP68_HOME:-/tmp/wpbridge-wp68-test}
WP68_PORT=${WPBRIDGE_WP68_PORT:-8092}
# The multisite network (WPBRIDGE_WP_MULTISITE=1): its multisite tests read WPBRIDGE_WP_MS_ENV.
MS_HOME=${WPBRIDGE_WP_MS_HOME:-/tmp/wpbridge-wp-ms-test}
MS_PORT=${WPBRIDGE_WP_MS_PORT:-8093}
export WPBRIDGE_WP_MS_ENV="$MS_HOME/env"

# The scripts' own instances: homes and ports of their own, none the test
# WordPress or PostgreSQL uses, nor demo.sh's and bench.sh's defaults (a demo
# left running with --keep is not touched).
DEMO_HOME=/tmp/wpbridge-demo-test DEMO_WP_PORT=8096 DEMO_PORT=8097
DEMO=(env -u WPBRIDGE_WP_HOME -u WPBRIDGE_WP_PORT -u WPBRIDGE_WP_ENV
	WPBRIDGE_DEMO_HOME="$DEMO_HOME" WPBRIDGE_DEMO_WP_PORT="$DEMO_WP_PORT" WPBRIDGE_DEMO_PORT="$DEMO_PORT")
BENCH_HOME=/tmp/wpbridge-wp-bench-test BENCH_PORT=8098 BENCH_TMP=/tmp/wpbridge-bench-test-tmp
ports=("$WPBRIDGE_WP_PORT" "$WP68_PORT" "$MS_PORT" "$WPBRIDGE_PG_PORT" "$DEMO_WP_PORT" "$DEMO_PORT" "$BENCH_PORT")
[ "$(printf '%s\n' "${ports[@]}" | sort -u | wc -l)" -eq "${#ports[@]}" ] ||
	die "the test WordPress or PostgreSQL port is one of the scripts' ports (${ports[*]})"

# nothing_left WHAT DIR PORT...: fails unless WHAT left nothing (lib.sh's leftovers).
nothing_left() {
	local what=$1 left
	shift
	left=$(leftovers "$@")
	[ -z "$left" ] || die "$what left something behind: $left"
	echo "$what: nothing left running, $1 gone"
}
# run_logged LOG CMD...: runs CMD with its output in LOG, shown when it fails.
run_logged() {
	local out=$1
	shift
	local rc=0
	"$@" >"$out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || die "$* failed with exit $rc" "$out"
}
stop_all() {
	"${DEMO[@]}" bash scripts/demo.sh stop >/dev/null 2>&1 || true
	WPBRIDGE_WP_HOME=$BENCH_HOME WPBRIDGE_WP_PORT=$BENCH_PORT bash scripts/wordpress.sh stop || true
	rm -rf "$BENCH_TMP"
	bash scripts/wordpress.sh stop
	WPBRIDGE_WP_HOME=$WP68_HOME bash scripts/wordpress.sh stop || true
	WPBRIDGE_WP_HOME=$MS_HOME bash scripts/wordpress.sh stop || true
	bash scripts/postgres.sh stop
}

bash scripts/proxies.sh install; export WPBRIDGE_REQUIRE_PROXIES=1 # nginx, caddy for deploy/ (tests fail without them)
bash scripts/browser.sh install; export WPBRIDGE_REQUIRE_BROWSER=1 # chromium for the admin page (browser tests fail without it)
bash scripts/wordpress.sh start
WPBRIDGE_WP_HOME=$MS_HOME WPBRIDGE_WP_PORT=$MS_PORT WPBRIDGE_WP_MULTISITE=1 bash scripts/wordpress.sh start
bash scripts/postgres.sh start; export WPBRIDGE_REQUIRE_PG=1 # throwaway PostgreSQL 15 (tests fail without it)
trap stop_all EXIT

echo "== gofmt, go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
[ -z "$unformatted" ] || { echo "gofmt needed: $unformatted" >&2; exit 1; }
go vet ./...

echo "== go test -race"
go test -race -count=1 -timeout 20m ./...

if [ "$WP68" != "0" ]; then
	# The packages whose tests use the real WordPress (the plugin, the rules
	# through it, the app end to end, check), without -race: their Go code
	# was raced above; this pass is about WordPress 6.8's behaviour, so it
	# leaves out what does not depend on the WordPress version: storage and
	# fleet tests (PostgreSQL), crash, storm and outage tests (wpbridge's own
	# durability, with WordPress as a bystander), the admin page, and the
	# multisite network (6.1 only). The CLI tests, cmd/wpbridge, reach
	# WordPress through the same app code: 6.1 only.
	echo "== WordPress 6.8: the packages that talk to WordPress"
	start68=$SECONDS
	WPBRIDGE_WP_HOME=$WP68_HOME WPBRIDGE_WP_PORT=$WP68_PORT bash scripts/wordpress.sh start 6.8
	env -u WPBRIDGE_WP_MS_ENV WPBRIDGE_WP_ENV="$WP68_HOME/env" go test -count=1 -short -timeout 15m \
		-skip 'Postgres|Replicas|Crash|Storm|WordPressDown|ACThrottled|RejectedCredentials|AdminPage|Multisite' \
		./wordpress/ ./internal/contactsync/ ./internal/adapters/ ./internal/check/ ./internal/app/ ./internal/testing/wptest/
	WPBRIDGE_WP_HOME=$WP68_HOME bash scripts/wordpress.sh stop
	nothing_left "wordpress.sh stop (6.8)" "$WP68_HOME" "$WP68_PORT"
	echo "== WordPress 6.8 pass: $((SECONDS - start68)) s"
fi

if [ "$FUZZTIME" != "0" ]; then
	echo "== fuzzing ($FUZZTIME each)"
	go test -run '^$' -fuzz '^FuzzParseWebhook$' -fuzztime "$FUZZTIME" -fuzzminimizetime 5s ./activecampaign/
	go test -run '^$' -fuzz '^FuzzWebhookRequest$' -fuzztime "$FUZZTIME" -fuzzminimizetime 5s ./internal/server/
	go test -run '^$' -fuzz '^FuzzFieldMap$' -fuzztime "$FUZZTIME" -fuzzminimizetime 5s ./internal/config/
	go test -run '^$' -fuzz '^FuzzLoad$' -fuzztime "$FUZZTIME" -fuzzminimizetime 5s ./internal/config/
fi
if [ "$SCRIPTS" != "0" ]; then
	echo "== the README's scripts: run as a user would, then nothing of them left"
	started=$SECONDS
	logs=$(mktemp -d /tmp/wpbridge-test-logs.XXXXXX)
	run_logged "$logs/demo.log" "${DEMO[@]}" bash scripts/demo.sh
	grep -q '^OK: wp-login.php accepted it' "$logs/demo.log" || die "demo.sh did not log in" "$logs/demo.log"
	nothing_left "demo.sh" "$DEMO_HOME" "$DEMO_WP_PORT" "$DEMO_PORT"

	run_logged "$logs/demo-keep.log" "${DEMO[@]}" bash scripts/demo.sh --keep
	[ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$DEMO_PORT/readyz)" = 200 ] ||
		die "demo.sh --keep: wpbridge is not running" "$logs/demo-keep.log"
	[ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$DEMO_WP_PORT/wp-login.php)" = 200 ] ||
		die "demo.sh --keep: WordPress is not running" "$logs/demo-keep.log"
	run_logged "$logs/demo-stop.log" "${DEMO[@]}" bash scripts/demo.sh stop
	nothing_left "demo.sh --keep, then stop" "$DEMO_HOME" "$DEMO_WP_PORT" "$DEMO_PORT"

	# bench.sh with a WordPress of its own (not the test one); its scratch
	# directory and `go run`'s build go to BENCH_TMP, which must end up empty.
	mkdir -p "$BENCH_TMP"
	run_logged "$logs/bench.log" env -u WPBRIDGE_WP_ENV WPBRIDGE_WP_HOME="$BENCH_HOME" WPBRIDGE_WP_PORT="$BENCH_PORT" \
		TMPDIR="$BENCH_TMP" bash scripts/bench.sh smoke
	grep -q '^Summary against the targets' "$logs/bench.log" || die "bench.sh smoke printed no summary" "$logs/bench.log"
	rmdir "$BENCH_TMP" || die "bench.sh left files in its TMPDIR: $(ls -A "$BENCH_TMP")"
	nothing_left "bench.sh smoke" "$BENCH_HOME" "$BENCH_PORT"
	nothing_left "bench.sh's scratch" "$BENCH_TMP"
	rm -rf "$logs"
	echo "(the scripts took $((SECONDS - started)) s)"
fi

echo "== stopping WordPress and PostgreSQL"
bash scripts/wordpress.sh stop
WPBRIDGE_WP_HOME=$MS_HOME bash scripts/wordpress.sh stop
bash scripts/postgres.sh stop
nothing_left "wordpress.sh stop" "$WPBRIDGE_WP_HOME" "$WPBRIDGE_WP_PORT"
nothing_left "wordpress.sh stop (multisite)" "$MS_HOME" "$MS_PORT"
nothing_left "postgres.sh stop" "$WPBRIDGE_PG_HOME" "$WPBRIDGE_PG_PORT"
echo "== all tests passed"
