#!/usr/bin/env bash
# test.sh — the whole test suite, on a fresh Debian 12 machine as root:
# installs what the tests need from Debian's packages (nginx and caddy,
# chromium), starts a real WordPress 6.1 with MariaDB (scripts/wordpress.sh)
# and a throwaway PostgreSQL 15 (scripts/postgres.sh) on 127.0.0.1, runs
# gofmt, vet, the unit, integration and end-to-end tests with the race
# detector; then starts WordPress 6.8 (Debian 13's package, unpacked) and runs
# the packages that talk to WordPress again against it; then a short fuzzing
# pass; stops WordPress and PostgreSQL on exit.
#
#   WP68       0 skips the WordPress 6.8 pass (default 1)
#
#   FUZZTIME   fuzzing per target, as go test -fuzztime takes it (default 50000x:
#              a count of runs, not a time: a time limit that expires while Go's
#              fuzzer minimizes a new input fails with "context deadline
#              exceeded", a flake of the fuzzer seen here); 0 skips fuzzing
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v go >/dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null 2>&1 || { echo "test.sh: Go is not installed (need Go >= 1.26)" >&2; exit 1; }

export WPBRIDGE_WP_HOME=${WPBRIDGE_WP_HOME:-/tmp/wpbridge-wp-test}
export WPBRIDGE_WP_PORT=${WPBRIDGE_WP_PORT:-8091}
export WPBRIDGE_WP_ENV="$WPBRIDGE_WP_HOME/env"
export WPBRIDGE_REQUIRE_WP=1 # integration tests fail instead of skipping without WordPress
FUZZTIME=${FUZZTIME:-50000x}
WP68=${WP68:-1}
WP68_HOME=${WPBRIDGE_WP68_HOME:-/tmp/wpbridge-wp68-test}
WP68_PORT=${WPBRIDGE_WP68_PORT:-8092}

bash scripts/proxies.sh install; export WPBRIDGE_REQUIRE_PROXIES=1 # nginx, caddy for deploy/ (tests fail without them)
bash scripts/browser.sh install; export WPBRIDGE_REQUIRE_BROWSER=1 # chromium for the admin page (browser tests fail without it)
bash scripts/wordpress.sh start
bash scripts/postgres.sh start; export WPBRIDGE_REQUIRE_PG=1 # throwaway PostgreSQL 15 (tests fail without it)
trap 'bash scripts/wordpress.sh stop; WPBRIDGE_WP_HOME=$WP68_HOME bash scripts/wordpress.sh stop; bash scripts/postgres.sh stop' EXIT

echo "== gofmt, go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
[ -z "$unformatted" ] || { echo "gofmt needed: $unformatted" >&2; exit 1; }
go vet ./...

echo "== go test -race"
go test -race -count=1 -timeout 20m ./...

if [ "$WP68" != "0" ]; then
	# The packages whose tests use the real WordPress (the plugin, the rules
	# through it, the app end to end, check), without -race: their Go code
	# was raced above; this pass is about WordPress 6.8's behaviour. (The CLI
	# tests, cmd/wpbridge, add about 4 minutes on a busy 2-core machine and
	# reach WordPress through the same app code: 6.1 only.)
	echo "== WordPress 6.8: the packages that talk to WordPress"
	start68=$SECONDS
	WPBRIDGE_WP_HOME=$WP68_HOME WPBRIDGE_WP_PORT=$WP68_PORT bash scripts/wordpress.sh start 6.8
	WPBRIDGE_WP_ENV="$WP68_HOME/env" go test -count=1 -timeout 15m \
		./wordpress/ ./internal/contactsync/ ./internal/adapters/ ./internal/check/ ./internal/app/ ./internal/testing/wptest/
	WPBRIDGE_WP_HOME=$WP68_HOME bash scripts/wordpress.sh stop
	echo "== WordPress 6.8 pass: $((SECONDS - start68)) s"
fi

if [ "$FUZZTIME" != "0" ]; then
	echo "== fuzzing ($FUZZTIME each)"
	go test -run '^$' -fuzz '^FuzzParseWebhook$' -fuzztime "$FUZZTIME" -fuzzminimizetime 5s ./activecampaign/
	go test -run '^$' -fuzz '^FuzzWebhookRequest$' -fuzztime "$FUZZTIME" -fuzzminimizetime 5s ./internal/server/
	go test -run '^$' -fuzz '^FuzzFieldMap$' -fuzztime "$FUZZTIME" -fuzzminimizetime 5s ./internal/config/
	go test -run '^$' -fuzz '^FuzzLoad$' -fuzztime "$FUZZTIME" -fuzzminimizetime 5s ./internal/config/
fi
echo "== all tests passed"
