#!/usr/bin/env bash
# Smoke test (`make smoke`, used by CI): runs the demo for SMOKE_DURATION
# seconds with a fresh checkpoint, captures the collector's output, and fails
# unless at least SMOKE_MIN_RECORDS audit logs reached the debug exporter.
# Then runs it again and stops it as Ctrl-C in a terminal does (SIGINT to
# its process group) after SMOKE_CTRL_C seconds: it must stop cleanly, with
# every record it printed in VictoriaLogs.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

SMOKE_DURATION=${SMOKE_DURATION:-25}
SMOKE_MIN_RECORDS=${SMOKE_MIN_RECORDS:-100}
SMOKE_CTRL_C=${SMOKE_CTRL_C:-15}
out_dir=$root/.tmp/smoke
log_file=$out_dir/demo.log

log() { printf '[smoke] %s\n' "$*" >&2; }

# fail_if_any FILE LINES: when fail (an array of reasons) holds any, prints
# the last LINES lines of FILE and each reason, and exits 1.
fail_if_any() {
	local file=$1 lines=$2 f
	((${#fail[@]} > 0)) || return 0
	log "---- last $lines lines of ${file#"$root"/} ----"
	tail -n "$lines" "$file" >&2
	log "----"
	for f in "${fail[@]}"; do
		log "FAIL: $f"
	done
	exit 1
}

# wait_exit PID TENTHS: waits up to TENTHS tenths of a second for PID to
# exit.
wait_exit() {
	local i
	for ((i = 0; i < $2; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
}

rm -rf "$out_dir"
mkdir -p "$out_dir"

log "running the demo for ${SMOKE_DURATION}s; output in ${log_file#"$root"/}"
rc=0
DEMO_DURATION=$SMOKE_DURATION \
	DEMO_STORAGE_DIR=$out_dir/storage \
	DEMO_KEEP_STORAGE=0 \
	demo/run.sh >"$log_file" 2>&1 || rc=$?

# The debug exporter (verbosity: detailed) prints one
# "EventName: zendesk.audit_log" line per log record, and its attributes as
# "-> <key>: <Type>(<value>)" (zendesk.audit_log.id: Int(...), log.record.uid: Str(...)).
records=$(grep -c 'EventName: zendesk\.audit_log$' "$log_file" || true)
with_id=$(grep -c -- '-> zendesk\.audit_log\.id: ' "$log_file" || true)
unique=$(grep -- '-> zendesk\.audit_log\.id: ' "$log_file" | sort -u | wc -l)
with_uid=$(grep -c -- '-> log\.record\.uid: Str(' "$log_file" || true)
errors=$(grep -cE '(^|\s)(error|ERROR)(\s|$)' "$log_file" || true)
# file_storage keeps each component's data in a file of its own: the
# receiver's checkpoint in receiver_zendesk_audit_logs_ (the exporter's
# queue is exporter_debug__logs).
# demo/run.sh counts the records VictoriaLogs holds once the collector stopped.
stored=$(sed -n 's/^\[demo\] VictoriaLogs holds \([0-9]*\) audit log records.*/\1/p' "$log_file" | tail -n 1)
checkpoint=no
if [[ -s $out_dir/storage/receiver_zendesk_audit_logs_ ]]; then
	checkpoint=yes
fi

log "demo exit status: $rc"
log "log records with EventName zendesk.audit_log: $records (minimum $SMOKE_MIN_RECORDS)"
log "records with a zendesk.audit_log.id attribute: $with_id ($unique distinct ids), with a log.record.uid: $with_uid"
log "error-level log lines: $errors"
log "checkpoint file written by file_storage: $checkpoint"
log "records stored in VictoriaLogs: ${stored:-none reported} (minimum $SMOKE_MIN_RECORDS)"

fail=()
((rc == 0)) || fail+=("the demo exited with status $rc (expected a clean stop)")
((records >= SMOKE_MIN_RECORDS)) || fail+=("only $records audit log records reached the debug exporter")
((with_id == records)) || fail+=("$records records but $with_id zendesk.audit_log.id attributes")
((with_uid == records)) || fail+=("$records records but $with_uid log.record.uid attributes")
((${stored:-0} >= SMOKE_MIN_RECORDS)) || fail+=("VictoriaLogs holds ${stored:-no} records")
[[ $checkpoint == yes ]] || fail+=("no checkpoint was written under ${out_dir#"$root"/}/storage")
fail_if_any "$log_file" 60

log "---- first audit log record, as printed ----"
awk '/^LogRecord #/ { n++ } n == 1 { print } n > 1 { exit }' "$log_file" >&2

# Ctrl-C: the terminal sends SIGINT to its foreground process group, here
# the demo's own. Started with job control on (set -m), the demo gets a
# process group of its own, as a shell gives the command it runs, and
# SIGINT as it is in a terminal (a background job of a script without job
# control starts with SIGINT ignored, and could not trap it). env
# --default-signal gives it SIGINT's default disposition even when this
# script itself was started with SIGINT ignored (a `cmd &` of a script,
# nohup in a subshell): a shell cannot trap a signal ignored on its entry,
# and a terminal's shell would not have ignored it.
ctrl_c_log=$out_dir/demo-ctrl-c.log
log "running the demo again and stopping it with SIGINT to its process group after ${SMOKE_CTRL_C}s; output in ${ctrl_c_log#"$root"/}"
set -m
DEMO_STORAGE_DIR=$out_dir/storage-ctrl-c DEMO_KEEP_STORAGE=0 env --default-signal=INT demo/run.sh >"$ctrl_c_log" 2>&1 &
demo_pid=$!
set +m
wait_exit "$demo_pid" $((SMOKE_CTRL_C * 10))
kill -INT -- "-$demo_pid" 2>/dev/null || true
# The demo stops the collector (up to 15 s), then the store and the
# simulator (up to 15 s each).
wait_exit "$demo_pid" 600
if kill -0 "$demo_pid" 2>/dev/null; then
	kill -TERM "$demo_pid" 2>/dev/null || true
	log "FAIL: the demo did not stop within 60 s of Ctrl-C"
	wait "$demo_pid" || true
	exit 1
fi
rc=0
wait "$demo_pid" || rc=$?
printed=$(grep -- '-> zendesk\.audit_log\.id: ' "$ctrl_c_log" | sort -u | wc -l)
stored=$(sed -n 's/^\[demo\] VictoriaLogs holds \([0-9]*\) audit log records.*/\1/p' "$ctrl_c_log" | tail -n 1)
dropped=$(grep -c 'Dropping data' "$ctrl_c_log" || true)
log "demo exit status after SIGINT: $rc; records printed: $printed; in VictoriaLogs: ${stored:-none reported}; exports dropped: $dropped"
fail=()
((rc == 0)) || fail+=("the demo exited with status $rc after Ctrl-C (expected a clean stop)")
((printed > 0)) || fail+=("no record was printed before Ctrl-C")
[[ ${stored:-x} == "$printed" ]] || fail+=("VictoriaLogs holds ${stored:-no} records after Ctrl-C, the collector printed $printed")
((dropped == 0)) || fail+=("the collector dropped $dropped exports on the way out")
fail_if_any "$ctrl_c_log" 40
log "PASS"
