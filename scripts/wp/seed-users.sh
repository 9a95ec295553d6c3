#!/usr/bin/env bash
# seed-users.sh N | clean — adds users to the test WordPress of scripts/wordpress.sh straight in
# SQL (no REST, no hooks), for measuring the plugin's find at 10,000 or 100,000 members.
#
#   N      adds users until there are N seeded ones (re-runnable: it continues after the last).
#          Each gets WordPress 6.1's 14 default meta rows (nickname ... dismissed_wp_pointers,
#          as wp_insert_user writes them for a subscriber), activecampaign_contact_id
#          (800000000 + n) and activecampaign_tags: 16 usermeta rows, like a synced member.
#          Logins are seed_n, emails seed_n@seed.invalid; they cannot sign in.
#   clean  deletes every seeded user and their meta.
#
#   WPBRIDGE_WP_HOME   the instance (default /tmp/wpbridge-wp): its MariaDB socket is used as root.
#
# Not part of the test run; see BENCHMARKS.md, "The find and the usermeta index (issue 21)".
set -euo pipefail

H=${WPBRIDGE_WP_HOME:-/tmp/wpbridge-wp}
SOCK="$H/mysqld.sock"
[ -S "$SOCK" ] || { echo "seed-users.sh: no MariaDB socket at $SOCK (start scripts/wordpress.sh first)" >&2; exit 1; }
sql() { mariadb --no-defaults --socket="$SOCK" -uroot -N -B wordpress -e "$1"; }

case "${1:-}" in
clean)
	sql "DELETE m FROM wp_usermeta m JOIN wp_users u ON u.ID = m.user_id WHERE u.user_login LIKE 'seed\\_%';
	     DELETE FROM wp_users WHERE user_login LIKE 'seed\\_%';"
	exit 0
	;;
'' | *[!0-9]*)
	echo "usage: seed-users.sh N | clean" >&2
	exit 2
	;;
esac

want=$1
have=$(sql "SELECT COALESCE(MAX(CAST(SUBSTRING(user_login, 6) AS UNSIGNED)), 0) FROM wp_users WHERE user_login LIKE 'seed\\_%'")
BATCH=10000
# A phpass hash of a random password nobody knows.
HASH='$P$Bseedseedseedseedseedseedseedse.'
start=$(date +%s)
for ((lo = have + 1; lo <= want; lo += BATCH)); do
	hi=$((lo + BATCH - 1))
	[ "$hi" -gt "$want" ] && hi=$want
	sql "START TRANSACTION;
INSERT INTO wp_users (user_login, user_pass, user_nicename, user_email, user_url, user_registered, user_activation_key, user_status, display_name)
  SELECT CONCAT('seed_', seq), '$HASH', CONCAT('seed_', seq), CONCAT('seed_', seq, '@seed.invalid'), '', NOW(), '', 0, CONCAT('seed_', seq)
  FROM seq_${lo}_to_${hi};
INSERT INTO wp_usermeta (user_id, meta_key, meta_value)
  SELECT u.ID, k.k, CASE k.k
      WHEN 'nickname' THEN u.user_login
      WHEN 'rich_editing' THEN 'true'
      WHEN 'syntax_highlighting' THEN 'true'
      WHEN 'comment_shortcuts' THEN 'false'
      WHEN 'admin_color' THEN 'fresh'
      WHEN 'use_ssl' THEN '0'
      WHEN 'show_admin_bar_front' THEN 'true'
      WHEN 'wp_capabilities' THEN 'a:1:{s:10:\"subscriber\";b:1;}'
      WHEN 'wp_user_level' THEN '0'
      WHEN 'activecampaign_contact_id' THEN CAST(800000000 + CAST(SUBSTRING(u.user_login, 6) AS UNSIGNED) AS CHAR)
      WHEN 'activecampaign_tags' THEN 'a:2:{i:0;s:8:\"customer\";i:1;s:17:\"newsletter-weekly\";}'
      ELSE '' END
  FROM wp_users u
  JOIN (SELECT 'nickname' k UNION ALL SELECT 'first_name' UNION ALL SELECT 'last_name' UNION ALL SELECT 'description'
        UNION ALL SELECT 'rich_editing' UNION ALL SELECT 'syntax_highlighting' UNION ALL SELECT 'comment_shortcuts'
        UNION ALL SELECT 'admin_color' UNION ALL SELECT 'use_ssl' UNION ALL SELECT 'show_admin_bar_front'
        UNION ALL SELECT 'locale' UNION ALL SELECT 'wp_capabilities' UNION ALL SELECT 'wp_user_level'
        UNION ALL SELECT 'dismissed_wp_pointers' UNION ALL SELECT 'activecampaign_contact_id'
        UNION ALL SELECT 'activecampaign_tags') k
  WHERE u.user_login IN (SELECT CONCAT('seed_', seq) FROM seq_${lo}_to_${hi});
COMMIT;"
done
sql "ANALYZE TABLE wp_users, wp_usermeta" >/dev/null
echo "seed-users.sh: $want seeded users ($(sql "SELECT COUNT(*) FROM wp_users") users, $(sql "SELECT COUNT(*) FROM wp_usermeta") usermeta rows) in $(($(date +%s) - start)) s"
