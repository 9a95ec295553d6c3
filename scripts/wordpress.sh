#!/usr/bin/env bash
# wordpress.sh start|stop|env|fetch [VERSION] — a throwaway WordPress (Debian packages + MariaDB) for tests.
#
#   WPBRIDGE_WP_HOME     state dir (default /tmp/wpbridge-wp); everything lives here, `stop` removes it
#   WPBRIDGE_WP_PORT     HTTP port on 127.0.0.1 (default 8089)
#   WPBRIDGE_WP_VERSION  6.1 (default: Debian 12's installed `wordpress` package) or 6.8 (Debian 13's
#                        package, downloaded with apt and unpacked without installing it; also the
#                        optional VERSION argument of start and fetch)
#   WPBRIDGE_WP_CACHE    where the unpacked 6.8 tree is kept between runs (default /var/cache/wpbridge-wp68)
#   WPBRIDGE_WP_MULTISITE  1: a multisite network instead (subdirectory install) with two sites, / and
#                        /site2/, the companion plugin network-activated (wp-content/plugins/wpbridge/,
#                        active_sitewide_plugins: not a mu-plugin), php -S behind scripts/wp/router.php
#                        (multisite's rewrite rules: /site2/wp-login.php, /site2/wp-admin/...). The env
#                        file adds WPTEST_MULTISITE=1, WPTEST_SITE2_URL, and a site-2 administrator who is
#                        no super admin (WPTEST_SITE2_ADMIN_USERNAME, WPTEST_SITE2_ADMIN_APP_PASSWORD);
#                        WP_URL is site 1 and the admin (a super admin) works on both sites.
#
# `fetch 6.8` only downloads and unpacks the 6.8 tree (start does it when missing).
#
# `start` installs the packages when missing (apt, as root), starts MariaDB on a private socket and
# `php -S` on 127.0.0.1, installs WordPress with the CLI, and writes $WPBRIDGE_WP_HOME/env:
# WP_URL, WP_USERNAME, WP_APP_PASSWORD, WPTEST_AUTHOR_USERNAME, WPTEST_AUTHOR_APP_PASSWORD,
# WPTEST_MAIL_LOG, WPTEST_HOOK_DIR, WPTEST_WP_VERSION, WPTEST_DB_SOCKET. Application passwords only ever go into that file.
# See shared/reference/wordpress.md for the why of each step.
set -euo pipefail

H=${WPBRIDGE_WP_HOME:-/tmp/wpbridge-wp}
PORT=${WPBRIDGE_WP_PORT:-8089}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
URL="http://127.0.0.1:$PORT"
PACKAGES=(wordpress mariadb-server php-cli php-mysql procps)

VERSION=${WPBRIDGE_WP_VERSION:-6.1}
MULTISITE=${WPBRIDGE_WP_MULTISITE:-0}
CACHE=${WPBRIDGE_WP_CACHE:-/var/cache/wpbridge-wp68}

SCRIPT=wordpress.sh
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"


# wait_gone PID SECONDS: wait for PID to exit; 0 when gone.
wait_gone() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

install_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "packages missing (${missing[*]}); run as root or install them first"
	log "installing ${missing[*]} (apt)"
	local created=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		created=1
	fi
	local rc=0
	{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${PACKAGES[@]}"; } >"/tmp/wpbridge-apt.log" 2>&1 || rc=$?
	[ "$created" -eq 1 ] && rm -f /usr/sbin/policy-rc.d
	[ "$rc" -eq 0 ] || die "apt-get failed" /tmp/wpbridge-apt.log
}

# fetch_68: Debian 13's wordpress package, unpacked into $CACHE/root (reference/wordpress.md §7).
# A trixie source at pin priority 100, used only for this one download: nothing installed ever
# comes from trixie. The sources file and the pin are written once and left in place.
fetch_68() {
	local tree="$CACHE/root/usr/share/wordpress"
	[ -f "$tree/wp-includes/version.php" ] && return 0
	[ "$(id -u)" -eq 0 ] || die "WordPress 6.8 is not unpacked in $CACHE; run as root once: $0 fetch 6.8"
	local uri src=/etc/apt/sources.list.d/trixie-wp.sources
	if [ ! -f "$src" ]; then
		uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
		[ -n "$uri" ] || uri=http://deb.debian.org/debian
		printf 'Types: deb\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" >"$src"
		printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' >/etc/apt/preferences.d/trixie-wp
	fi
	log "downloading Debian 13's wordpress package (6.8) into $CACHE"
	rm -rf "$CACHE.tmp"
	mkdir -p "$CACHE.tmp"
	{ apt-get update -q -o Dir::Etc::sourcelist="$src" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 &&
		(cd "$CACHE.tmp" && apt-get download -q wordpress/trixie) &&
		dpkg -x "$CACHE.tmp"/wordpress_*.deb "$CACHE.tmp/root"; } >/tmp/wpbridge-apt-68.log 2>&1 ||
		die "downloading WordPress 6.8 failed" /tmp/wpbridge-apt-68.log
	grep -q "wp_version = '6\.8" "$CACHE.tmp/root/usr/share/wordpress/wp-includes/version.php" ||
		die "the trixie package is not WordPress 6.8" "$CACHE.tmp/root/usr/share/wordpress/wp-includes/version.php"
	rm -f "$CACHE.tmp"/wordpress_*.deb
	rm -rf "$CACHE"
	mv "$CACHE.tmp" "$CACHE"
}

# wp_tree: the WordPress tree of $VERSION to copy.
wp_tree() {
	case "$VERSION" in
	6.1) echo /usr/share/wordpress ;;
	6.8) echo "$CACHE/root/usr/share/wordpress" ;;
	*) die "unknown WordPress version $VERSION (6.1 or 6.8)" ;;
	esac
}

do_stop() {
	local pid child
	if [ -f "$H/php.pid" ]; then
		pid=$(cat "$H/php.pid")
		if proc_is "$pid" php; then
			for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
				proc_is "$child" php && kill "$child" 2>/dev/null || true
			done
			kill "$pid" 2>/dev/null || true
			wait_gone "$pid" 10 || kill -9 "$pid" 2>/dev/null || true
		fi
	fi
	if [ -f "$H/mysqld.pid" ]; then
		pid=$(cat "$H/mysqld.pid")
		if proc_is "$pid" mariadbd; then
			kill -TERM "$pid" 2>/dev/null || true
			wait_gone "$pid" 30 || die "mariadbd (pid $pid) did not stop within 30s" "$H/mysqld.err"
		fi
	fi
	rm -rf "$H"
}

# write_config [network]: wp-config.php; with "network", the multisite constants (and no
# WP_HOME/WP_SITEURL, which would override every site's URLs).
write_config() {
	local salts k urls ms=""
	urls="define('WP_HOME', '$URL');"$'\n'"define('WP_SITEURL', '$URL');"
	if [ "${1:-}" = network ]; then
		urls=""
		ms="define('MULTISITE', true);
define('SUBDOMAIN_INSTALL', false);
define('DOMAIN_CURRENT_SITE', '127.0.0.1:$PORT');
define('PATH_CURRENT_SITE', '/');
define('SITE_ID_CURRENT_SITE', 1);
define('BLOG_ID_CURRENT_SITE', 1);"
	fi
	salts=""
	for k in AUTH_KEY SECURE_AUTH_KEY LOGGED_IN_KEY NONCE_KEY AUTH_SALT SECURE_AUTH_SALT LOGGED_IN_SALT NONCE_SALT; do
		salts+="define('$k', '$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')');"$'\n'
	done
	cat >"$H/wp/wp-config.php" <<EOF
<?php
// Written by scripts/wordpress.sh for tests only.
define('DB_NAME', 'wordpress');
define('DB_USER', 'wp');
define('DB_PASSWORD', 'wp-test-pass');
define('DB_HOST', 'localhost:$H/mysqld.sock');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
$salts
\$table_prefix = 'wp_';
$urls
$ms
define('WP_ENVIRONMENT_TYPE', 'local');
define('WP_DEBUG', true);
define('WP_DEBUG_DISPLAY', false);
define('WP_DEBUG_LOG', '$H/debug.log');
@ini_set('display_errors', '0');
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_AUTO_UPDATE_CORE', false);
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('WPBRIDGE_TEST_MAIL_LOG', '$H/mail.jsonl');
define('WPBRIDGE_TEST_HOOK_DIR', '$H/hooks');
if (!defined('ABSPATH')) {
	define('ABSPATH', __DIR__ . '/');
}
require_once ABSPATH . 'wp-settings.php';
EOF
}

write_installer() {
	cat >"$H/install.php" <<'EOF'
<?php
// CLI installer: site, pretty permalinks, customer role, admin + author1 with application passwords.
$_SERVER['HTTP_HOST'] = '127.0.0.1';
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['SERVER_NAME'] = '127.0.0.1';
$_SERVER['SERVER_PORT'] = getenv('WPB_PORT');
define('WP_INSTALLING', true);
require getenv('WPB_WP') . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

$res = wp_install('wpbridge test', 'admin', 'admin@example.com', false, '', wp_slash(getenv('WPB_ADMIN_PASS')));
$admin = (int) $res['user_id'];
update_option('permalink_structure', '/%postname%/');
flush_rewrite_rules(false);
add_role('customer', 'Customer', array('read' => true));

$author = wp_insert_user(array(
	'user_login' => 'author1',
	'user_email' => 'author1@example.com',
	'user_pass'  => getenv('WPB_AUTHOR_PASS'),
	'role'       => 'author',
));
if (is_wp_error($author)) {
	fwrite(STDERR, 'author1: ' . $author->get_error_message() . "\n");
	exit(1);
}
$out = array();
foreach (array('WP_APP_PASSWORD' => $admin, 'WPTEST_AUTHOR_APP_PASSWORD' => $author) as $key => $uid) {
	$app = WP_Application_Passwords::create_new_application_password($uid, array('name' => 'wpbridge tests'));
	if (is_wp_error($app)) {
		fwrite(STDERR, 'application password: ' . $app->get_error_message() . "\n");
		exit(1);
	}
	$out[] = $key . '=' . $app[0];
}
$out[] = 'WPTEST_WP_VERSION=' . get_bloginfo('version');
if ('1' === getenv('WPB_MULTISITE')) {
	// The network's tables and rows, as wp-admin/network.php makes them (subdirectory install).
	global $wpdb;
	foreach ($wpdb->tables('ms_global') as $table => $prefixed) {
		$wpdb->$table = $prefixed;
	}
	install_network();
	$net = populate_network(1, '127.0.0.1:' . getenv('WPB_PORT'), 'admin@example.com', 'wpbridge test network', '/', false);
	if (is_wp_error($net)) {
		fwrite(STDERR, 'network: ' . $net->get_error_message() . "\n");
		exit(1);
	}
}
file_put_contents(getenv('WPB_OUT'), implode("\n", $out) . "\n");
EOF
}

# write_network_installer: run once wp-config.php is a network's: site 2 at /site2/ (with the
# customer role), the companion plugin network-activated, a site-2 administrator who is no super
# admin, with an application password.
write_network_installer() {
	cat >"$H/install-network.php" <<'EOF'
<?php
$_SERVER['HTTP_HOST'] = '127.0.0.1:' . getenv('WPB_PORT');
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['SERVER_NAME'] = '127.0.0.1';
$_SERVER['SERVER_PORT'] = getenv('WPB_PORT');
require getenv('WPB_WP') . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
$fail = function ($what, $err) { fwrite(STDERR, $what . ': ' . $err->get_error_message() . "\n"); exit(1); };

$admin = get_user_by('login', 'admin');
$site2 = wp_insert_site(array('domain' => '127.0.0.1:' . getenv('WPB_PORT'), 'path' => '/site2/',
	'title' => 'wpbridge test site 2', 'user_id' => $admin->ID));
if (is_wp_error($site2)) {
	$fail('site 2', $site2);
}
// wp_insert_site drops the ":PORT" of the domain (no ports on a network, officially); the test
// network lives on one, as the main site's row (populate_network) already does.
global $wpdb;
$domain = '127.0.0.1:' . getenv('WPB_PORT');
$wpdb->update($wpdb->blogs, array('domain' => $domain), array('blog_id' => $site2));
clean_blog_cache($site2);
switch_to_blog($site2);
update_option('home', 'http://' . $domain . '/site2');
update_option('siteurl', 'http://' . $domain . '/site2');
update_option('permalink_structure', '/%postname%/');
add_role('customer', 'Customer', array('read' => true));
restore_current_blog();
// wp_insert_site made the super admin site 2's administrator; a super admin needs no role there.
remove_user_from_blog($admin->ID, $site2);

$r = activate_plugin('wpbridge/wpbridge.php', '', true);
if (is_wp_error($r)) {
	$fail('network-activate the plugin', $r);
}

$siteadmin = wpmu_create_user('siteadmin2', getenv('WPB_SITEADMIN_PASS'), 'siteadmin2@example.com');
if (!$siteadmin) {
	fwrite(STDERR, "siteadmin2: not created\n");
	exit(1);
}
add_user_to_blog($site2, $siteadmin, 'administrator');
remove_user_from_blog($siteadmin, 1);
$app = WP_Application_Passwords::create_new_application_password($siteadmin, array('name' => 'wpbridge tests'));
if (is_wp_error($app)) {
	$fail('application password', $app);
}
// A second super admin, a subscriber of site 1 and no member of site 2 (the admin is the same).
$super = wpmu_create_user('superadmin2', getenv('WPB_SITEADMIN_PASS'), 'superadmin2@example.com');
if (!$super) {
	fwrite(STDERR, "superadmin2: not created\n");
	exit(1);
}
grant_super_admin($super);
add_user_to_blog(1, $super, 'subscriber');
$out = array(
	'WPTEST_SUPER_ADMIN_EMAIL=superadmin2@example.com',
	'WPTEST_SITE2_URL=' . untrailingslashit(get_home_url($site2)),
	'WPTEST_SITE2_ID=' . $site2,
	'WPTEST_SITE2_ADMIN_USERNAME=siteadmin2',
	'WPTEST_SITE2_ADMIN_APP_PASSWORD=' . $app[0],
);
file_put_contents(getenv('WPB_OUT'), implode("\n", $out) . "\n", FILE_APPEND);
EOF
}

do_start() {
	install_packages
	if [ -e "$H" ]; then
		log "stopping the previous instance in $H"
		do_stop
	fi
	port_busy && die "port $PORT on 127.0.0.1 is already in use by another process"

	mkdir -p "$H"
	chmod 700 "$H"
	local i

	# MariaDB on a private datadir, unix socket only.
	mariadb-install-db --no-defaults --datadir="$H/db" --user="$(id -un)" \
		--auth-root-authentication-method=normal --skip-test-db >"$H/mysql-install.log" 2>&1 ||
		die "mariadb-install-db failed" "$H/mysql-install.log"
	mariadbd --no-defaults --datadir="$H/db" --socket="$H/mysqld.sock" --pid-file="$H/mysqld.pid.server" \
		--user="$(id -un)" --skip-networking --log-error="$H/mysqld.err" \
		--character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci </dev/null >/dev/null 2>&1 &
	echo $! >"$H/mysqld.pid"
	for ((i = 0; ; i++)); do
		mariadb-admin --no-defaults --socket="$H/mysqld.sock" -uroot ping >/dev/null 2>&1 && break
		proc_is "$(cat "$H/mysqld.pid")" mariadbd || die "mariadbd exited" "$H/mysqld.err"
		[ "$i" -lt 300 ] || die "mariadbd not ready after 30s" "$H/mysqld.err"
		sleep 0.1
	done
	mariadb --no-defaults --socket="$H/mysqld.sock" -uroot -e "CREATE DATABASE wordpress CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci; CREATE USER 'wp'@'localhost' IDENTIFIED BY 'wp-test-pass'; GRANT ALL ON wordpress.* TO 'wp'@'localhost';" ||
		die "creating the database failed" "$H/mysqld.err"

	# WordPress tree (a copy: symlinks would make Debian's config load again).
	local tree
	tree=$(wp_tree)
	cp -a "$tree" "$H/wp"
	rm -f "$H/wp/wp-config.php" "$H/wp/.htaccess"
	# Debian links wp-content into /var/lib/wordpress; use a private one. The unpacked 6.8
	# package's absolute link would reach the installed 6.1's: take the package's own.
	if [ -L "$H/wp/wp-content" ]; then
		local src
		src=$(readlink "$H/wp/wp-content")
		case "$tree" in
		"$CACHE"/*) [ "${src#/}" != "$src" ] && src="$CACHE/root$src" ;;
		esac
		src=$(readlink -f "$src")
		rm "$H/wp/wp-content"
		cp -a "$src" "$H/wp/wp-content"
	fi
	mkdir -p "$H/wp/wp-content/mu-plugins"
	if [ "$MULTISITE" = 1 ]; then
		mkdir -p "$H/wp/wp-content/plugins/wpbridge"
		cp "$ROOT/wordpress/plugin/wpbridge.php" "$H/wp/wp-content/plugins/wpbridge/wpbridge.php"
	else
		cp "$ROOT/wordpress/plugin/wpbridge.php" "$H/wp/wp-content/mu-plugins/wpbridge.php"
	fi
	cp "$ROOT/scripts/wp/wpbridge-test-mail.php" "$H/wp/wp-content/mu-plugins/wpbridge-test-mail.php"
	cp "$ROOT/scripts/wp/wpbridge-test-hooks.php" "$H/wp/wp-content/mu-plugins/wpbridge-test-hooks.php"
	cp "$ROOT/scripts/wp/wpbridge-test-shop-manager.php" "$H/wp/wp-content/mu-plugins/wpbridge-test-shop-manager.php"
	mkdir -p "$H/hooks"
	write_config
	write_installer
	: >"$H/mail.jsonl"

	local admin_pass author_pass
	admin_pass=$(head -c 24 /dev/urandom | base64 | tr -d '\n/+=')
	author_pass=$(head -c 24 /dev/urandom | base64 | tr -d '\n/+=')
	(umask 077 && : >"$H/secrets")
	WPB_WP="$H/wp" WPB_PORT="$PORT" WPB_OUT="$H/secrets" WPB_ADMIN_PASS="$admin_pass" WPB_AUTHOR_PASS="$author_pass" \
		WPB_MULTISITE="$MULTISITE" php "$H/install.php" >"$H/install.log" 2>&1 || die "WordPress install failed" "$H/install.log"
	grep -q '^WP_APP_PASSWORD=.' "$H/secrets" || die "WordPress install wrote no application password" "$H/install.log"
	local router=()
	if [ "$MULTISITE" = 1 ]; then
		write_config network
		write_network_installer
		WPB_WP="$H/wp" WPB_PORT="$PORT" WPB_OUT="$H/secrets" WPB_SITEADMIN_PASS="$(head -c 24 /dev/urandom | base64 | tr -d '\n/+=')" \
			php "$H/install-network.php" >>"$H/install.log" 2>&1 || die "network install failed" "$H/install.log"
		grep -q '^WPTEST_SITE2_URL=.' "$H/secrets" || die "network install wrote no site 2" "$H/install.log"
		cp "$ROOT/scripts/wp/router.php" "$H/router.php"
		router=("$H/router.php")
	fi

	# Web server: php must be the simple command so $! is the php master.
	(cd "$H/wp" && PHP_CLI_SERVER_WORKERS=4 exec php -S "127.0.0.1:$PORT" -t "$H/wp" "${router[@]}" </dev/null >"$H/php.log" 2>&1) &
	echo $! >"$H/php.pid"

	local app_pass author_app_pass
	app_pass=$(sed -n 's/^WP_APP_PASSWORD=//p' "$H/secrets")
	author_app_pass=$(sed -n 's/^WPTEST_AUTHOR_APP_PASSWORD=//p' "$H/secrets")
	local version
	version=$(sed -n 's/^WPTEST_WP_VERSION=//p' "$H/secrets")
	for ((i = 0; ; i++)); do
		if WPB_AUTH="admin:$app_pass" WPB_URL="$URL/wp-json/wp/v2/users/me" php -r '
			$ctx = stream_context_create(array("http" => array("ignore_errors" => true, "timeout" => 2,
				"header" => "Authorization: Basic " . base64_encode(getenv("WPB_AUTH")))));
			$body = @file_get_contents(getenv("WPB_URL"), false, $ctx);
			exit(isset($http_response_header[0]) && strpos($http_response_header[0], " 200") !== false ? 0 : 1);
		' 2>/dev/null; then
			break
		fi
		proc_is "$(cat "$H/php.pid")" php || die "php -S exited" "$H/php.log"
		[ "$i" -lt 150 ] || die "WordPress REST API not ready after 30s" "$H/php.log"
		sleep 0.2
	done

	(
		umask 077
		cat >"$H/env" <<EOF
WP_URL=$URL
WP_USERNAME=admin
WP_APP_PASSWORD=$app_pass
WPTEST_AUTHOR_USERNAME=author1
WPTEST_AUTHOR_APP_PASSWORD=$author_app_pass
WPTEST_MAIL_LOG=$H/mail.jsonl
WPTEST_HOOK_DIR=$H/hooks
WPTEST_WP_VERSION=$version
WPTEST_DB_SOCKET=$H/mysqld.sock
EOF
		if [ "$MULTISITE" = 1 ]; then
			echo "WPTEST_MULTISITE=1"
			grep '^WPTEST_SITE2_\|^WPTEST_SUPER_ADMIN_' "$H/secrets"
		fi >>"$H/env"
	)
	rm -f "$H/secrets"
	log "WordPress $version ready at $URL; env file: $H/env"
}

[ -n "${2:-}" ] && VERSION=$2
case "${1:-}" in
start)
	[ "$VERSION" = 6.8 ] && fetch_68
	wp_tree >/dev/null
	do_start
	;;
fetch)
	[ "$VERSION" = 6.8 ] && fetch_68
	log "WordPress $VERSION tree: $(wp_tree)"
	;;
stop) do_stop ;;
env)
	[ -f "$H/env" ] || die "$H/env not found (run: $0 start)"
	cat "$H/env"
	;;
*)
	echo "usage: $0 start|stop|env|fetch [6.1|6.8]" >&2
	exit 2
	;;
esac
