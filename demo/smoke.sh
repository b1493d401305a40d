#!/usr/bin/env bash
# Smoke test (`make smoke`, used by CI): runs the demo for SMOKE_DURATION
# seconds with a fresh checkpoint, captures the collector's output, and fails
# unless at least SMOKE_MIN_RECORDS audit logs reached the debug exporter.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

SMOKE_DURATION=${SMOKE_DURATION:-25}
SMOKE_MIN_RECORDS=${SMOKE_MIN_RECORDS:-100}
out_dir=$root/.tmp/smoke
log_file=$out_dir/demo.log

log() { printf '[smoke] %s\n' "$*" >&2; }

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

if ((${#fail[@]} > 0)); then
	log "---- last 60 lines of ${log_file#"$root"/} ----"
	tail -n 60 "$log_file" >&2
	log "----"
	for f in "${fail[@]}"; do
		log "FAIL: $f"
	done
	exit 1
fi

log "---- first audit log record, as printed ----"
awk '/^LogRecord #/ { n++ } n == 1 { print } n > 1 { exit }' "$log_file" >&2
log "PASS"
