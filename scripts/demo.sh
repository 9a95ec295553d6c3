#!/usr/bin/env bash
# demo.sh — the whole wpbridge flow on one machine, without any account: a local WordPress
# (scripts/wordpress.sh), the project's fake ActiveCampaign seeded with one contact, and
# wpbridge; one AC-shaped `add` webhook; then the user it created, the password AC received
# and a login with it.
#
#   bash scripts/demo.sh          # run it, show the result, stop everything
#   bash scripts/demo.sh --keep   # leave it all running to look around (prints the URLs)
#   bash scripts/demo.sh stop     # stop what --keep left running
#
# Needs Debian 12, root (the first run installs WordPress, MariaDB and PHP with apt: a few
# minutes) and Go >= 1.26. Settings:
#   WPBRIDGE_DEMO_HOME     state directory (default /tmp/wpbridge-demo; removed on stop)
#   WPBRIDGE_DEMO_WP_PORT  WordPress port on 127.0.0.1 (default 8093)
#   WPBRIDGE_DEMO_PORT     wpbridge port on 127.0.0.1 (default 8094)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

D=${WPBRIDGE_DEMO_HOME:-/tmp/wpbridge-demo}
WP_PORT=${WPBRIDGE_DEMO_WP_PORT:-8093}
PORT=${WPBRIDGE_DEMO_PORT:-8094}
BRIDGE_URL="http://127.0.0.1:$PORT"
EMAIL=ada.lovelace@example.com

say() {
	if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi
}
SCRIPT=demo.sh
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
secret() { head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c "$1"; }


do_stop() {
	[ -d "$D" ] || return 0
	stop_pid "$D/wpbridge.pid" wpbridge
	stop_pid "$D/acfake.pid" acfake
	WPBRIDGE_WP_HOME="$D/wordpress" WPBRIDGE_WP_PORT="$WP_PORT" bash scripts/wordpress.sh stop
	rm -rf "$D"
}

prerequisites() {
	command -v go >/dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"
	command -v go >/dev/null 2>&1 || die "Go is not installed (need Go >= 1.26)"
	if ! command -v curl >/dev/null 2>&1; then
		[ "$(id -u)" -eq 0 ] || die "curl is missing; run as root or install it"
		log "installing curl (apt)"
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			curl ca-certificates; } >"/tmp/wpbridge-demo-apt.log" 2>&1 || die "apt-get failed" /tmp/wpbridge-demo-apt.log
	fi
}

# wait_http URL PIDFILE NAME LOG: waits up to 30 s for URL to answer 200.
wait_http() {
	local i
	for ((i = 0; i < 300; i++)); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" = 200 ] && return 0
		proc_is "$(cat "$2")" "$3" || die "$3 exited" "$4"
		sleep 0.1
	done
	die "$3 not ready after 30s" "$4"
}

start_all() {
	say "building wpbridge and the fake ActiveCampaign (go build)"
	go build -o "$D/bin/wpbridge" ./cmd/wpbridge
	go build -o "$D/bin/acfake" ./internal/testing/acfake/cmd/acfake

	say "starting WordPress on 127.0.0.1:$WP_PORT (scripts/wordpress.sh; the first run installs packages)"
	WPBRIDGE_WP_HOME="$D/wordpress" WPBRIDGE_WP_PORT="$WP_PORT" bash scripts/wordpress.sh start
	WP_URL=$(sed -n 's/^WP_URL=//p' "$D/wordpress/env")
	WP_USERNAME=$(sed -n 's/^WP_USERNAME=//p' "$D/wordpress/env")
	WP_APP_PASSWORD=$(sed -n 's/^WP_APP_PASSWORD=//p' "$D/wordpress/env")

	say "starting the fake ActiveCampaign with one contact: Ada Lovelace <$EMAIL>, tags Customer, Newsletter"
	AC_API_KEY=$(secret 40)
	: >"$D/acfake.out"
	"$D/bin/acfake" -api-key "$AC_API_KEY" -email "$EMAIL" -first-name Ada -last-name Lovelace \
		-tags "Customer, Newsletter" >"$D/acfake.out" 2>"$D/acfake.log" </dev/null &
	echo $! >"$D/acfake.pid"
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q '^AC_PASSWORD_FIELD_ID=' "$D/acfake.out" && break
		proc_is "$(cat "$D/acfake.pid")" acfake || die "the fake ActiveCampaign exited" "$D/acfake.log"
		sleep 0.1
	done
	AC_API_URL=$(sed -n 's/^AC_API_URL=//p' "$D/acfake.out")
	CONTACT_ID=$(sed -n 's/^AC_CONTACT_ID=//p' "$D/acfake.out")
	FIELD_ID=$(sed -n 's/^AC_PASSWORD_FIELD_ID=//p' "$D/acfake.out")
	[ -n "$FIELD_ID" ] || die "the fake ActiveCampaign did not start" "$D/acfake.log"
	echo "AC API: $AC_API_URL (contact id $CONTACT_ID)"

	say "starting wpbridge on $BRIDGE_URL"
	ACCESS_KEY=$(secret 24)
	ADMIN_TOKEN=$(secret 32)
	(
		umask 077
		cat >"$D/wpbridge.env" <<EOF
ACCESS_KEY=$ACCESS_KEY
AC_API_URL=$AC_API_URL
AC_API_KEY=$AC_API_KEY
WP_URL=$WP_URL
WP_USERNAME=$WP_USERNAME
WP_APP_PASSWORD=$WP_APP_PASSWORD
LISTEN_ADDR=127.0.0.1:$PORT
DATABASE_URL=sqlite:$D/wpbridge.db
ALLOWED_ROLES=subscriber,customer
RETURN_PASSWORD_FIELD=%WP_PASSWORD%
ADMIN_TOKEN=$ADMIN_TOKEN
EOF
	)
	echo "configuration: $D/wpbridge.env"
	(set -a && . "$D/wpbridge.env" && set +a && "$D/bin/wpbridge" check) || log "wpbridge check reported a problem (above)"
	(set -a && . "$D/wpbridge.env" && set +a && exec "$D/bin/wpbridge" serve) >"$D/wpbridge.log" 2>&1 </dev/null &
	echo $! >"$D/wpbridge.pid"
	wait_http "$BRIDGE_URL/readyz" "$D/wpbridge.pid" wpbridge "$D/wpbridge.log"
}

send_webhook() {
	say "ActiveCampaign calls the WP Fusion URL: POST /?wpf_action=add&access_key=…&role=customer"
	local answer
	answer=$(curl -sS -X POST "$BRIDGE_URL/?wpf_action=add&access_key=$ACCESS_KEY&role=customer" \
		-H 'Content-Type: application/x-www-form-urlencoded; charset=utf-8' \
		--data-urlencode "contact[id]=$CONTACT_ID" --data-urlencode "contact[email]=$EMAIL" \
		--data-urlencode "contact[first_name]=Ada" --data-urlencode "contact[last_name]=Lovelace" \
		--data-urlencode "contact[tags]=Customer, Newsletter" --data-urlencode "seriesid=1")
	echo "wpbridge answered: $answer"
	case "$answer" in
	*'"status":"done"'*) ;;
	*) die "the webhook was not processed" "$D/wpbridge.log" ;;
	esac
}

# json_php CODE: runs CODE with $j = the JSON document read from stdin.
json_php() { php -r '$j = json_decode(stream_get_contents(STDIN), true); if (!is_array($j)) { exit(1); }'"$1"; }

show_user() {
	say "the WordPress user (REST API, as the administrator)"
	curl -sS -u "$WP_USERNAME:$WP_APP_PASSWORD" \
		"$WP_URL/wp-json/wpbridge/v1/users/by-meta?key=activecampaign_contact_id&value=$CONTACT_ID" >"$D/user.json"
	json_php '
		printf("user #%d\n  login: %s\n  email: %s\n  name:  %s %s\n  role:  %s\n", $j["id"], $j["username"],
			$j["email"], $j["first_name"], $j["last_name"], implode(", ", $j["roles"]));
		foreach ((array) ($j["wpbridge_meta"] ?? array()) as $k => $v) {
			if (0 === strpos($k, "activecampaign_")) { // CONTACT_ID_META_KEY, TAGS_META_KEY
				printf("  meta:  %s = %s\n", $k, is_array($v) ? implode(", ", $v) : $v);
			}
		}' <"$D/user.json" || die "no user linked to contact $CONTACT_ID" "$D/user.json"
	LOGIN=$(json_php 'echo $j["username"];' <"$D/user.json")

	say "the password ActiveCampaign received (field %WP_PASSWORD%, id $FIELD_ID, read back from the AC API)"
	PASSWORD=$(curl -sS -H "Api-Token: $AC_API_KEY" "$AC_API_URL/api/3/contacts/$CONTACT_ID" |
		FIELD="$FIELD_ID" json_php 'foreach ($j["fieldValues"] as $f) { if ($f["field"] === getenv("FIELD")) { echo $f["value"]; } }')
	[ -n "$PASSWORD" ] || die "no password in AC" "$D/wpbridge.log"
	echo "$PASSWORD"
}

check_login() {
	say "logging in to WordPress as $LOGIN with that password (wp-login.php)"
	local jar="$D/cookies.txt" code page
	code=$(curl -sS -o /dev/null -w '%{http_code}' -c "$jar" -b 'wordpress_test_cookie=WP%20Cookie%20check' \
		--data-urlencode "log=$LOGIN" --data-urlencode "pwd=$PASSWORD" -d testcookie=1 \
		--data-urlencode "redirect_to=$WP_URL/wp-admin/profile.php" "$WP_URL/wp-login.php")
	grep -q 'wordpress_logged_in_' "$jar" || die "login refused (wp-login.php answered $code)"
	page=$(curl -sS -b "$jar" "$WP_URL/wp-admin/profile.php")
	case "$page" in
	*"$LOGIN"*) echo "OK: wp-login.php accepted it and $WP_URL/wp-admin/profile.php shows $LOGIN's profile" ;;
	*) die "logged in, but the profile page does not show $LOGIN" ;;
	esac
}

show_log() {
	say "wpbridge's log (no key, token or password in it)"
	cat "$D/wpbridge.log"
	local s
	for s in "$ACCESS_KEY" "$AC_API_KEY" "$WP_APP_PASSWORD" "$ADMIN_TOKEN" "$PASSWORD"; do
		! grep -qF -- "$s" "$D/wpbridge.log" || die "a secret reached wpbridge's log"
	done
}

print_keep() {
	say "still running (stop with: bash scripts/demo.sh stop)"
	echo "WordPress:      $WP_URL/wp-login.php (log in as $LOGIN with the password above)"
	echo "wpbridge:       $BRIDGE_URL (webhook: $BRIDGE_URL/?wpf_action=add&access_key=$ACCESS_KEY)"
	echo "                log: $D/wpbridge.log, configuration: $D/wpbridge.env"
	if [ "$(curl -s -o /dev/null -w '%{http_code}' "$BRIDGE_URL/admin/")" != 404 ]; then
		echo "admin page:     $BRIDGE_URL/admin/ (token: $ADMIN_TOKEN)"
	fi
	if (set -a && . "$D/wpbridge.env" && "$D/bin/wpbridge" webhooks list) >/dev/null 2>&1; then
		echo "history:        (set -a; . $D/wpbridge.env; $D/bin/wpbridge webhooks list)"
	fi
	echo "fake AC API:    $AC_API_URL/api/3/contacts/$CONTACT_ID (header Api-Token: $AC_API_KEY)"
}

main() {
	local keep=0
	case "${1:-}" in
	"") ;;
	--keep) keep=1 ;;
	stop)
		do_stop
		log "stopped"
		return 0
		;;
	*)
		echo "usage: $0 [--keep|stop]" >&2
		exit 2
		;;
	esac
	prerequisites
	do_stop # a previous --keep run
	mkdir -p "$D"
	chmod 700 "$D"
	trap do_stop EXIT # also on a failure, with --keep too
	trap 'exit 1' INT TERM
	start_all
	send_webhook
	show_user
	check_login
	show_log
	if [ "$keep" -eq 1 ]; then
		trap - EXIT
		print_keep
	else
		say "done; stopping everything"
	fi
}

main "$@"
