#!/usr/bin/env bash
# The demo (`make run`): starts the Zendesk API simulator and VictoriaLogs
# (the reference log store), then the collector with demo/collector.yaml
# reading from the simulator, printing every audit log with the debug
# exporter and storing it in VictoriaLogs. Ctrl-C stops them all, the
# collector first.
#
# Environment:
#   DEMO_DURATION=N      stop both after N seconds and exit 0 (CI smoke test);
#                        0 or unset: run until Ctrl-C.
#   DEMO_STORAGE_DIR     file_storage directory (default .tmp/demo-storage).
#   DEMO_KEEP_STORAGE=1  keep the checkpoint of an earlier run. By default it
#                        is removed, since each run starts a new simulated
#                        account.
#   DEMO_EVENTS          backlog records in the simulator (default 2000).
#   DEMO_LIVE_RATE       live arrivals per second (default 2).
#   DEMO_TOKEN_LIFETIME  lifetime of the simulator's OAuth access tokens
#                        (default 20s): the collector renews them as it goes.
#   DEMO_CONFIG          collector config (default demo/collector.yaml).
#   COLLECTOR, SIM       binaries (default _build/otelcol-zendesk, bin/zendesk-sim).
#   VICTORIALOGS         binary (default bin/victoria-logs); its data goes to
#                        .tmp/demo-victorialogs (removed unless DEMO_KEEP_STORAGE=1)
#   DEMO_VICTORIALOGS_PORT  its port on 127.0.0.1 (default 9428, or the next
#                        free one)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

DEMO_DURATION=${DEMO_DURATION:-0}
DEMO_STORAGE_DIR=${DEMO_STORAGE_DIR:-$root/.tmp/demo-storage}
DEMO_EVENTS=${DEMO_EVENTS:-2000}
DEMO_LIVE_RATE=${DEMO_LIVE_RATE:-2}
DEMO_TOKEN_LIFETIME=${DEMO_TOKEN_LIFETIME:-20s}
DEMO_CONFIG=${DEMO_CONFIG:-demo/collector.yaml}
COLLECTOR=${COLLECTOR:-_build/otelcol-zendesk}
SIM=${SIM:-bin/zendesk-sim}
VICTORIALOGS=${VICTORIALOGS:-bin/victoria-logs}
DEMO_VICTORIALOGS_DIR=$root/.tmp/demo-victorialogs

log() { printf '[demo] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $DEMO_DURATION =~ ^[0-9]+$ ]] || die "DEMO_DURATION must be a whole number of seconds, got '$DEMO_DURATION'"
[[ -x $COLLECTOR ]] || die "$COLLECTOR not found: run 'make build' (or 'make run', which builds)"
[[ -x $SIM ]] || die "$SIM not found: run 'make build'"
[[ -x $VICTORIALOGS ]] || die "$VICTORIALOGS not found: run 'make build'"

case $DEMO_STORAGE_DIR in /*) ;; *) DEMO_STORAGE_DIR=$root/$DEMO_STORAGE_DIR ;; esac
if [[ ${DEMO_KEEP_STORAGE:-0} != 1 ]]; then
	rm -rf "$DEMO_STORAGE_DIR" "$DEMO_VICTORIALOGS_DIR"
fi
mkdir -p "$DEMO_STORAGE_DIR" "$root/.tmp"

sim_pid=
col_pid=
vl_pid=
vl_url=
sim_out=$(mktemp "$root/.tmp/demo-sim-url.XXXXXX")

# stop PID NAME: SIGTERM, wait up to 15s, then SIGKILL. Returns the exit
# status of the process (0 for a clean shutdown).
stop() {
	local pid=$1 name=$2 rc=0 i
	[[ -n $pid ]] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 150; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "$name did not stop within 15s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || rc=$?
	return "$rc"
}

cleanup() {
	local rc=$? col_rc=0 sim_rc=0
	trap - EXIT INT TERM HUP
	local counted=$col_pid
	stop "$col_pid" collector || col_rc=$?
	col_pid=
	# Counted once the collector stopped (it exports what it holds on the
	# way out), after VictoriaLogs made what it received searchable.
	if [[ -n $vl_url && -n $counted ]]; then
		curl -sf -o /dev/null "$vl_url/internal/force_flush" || true
		vl_count=$(curl -sf "$vl_url/select/logsql/query" --data-urlencode 'query=* | stats count() n' |
			sed -n 's/.*"n":"\([0-9]*\)".*/\1/p' || true)
		log "VictoriaLogs holds ${vl_count:-?} audit log records (stopping it now)"
	fi
	stop "$vl_pid" victoria-logs || true
	vl_pid=
	stop "$sim_pid" zendesk-sim || sim_rc=$?
	sim_pid=
	rm -f "$sim_out"
	if ((col_rc != 0)); then
		log "collector exited with status $col_rc"
		((rc != 0)) || rc=$col_rc
	fi
	if ((sim_rc != 0)); then
		log "zendesk-sim exited with status $sim_rc"
		((rc != 0)) || rc=$sim_rc
	fi
	log "stopped (exit $rc)"
	exit "$rc"
}
interrupted() {
	log "interrupted: stopping the collector and the simulator"
	# A clean stop after Ctrl-C is a success.
	(exit 0)
	cleanup
}
trap cleanup EXIT
trap interrupted INT TERM HUP

# The simulator, VictoriaLogs and the collector each run in a process group
# of their own (set -m while each starts), not in the terminal's: Ctrl-C
# (and SIGHUP, the terminal closed) reaches this script alone, whose trap
# stops the collector first (it exports what it holds on the way out), and
# the store and the simulator only after it. Had Ctrl-C reached them all
# at once, VictoriaLogs would be gone before the collector's last export.

# 1. The simulator prints its base URL alone on the first line of stdout.
set -m
"$SIM" --listen 127.0.0.1:0 --events "$DEMO_EVENTS" --live-rate "$DEMO_LIVE_RATE" \
	--email demo@example.com --api-token demo-token \
	--oauth-client-id demo-collector --oauth-client-secret demo-client-secret \
	--token-lifetime "$DEMO_TOKEN_LIFETIME" >"$sim_out" &
sim_pid=$!
set +m
url=
for ((i = 0; i < 100; i++)); do
	if IFS= read -r url <"$sim_out" && [[ -n $url ]]; then
		break
	fi
	kill -0 "$sim_pid" 2>/dev/null || die "zendesk-sim exited before printing its URL"
	sleep 0.1
done
[[ $url == http://* ]] || die "zendesk-sim did not print its URL within 10s (got '$url')"
log "zendesk-sim listening at $url ($DEMO_EVENTS backlog records, $DEMO_LIVE_RATE live/s, OAuth tokens living $DEMO_TOKEN_LIFETIME; stats: $url/_sim/stats)"

# 2. VictoriaLogs, the log store the collector writes to (otlp_http,
# protobuf). Its own log goes to .tmp/demo-victorialogs.log.
vl_port=${DEMO_VICTORIALOGS_PORT:-9428}
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [[ -z ${DEMO_VICTORIALOGS_PORT:-} ]]; then
	while port_taken "$vl_port"; do vl_port=$((vl_port + 1)); done
fi
set -m
"$VICTORIALOGS" -storageDataPath="$DEMO_VICTORIALOGS_DIR" -httpListenAddr="127.0.0.1:$vl_port" \
	-retentionPeriod=30d >"$root/.tmp/demo-victorialogs.log" 2>&1 &
vl_pid=$!
set +m
vl_url=http://127.0.0.1:$vl_port
for ((i = 0; i < 100; i++)); do
	[[ $(curl -sf "$vl_url/health" 2>/dev/null) == OK ]] && break
	kill -0 "$vl_pid" 2>/dev/null || die "victoria-logs exited at start; see .tmp/demo-victorialogs.log"
	sleep 0.1
done
[[ $(curl -sf "$vl_url/health" 2>/dev/null) == OK ]] || die "victoria-logs does not answer on $vl_url/health"
export DEMO_VICTORIALOGS_ENDPOINT=$vl_url/insert/opentelemetry
log "VictoriaLogs at $vl_url: open $vl_url/select/vmui and paste a query (README: Into a log store):"
log "  flagged events:                security_rule.name:* | sort by (_time desc)"
log "  everything one actor did:      zendesk.audit_log.actor.id:=361782910349 | sort by (_time)"
log "  logins from one IP:            zendesk.audit_log.action:=login client.address:=192.0.2.33"

# 3. The collector, configured through the environment.
export ZENDESK_ENDPOINT=$url
export ZENDESK_OAUTH_CLIENT_ID=demo-collector
export ZENDESK_OAUTH_CLIENT_SECRET=demo-client-secret
export DEMO_STORAGE_DIR
log "starting $COLLECTOR --config $DEMO_CONFIG (checkpoint in ${DEMO_STORAGE_DIR#"$root"/})"
if ((DEMO_DURATION > 0)); then
	log "running for ${DEMO_DURATION}s"
else
	log "press Ctrl-C to stop"
fi
set -m
"$COLLECTOR" --config "$DEMO_CONFIG" &
col_pid=$!
set +m

# 4. Wait for the deadline, Ctrl-C, or one of them dying.
start=$SECONDS
while :; do
	if ! kill -0 "$col_pid" 2>/dev/null; then
		rc=0
		wait "$col_pid" || rc=$?
		col_pid=
		die "the collector exited on its own (status $rc); see its output above"
	fi
	if ! kill -0 "$sim_pid" 2>/dev/null; then
		rc=0
		wait "$sim_pid" || rc=$?
		sim_pid=
		die "zendesk-sim exited on its own (status $rc)"
	fi
	if ! kill -0 "$vl_pid" 2>/dev/null; then
		vl_pid=
		die "victoria-logs exited on its own; see .tmp/demo-victorialogs.log"
	fi
	if ((DEMO_DURATION > 0 && SECONDS - start >= DEMO_DURATION)); then
		log "${DEMO_DURATION}s elapsed: stopping"
		if stats=$(curl -fsS "$url/_sim/stats" 2>/dev/null); then
			log "zendesk-sim stats: $stats"
		fi
		break
	fi
	# Background sleep + wait so that Ctrl-C runs the trap at once.
	sleep 1 &
	wait $! || true
done
exit 0
