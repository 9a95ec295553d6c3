#!/usr/bin/env bash
# find-bench.sh SEEDED [RUNS] — the companion plugin's find by contact id on the test WordPress of
# scripts/wordpress.sh after seed-users.sh SEEDED: in-process (find-bench.php: the exact SQL and
# WPBridge_Plugin::find_by_meta) and the whole GET /wpbridge/v1/users/by-meta request (curl,
# a seeded member and an unknown contact id), plus the query plan. It changes nothing: add or drop
# the index yourself (BENCHMARKS.md, "The find and the usermeta index (issue 21)").
#   WPBRIDGE_WP_HOME   the instance (default /tmp/wpbridge-wp)
set -euo pipefail
H=${WPBRIDGE_WP_HOME:-/tmp/wpbridge-wp}
DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SEEDED=${1:?usage: find-bench.sh SEEDED [RUNS]}
RUNS=${2:-200}
php "$DIR/find-bench.php" "$H/wp" "$SEEDED" "$RUNS"
URL=$(sed -n 's/^WP_URL=//p' "$H/env")
USER=$(sed -n 's/^WP_USERNAME=//p' "$H/env")
# The password goes to curl in a config file on stdin, never on a command line.
PASS=$(sed -n 's/^WP_APP_PASSWORD=//p' "$H/env")
n=$((RUNS / 4))
for c in hit miss; do
	for ((i = 0; i < n; i++)); do
		if [ $c = hit ]; then v=$((800000001 + (RANDOM * 32768 + RANDOM) % SEEDED)); else v=$((700000000 + RANDOM)); fi
		printf 'user = "%s:%s"\n' "$USER" "$PASS" |
			curl -s -K - -o /dev/null -w '%{http_code} %{time_total}\n' "$URL/wp-json/wpbridge/v1/users/by-meta?key=activecampaign_contact_id&value=$v"
	done | awk -v c=$c '{ if (($1 == 200) != (c == "hit")) bad++; t[NR] = $2 * 1000 }
		END { n = asort(t); printf("request       %-4s p50 %7.3f ms  p90 %7.3f ms  max %7.3f ms (%d runs%s)\n", c, t[int(n*0.5)+1], t[int(n*0.9)+1], t[n], n, bad ? ", " bad " unexpected statuses" : "") }'
done
