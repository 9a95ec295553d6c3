package wordpress

// AdminCapabilities are the WordPress capabilities that let a user manage the
// site or its users; a user or role holding any of them is admin-level.
// wpbridge never assigns an admin-level role nor changes an admin-level
// user's role, password or email, and `wpbridge check` refuses such a role
// in DEFAULT_ROLE or ALLOWED_ROLES. This is the one list: the companion
// plugin's ADMIN_CAPS (which is_admin_level and role_admin_capabilities use) is
// the same, in the same order, as admin_test.go checks.
var AdminCapabilities = []string{
	"edit_users", "promote_users", "manage_options", "unfiltered_html", "activate_plugins",
	"install_plugins", "upload_plugins", "edit_plugins", "delete_plugins", "update_plugins",
	"install_themes", "edit_themes", "delete_themes", "update_themes", "edit_theme_options",
	"edit_files", "unfiltered_upload", "create_users", "delete_users", "update_core", "export", "import",
}
