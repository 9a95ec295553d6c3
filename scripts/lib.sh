# lib.sh — shared by the scripts in this folder: source it after setting SCRIPT
# (the name shown in messages).
#   log MSG...          a line on stderr, prefixed with the script's name
#   die MSG [LOGFILE]   log MSG (and the last lines of LOGFILE), exit 1
#   proc_is PID NAME    PID is alive and its command name is NAME (guards against reused PIDs)

log() { printf '%s: %s\n' "$SCRIPT" "$*" >&2; }
die() {
	log "error: $1"
	if [ -n "${2:-}" ] && [ -f "$2" ]; then
		log "last lines of $2:"
		tail -n 30 "$2" >&2 || true
	fi
	exit 1
}
proc_is() { [ -n "$1" ] && [ -r "/proc/$1/comm" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; }
