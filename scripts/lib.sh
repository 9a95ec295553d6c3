# lib.sh — shared by the scripts in this folder: source it after setting SCRIPT
# (the name shown in messages).
#   log MSG...          a line on stderr, prefixed with the script's name
#   die MSG [LOGFILE]   log MSG (and the last lines of LOGFILE), exit 1
#   proc_is PID NAME    PID is alive and its command name is NAME (guards against reused PIDs)
#   stop_pid FILE NAME  stops the process whose pid FILE holds, if it still is NAME: SIGTERM,
#                       then SIGKILL after 30s; returns once it is gone
#   leftovers DIR PORT...  prints what is still there of a stopped service: DIR, processes
#                       whose command line names DIR, ports listening on 127.0.0.1; nothing if none

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
stop_pid() {
	local pid i
	[ -f "$1" ] || return 0
	pid=$(cat "$1")
	running() { proc_is "$pid" "$2" && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; }
	running "$@" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 300; i++)); do
		running "$@" || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		running "$@" || return 0
		sleep 0.1
	done
}
leftovers() {
	local dir=$1 port pids
	shift
	[ ! -e "$dir" ] || echo "state directory $dir still exists"
	pids=$(pgrep -f -- "$dir/" || true)
	[ -z "$pids" ] || echo "processes still running from $dir: $(ps -o pid=,args= -p "$(echo $pids | tr ' ' ,)" | tr '\n' ';')"
	for port in "$@"; do
		! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || echo "port $port on 127.0.0.1 still answers"
	done
}
