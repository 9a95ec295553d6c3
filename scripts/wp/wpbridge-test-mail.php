<?php
/**
 * Plugin Name: wpbridge test mail capture
 * Description: TESTS ONLY. Writes every wp_mail() call as one JSON line to WPBRIDGE_TEST_MAIL_LOG instead of sending it.
 */

if (!defined('ABSPATH') || !defined('WPBRIDGE_TEST_MAIL_LOG')) {
	return;
}

add_filter('pre_wp_mail', function ($ret, $m) {
	$line = wp_json_encode(array(
		'to'      => array_values((array) $m['to']),
		'subject' => (string) $m['subject'],
		'message' => (string) $m['message'],
	));
	file_put_contents(WPBRIDGE_TEST_MAIL_LOG, $line . "\n", FILE_APPEND | LOCK_EX);
	return true;
}, 10, 2);
