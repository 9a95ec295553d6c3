<?php
// wpbench's helper for measuring WP Fusion in the test WordPress of
// scripts/wordpress.sh (run with the PHP CLI, as wordpress.sh runs its
// installer; no wp-cli). argv[1] is the command, its input is JSON on stdin,
// its answer one line "WPBENCH-JSON {...}" on stdout.
//
//   link        [{email, contact_id, tags}]: users linked the way WP Fusion links them
//               (meta activecampaign_contact_id and activecampaign_tags), made by core only
//   activate    {options}: activate wp-fusion/wp-fusion.php and store its settings (wpf_options)
//   status      load the site once (WP Fusion's init creates its log table) and report its state
//   check       [{email}]: each user's id, contact id meta and tags meta, by email
//   deactivate  deactivate WP Fusion (its deactivation hook) and delete its options,
//               transients and log table
$_SERVER['HTTP_HOST'] = '127.0.0.1:' . getenv('WPB_PORT');
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['SERVER_NAME'] = '127.0.0.1';
$_SERVER['SERVER_PORT'] = getenv('WPB_PORT');
require getenv('WPB_WP') . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';

const WPB_PLUGIN = 'wp-fusion/wp-fusion.php';

function wpb_out($v) {
	echo "\nWPBENCH-JSON " . json_encode($v) . "\n";
	exit(0);
}

function wpb_fail($msg) {
	fwrite(STDERR, $msg . "\n");
	exit(1);
}

$in = json_decode((string) stream_get_contents(STDIN), true);
switch ($argv[1] ?? '') {
case 'link':
	$out = array();
	foreach ((array) $in as $u) {
		$id = wp_insert_user(array(
			'user_login' => $u['email'],
			'user_email' => $u['email'],
			'user_pass'  => wp_generate_password(16, false),
			'role'       => 'subscriber',
		));
		if (is_wp_error($id)) {
			wpb_fail('link ' . $u['email'] . ': ' . $id->get_error_message());
		}
		update_user_meta($id, 'activecampaign_contact_id', (string) $u['contact_id']);
		if (!empty($u['tags'])) {
			update_user_meta($id, 'activecampaign_tags', array_values($u['tags']));
		}
		$out[] = array('email' => $u['email'], 'user_id' => $id);
	}
	wpb_out($out);

case 'activate':
	$r = activate_plugin(WPB_PLUGIN);
	if (is_wp_error($r)) {
		wpb_fail('activate: ' . $r->get_error_message());
	}
	$opts = $in['options'];
	update_option('wpf_available_tags', $in['available_tags'], false);
	update_option('wpf_options', $opts);
	wpb_out(array('active' => is_plugin_active(WPB_PLUGIN)));

case 'status':
	global $wpdb;
	$o = get_option('wpf_options', array());
	wpb_out(array(
		'active'     => is_plugin_active(WPB_PLUGIN),
		'version'    => defined('WP_FUSION_VERSION') ? WP_FUSION_VERSION : '',
		'configured' => !empty($o['connection_configured']),
		'crm'        => function_exists('wp_fusion') && is_object(wp_fusion()->crm) && is_object(wp_fusion()->crm->crm) ? wp_fusion()->crm->crm->slug : '',
		'log_table'  => $wpdb->get_var($wpdb->prepare('SHOW TABLES LIKE %s', $wpdb->prefix . 'wpf_logging')) === $wpdb->prefix . 'wpf_logging',
		'wp'         => get_bloginfo('version'),
	));

case 'check':
	$out = array();
	foreach ((array) $in as $u) {
		$user = get_user_by('email', $u['email']);
		if (!$user) {
			$out[] = array('email' => $u['email'], 'user_id' => 0);
			continue;
		}
		$tags = get_user_meta($user->ID, 'activecampaign_tags', true);
		$out[] = array(
			'email'      => $u['email'],
			'user_id'    => $user->ID,
			'contact_id' => (string) get_user_meta($user->ID, 'activecampaign_contact_id', true),
			'tags'       => is_array($tags) ? array_values($tags) : array(),
		);
	}
	wpb_out($out);

case 'deactivate':
	global $wpdb;
	if (is_plugin_active(WPB_PLUGIN)) {
		deactivate_plugins(WPB_PLUGIN);
	}
	foreach (array('wpf_', 'wpfb_', '_transient_wpf_', '_transient_timeout_wpf_') as $prefix) {
		$like  = $wpdb->esc_like($prefix) . '%';
		$names = $wpdb->get_col($wpdb->prepare("SELECT option_name FROM {$wpdb->options} WHERE option_name LIKE %s", $like));
		foreach ($names as $name) {
			delete_option($name);
		}
	}
	$wpdb->query("DROP TABLE IF EXISTS {$wpdb->prefix}wpf_logging");
	wp_cache_flush();
	wpb_out(array('active' => is_plugin_active(WPB_PLUGIN)));

default:
	wpb_fail('usage: php wpfusion.php link|activate|status|check|deactivate');
}
