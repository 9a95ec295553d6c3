<?php
// Router for `php -S` in front of a subdirectory multisite network (scripts/wordpress.sh with
// WPBRIDGE_WP_MULTISITE=1): what WordPress's .htaccess rules for such a network do. A path under
// a site's directory that names a core file or folder (/site2/wp-login.php, /site2/wp-admin/...,
// /site2/wp-includes/..., /site2/wp-content/...) is served from the root; everything else goes to
// php -S as usual (existing files as they are, other paths to /index.php, where WordPress picks
// the site from the path: /site2/wp-json/... reaches site 2's REST API).
$path = rawurldecode((string) parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH));
$root = rtrim($_SERVER['DOCUMENT_ROOT'], '/');
if (is_file($root . $path) || !preg_match('#^/[_0-9a-zA-Z-]+(/(?:wp-(?:content|admin|includes)(?:/.*)?|[^/]+\.php))$#', $path, $m)) {
	return false;
}
$rel  = $m[1];
$file = $root . $rel;
if (is_dir($file)) {
	$rel  = rtrim($rel, '/') . '/index.php';
	$file = $root . $rel;
}
if (!is_file($file) || false !== strpos($rel, '..')) {
	return false;
}
if ('.php' !== substr($file, -4)) {
	$types = array('css' => 'text/css', 'js' => 'application/javascript', 'png' => 'image/png', 'svg' => 'image/svg+xml', 'gif' => 'image/gif', 'woff2' => 'font/woff2');
	$ext   = strtolower(pathinfo($file, PATHINFO_EXTENSION));
	header('Content-Type: ' . (isset($types[$ext]) ? $types[$ext] : 'application/octet-stream'));
	readfile($file);
	return true;
}
$_SERVER['SCRIPT_NAME']     = $rel;
$_SERVER['PHP_SELF']        = $rel;
$_SERVER['SCRIPT_FILENAME'] = $file;
chdir(dirname($file));
require $file;
