<?php
// outbox-bench.php WP_DIR [N]: the PHP time the companion plugin's outbox adds to a sign-up.
// Creates 2N users with wp_insert_user (as a registration form does) plus one mapped meta write,
// alternating the outbox enabled and disabled (after a warm-up), each followed by the outbox's
// shutdown write, and prints for both the mean, median and p95 of the whole sign-up and of the
// plugin's own work (its hooks and its write, timed with hrtime). Restores the outbox settings and deletes
// its users and their events. Run against a test WordPress only:
//   php scripts/outbox-bench.php /tmp/wpbridge-wp/wp 300
$_SERVER['HTTP_HOST']   = '127.0.0.1';
$_SERVER['REQUEST_URI'] = '/';
require $argv[1] . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/user.php';
$n     = isset($argv[2]) ? (int) $argv[2] : 200;
$saved = get_option(WPBridge_Outbox::SETTINGS);
$own   = 0.0; // nanoseconds spent in the outbox's hooks
// The outbox's own hooks, replaced by timed calls of the same methods.
$hooks = array('user_register' => array('on_register', 1), 'profile_update' => array('on_update', 2),
	'added_user_meta' => array('on_meta', 3), 'updated_user_meta' => array('on_meta', 3));
foreach ($hooks as $h => $m) {
	remove_action($h, array('WPBridge_Outbox', $m[0]), 10);
	add_action($h, function (...$args) use (&$own, $m) {
		$t0 = hrtime(true);
		call_user_func_array(array('WPBridge_Outbox', $m[0]), $args);
		$own += hrtime(true) - $t0;
	}, 10, $m[1]);
}
// wpb_run makes 2n sign-ups, alternating the outbox enabled and disabled so that the machine's
// noise falls on both alike, and prints both.
function wpb_run($n, &$own) {
	global $wpdb;
	$all = array(array(), array());
	$mine = array(array(), array());
	$ids = array();
	for ($i = 0; $i < 2 * $n; $i++) {
		$on = 1 === $i % 2;
		update_option(WPBridge_Outbox::SETTINGS, array('enabled' => $on, 'meta_keys' => array('billing_phone'), 'user' => 0), true);
		$login = 'bench' . wp_generate_password(10, false);
		$before = $own;
		$t0 = hrtime(true);
		$id = wp_insert_user(array('user_login' => $login, 'user_email' => $login . '@example.com', 'user_pass' => 'x' . $login, 'first_name' => 'B', 'last_name' => 'N', 'role' => 'subscriber'));
		update_user_meta($id, 'billing_phone', '555');
		$t1 = hrtime(true);
		WPBridge_Outbox::flush();
		$t2 = hrtime(true);
		$ids[] = $id;
		$all[(int) $on][] = ($t2 - $t0) / 1e6;
		$mine[(int) $on][] = ($own - $before + ($t2 - $t1)) / 1e6;
	}
	$p = function ($a, $q) { sort($a); return $a[(int) floor((count($a) - 1) * $q)]; };
	foreach (array(0, 1) as $on) {
		printf("outbox %-8s sign-up: mean %.3f ms, median %.3f ms, p95 %.3f ms; the outbox's own hooks+write: mean %.3f ms, median %.3f ms, p95 %.3f ms\n",
			$on ? 'enabled' : 'disabled', array_sum($all[$on]) / $n, $p($all[$on], 0.5), $p($all[$on], 0.95),
			array_sum($mine[$on]) / $n, $p($mine[$on], 0.5), $p($mine[$on], 0.95));
	}
	update_option(WPBridge_Outbox::SETTINGS, array('enabled' => false, 'meta_keys' => array(), 'user' => 0), true);
	foreach ($ids as $id) {
		wp_delete_user($id);
		$wpdb->query($wpdb->prepare('DELETE FROM ' . WPBridge_Outbox::table() . ' WHERE user_id = %d', $id));
	}
}
if (WPBridge_Outbox::DB_VERSION !== get_option(WPBridge_Outbox::DB_OPTION)) {
	WPBridge_Outbox::install();
}
wpb_run(10, $own); // warm-up
echo "---\n";
wpb_run($n, $own);
if (false === $saved) {
	delete_option(WPBridge_Outbox::SETTINGS);
} else {
	update_option(WPBridge_Outbox::SETTINGS, $saved, true);
}
