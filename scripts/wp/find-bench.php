<?php
// php find-bench.php WP_DIR SEEDED [RUNS]: times, in-process, the companion plugin's find by
// activecampaign_contact_id: the exact SQL it runs and the whole WPBridge_Plugin::find_by_meta,
// for a seeded member (a hit) and for a contact id nobody has (a miss). See seed-users.sh.
$_SERVER['HTTP_HOST']   = '127.0.0.1';
$_SERVER['REQUEST_URI'] = '/';
require $argv[1] . '/wp-load.php';
global $wpdb;
$seeded = (int) $argv[2];
$runs   = isset($argv[3]) ? (int) $argv[3] : 300;
$key    = 'activecampaign_contact_id';
$sql    = function ($v) use ($wpdb, $key) {
	return $wpdb->get_col($wpdb->prepare("SELECT user_id FROM {$wpdb->usermeta} WHERE meta_key = %s AND meta_value = %s", $key, $v));
};
$find = function ($v) use ($key) {
	wp_cache_flush(); // as in a fresh request: nothing cached
	return WPBridge_Plugin::find_by_meta($key, $v);
};
$pct = function ($a, $p) { sort($a); return $a[min(count($a) - 1, (int) floor($p * count($a)))]; };
foreach (array('SQL' => $sql, 'find_by_meta' => $find) as $name => $fn) {
	foreach (array('hit', 'miss') as $case) {
		$t = array();
		for ($i = 0; $i < $runs; $i++) {
			$v  = 'hit' === $case ? (string) (800000000 + mt_rand(1, $seeded)) : (string) (700000000 + mt_rand(1, 1000000));
			$t0 = hrtime(true);
			$r  = $fn($v);
			$t[] = (hrtime(true) - $t0) / 1e6;
			if (('hit' === $case) !== !empty($r)) {
				fwrite(STDERR, "$name $case $v: unexpected result\n");
				exit(1);
			}
		}
		printf("%-13s %-4s p50 %7.3f ms  p90 %7.3f ms  max %7.3f ms (%d runs)\n", $name, $case, $pct($t, 0.5), $pct($t, 0.9), max($t), $runs);
	}
}
// Writes: a member as the plugin creates one (wp_insert_user, then its contact id and tags), and
// one contact-id update; the users are deleted again.
$t_ins = $t_upd = array();
$made  = array();
for ($i = 0; $i < min(50, $runs); $i++) {
	$login = 'findbench_' . wp_generate_password(8, false);
	$t0    = hrtime(true);
	$id    = wp_insert_user(array('user_login' => $login, 'user_email' => $login . '@seed.invalid', 'user_pass' => wp_generate_password(20), 'role' => 'subscriber'));
	add_user_meta($id, $key, (string) (600000000 + $i), true);
	add_user_meta($id, 'activecampaign_tags', array('customer'), true);
	$t_ins[] = (hrtime(true) - $t0) / 1e6;
	$made[]  = $id;
	$t0      = hrtime(true);
	update_user_meta($id, $key, (string) (610000000 + $i));
	$t_upd[] = (hrtime(true) - $t0) / 1e6;
}
require_once ABSPATH . 'wp-admin/includes/user.php';
foreach ($made as $id) {
	wp_delete_user($id);
}
printf("%-13s %-4s p50 %7.3f ms  p90 %7.3f ms  max %7.3f ms (%d runs)\n", 'insert user', '', $pct($t_ins, 0.5), $pct($t_ins, 0.9), max($t_ins), count($t_ins));
printf("%-13s %-4s p50 %7.3f ms  p90 %7.3f ms  max %7.3f ms (%d runs)\n", 'update meta', '', $pct($t_upd, 0.5), $pct($t_upd, 0.9), max($t_upd), count($t_upd));
$plan = $wpdb->get_row($wpdb->prepare("EXPLAIN SELECT user_id FROM {$wpdb->usermeta} WHERE meta_key = %s AND meta_value = %s", $key, '800000001'), ARRAY_A);
printf("plan: key=%s rows=%s extra=%s\n", $plan['key'], $plan['rows'], $plan['Extra']);
