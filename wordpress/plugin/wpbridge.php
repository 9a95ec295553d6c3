<?php
/**
 * Plugin Name: wpbridge
 * Description: REST API helpers for wpbridge (ActiveCampaign to WordPress user sync): user meta, find a user by meta, the new-user email, password-reset keys and emails, a status route.
 * Version: 1.4.0
 * Requires at least: 5.7
 * Requires PHP: 7.4
 * License: MIT
 *
 * Works as a must-use plugin (copy into wp-content/mu-plugins/) or as a normal plugin.
 * Every route and field needs what wpbridge's own user must have (create_users, edit_users,
 * list_users, promote_users) and edit_user on each user it answers, checks or changes;
 * keys holding capabilities (of any table prefix), sessions, core user fields or "protected"
 * (_-prefixed) data are never read or written. Requests made with an application password
 * (wpbridge's) never change the roles, password or email of a user who can manage the site, never
 * delete one (403 wpbridge_protected_user), and never assign a role that can (403
 * wpbridge_privileged_role). A delete carrying wpbridge_if_state is made only while the user is
 * still in that state (412 wpbridge_stale).
 * WordPress's own permission checks stay in force.
 */

if (!defined('ABSPATH') || defined('WPBRIDGE_VERSION')) {
	return;
}
define('WPBRIDGE_VERSION', '1.4.0');

final class WPBridge_Plugin {
	const CORE_COLUMNS = array('id', 'user_login', 'user_pass', 'user_nicename', 'user_email', 'user_url',
		'user_registered', 'user_activation_key', 'user_status', 'display_name', 'spam', 'deleted');

	/**
	 * Core user fields kept in user meta, and the names of role fields. They are written through
	 * the users endpoint, which sanitises them; through wpbridge_meta they would skip that.
	 */
	const CORE_FIELDS = array('first_name', 'last_name', 'nickname', 'description', 'role', 'roles', 'locale',
		'rich_editing', 'syntax_highlighting', 'comment_shortcuts', 'admin_color', 'use_ssl',
		'show_admin_bar_front');

	/** Other meta WordPress keeps for itself (sessions, multisite bookkeeping). */
	const CORE_META = array('session_tokens', 'primary_blog', 'source_domain');

	/**
	 * The admin-level capabilities: a user holding any of them can manage the site, and an application
	 * password never changes their roles, password or email. The same list as wpbridge's
	 * wordpress.AdminCapabilities (Go), in the same order; wordpress/admin_test.go checks both.
	 */
	const ADMIN_CAPS = array('edit_users', 'promote_users', 'manage_options', 'unfiltered_html', 'activate_plugins',
		'install_plugins', 'upload_plugins', 'edit_plugins', 'delete_plugins', 'update_plugins',
		'install_themes', 'edit_themes', 'delete_themes', 'update_themes', 'edit_theme_options',
		'edit_files', 'unfiltered_upload', 'create_users', 'delete_users', 'update_core', 'export', 'import');

	/** True when $key must never be read or written through the plugin. */
	static function is_protected($key) {
		global $wpdb;
		if (!is_string($key) || !preg_match('/^[A-Za-z0-9_.:-]{1,255}$/', $key) || is_protected_meta($key, 'user')) {
			return true;
		}
		$k = strtolower($key); // meta_key compares case-insensitively in MySQL collations.
		if (in_array($k, self::CORE_COLUMNS, true) || in_array($k, self::CORE_FIELDS, true) || in_array($k, self::CORE_META, true)
			|| preg_match('/(capabilities|user_level|user-settings|user-settings-time)$/', $k)) {
			return true; // The suffixes cover every table prefix sharing this users table (wpx_capabilities).
		}
		foreach (array($wpdb->base_prefix, $wpdb->get_blog_prefix()) as $prefix) {
			if ('' !== $prefix && 0 === strpos($k, strtolower($prefix))) {
				return true;
			}
		}
		return false;
	}

	/** What wpbridge's own user must have: every route and field of the plugin requires all of them. */
	const WPBRIDGE_CAPS = array('create_users', 'edit_users', 'list_users', 'promote_users');

	/** The WPBRIDGE_CAPS the current user lacks. */
	static function missing_caps() {
		return array_values(array_filter(self::WPBRIDGE_CAPS, function ($cap) { return !current_user_can($cap); }));
	}

	/**
	 * Whether the current user may manage the plugin fields of user $id (0: a user being created):
	 * every WPBRIDGE_CAPS and edit_user on $id. (A shop manager's edit_users, limited to customers
	 * by map_meta_cap, is not enough.)
	 */
	static function can_edit($id) {
		return !self::missing_caps() && ($id <= 0 || current_user_can('edit_user', $id));
	}

	/** permission_callback of the plugin's routes: true, or 403 naming the WPBRIDGE_CAPS missing. */
	static function can_use() {
		$missing = self::missing_caps();
		if (!$missing) {
			return true;
		}
		return new WP_Error('rest_forbidden', sprintf('Sorry, you are not allowed to do that: wpbridge\'s user needs the capabilities %s.',
			implode(', ', $missing)), array('status' => rest_authorization_required_code(), 'missing_capabilities' => $missing));
	}

	static function forbidden() {
		return new WP_Error('rest_forbidden', __('Sorry, you are not allowed to do that.'), array('status' => rest_authorization_required_code()));
	}

	/** Validates a wpbridge_meta object: allowed keys, values string | list of strings | null. */
	static function check_meta($meta) {
		if (!is_array($meta)) {
			return new WP_Error('wpbridge_invalid_meta', 'wpbridge_meta must be an object.', array('status' => 400));
		}
		foreach ($meta as $key => $value) {
			if (self::is_protected((string) $key)) {
				return new WP_Error('wpbridge_protected_meta', sprintf('The meta key "%s" is protected.', $key), array('status' => 400, 'key' => $key));
			}
			$ok = null === $value || is_string($value) || (is_array($value) && wp_is_numeric_array($value) && count($value) === count(array_filter($value, 'is_string')));
			if (!$ok) {
				return new WP_Error('wpbridge_invalid_meta', sprintf('The meta key "%s" needs a string, a list of strings or null.', $key), array('status' => 400, 'key' => $key));
			}
		}
		return true;
	}

	/** get_callback of wpbridge_meta: single-valued, unprotected meta as string or list of strings. */
	static function get_meta($user) {
		$id = (int) (is_array($user) ? $user['id'] : $user->ID);
		if (!self::can_edit($id)) {
			return null; // A read never fails the whole response; the field is simply empty.
		}
		$out = array();
		foreach ((array) get_user_meta($id) as $key => $rows) {
			if (!is_array($rows) || 1 !== count($rows) || self::is_protected((string) $key)) { // false for a user deleted meanwhile
				continue;
			}
			$value = maybe_unserialize($rows[0]);
			if (is_array($value)) {
				$list = array_values(array_filter($value, 'is_scalar'));
				if (count($list) !== count($value)) {
					continue;
				}
				$out[$key] = array_map('strval', $list);
			} elseif (is_scalar($value)) {
				$out[$key] = (string) $value;
			}
		}
		return (object) $out;
	}

	/** update_callback of wpbridge_meta. Arrays are stored as one serialized array row (WP Fusion's format). */
	static function update_meta($meta, $user) {
		if (!self::can_edit($user->ID)) {
			return self::forbidden();
		}
		$ok = self::check_meta($meta);
		if (is_wp_error($ok)) {
			return $ok;
		}
		foreach ($meta as $key => $value) {
			if (null === $value) {
				delete_user_meta($user->ID, $key);
			} else {
				update_user_meta($user->ID, $key, wp_slash(is_array($value) ? array_values($value) : $value));
			}
		}
		return true;
	}

	/** The users-endpoint fields WordPress keeps in user meta, each saved through its pre_user_ filter. */
	const META_FIELDS = array('first_name', 'last_name', 'nickname', 'description');

	/**
	 * rest_dispatch_request: an update from wpbridge (it carries wpbridge_hooks) that writes nothing
	 * but wpbridge_meta and the names WordPress keeps in user meta (META_FIELDS) is made without
	 * wp_update_user, which would save every core field and meta of the user again (about 3 ms) for a
	 * few meta rows: the meta are written as the users endpoint writes wpbridge_meta, the names as
	 * wp_insert_user saves them (through the same pre_user_ filters, after the route's sanitising),
	 * and the actions fire as for any wpbridge write. It runs where the update's callback would:
	 * after the route's permission check, its argument validation and the plugin's own checks
	 * (before_callbacks: rights, meta keys, wpbridge_if_state). Core's profile_update,
	 * insert_user_meta and rest_insert_user do not fire for such a write (WP Fusion saves tags and
	 * names with update_user_meta too).
	 */
	static function meta_only_update($result, $request, $route, $handler) {
		$cb = isset($handler['callback']) ? $handler['callback'] : null;
		if (null !== $result || !is_array($cb) || 2 !== count($cb) || !($cb[0] instanceof WP_REST_Users_Controller)
			|| !is_string($cb[1]) || 'update_item' !== strtolower($cb[1])
			|| !is_array($request->get_param('wpbridge_hooks')) || !is_array($request->get_param('wpbridge_meta'))) {
			return $result;
		}
		$sent = array_keys((array) $request->get_json_params() + (array) $request->get_body_params());
		if (array_diff($sent, array_merge(array('wpbridge_meta', 'wpbridge_hooks', 'wpbridge_if_state', 'context'), self::META_FIELDS))) {
			return $result;
		}
		$user = get_userdata((int) $request['id']);
		if (!$user) {
			return $result; // the users endpoint answers its 404
		}
		WPBridge_Hooks::before_insert((object) array('ID' => $user->ID), $request);
		$ok = self::update_meta($request->get_param('wpbridge_meta'), $user);
		if (is_wp_error($ok)) {
			return $ok;
		}
		foreach (self::META_FIELDS as $field) {
			$value = $request->get_param($field);
			if (is_string($value) && ('nickname' !== $field || '' !== $value)) {
				// As the users endpoint: wp_update_user gets the value slashed, wp_insert_user runs the
				// pre_user_ filter on it (wp_filter_kses expects slashes) and update_user_meta unslashes.
				update_user_meta($user->ID, $field, apply_filters('pre_user_' . $field, wp_slash($value)));
			}
		}
		clean_user_cache($user->ID);
		$user = get_userdata($user->ID);
		WPBridge_Hooks::after_insert($user, $request, false);
		$request->set_param('context', 'edit');
		$response = rest_ensure_response($cb[0]->prepare_item_for_response($user, $request));
		$response->header('X-WPBridge-Write', 'meta'); // says which way the write went (tests, troubleshooting)
		return $response;
	}

	static function notify($on, $user) {
		if (!self::can_edit($user->ID)) {
			return self::forbidden();
		}
		if ($on) {
			wp_new_user_notification($user->ID, null, 'user');
		}
		return true;
	}

	/**
	 * The user a users-endpoint write targets: 0 for a create, the user id for an update, null when
	 * $handler is not a users write. Matched on the handler, not the route string: WordPress
	 * matches routes case-insensitively, so /WP/V2/USERS/5 reaches the same handler.
	 */
	static function write_target($handler, $request) {
		$cb = isset($handler['callback']) ? $handler['callback'] : null;
		if (!is_array($cb) || 2 !== count($cb) || !($cb[0] instanceof WP_REST_Users_Controller) || !is_string($cb[1])) {
			return null;
		}
		switch (strtolower($cb[1])) {
			case 'create_item':
				return 0;
			case 'update_item':
				return (int) $request['id'];
			case 'update_current_item':
				return get_current_user_id();
		}
		return null;
	}

	/** Runs before any users-route callback writes: refuses early so nothing is half-written. */
	static function before_callbacks($response, $handler, $request) {
		if (is_wp_error($response)) {
			return $response;
		}
		$cb = isset($handler['callback']) ? $handler['callback'] : null;
		if (is_array($cb) && 2 === count($cb) && $cb[0] instanceof WP_REST_Users_Controller && is_string($cb[1])
			&& in_array(strtolower($cb[1]), array('delete_item', 'delete_current_item'), true)) {
			return self::delete_refusal($response, $request, 'delete_item' === strtolower($cb[1]) ? (int) $request['id'] : get_current_user_id());
		}
		$id = self::write_target($handler, $request);
		if (null === $id) {
			return $response;
		}
		$has_meta = null !== $request->get_param('wpbridge_meta');
		$ours = $has_meta || null !== $request->get_param('send_user_notification') || null !== $request->get_param('wpbridge_hooks');
		if ($ours && !self::can_edit($id)) {
			return self::forbidden();
		}
		if ($has_meta) {
			$ok = self::check_meta($request->get_param('wpbridge_meta'));
			if (is_wp_error($ok)) {
				return $ok;
			}
		}
		$stale = self::stale_refusal($id, $request);
		if (null !== $stale) {
			return $stale;
		}
		$user = $id > 0 ? get_userdata($id) : false;
		$changes = $user ? self::sensitive_changes($user, $request) : array();
		if ($changes && self::via_app_password() && self::is_admin_level($user)) {
			return self::protected_user($user, $changes);
		}
		$refused = self::admin_level_role_refusal($user, $request);
		return null !== $refused ? $refused : $response;
	}

	/**
	 * A users-endpoint delete of user $id: 412 wpbridge_stale when it carries wpbridge_if_state and
	 * the user changed since (an administrator promoted between wpbridge's check and its delete);
	 * 403 wpbridge_protected_user when made with an application password and the user can manage
	 * the site. $response otherwise.
	 */
	static function delete_refusal($response, $request, $id) {
		$stale = self::stale_refusal($id, $request);
		if (null !== $stale) {
			return $stale;
		}
		$user = $id > 0 ? get_userdata($id) : false;
		if ($user && self::via_app_password() && self::is_admin_level($user)) {
			return new WP_Error('wpbridge_protected_user', sprintf(
				'User %d can manage this site: wpbridge never deletes it. Delete it in wp-admin if needed.', $user->ID
			), array('status' => 403, 'fields' => array('delete')));
		}
		return $response;
	}

	/* ---- Privileged roles: never handed out through an application password. ---- */

	/** The ADMIN_CAPS role $slug holds (administrator: all of them; an unknown role: none). */
	static function role_admin_caps($slug) {
		if ('administrator' === $slug) {
			return self::ADMIN_CAPS;
		}
		$role = get_role($slug);
		if (!$role) {
			return array();
		}
		return array_values(array_filter(self::ADMIN_CAPS, function ($cap) use ($role) { return $role->has_cap($cap); }));
	}

	/**
	 * 403 wpbridge_privileged_role when a request made with an application password would give
	 * $user (false: the user being created) a role holding any of ADMIN_CAPS it does not hold
	 * yet; null otherwise. Roles the user already holds are no assignment.
	 */
	static function admin_level_role_refusal($user, $request) {
		if (null === $request['roles'] || !self::via_app_password()) {
			return null;
		}
		$have = $user ? array_map('strval', (array) $user->roles) : array();
		foreach (array_map('strval', (array) $request['roles']) as $slug) {
			if (in_array($slug, $have, true) || !self::role_admin_caps($slug)) {
				continue;
			}
			return new WP_Error('wpbridge_privileged_role', sprintf(
				'The role "%s" can manage this site or its users: wpbridge never assigns it. Assign it in wp-admin if needed.', $slug
			), array('status' => 403, 'role' => $slug));
		}
		return null;
	}

	/** role_admin_capabilities of the status route: every role with the ADMIN_CAPS it holds. */
	static function roles_admin_caps() {
		$out = array();
		foreach (array_keys(wp_roles()->get_names()) as $slug) {
			$out[$slug] = self::role_admin_caps((string) $slug);
		}
		return (object) $out;
	}

	/* ---- End of privileged roles. ---- */

	/** True when the current request was authenticated with an application password (wpbridge's way in). */
	static function via_app_password() {
		return (function_exists('rest_get_authenticated_app_password') && rest_get_authenticated_app_password())
			|| did_action('application_password_did_authenticate');
	}

	/**
	 * True when $user is admin-level: a super admin or a holder of any ADMIN_CAPS, by role or granted
	 * directly. Held as stored counts too, not only as user_can grants it: WordPress maps some of these
	 * (upload_plugins, unfiltered_upload) to other or no capabilities, and roles count as stored too.
	 */
	static function is_admin_level($user) {
		if (is_multisite() && is_super_admin($user->ID)) {
			return true;
		}
		foreach (self::ADMIN_CAPS as $cap) {
			if (!empty($user->allcaps[$cap]) || user_can($user, $cap)) {
				return true;
			}
		}
		return false;
	}

	/** The request fields that would change $user's roles, password or email (same values are no change). */
	static function sensitive_changes($user, $request) {
		$changes = array();
		if (null !== $request['roles']) {
			$want = array_values(array_unique(array_map('strval', (array) $request['roles'])));
			$have = array_values(array_map('strval', (array) $user->roles));
			sort($want);
			sort($have);
			if ($want !== $have) {
				$changes[] = 'roles';
			}
		}
		$pass = $request['password'];
		if (null !== $pass && !(is_string($pass) && '' !== $pass && wp_check_password($pass, $user->user_pass, $user->ID))) {
			$changes[] = 'password';
		}
		if (null !== $request['email'] && (string) $request['email'] !== $user->user_email) {
			$changes[] = 'email';
		}
		return $changes;
	}

	static function protected_user($user, $changes) {
		return new WP_Error('wpbridge_protected_user', sprintf(
			'User %d can manage this site: wpbridge never changes its %s. Change it in wp-admin if needed.',
			$user->ID, implode(', ', $changes)
		), array('status' => 403, 'fields' => $changes));
	}

	/**
	 * rest_pre_insert_user: an update that sets the password the user already has
	 * changes nothing, so WordPress does not send a "password changed" email each
	 * time a mapped password field is synced.
	 */
	static function keep_same_password($prepared, $request) {
		if (!empty($prepared->ID) && isset($prepared->user_pass) && is_string($prepared->user_pass)) {
			$current = get_userdata((int) $prepared->ID);
			if ($current && wp_check_password($prepared->user_pass, $current->user_pass, $current->ID)) {
				unset($prepared->user_pass);
			}
		}
		return $prepared;
	}

	/**
	 * rest_pre_insert_user, second line of defence behind before_callbacks (which answers 403 first):
	 * should any path reach the insert with an application password, the roles, password and email
	 * of a user who can manage the site are left as they are. Core sets roles after the insert from
	 * $request['roles'], so that parameter is dropped too.
	 */
	static function keep_admin_level_user($prepared, $request) {
		$user = !empty($prepared->ID) ? get_userdata((int) $prepared->ID) : false;
		if (!$user || !self::via_app_password() || !self::is_admin_level($user)) {
			return $prepared;
		}
		unset($prepared->user_pass, $prepared->user_email, $prepared->role);
		if ($request instanceof WP_REST_Request) {
			$request->set_param('roles', null);
		}
		return $prepared;
	}

	/** GET /wpbridge/v1/users/by-meta?key=K&value=V */
	static function by_meta($request) {
		$key = (string) $request['key'];
		if (self::is_protected($key)) {
			return self::protected_key($key);
		}
		$user = self::find_by_meta($key, (string) $request['value']);
		if (!$user) {
			return new WP_Error('wpbridge_user_not_found', 'No user has that meta value.', array('status' => 404));
		}
		if (!self::can_edit($user->ID)) {
			return self::forbidden();
		}
		return self::user_data($user);
	}

	static function protected_key($key) {
		return new WP_Error('wpbridge_protected_meta', sprintf('The meta key "%s" is protected.', $key), array('status' => 400, 'key' => $key));
	}

	/** The user (lowest id) whose single meta row $key is exactly $value, or null. */
	static function find_by_meta($key, $value) {
		global $wpdb;
		// The plain query lets the database use the meta_key index: a join, DISTINCT or ORDER BY
		// user_id made MariaDB walk every usermeta row in user_id order instead (20 ms at 1,500
		// users, against 2 ms). Meta of a deleted user is skipped below (no userdata).
		$ids = array_unique(array_map('intval', $wpdb->get_col($wpdb->prepare(
			"SELECT user_id FROM {$wpdb->usermeta} WHERE meta_key = %s AND meta_value = %s", $key, $value
		))));
		sort($ids, SORT_NUMERIC);
		foreach (array_slice($ids, 0, 50) as $id) {
			$rows = get_user_meta((int) $id, $key, false); // SQL compares case-insensitively; recheck exactly.
			$user = get_userdata((int) $id);
			if ($user && 1 === count($rows) && $rows[0] === $value) {
				return $user;
			}
		}
		return null;
	}

	/** $user as the users endpoint answers it in the edit context (with the plugin's fields). */
	static function user_data($user) {
		$controller = new WP_REST_Users_Controller();
		$inner      = new WP_REST_Request('GET', '/wp/v2/users/' . $user->ID);
		$inner->set_param('context', 'edit');
		return $controller->prepare_item_for_response($user, $inner)->get_data();
	}

	/**
	 * get_callback of wpbridge_state: a digest of everything wpbridge reads of user $id (its row but
	 * the password hash and reset key, its roles and capabilities, its core fields and the meta
	 * wpbridge_meta shows). wpbridge sends it back as wpbridge_if_state to update only a user that
	 * is still as it last saw it.
	 */
	static function state($user) {
		$id   = (int) (is_array($user) ? $user['id'] : $user->ID);
		$user = get_userdata($id);
		if (!$user || !self::can_edit($id)) {
			return null;
		}
		$row = (array) $user->data;
		unset($row['user_pass'], $row['user_activation_key']);
		$core = array();
		foreach (self::CORE_FIELDS as $field) {
			$core[$field] = get_user_meta($id, $field, true);
		}
		$caps = $user->allcaps;
		ksort($caps);
		return md5(serialize(array($row, array_values($user->roles), $caps, $core, (array) self::get_meta($user))));
	}

	/** 412 wpbridge_stale when an update carries wpbridge_if_state and user $id is no longer in that state. */
	static function stale_refusal($id, $request) {
		$want = $request->get_param('wpbridge_if_state');
		if ($id <= 0 || null === $want || self::state(get_userdata($id)) === (string) $want) {
			return null;
		}
		return new WP_Error('wpbridge_stale', sprintf('User %d changed since wpbridge read it.', $id), array('status' => 412));
	}

	/** GET /wpbridge/v1/status */
	static function status() {
		$caps = array();
		foreach (array('create_users', 'edit_users', 'list_users', 'promote_users') as $cap) {
			$caps[$cap] = current_user_can($cap);
		}
		return array(
			'version'      => WPBRIDGE_VERSION,
			'wordpress'    => get_bloginfo('version'),
			'roles'        => (object) wp_roles()->get_names(),
			'capabilities' => $caps,
			'role_admin_capabilities' => self::roles_admin_caps(),
			'network'      => WPBridge_Multisite::status(),
		);
	}

	static function rest_api_init() {
		register_rest_field('user', 'wpbridge_meta', array(
			'get_callback'    => array('WPBridge_Plugin', 'get_meta'),
			'update_callback' => array('WPBridge_Plugin', 'update_meta'),
			'schema'          => array(
				'description' => 'User meta managed by wpbridge: string or list of strings per key; null deletes a key.',
				'type'        => 'object',
				'context'     => array('edit'),
			),
		));
		register_rest_field('user', 'wpbridge_state', array(
			'get_callback' => array('WPBridge_Plugin', 'state'),
			'schema'       => array(
				'description' => 'Read-only digest of what wpbridge reads of the user; send it back as wpbridge_if_state to update the user only while it is unchanged.',
				'type'        => 'string',
				'context'     => array('edit'),
				'readonly'    => true,
			),
		));
		register_rest_field('user', 'send_user_notification', array(
			'update_callback' => array('WPBridge_Plugin', 'notify'),
			'schema'          => array(
				'description' => 'Write-only: true sends WordPress\'s new-user email to the user.',
				'type'        => 'boolean',
				'context'     => array('edit'),
			),
		));
		register_rest_route('wpbridge/v1', '/users/by-meta', array(
			'methods'             => 'GET',
			'callback'            => array('WPBridge_Plugin', 'by_meta'),
			'permission_callback' => array('WPBridge_Plugin', 'can_use'),
			'args'                => array(
				'key'   => array('type' => 'string', 'required' => true),
				'value' => array('type' => 'string', 'required' => true),
			),
		));
		register_rest_route('wpbridge/v1', '/status', array(
			'methods'             => 'GET',
			'callback'            => array('WPBridge_Plugin', 'status'),
			'permission_callback' => function () { return current_user_can('list_users'); },
		));
	}
}

/**
 * POST /wpbridge/v1/users/{id}/password-check {"password": "..."}: answers {"match": bool}, whether
 * the password is the user's (wp_check_password against the stored hash). wpbridge asks it about
 * a user it may have created itself before the link was written: a match with the password it
 * generated for the contact proves the user is its own. The password is never logged, stored or
 * echoed. Needs WPBRIDGE_CAPS and edit_user on the target; a user who can manage the site is never
 * answered for (always no match), so the route is no oracle for administrators' passwords.
 */
final class WPBridge_Password_Check {
	static function check($request) {
		$user = get_userdata((int) $request['id']);
		if (!$user) {
			return new WP_Error('wpbridge_user_not_found', 'No such user.', array('status' => 404));
		}
		$password = $request['password'];
		if (!is_string($password) || '' === $password) {
			return new WP_Error('rest_invalid_param', 'password must be a non-empty string.', array('status' => 400));
		}
		return array('match' => self::matches($user, $password));
	}

	/** Whether $password is $user's; never true for a user who can manage the site. */
	static function matches($user, $password) {
		// Slashed as at login: WordPress hashes and checks passwords with the slashes its request
		// handling adds (wp_signon gets $_POST['pwd'], the users endpoint saves wp_slash()ed data).
		return !WPBridge_Plugin::is_admin_level($user) && wp_check_password(wp_slash($password), $user->user_pass, $user->ID);
	}

	/** permission_callback of password-check and reset-key: WPBRIDGE_CAPS and edit_user on the target. */
	static function can_check($request) {
		$ok = WPBridge_Plugin::can_use();
		if (true !== $ok) {
			return $ok;
		}
		return current_user_can('edit_user', (int) $request['id']) ? true : WPBridge_Plugin::forbidden();
	}

	static function rest_api_init() {
		register_rest_route('wpbridge/v1', '/users/(?P<id>\\d+)/password-check', array(
			'methods'             => 'POST',
			'callback'            => array('WPBridge_Password_Check', 'check'),
			'permission_callback' => array('WPBridge_Password_Check', 'can_check'),
			'args'                => array(
				'id'       => array('type' => 'integer', 'required' => true),
				'password' => array('type' => 'string', 'required' => true),
			),
		));
	}
}

/**
 * POST /wpbridge/v1/users/lookup: the user for an ActiveCampaign contact, found or created in one
 * request (one WordPress boot instead of three). Body:
 *   {"key": META_KEY, "value": CONTACT_ID,   find the user whose meta KEY is exactly CONTACT_ID;
 *    "email": EMAIL,                         else the user whose email is EMAIL (ASCII case aside);
 *    "password": PW,                         for a user found by email: is PW its password?
 *    "create": {users endpoint body},        else create this user (through the users endpoint,
 *    "logins": [LOGIN, ...]}                 so every check and filter applies), under the first
 *                                            free login of LOGINS.
 * Optionally (plugin 1.4), the found user is also written in the same request:
 *   "update": {users endpoint body},        write this to the user found (a POST to the users
 *                                            endpoint made inside WordPress: every check, filter
 *                                            and action of an update applies),
 *   "update_by": "meta"|"any",              only a user found by meta (default), or also by email,
 *   "if_shape": {"roles": [ROLE, ...],      and only while the user has exactly these roles, these
 *                "caps": {CAP: bool},        own capability entries (extra_capabilities), no
 *                "meta_absent": [KEY]}       admin-level capability and none of these meta keys:
 *                                            what wpbridge's rules read of a user beyond the values
 *                                            they overwrite. Otherwise nothing is written.
 * Answer: {"found": "meta"|"email"|"created"|"none", "user": USER|null, "password_match": bool,
 * "written": bool, "before": USER|null}, USER as the users endpoint answers in the edit context
 * (after the write when written; "before" is the user as found). A create's or update's error (a
 * taken email, a refused role) is the answer as the users endpoint gives it. Needs WPBRIDGE_CAPS,
 * and edit_user on the user answered (else 403).
 */
final class WPBridge_Lookup {
	static function lookup($request) {
		$key = (string) $request['key'];
		if (WPBridge_Plugin::is_protected($key)) {
			return WPBridge_Plugin::protected_key($key);
		}
		$user = self::here(WPBridge_Plugin::find_by_meta($key, (string) $request['value']), $request);
		if ($user) {
			$user = WPBridge_Multisite::join($user, $request['create']);
			return is_wp_error($user) ? $user : self::answer('meta', $user, false, $request);
		}
		$email = (string) $request['email'];
		$user  = '' === $email ? null : self::here(self::find_by_email($email), $request);
		if ($user) {
			$user = WPBridge_Multisite::join($user, $request['create']);
			if (is_wp_error($user)) {
				return $user;
			}
			$password = $request['password'];
			$match    = is_string($password) && '' !== $password && WPBridge_Password_Check::matches($user, $password);
			return self::answer('email', $user, $match, 'any' === $request['update_by'] ? $request : null);
		}
		if (!is_array($request['create'])) {
			return array('found' => 'none', 'user' => null, 'password_match' => false);
		}
		return self::create($request['create'], (array) $request['logins']);
	}

	/**
	 * $user, or null when a lookup without a create (an update's) finds a network user who is not a
	 * member of this site: the users endpoint would answer 404 for it, and this site's webhooks have
	 * nothing to write to it (the lookup of an add adds it to the site instead, join).
	 */
	static function here($user, $request) {
		if ($user && is_multisite() && !is_array($request['create']) && !is_user_member_of_blog($user->ID)) {
			return null;
		}
		return $user;
	}

	/**
	 * The answer for $user, found as $found; with $request carrying an update for a user of the
	 * shape it names, that update is made first.
	 */
	static function answer($found, $user, $match, $request = null) {
		if (!WPBridge_Plugin::can_edit($user->ID)) {
			return WPBridge_Plugin::forbidden(); // found, but not the caller's to see or change
		}
		$data = WPBridge_Plugin::user_data($user);
		$out  = array('found' => $found, 'user' => $data, 'password_match' => (bool) $match, 'written' => false, 'before' => null);
		if (null === $request || !is_array($request['update']) || !self::has_shape($user, $request['if_shape'])) {
			return $out;
		}
		$inner = new WP_REST_Request('POST', '/wp/v2/users/' . $user->ID);
		$inner->set_body_params($request['update']);
		$inner->set_param('context', 'edit');
		$response = rest_do_request($inner);
		if ($response->is_error()) {
			return $response->as_error();
		}
		return array_merge($out, array('user' => $response->get_data(), 'written' => true, 'before' => $data));
	}

	/**
	 * Whether $user has exactly the roles and own capability entries of $shape, no admin-level
	 * capability, and none of the meta keys of $shape['meta_absent'].
	 */
	static function has_shape($user, $shape) {
		if (!is_array($shape) || !isset($shape['roles']) || !is_array($shape['roles'])
			|| array_values($user->roles) !== array_values(array_map('strval', $shape['roles']))) {
			return false;
		}
		$own = array();
		foreach ((array) $user->caps as $cap => $granted) {
			$own[(string) $cap] = (bool) $granted;
		}
		$want = array();
		foreach ((array) (isset($shape['caps']) ? $shape['caps'] : array()) as $cap => $granted) {
			$want[(string) $cap] = (bool) $granted;
		}
		ksort($own);
		ksort($want);
		if ($own !== $want || WPBridge_Plugin::is_admin_level($user)) {
			return false;
		}
		foreach ((array) (isset($shape['meta_absent']) ? $shape['meta_absent'] : array()) as $key) {
			if (!is_string($key) || WPBridge_Plugin::is_protected($key) || metadata_exists('user', $user->ID, $key)) {
				return false;
			}
		}
		return true;
	}

	/**
	 * The user whose email is $email, or null. The database compares emails case- and often
	 * accent-insensitively; only the same address, but for the case of ASCII letters, counts.
	 */
	static function find_by_email($email) {
		global $wpdb;
		$rows = $wpdb->get_results($wpdb->prepare(
			"SELECT ID, user_email FROM {$wpdb->users} WHERE user_email = %s ORDER BY ID ASC LIMIT 50", $email
		));
		foreach ((array) $rows as $row) {
			if (self::same_email((string) $row->user_email, $email)) {
				$user = get_userdata((int) $row->ID);
				return $user ? $user : null;
			}
		}
		return null;
	}

	static function same_email($a, $b) {
		return $a === $b || (!preg_match('/[^\x00-\x7F]/', $a . $b) && 0 === strcasecmp($a, $b));
	}

	/**
	 * Creates the user through the users endpoint under the first free login of $logins. (Not in
	 * a transaction, though it would save a log flush per meta row: a deadlock between two
	 * concurrent creates rolls back the victim's earlier writes while WordPress goes on in
	 * autocommit with the rest.)
	 */
	static function create($body, $logins) {
		if (!$logins) {
			return new WP_Error('rest_invalid_param', 'logins must list at least one login.', array('status' => 400));
		}
		foreach ($logins as $login) {
			if (is_multisite() && username_exists((string) $login)) {
				// A network answers a taken login with 400 rest_invalid_param: try the next one.
				$error = new WP_Error('existing_user_login', 'Sorry, that username already exists!', array('status' => 500));
				continue;
			}
			$inner = new WP_REST_Request('POST', '/wp/v2/users');
			$inner->set_body_params(array_merge($body, array('username' => (string) $login)));
			$response = WPBridge_Multisite::create($inner);
			if (!$response->is_error()) {
				$user = get_userdata((int) $response->get_data()['id']);
				return self::answer('created', $user, false);
			}
			$error = $response->as_error();
			if ('existing_user_login' !== $error->get_error_code()) {
				return $error;
			}
		}
		return $error;
	}

	static function rest_api_init() {
		register_rest_route('wpbridge/v1', '/users/lookup', array(
			'methods'             => 'POST',
			'callback'            => array('WPBridge_Lookup', 'lookup'),
			'permission_callback' => array('WPBridge_Plugin', 'can_use'),
			'args'                => array(
				'key'      => array('type' => 'string', 'required' => true),
				'value'    => array('type' => 'string', 'required' => true),
				'email'    => array('type' => 'string'),
				'password' => array('type' => 'string'),
				'create'   => array('type' => 'object'),
				'logins'   => array('type' => 'array', 'items' => array('type' => 'string'), 'maxItems' => 20),
				'update'    => array('type' => 'object'),
				'update_by' => array('type' => 'string', 'enum' => array('meta', 'any'), 'default' => 'meta'),
				'if_shape'  => array('type' => 'object'),
			),
		));
	}
}

/**
 * POST /wpbridge/v1/users/{id}/reset-key {"send_email": bool}: makes a new WordPress password-reset
 * key for the user (get_password_reset_key, which replaces any earlier key) and answers
 * {"key": KEY, "login": LOGIN, "sent": bool}. With send_email, WordPress's own reset email goes out
 * (retrieve_password, the lost-password email) and the key answered is the one it carries; with
 * {"email": "new_user"}, WordPress's new-user email goes out instead (wp_new_user_notification) and
 * the key answered is the one its set-password link carries. wpbridge
 * builds WP_URL/wp-login.php?action=rp&key=KEY&login=LOGIN from it: a one-time set-password link.
 * The key is a secret: never logged or stored by the plugin. Needs WPBRIDGE_CAPS and edit_user on the
 * target; a user who can manage the site is refused (403 wpbridge_protected_user).
 */
final class WPBridge_Reset_Key {
	static function reset($request) {
		$user = get_userdata((int) $request['id']);
		if (!$user) {
			return new WP_Error('wpbridge_user_not_found', 'No such user.', array('status' => 404));
		}
		if (WPBridge_Plugin::is_admin_level($user)) {
			return WPBridge_Plugin::protected_user($user, array('password'));
		}
		if ('new_user' === $request['email']) {
			return self::new_user_email($user);
		}
		if (!$request['send_email']) {
			$key = get_password_reset_key($user);
			if (is_wp_error($key)) {
				return $key;
			}
			return array('key' => $key, 'login' => $user->user_login, 'sent' => false);
		}
		$captured = null;
		$capture  = function ($message, $key) use (&$captured) {
			$captured = $key;
			return $message;
		};
		// The user is the route's, whatever retrieve_password would find by login or email.
		$pin = function () use ($user) { return $user; };
		add_filter('lostpassword_user_data', $pin, PHP_INT_MAX);
		add_filter('retrieve_password_message', $capture, 1, 2);
		$sent = retrieve_password($user->user_login);
		remove_filter('retrieve_password_message', $capture, 1);
		remove_filter('lostpassword_user_data', $pin, PHP_INT_MAX);
		if (is_wp_error($sent)) {
			return new WP_Error('wpbridge_reset_failed', $sent->get_error_message(), array('status' => 500));
		}
		if (null === $captured) {
			return new WP_Error('wpbridge_reset_failed', 'The reset email was not built.', array('status' => 500));
		}
		return array('key' => $captured, 'login' => $user->user_login, 'sent' => true);
	}

	/**
	 * Sends WordPress's new-user email (wp_new_user_notification, to the user) and answers the key its
	 * set-password link carries: one key serves the email and the link wpbridge writes to
	 * ActiveCampaign (a second key would replace the first and break the emailed link).
	 */
	static function new_user_email($user) {
		$captured = null;
		$capture  = function ($login, $key) use (&$captured, $user) {
			if ($login === $user->user_login) {
				$captured = $key;
			}
		};
		add_action('retrieve_password_key', $capture, PHP_INT_MAX, 2);
		wp_new_user_notification($user->ID, null, 'user');
		remove_action('retrieve_password_key', $capture, PHP_INT_MAX);
		if (null === $captured) {
			return new WP_Error('wpbridge_reset_failed', 'The new-user email was not built.', array('status' => 500));
		}
		return array('key' => $captured, 'login' => $user->user_login, 'sent' => true);
	}

	static function rest_api_init() {
		register_rest_route('wpbridge/v1', '/users/(?P<id>\\d+)/reset-key', array(
			'methods'             => 'POST',
			'callback'            => array('WPBridge_Reset_Key', 'reset'),
			'permission_callback' => array('WPBridge_Password_Check', 'can_check'),
			'args'                => array(
				'id'         => array('type' => 'integer', 'required' => true),
				'send_email' => array('type' => 'boolean', 'default' => false),
				'email'      => array('type' => 'string', 'enum' => array('', 'reset', 'new_user'), 'default' => ''),
			),
		));
	}
}

/**
 * WordPress hears every change wpbridge makes. A users-endpoint write (create, update) carrying
 * "wpbridge_hooks": {"action": ACTION, "contact_id": ID, "tags_key": KEY, "meta": {key: value}}
 * fires, in that request and after everything is saved:
 *   - WP Fusion's actions, with its arguments and order, when the write carries tags_key in
 *     wpbridge_meta: wpf_tags_applied($user_id, $added), wpf_tags_removed($user_id, $removed)
 *     (each only when not empty; the difference is taken against what was stored before this
 *     request, so a retry or a duplicate never fires them twice), then wpf_tags_modified($user_id,
 *     $tags) on every tag write, also when nothing changed, as WP Fusion does;
 *     wpf_user_imported($user_id, $meta) after a create; wpf_user_updated($user_id, $meta) after an
 *     add or update of an existing user ($meta: the values loaded from the contact, no password);
 *   - wpbridge's own: wpbridge_tags_changed($user_id, $added, $removed, $tags) when the tags changed,
 *     wpbridge_user_created($user_id, $contact_id), wpbridge_user_updated($user_id, $contact_id) when
 *     fields, roles or meta other than the tags changed, wpbridge_access_removed($user_id,
 *     $contact_id) when remove_access took roles; a delete with ?wpbridge_contact=ID fires
 *     wpbridge_user_deleted($user_id, $contact_id).
 * Role changes of such an update go through WP_User::set_role/add_role/remove_role as a
 * difference (kept roles are not stripped and re-added), so core's set_user_role, add_user_role
 * and remove_user_role fire for what changed only. A listener that throws does not undo the
 * write: the Throwable is caught per listener (the other listeners still run), error_log()ged,
 * and answered in the user's wpbridge_warnings field (the delete answer's wpbridge_warnings).
 */
final class WPBridge_Hooks {
	/** Per request object: tags before the write and the roles to set. */
	private static $pending = array();
	/** Warnings of listeners that threw, by user id, for this request's answers. */
	private static $warnings = array();

	/** The request's wpbridge_hooks object, or null. */
	static function spec($request) {
		$spec = $request instanceof WP_REST_Request ? $request->get_param('wpbridge_hooks') : null;
		if (!is_array($spec)) {
			return null;
		}
		$out = array(
			'action'     => isset($spec['action']) ? (string) $spec['action'] : '',
			'contact_id' => isset($spec['contact_id']) ? (string) $spec['contact_id'] : '',
			'tags_key'   => isset($spec['tags_key']) ? (string) $spec['tags_key'] : '',
			'meta'       => isset($spec['meta']) && is_array($spec['meta']) ? $spec['meta'] : array(),
		);
		if ('' !== $out['tags_key'] && WPBridge_Plugin::is_protected($out['tags_key'])) {
			$out['tags_key'] = '';
		}
		return $out;
	}

	/** A stored tag list as a list of strings. */
	static function tag_list($value) {
		if (is_string($value)) {
			$value = '' === $value ? array() : array($value);
		}
		return is_array($value) ? array_values(array_map('strval', array_filter($value, 'is_scalar'))) : array();
	}

	/**
	 * rest_pre_insert_user, after keep_admin_level_user: notes the tags as stored before the write
	 * and, for an update, takes the roles over from core (which strips every role and adds the
	 * wanted ones back) to apply them as a difference once the user is saved.
	 */
	static function before_insert($prepared, $request) {
		$spec = self::spec($request);
		if (null === $spec) {
			return $prepared;
		}
		$id    = !empty($prepared->ID) ? (int) $prepared->ID : 0;
		$state = array('old_tags' => array(), 'roles' => null);
		if ($id > 0 && '' !== $spec['tags_key']) {
			$state['old_tags'] = self::tag_list(get_user_meta($id, $spec['tags_key'], true));
		}
		if ($id > 0 && null !== $request['roles']) {
			$state['roles'] = array_values(array_unique(array_map('strval', (array) $request['roles'])));
			unset($prepared->role);
			$request->set_param('roles', null);
		}
		self::$pending[spl_object_hash($request)] = $state;
		return $prepared;
	}

	/** Applies $want as a difference to $user's roles; answers the roles removed and added. */
	static function set_roles($user, $want) {
		$have    = array_values(array_map('strval', (array) $user->roles));
		$removed = array_values(array_diff($have, $want));
		$added   = array_values(array_diff($want, $have));
		if (!$removed && !$added) {
			return array(array(), array());
		}
		if (1 === count($want) && count($have) <= 1) {
			$user->set_role($want[0]); // a switch: set_user_role($id, $new, $old), as WP Fusion does
		} else {
			foreach ($removed as $role) {
				$user->remove_role($role);
			}
			foreach ($added as $role) {
				$user->add_role($role);
			}
		}
		return array($removed, $added);
	}

	/** rest_after_insert_user: everything is saved; apply the roles, then fire the actions. */
	static function after_insert($user, $request, $creating) {
		$spec = self::spec($request);
		$key  = spl_object_hash($request);
		if (null === $spec || !isset(self::$pending[$key])) {
			return;
		}
		$state = self::$pending[$key];
		unset(self::$pending[$key]);
		$id = (int) $user->ID; // $user is the object the answer is made from: change its roles, not a copy's
		$roles_changed = false;
		$roles_removed = array();
		if (!$creating && null !== $state['roles']) {
			list($roles_removed, $roles_added) = self::set_roles($user, $state['roles']);
			$roles_changed = $roles_removed || $roles_added;
		}
		$written = (array) $request->get_param('wpbridge_meta');
		$cid     = $spec['contact_id'];
		$added   = $removed = $tags = array();
		$tagged  = '' !== $spec['tags_key'] && array_key_exists($spec['tags_key'], $written);
		if ($tagged) {
			$tags    = self::tag_list(get_user_meta($id, $spec['tags_key'], true));
			$added   = array_values(array_diff($tags, $state['old_tags']));
			$removed = array_values(array_diff($state['old_tags'], $tags));
			if ($added) {
				self::fire($id, 'wpf_tags_applied', array($id, $added));
			}
			if ($removed) {
				self::fire($id, 'wpf_tags_removed', array($id, $removed));
			}
			self::fire($id, 'wpf_tags_modified', array($id, $tags));
		}
		$meta = array();
		foreach ($spec['meta'] as $k => $v) {
			if ('user_pass' !== $k) {
				$meta[(string) $k] = $v;
			}
		}
		if ($creating) {
			self::fire($id, 'wpf_user_imported', array($id, $meta));
		} elseif (in_array($spec['action'], array('add', 'update'), true)) {
			self::fire($id, 'wpf_user_updated', array($id, $meta));
		}
		if ($added || $removed) {
			self::fire($id, 'wpbridge_tags_changed', array($id, $added, $removed, $tags));
		}
		if ($creating) {
			self::fire($id, 'wpbridge_user_created', array($id, $cid));
			return;
		}
		if ('remove_access' === $spec['action']) {
			if ($roles_removed) {
				self::fire($id, 'wpbridge_access_removed', array($id, $cid));
			}
			return;
		}
		unset($written[$spec['tags_key']]);
		$fields = array_diff(array_keys($request->get_body_params() + (array) $request->get_json_params()),
			array('wpbridge_meta', 'wpbridge_hooks', 'wpbridge_if_state', 'roles', 'context', 'id', 'send_user_notification'));
		if ($roles_changed || $written || $fields) {
			self::fire($id, 'wpbridge_user_updated', array($id, $cid));
		}
	}

	/** rest_delete_user: fires wpbridge_user_deleted for a delete that names its contact. */
	static function after_delete($user, $response, $request) {
		$cid = $request->get_param('wpbridge_contact');
		if (null === $cid || !($response instanceof WP_REST_Response)) {
			return;
		}
		$id = (int) $user->ID;
		self::fire($id, 'wpbridge_user_deleted', array($id, (string) $cid));
		if (!empty(self::$warnings[$id])) {
			$data = (array) $response->get_data();
			$data['wpbridge_warnings'] = self::$warnings[$id];
			$response->set_data($data);
		}
	}

	/**
	 * do_action_ref_array($hook, $args), each listener wrapped so that one that throws is
	 * logged and reported instead of ending the request (or the other listeners' turn).
	 */
	static function fire($user_id, $hook, $args) {
		global $wp_filter;
		$replaced = array();
		if (isset($wp_filter[$hook]) && $wp_filter[$hook] instanceof WP_Hook) {
			foreach ($wp_filter[$hook]->callbacks as $priority => $callbacks) {
				foreach ($callbacks as $cb_id => $cb) {
					$orig = $cb['function'];
					$wrap = function (...$a) use ($orig, $hook, $user_id) {
						try {
							return call_user_func_array($orig, $a);
						} catch (Throwable $e) {
							WPBridge_Hooks::listener_failed($user_id, $hook, $orig, $e);
						}
						return isset($a[0]) ? $a[0] : null;
					};
					$wp_filter[$hook]->callbacks[$priority][$cb_id]['function'] = $wrap;
					$replaced[] = array($priority, $cb_id, $orig, $wrap);
				}
			}
		}
		try {
			do_action_ref_array($hook, $args);
		} catch (Throwable $e) { // a listener added while firing
			self::listener_failed($user_id, $hook, null, $e);
		} finally {
			foreach ($replaced as $r) {
				list($priority, $cb_id, $orig, $wrap) = $r;
				if (isset($wp_filter[$hook]->callbacks[$priority][$cb_id]) && $wp_filter[$hook]->callbacks[$priority][$cb_id]['function'] === $wrap) {
					$wp_filter[$hook]->callbacks[$priority][$cb_id]['function'] = $orig;
				}
			}
		}
	}

	static function listener_failed($user_id, $hook, $callback, $e) {
		$name = 'a listener';
		if (is_string($callback)) {
			$name = $callback;
		} elseif (is_array($callback) && 2 === count($callback)) {
			$name = (is_object($callback[0]) ? get_class($callback[0]) : (string) $callback[0]) . '::' . (string) $callback[1];
		} elseif ($callback instanceof Closure) {
			$name = 'a closure';
		}
		$msg = sprintf('%s of %s for user %d threw %s: %s', $name, $hook, $user_id, get_class($e), $e->getMessage());
		error_log('wpbridge: ' . $msg . ' in ' . $e->getFile() . ':' . $e->getLine());
		self::$warnings[$user_id][] = function_exists('mb_substr') ? mb_substr($msg, 0, 500) : substr($msg, 0, 500);
	}

	/** get_callback of wpbridge_warnings: what listeners reported for the user in this request. */
	static function get_warnings($user) {
		$id = (int) (is_array($user) ? $user['id'] : $user->ID);
		return isset(self::$warnings[$id]) && WPBridge_Plugin::can_edit($id) ? self::$warnings[$id] : array();
	}

	static function rest_api_init() {
		register_rest_field('user', 'wpbridge_warnings', array(
			'get_callback' => array('WPBridge_Hooks', 'get_warnings'),
			'schema'       => array(
				'description' => 'Read-only: errors of listeners of the actions this request fired for the user.',
				'type'        => 'array',
				'items'       => array('type' => 'string'),
				'context'     => array('edit'),
				'readonly'    => true,
			),
		));
	}
}

/**
 * Multisite networks. Users belong to the network (one users table, user meta network-wide) and
 * are members of sites (a role, or none, per site). wpbridge serves one site, WP_URL:
 * - the lookup route finds a contact's user across the network, by contact id or email; when it
 *   would create a user (a "create" body) and finds a network user who is no member of this site,
 *   it adds that user to the site with the role(s) of the create body (add_user_to_blog: never a
 *   second account). A role that can manage the site is refused (403 wpbridge_privileged_role); a
 *   super admin gets no role (membership only, so its tags and meta can be written).
 * - a create through the users endpoint validates the login as a network's signup form does
 *   (lowercase letters and digits only, at least 4 characters); for wpbridge's creates only the
 *   single-site rules apply (validate_username), as WP Fusion's wp_insert_user does.
 * - the status route names the network and the site and what the caller may do there.
 */
final class WPBridge_Multisite {
	/** The login wpbridge is creating (the signup check is relaxed for it alone). */
	private static $creating = null;

	/** $user, a member of the current site (added with $create's roles if it was not), or a WP_Error. */
	static function join($user, $create) {
		if (!is_multisite() || !is_array($create) || is_user_member_of_blog($user->ID)) {
			return $user;
		}
		if (!current_user_can('promote_users')) {
			return new WP_Error('wpbridge_cannot_add_to_site', sprintf(
				'User %d belongs to the network but not to this site, and you may not add users to it (promote_users).', $user->ID
			), array('status' => 403));
		}
		$roles = array();
		if (!is_super_admin($user->ID)) {
			$roles = isset($create['roles']) ? array_values(array_unique(array_map('strval', (array) $create['roles']))) : array();
			if (!$roles && isset($create['role'])) {
				$roles = array((string) $create['role']);
			}
			if (!$roles) {
				$roles = array((string) get_option('default_role', 'subscriber'));
			}
			foreach ($roles as $role) {
				if (!get_role($role)) {
					return new WP_Error('rest_user_invalid_role', sprintf('The role %s does not exist on this site.', $role), array('status' => 400));
				}
				if (WPBridge_Plugin::role_admin_caps($role)) {
					return new WP_Error('wpbridge_privileged_role', sprintf('The role %s can manage this site: wpbridge never assigns it.', $role), array('status' => 403));
				}
			}
		}
		$added = add_user_to_blog(get_current_blog_id(), $user->ID, $roles ? $roles[0] : '');
		if (is_wp_error($added)) {
			return $added;
		}
		$user = get_userdata($user->ID);
		foreach (array_slice($roles, 1) as $role) {
			$user->add_role($role);
		}
		return get_userdata($user->ID);
	}

	/** Runs the users endpoint's create of $inner, with the network's signup check relaxed for its login. */
	static function create($inner) {
		if (!is_multisite()) {
			return rest_do_request($inner);
		}
		self::$creating = (string) $inner->get_param('username');
		add_filter('wpmu_validate_user_signup', array('WPBridge_Multisite', 'relax_signup'));
		try {
			return rest_do_request($inner);
		} finally {
			remove_filter('wpmu_validate_user_signup', array('WPBridge_Multisite', 'relax_signup'));
			self::$creating = null;
		}
	}

	/**
	 * wpmu_validate_user_signup, during wpbridge's create only: the login errors of the network's
	 * signup form are dropped for a login valid on a single site and not taken. The email checks
	 * (taken, banned or limited domains) stay.
	 */
	static function relax_signup($result) {
		$errors = isset($result['errors']) ? $result['errors'] : null;
		$login  = isset($result['orig_username']) ? (string) $result['orig_username'] : '';
		if (!is_wp_error($errors) || null === self::$creating || $login !== self::$creating
			|| !validate_username($login) || username_exists($login)) {
			return $result;
		}
		$errors->remove('user_name');
		$result['user_name'] = $login;
		return $result;
	}

	/** The network part of the status route: null on a single site. */
	static function status() {
		if (!is_multisite()) {
			return null;
		}
		$site = get_site();
		return array(
			'site_id'          => (int) $site->blog_id,
			'site_name'        => get_bloginfo('name'),
			'site_url'         => home_url('/'),
			'main_site'        => is_main_site(),
			'subdomain_install' => is_subdomain_install(),
			'super_admin'      => is_super_admin(),
			'add_new_users'    => (bool) get_site_option('add_new_users'),
			'member'           => is_user_member_of_blog(),
			'plugin_network_active' => self::network_active(),
			'capabilities'     => array(
				'manage_network_users' => current_user_can('manage_network_users'),
			),
		);
	}

	/**
	 * rest_prepare_user: a super admin holds every capability without a role; its answer (edit
	 * context) says so with the admin-level ones, so that wpbridge leaves it alone as it does an
	 * administrator (tags and meta only).
	 */
	static function super_admin_caps($response, $user, $request) {
		if (is_multisite() && is_super_admin($user->ID) && 'edit' === $request['context']) {
			$data = $response->get_data();
			if (isset($data['capabilities'])) { // an object (allcaps) in core's answer
				$data['capabilities'] = (object) array_merge((array) $data['capabilities'], array_fill_keys(WPBridge_Plugin::ADMIN_CAPS, true), array('manage_network' => true));
				$response->set_data($data);
			}
		}
		return $response;
	}

	static function network_active() {
		$active = (array) get_site_option('active_sitewide_plugins', array());
		return isset($active[plugin_basename(__FILE__)]);
	}
}


/**
 * The short way in (plugin 1.4). wpbridge marks its requests with the header "X-WPBridge-Entry: rest";
 * such a request for one of the routes wpbridge uses (the users endpoint and the plugin's own) is
 * served as soon as WordPress has loaded (wp_loaded, when every plugin and the theme are set up and
 * init has run), by WordPress's own REST server (rest_api_loaded): the same authentication (the
 * application password), the same permission checks, argument validation, filters and actions. What
 * it skips is the part of a front-end request a REST answer never needs (the query parsing and the
 * cron check of wp()) and the registration of core's other REST routes (posts, media, blocks,
 * settings, oEmbed, ...): the users endpoint is registered alone, and every plugin's rest_api_init
 * still runs. Any other request, and a site where this is unwanted (filter wpbridge_short_entry false),
 * goes the usual way. The measured gain is in BENCHMARKS.md (issue 21).
 */
final class WPBridge_Entry {
	/** The routes the short way serves: the users endpoint and the plugin's own. */
	static function route() {
		if (!isset($_SERVER['HTTP_X_WPBRIDGE_ENTRY'], $_GET['rest_route']) || 'rest' !== $_SERVER['HTTP_X_WPBRIDGE_ENTRY']
			|| !is_string($_GET['rest_route'])) {
			return null;
		}
		$route = untrailingslashit((string) $_GET['rest_route']);
		return preg_match('#^/(wpbridge/v1/|wp/v2/users(/|$))#', $route) ? $route : null;
	}

	static function serve() {
		$route = self::route();
		if (null === $route || !apply_filters('wpbridge_short_entry', true) || !isset($GLOBALS['wp']) || defined('REST_REQUEST')) {
			return;
		}
		remove_action('rest_api_init', 'create_initial_rest_routes', 99);
		remove_action('rest_api_init', 'wp_oembed_register_route');
		add_action('rest_api_init', array('WPBridge_Entry', 'users_routes'), 99);
		$GLOBALS['wp']->query_vars['rest_route'] = $route;
		header('X-WPBridge-Entry: short'); // says which way the answer came (tests, troubleshooting)
		rest_api_loaded(); // serves the request and ends it
	}

	static function users_routes() {
		$controller = new WP_REST_Users_Controller();
		$controller->register_routes();
	}
}

if (!wp_installing()) {
	add_action('wp_loaded', array('WPBridge_Entry', 'serve'), 0);
}

if (!wp_installing()) {
	add_action('rest_api_init', array('WPBridge_Hooks', 'rest_api_init'));
	add_filter('rest_pre_insert_user', array('WPBridge_Hooks', 'before_insert'), 100, 2);
	add_action('rest_after_insert_user', array('WPBridge_Hooks', 'after_insert'), 10, 3);
	add_action('rest_delete_user', array('WPBridge_Hooks', 'after_delete'), 10, 3);
}

if (!wp_installing()) {
	add_action('rest_api_init', array('WPBridge_Password_Check', 'rest_api_init'));
}

if (!wp_installing()) {
	add_action('rest_api_init', array('WPBridge_Reset_Key', 'rest_api_init'));
	add_action('rest_api_init', array('WPBridge_Lookup', 'rest_api_init'));
}

if (!wp_installing()) {
	add_action('rest_api_init', array('WPBridge_Plugin', 'rest_api_init'));
	add_filter('rest_request_before_callbacks', array('WPBridge_Plugin', 'before_callbacks'), 10, 3);
	add_filter('rest_dispatch_request', array('WPBridge_Plugin', 'meta_only_update'), 10, 4);
	add_filter('rest_pre_insert_user', array('WPBridge_Plugin', 'keep_same_password'), 10, 2);
	add_filter('rest_pre_insert_user', array('WPBridge_Plugin', 'keep_admin_level_user'), 99, 2);
}

if (!wp_installing()) {
	add_filter('rest_prepare_user', array('WPBridge_Multisite', 'super_admin_caps'), 10, 3);
}

/**
 * The usermeta index (issue 21): wpbridge finds a contact's user by its activecampaign_contact_id
 * meta (WPBridge_Plugin::find_by_meta). WordPress indexes usermeta's meta_key only, so without an
 * index on the value MariaDB reads every member's row of that key: 12-19 ms at 10,000 users,
 * about 400 ms at 100,000; with it, 0.1-0.3 ms (BENCHMARKS.md). The plugin creates the index
 * {prefix}usermeta.wpbridge_meta_value (meta_key(191), meta_value(32)) once: on activation as a
 * normal plugin, and as a must-use plugin (no activation) at the end of the first request to one
 * of its routes. Online (ALGORITHM=INPLACE, LOCK=NONE: writes go on while it builds; a server that
 * cannot build it so refuses, and nothing is locked). Any index that starts with meta_key then
 * meta_value (another plugin's), or with meta_value, counts as present and none is added. The
 * outcome is kept in the autoloaded option wpbridge_meta_index (created, present, failed, or
 * disabled); a failure is recorded and never retried by itself: POST /wpbridge/v1/meta-index
 * tries again. define('WPBRIDGE_META_INDEX', false) in wp-config.php turns the automatic creation
 * off.
 *
 *   GET  /wpbridge/v1/meta-index   {table, present, name, own, state, error, sql}
 *   POST /wpbridge/v1/meta-index   creates it now when missing; answers the same
 */
final class WPBridge_Meta_Index {
	const NAME   = 'wpbridge_meta_value';
	const OPTION = 'wpbridge_meta_index'; // autoloaded: {state, error, at}

	static function sql() {
		global $wpdb;
		return "ALTER TABLE `{$wpdb->usermeta}` ADD INDEX " . self::NAME . ' (meta_key(191), meta_value(32)), ALGORITHM=INPLACE, LOCK=NONE';
	}

	/** The name of an index serving meta_key = K AND meta_value = V, or null. */
	static function find() {
		global $wpdb;
		$rows = $wpdb->get_results("SHOW INDEX FROM `{$wpdb->usermeta}`", ARRAY_A);
		$cols = array();
		foreach ((array) $rows as $row) {
			$cols[$row['Key_name']][(int) $row['Seq_in_index']] = strtolower($row['Column_name']);
		}
		foreach ($cols as $name => $c) {
			if ((isset($c[1], $c[2]) && 'meta_key' === $c[1] && 'meta_value' === $c[2]) || (isset($c[1]) && 'meta_value' === $c[1])) {
				return (string) $name;
			}
		}
		return null;
	}

	/**
	 * Creates the index when missing and records the outcome; never throws, never fails the request.
	 * $auto: the plugin's own once-only attempt, skipped when an outcome is recorded meanwhile.
	 */
	static function ensure($auto = false) {
		global $wpdb;
		$quiet = $wpdb->suppress_errors(true);
		$lock  = false;
		try {
			// One builder at a time; another request building it now makes this one a no-op.
			$got  = $wpdb->get_var("SELECT GET_LOCK('wpbridge_meta_index', 0)");
			$lock = '1' === (string) $got;
			if ('0' === (string) $got || ($auto && null !== $wpdb->get_var($wpdb->prepare(
				"SELECT option_id FROM {$wpdb->options} WHERE option_name = %s", self::OPTION)))) {
				return;
			}
			$state = array('state' => 'present', 'error' => '', 'at' => time());
			if (null === self::find()) {
				@ignore_user_abort(true);
				if (false !== $wpdb->query(self::sql())) {
					$state['state'] = 'created';
				} else {
					$error = (string) $wpdb->last_error;
					if (null === self::find()) {
						$state = array('state' => 'failed', 'error' => $error, 'at' => time());
					}
				}
			}
			update_option(self::OPTION, $state, true);
		} catch (Throwable $e) {
			update_option(self::OPTION, array('state' => 'failed', 'error' => $e->getMessage(), 'at' => time()), true);
		} finally {
			if ($lock) {
				$wpdb->query("SELECT RELEASE_LOCK('wpbridge_meta_index')");
			}
			$wpdb->suppress_errors($quiet);
		}
	}

	static function disabled() {
		return defined('WPBRIDGE_META_INDEX') && !WPBRIDGE_META_INDEX;
	}

	/**
	 * rest_pre_dispatch: a request to one of the plugin's routes, by a user who may use them, on a
	 * site where the outcome is not yet recorded, builds the index at its end (after the answer
	 * where PHP-FPM allows it). The check is one autoloaded option: free on every later request.
	 */
	static function on_dispatch($result, $server, $request) {
		if (0 === strpos((string) $request->get_route(), '/wpbridge/v1/') && !self::disabled()
			&& false === get_option(self::OPTION) && WPBridge_Plugin::can_use()) {
			add_action('shutdown', array('WPBridge_Meta_Index', 'at_shutdown'), PHP_INT_MAX);
		}
		return $result;
	}

	static function at_shutdown() {
		if (function_exists('fastcgi_finish_request')) {
			fastcgi_finish_request();
		}
		self::ensure(true);
	}

	static function status() {
		global $wpdb;
		$quiet = $wpdb->suppress_errors(true);
		$name  = self::find();
		$wpdb->suppress_errors($quiet);
		$s = get_option(self::OPTION);
		$s = is_array($s) ? $s : array('state' => self::disabled() ? 'disabled' : '', 'error' => '');
		return array(
			'table'   => $wpdb->usermeta,
			'present' => null !== $name,
			'name'    => (string) $name,
			'own'     => self::NAME === $name,
			'state'   => (string) $s['state'],
			'error'   => (string) $s['error'],
			'sql'     => self::sql() . ';',
		);
	}

	static function create() {
		self::ensure();
		return self::status();
	}

	static function rest_api_init() {
		register_rest_route('wpbridge/v1', '/meta-index', array(
			array(
				'methods'             => 'GET',
				'callback'            => array('WPBridge_Meta_Index', 'status'),
				'permission_callback' => array('WPBridge_Plugin', 'can_use'),
			),
			array(
				'methods'             => 'POST',
				'callback'            => array('WPBridge_Meta_Index', 'create'),
				'permission_callback' => array('WPBridge_Plugin', 'can_use'),
			),
		));
	}

	static function init() {
		add_action('rest_api_init', array('WPBridge_Meta_Index', 'rest_api_init'));
		add_filter('rest_pre_dispatch', array('WPBridge_Meta_Index', 'on_dispatch'), 10, 3);
		if (defined('WPMU_PLUGIN_DIR') && 0 !== strpos(wp_normalize_path(__FILE__), wp_normalize_path(WPMU_PLUGIN_DIR))) {
			register_activation_hook(__FILE__, function () {
				if (!WPBridge_Meta_Index::disabled()) {
					WPBridge_Meta_Index::ensure();
				}
			});
		}
	}
}

if (!wp_installing()) {
	WPBridge_Meta_Index::init();
}

/**
 * The outbox: WordPress sign-ups, profile edits and deletions recorded for wpbridge to send to
 * ActiveCampaign (SYNC_TO_AC). It records only while wpbridge has enabled it, in the request that
 * made the change, into its own table {prefix}wpbridge_outbox; wpbridge pulls the events and
 * acknowledges (deletes) them once stored on its side.
 *
 * What is recorded: user_register (type "register"), profile_update and changes of the meta keys
 * wpbridge named when enabling (type "update"), delete_user (type "delete"). Within one request the
 * changes of one user become one event, written at shutdown with the user as it then is (so meta
 * saved after user_register by a checkout or a form plugin is in it): register wins over update,
 * delete over both. Changes made by wpbridge itself (a request authenticated with an application
 * password of the user that enabled the outbox) are never recorded: no loop. user_pass and roles
 * are never in an event.
 *
 * At most LIMIT events are kept: when a write makes the id span exceed it, the oldest are dropped
 * and counted (the "dropped" of the status; gaps in the ids, from rolled-back inserts, can only
 * make it keep fewer).
 *
 * Routes (create_users, edit_users, list_users and promote_users, like the rest of the plugin):
 *   GET    /wpbridge/v1/outbox                      status
 *   POST   /wpbridge/v1/outbox {"enabled": bool, "meta_keys": [..], "purge": bool}   enable/disable
 *   DELETE /wpbridge/v1/outbox                      disable, drop the table and the options
 *   GET    /wpbridge/v1/outbox/events?after=ID&limit=N   events with id > after, oldest first, and the
 *                                                  table's epoch (new each time the table is created:
 *                                                  with it, an event id never names two events)
 *   POST   /wpbridge/v1/outbox/ack {"up_to": ID}    delete events with id <= up_to
 *
 * The table is created and upgraded by the plugin itself (option wpbridge_outbox_db holds its
 * version). Installed as a normal plugin, uninstalling it drops the table and the options; a
 * must-use plugin has no uninstall: DELETE /wpbridge/v1/outbox does it, and deleting the file alone
 * leaves the (disabled or not) table in place, written no more.
 */
final class WPBridge_Outbox {
	const DB_VERSION = '1';
	const LIMIT      = 100000;
	const MAX_BATCH  = 1000;
	const MAX_PENDING = 100; // events held in memory before the end of the request
	const SETTINGS   = 'wpbridge_outbox';         // autoloaded: {enabled, meta_keys, user}
	const DB_OPTION  = 'wpbridge_outbox_db';      // autoloaded: table version
	const DROPPED    = 'wpbridge_outbox_dropped'; // not autoloaded: events dropped at the bound
	const EPOCH      = 'wpbridge_outbox_epoch';   // not autoloaded: a new value each time the table is created
	const CORE       = array('user_login', 'user_email', 'first_name', 'last_name', 'display_name', 'nickname', 'user_url', 'description');

	/** Pending events of this request: user id => {type, old_email, data (delete only)}. */
	private static $pending = array();

	static function table() {
		global $wpdb;
		return $wpdb->prefix . 'wpbridge_outbox';
	}

	static function settings() {
		$s = get_option(self::SETTINGS);
		return is_array($s) ? $s : array('enabled' => false, 'meta_keys' => array(), 'user' => 0);
	}

	static function install() {
		global $wpdb;
		require_once ABSPATH . 'wp-admin/includes/upgrade.php';
		$table = self::table();
		dbDelta("CREATE TABLE {$table} (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  type varchar(20) NOT NULL,
  user_id bigint(20) unsigned NOT NULL,
  created datetime NOT NULL,
  data longtext NOT NULL,
  PRIMARY KEY  (id)
) {$wpdb->get_charset_collate()};");
		update_option(self::DB_OPTION, self::DB_VERSION, true);
		add_option(self::DROPPED, '0', '', false);
		add_option(self::EPOCH, wp_generate_uuid4(), '', false);
	}

	/** The table's epoch, made when missing (a table created by an earlier version of the plugin). */
	static function epoch() {
		$epoch = (string) get_option(self::EPOCH, '');
		if ('' === $epoch && self::DB_VERSION === get_option(self::DB_OPTION)) {
			add_option(self::EPOCH, wp_generate_uuid4(), '', false); // a concurrent add wins: read it back
			wp_cache_delete(self::EPOCH, 'options');
			$epoch = (string) get_option(self::EPOCH, '');
		}
		return $epoch;
	}

	static function uninstall() {
		global $wpdb;
		$wpdb->query('DROP TABLE IF EXISTS ' . self::table());
		delete_option(self::SETTINGS);
		delete_option(self::DB_OPTION);
		delete_option(self::DROPPED);
		delete_option(self::EPOCH);
	}

	/** True when changes of this request are recorded: enabled, and not wpbridge's own request. */
	static function recording() {
		$s = self::settings();
		if (empty($s['enabled'])) {
			return false;
		}
		return !(WPBridge_Plugin::via_app_password() && get_current_user_id() === (int) $s['user']);
	}

	static function note($id, $type, $old_email = null) {
		$id = (int) $id;
		if ($id <= 0 || !self::recording()) {
			return;
		}
		if (!self::$pending) {
			add_action('shutdown', array('WPBridge_Outbox', 'flush'), 0);
		}
		$cur = isset(self::$pending[$id]) ? self::$pending[$id] : array('type' => $type, 'old_email' => null, 'data' => null);
		if ('delete' === $type || ('register' === $type && 'delete' !== $cur['type'])) {
			$cur['type'] = $type;
		}
		if (null === $cur['old_email'] && null !== $old_email) {
			$cur['old_email'] = $old_email;
		}
		if ('delete' === $type) {
			$user = get_userdata($id);
			$cur['data'] = $user ? self::user_fields($user) : array('user_id' => $id);
		}
		self::$pending[$id] = $cur;
		if (count(self::$pending) > self::MAX_PENDING) {
			self::flush(); // a long request (a CLI import) writes as it goes, not all at its end
		}
	}

	static function on_register($id) {
		self::note($id, 'register');
	}

	static function on_update($id, $old = null) {
		self::note($id, 'update', is_object($old) && isset($old->user_email) ? (string) $old->user_email : null);
	}

	static function on_delete($id) {
		self::note($id, 'delete');
	}

	static function on_meta($mid, $id, $key) {
		$s = self::settings();
		if (!empty($s['enabled']) && in_array((string) $key, (array) $s['meta_keys'], true)) {
			self::note($id, 'update');
		}
	}

	/** The event data of $user: core fields, mapped meta (string or list of strings), never password or roles. */
	static function user_fields($user) {
		$data = array('user_id' => (int) $user->ID);
		foreach (self::CORE as $f) {
			$data[$f] = (string) $user->get($f);
		}
		$meta = array();
		foreach ((array) self::settings()['meta_keys'] as $key) {
			$rows = get_user_meta($user->ID, $key, false);
			if (!is_array($rows) || !$rows) {
				continue;
			}
			$value = maybe_unserialize($rows[0]);
			if (is_array($value)) {
				$meta[$key] = array_values(array_map('strval', array_filter($value, 'is_scalar')));
			} elseif (is_scalar($value)) {
				$meta[$key] = (string) $value;
			}
		}
		$data['meta'] = (object) $meta;
		return $data;
	}

	/** shutdown: writes this request's events. */
	static function flush() {
		global $wpdb;
		$pending      = self::$pending;
		self::$pending = array();
		if (!$pending) {
			return;
		}
		if (self::DB_VERSION !== get_option(self::DB_OPTION)) {
			self::install();
		}
		$table = self::table();
		$last  = 0;
		foreach ($pending as $id => $ev) {
			$data = $ev['data'];
			if (null === $data) {
				$user = get_userdata($id);
				if (!$user) {
					continue; // Gone before the end of the request, without delete_user (multisite removal).
				}
				$data = self::user_fields($user);
			}
			if (null !== $ev['old_email'] && $ev['old_email'] !== $data['user_email']) {
				$data['old_email'] = $ev['old_email'];
			}
			$ok = $wpdb->insert($table, array(
				'type'    => $ev['type'],
				'user_id' => $id,
				'created' => gmdate('Y-m-d H:i:s'),
				'data'    => wp_json_encode($data),
			), array('%s', '%d', '%s', '%s'));
			if ($ok) {
				$last = max($last, (int) $wpdb->insert_id);
			}
		}
		if ($last > self::LIMIT) {
			$dropped = (int) $wpdb->query($wpdb->prepare("DELETE FROM {$table} WHERE id <= %d", $last - self::LIMIT));
			if ($dropped > 0) {
				$wpdb->query($wpdb->prepare(
					"UPDATE {$wpdb->options} SET option_value = option_value + %d WHERE option_name = %s", $dropped, self::DROPPED
				));
				wp_cache_delete(self::DROPPED, 'options');
			}
		}
	}

	static function permitted() {
		foreach (array('create_users', 'edit_users', 'list_users', 'promote_users') as $cap) {
			if (!current_user_can($cap)) {
				return false;
			}
		}
		return true;
	}

	static function status() {
		global $wpdb;
		$s     = self::settings();
		$table = self::table();
		$have  = self::DB_VERSION === get_option(self::DB_OPTION);
		$row   = $have ? $wpdb->get_row("SELECT COUNT(*) AS n, MIN(id) AS lo, MAX(id) AS hi FROM {$table}") : null;
		return array(
			'enabled'    => !empty($s['enabled']),
			'meta_keys'  => array_values((array) $s['meta_keys']),
			'user'       => (int) $s['user'],
			'db_version' => (string) get_option(self::DB_OPTION, ''),
			'pending'    => $row ? (int) $row->n : 0,
			'oldest'     => $row ? (int) $row->lo : 0,
			'newest'     => $row ? (int) $row->hi : 0,
			'dropped'    => (int) get_option(self::DROPPED, 0),
			'limit'      => self::LIMIT,
			'epoch'      => self::epoch(),
		);
	}

	static function configure($request) {
		global $wpdb;
		$keys = array_values(array_unique(array_map('strval', (array) $request['meta_keys'])));
		foreach ($keys as $key) {
			if (WPBridge_Plugin::is_protected($key)) {
				return WPBridge_Plugin::protected_key($key);
			}
		}
		if (self::DB_VERSION !== get_option(self::DB_OPTION)) {
			self::install();
		}
		$on = (bool) $request['enabled'];
		update_option(self::SETTINGS, array('enabled' => $on, 'meta_keys' => $on ? $keys : array(), 'user' => get_current_user_id()), true);
		if (!$on && $request['purge']) {
			$wpdb->query('DELETE FROM ' . self::table());
		}
		return self::status();
	}

	static function drop() {
		self::uninstall();
		return self::status();
	}

	static function events($request) {
		global $wpdb;
		$out = array();
		if (self::DB_VERSION === get_option(self::DB_OPTION)) {
			$rows = $wpdb->get_results($wpdb->prepare(
				'SELECT id, type, user_id, created, data FROM ' . self::table() . ' WHERE id > %d ORDER BY id ASC LIMIT %d',
				(int) $request['after'], (int) $request['limit']
			));
			foreach ((array) $rows as $r) {
				$out[] = array(
					'id'      => (int) $r->id,
					'type'    => $r->type,
					'user_id' => (int) $r->user_id,
					'time'    => mysql2date('Y-m-d\TH:i:s\Z', $r->created, false),
					'user'    => json_decode($r->data),
				);
			}
		}
		return array('events' => $out, 'epoch' => self::epoch(), 'dropped' => (int) get_option(self::DROPPED, 0));
	}

	static function ack($request) {
		global $wpdb;
		$n = 0;
		if (self::DB_VERSION === get_option(self::DB_OPTION)) {
			$n = (int) $wpdb->query($wpdb->prepare('DELETE FROM ' . self::table() . ' WHERE id <= %d', (int) $request['up_to']));
		}
		return array('deleted' => $n);
	}

	static function rest_api_init() {
		$perm = array('WPBridge_Outbox', 'permitted');
		register_rest_route('wpbridge/v1', '/outbox', array(
			array('methods' => 'GET', 'callback' => array('WPBridge_Outbox', 'status'), 'permission_callback' => $perm),
			array(
				'methods'             => 'POST',
				'callback'            => array('WPBridge_Outbox', 'configure'),
				'permission_callback' => $perm,
				'args'                => array(
					'enabled'   => array('type' => 'boolean', 'required' => true),
					'meta_keys' => array('type' => 'array', 'items' => array('type' => 'string'), 'default' => array(), 'maxItems' => 200),
					'purge'     => array('type' => 'boolean', 'default' => false),
				),
			),
			array('methods' => 'DELETE', 'callback' => array('WPBridge_Outbox', 'drop'), 'permission_callback' => $perm),
		));
		register_rest_route('wpbridge/v1', '/outbox/events', array(
			'methods'             => 'GET',
			'callback'            => array('WPBridge_Outbox', 'events'),
			'permission_callback' => $perm,
			'args'                => array(
				'after' => array('type' => 'integer', 'default' => 0, 'minimum' => 0),
				'limit' => array('type' => 'integer', 'default' => 100, 'minimum' => 1, 'maximum' => self::MAX_BATCH),
			),
		));
		register_rest_route('wpbridge/v1', '/outbox/ack', array(
			'methods'             => 'POST',
			'callback'            => array('WPBridge_Outbox', 'ack'),
			'permission_callback' => $perm,
			'args'                => array('up_to' => array('type' => 'integer', 'required' => true, 'minimum' => 0)),
		));
	}

	static function init() {
		add_action('rest_api_init', array('WPBridge_Outbox', 'rest_api_init'));
		add_action('user_register', array('WPBridge_Outbox', 'on_register'), 10, 1);
		add_action('profile_update', array('WPBridge_Outbox', 'on_update'), 10, 2);
		add_action('delete_user', array('WPBridge_Outbox', 'on_delete'), 10, 1);
		add_action('added_user_meta', array('WPBridge_Outbox', 'on_meta'), 10, 3);
		add_action('updated_user_meta', array('WPBridge_Outbox', 'on_meta'), 10, 3);
		add_action('deleted_user_meta', array('WPBridge_Outbox', 'on_meta'), 10, 3);
		if (defined('WPMU_PLUGIN_DIR') && 0 !== strpos(wp_normalize_path(__FILE__), wp_normalize_path(WPMU_PLUGIN_DIR))) {
			register_activation_hook(__FILE__, function () {
				register_uninstall_hook(__FILE__, array('WPBridge_Outbox', 'uninstall'));
			});
		}
	}
}

if (!wp_installing()) {
	WPBridge_Outbox::init();
}
