<?php
/**
 * Plugin Name: wpbridge test shop manager
 * Description: Tests only. WooCommerce's shop manager in small: a user holding a role whose slug
 * starts with "shopmgr_" may edit (promote, remove, delete) only users holding a role whose slug
 * starts with "customer" (WooCommerce limits edit_user to customers through map_meta_cap the same
 * way), whatever edit_users it has.
 */

add_filter('map_meta_cap', function ($caps, $cap, $user_id, $args) {
	if (!in_array($cap, array('edit_user', 'promote_user', 'remove_user', 'delete_user'), true) || empty($args[0]) || (int) $args[0] === (int) $user_id) {
		return $caps;
	}
	$me = get_userdata($user_id);
	if (!$me || !array_filter((array) $me->roles, function ($r) { return 0 === strpos($r, 'shopmgr_'); })) {
		return $caps;
	}
	$target = get_userdata((int) $args[0]);
	if ($target && array_filter((array) $target->roles, function ($r) { return 0 === strpos($r, 'customer'); })) {
		return $caps;
	}
	return array('do_not_allow');
}, 10, 4);
