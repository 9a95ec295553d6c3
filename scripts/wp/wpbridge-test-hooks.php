<?php
/**
 * Plugin Name: wpbridge test hook recorder
 * Description: TESTS ONLY. Records every action wpbridge's plugin fires (WP Fusion's, wpbridge's own, core's role actions) with its arguments, one JSON line per call in WPBRIDGE_TEST_HOOK_DIR/USER_ID.jsonl. A user whose meta wpbridge_test_throw names an action gets a listener that throws on it (before the recorder, so the recorder shows the other listeners still run); wpbridge_test_fatal names an action on which the request dies once with a PHP fatal error after the write (a failed request).
 */

if (!defined('ABSPATH') || !defined('WPBRIDGE_TEST_HOOK_DIR')) {
	return;
}

final class WPBridge_Test_Hooks {
	const HOOKS = array(
		'wpf_tags_applied' => 2, 'wpf_tags_removed' => 2, 'wpf_tags_modified' => 2, 'wpf_user_imported' => 2,
		'wpf_user_updated' => 2, 'set_user_role' => 3, 'add_user_role' => 2, 'remove_user_role' => 2,
		'wpbridge_user_created' => 2, 'wpbridge_user_updated' => 2, 'wpbridge_tags_changed' => 4,
		'wpbridge_access_removed' => 2, 'wpbridge_user_deleted' => 2,
	);

	static function record($hook, $args) {
		$id = (int) $args[0];
		if ($id <= 0) {
			return;
		}
		$line = wp_json_encode(array('hook' => $hook, 'args' => $args));
		file_put_contents(WPBRIDGE_TEST_HOOK_DIR . '/' . $id . '.jsonl', $line . "\n", FILE_APPEND | LOCK_EX);
	}

	static function init() {
		foreach (self::HOOKS as $hook => $n) {
			add_action($hook, function (...$args) use ($hook) {
				$id = (int) $args[0];
				if ($hook === get_user_meta($id, 'wpbridge_test_throw', true)) {
					throw new RuntimeException('test listener failed on purpose');
				}
			}, 5, $n);
			add_action($hook, function (...$args) use ($hook) {
				WPBridge_Test_Hooks::record($hook, $args);
			}, 10, $n);
			add_action($hook, function (...$args) use ($hook) {
				$id = (int) $args[0];
				if ($hook === get_user_meta($id, 'wpbridge_test_fatal', true)) {
					delete_user_meta($id, 'wpbridge_test_fatal'); // once
					trigger_error('test listener dies on purpose', E_USER_ERROR);
				}
			}, 20, $n);
		}
	}
}

WPBridge_Test_Hooks::init();
