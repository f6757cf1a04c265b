#!/usr/bin/env bash
# Reprise benchmark: the watch-folder daemon (`reprise daemon`, quick-start mode): how soon a dropped
# recording's job starts, what the daemon costs while idle, and how fast it gets through a batch.
#
#   scripts/bench-daemon.sh                                  # defaults below, ~7-8 min on the 2-core machine
#   RECORDINGS=3 REC_SECONDS=5 IDLE_SECONDS=10 scripts/bench-daemon.sh     # a quick check (~2 min)
#   SKIP_BUILD=1 WORKERS=2 FORMS=transcode:long-form-720p scripts/bench-daemon.sh
#
# Environment:
#   QUIET              the daemon's --quiet, seconds a file must stay unchanged (default 5)
#   FORMS              the daemon's --forms (default transcode:vertical-short,transcode:long-form-720p).
#                      shorts/highlights wait for chat sidecars (a grace period) before queueing, so
#                      with them the latency counts that grace too
#   WORKERS            the daemon's --workers (default 1)
#   PROFILE_DIR        passed as --profile-dir when set
#   LAT_FILES          phase 1: files per drop method, rename and slow copy (default 3, so 6 drops)
#   LAT_SECONDS        length of the phase-1 recording (default 4: its jobs finish quickly)
#   SLOW_COPY_SECONDS  phase 1: a slow copy is written in SLOW_CHUNKS (default 10) flushed writes
#                      spread over this many seconds (default 3)
#   IDLE_SECONDS       phase 2 length (default 30)
#   RECORDINGS         phase 3: recordings dropped at once (default 10)
#   REC_SECONDS        phase 3: their length in seconds (default 30)
#   JOB_TIMEOUT        give up waiting for a phase's jobs after this many seconds (default 1800)
#   BENCH_DIR          work folder (default: <repo>/bench-out, git-ignored); inputs are cached there
#   REPRISE_BIN        use this reprise binary instead of .build/release/reprise (no build)
#   SKIP_BUILD=1       don't run `swift build -c release` (built anyway when the binary has no
#                      working `daemon --help`)
#
# What it measures, in one run of ONE daemon (fresh watch, output and state folders in
# BENCH_DIR/daemon-run), inputs made with `reprise sample` (1280x720 30 fps H.264 + AAC):
#   1. Latency: 2 x LAT_FILES drops, one at a time (the next once the last file's jobs are all
#      finished), alternately "rename" (copied to NAME.mp4.part in the watch folder, then renamed)
#      and "slow" (a plain copy under the final name, written in chunks). From the script's time of
#      the last write (right after the rename / after the last chunk) to the file's first job
#      starting: the "started" log line's arrival (the log and the store both have whole seconds
#      only, so the line is timed as it arrives) and its startedAt in `reprise jobs list --json`.
#      Reported minus QUIET: the daemon's own overhead. min/median/max per method.
#   2. Idle: IDLE_SECONDS with nothing to do: CPU % of one core (/proc/PID/stat utime+stime), VmRSS
#      each second, context switches of all threads per second.
#   3. Throughput: RECORDINGS copies of a REC_SECONDS recording dropped at once (copied as .part,
#      then renamed in a burst): wall from the drop until every job is finished (QUIET included),
#      jobs/minute, seconds of video per second of wall, sum of per-job times (the "done" lines'
#      seconds=), the daemon's peak RSS (sampled every 0.5 s, and VmHWM) and the largest job
#      process's. Every job must end "done" and every output it lists must exist and be non-empty.
#   Then SIGTERM: how long the daemon took to exit, and its exit status.
# Report on stdout and in BENCH_DIR/summary-daemon.txt, progress on stderr; raw results in
# BENCH_DIR/daemon-results/ (latency/idle/throughput/stop JSON, the daemon's log).
# Timings are wall-clock on a shared machine: other work (a test suite, a build) shows up in them;
# the load average before and after is printed.
# Exit status: 0 even when a target is missed (this is a report); non-zero when a command fails.
set -euo pipefail
shopt -s inherit_errexit

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-$REPO/bench-out}"
QUIET="${QUIET:-5}"
FORMS="${FORMS:-transcode:vertical-short,transcode:long-form-720p}"
WORKERS="${WORKERS:-1}"
PROFILE_DIR="${PROFILE_DIR:-}"
LAT_FILES="${LAT_FILES:-3}"
LAT_SECONDS="${LAT_SECONDS:-4}"
SLOW_COPY_SECONDS="${SLOW_COPY_SECONDS:-3}"
SLOW_CHUNKS="${SLOW_CHUNKS:-10}"
IDLE_SECONDS="${IDLE_SECONDS:-30}"
RECORDINGS="${RECORDINGS:-10}"
REC_SECONDS="${REC_SECONDS:-30}"
JOB_TIMEOUT="${JOB_TIMEOUT:-1800}"
HELP="$REPO/scripts/bench_daemon.py"
T_START=$(date +%s)

die() { echo "bench-daemon: error: $*" >&2; exit 1; }
log() { echo "bench-daemon: $*" >&2; }

isnum() { [[ "$1" =~ ^[0-9]+([.][0-9]+)?$ ]]; }
isint() { [[ "$1" =~ ^[0-9]+$ && "$1" -ge "$2" ]]; }
isnum "$QUIET" || die "QUIET must be a number of seconds (got '$QUIET')"
isnum "$SLOW_COPY_SECONDS" || die "SLOW_COPY_SECONDS must be a number (got '$SLOW_COPY_SECONDS')"
isint "$WORKERS" 1 || die "WORKERS must be >= 1"
isint "$LAT_FILES" 0 || die "LAT_FILES must be >= 0"
isint "$LAT_SECONDS" 2 || die "LAT_SECONDS must be a whole number >= 2"
isint "$SLOW_CHUNKS" 1 || die "SLOW_CHUNKS must be >= 1"
isint "$IDLE_SECONDS" 1 || die "IDLE_SECONDS must be >= 1"
isint "$RECORDINGS" 0 || die "RECORDINGS must be >= 0"
isint "$REC_SECONDS" 2 || die "REC_SECONDS must be a whole number >= 2"
isint "$JOB_TIMEOUT" 1 || die "JOB_TIMEOUT must be >= 1"
[[ -n "$FORMS" ]] || die "FORMS is empty"

# ---------------------------------------------------------------- tools
for tool in ffprobe python3; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install -y ffmpeg python3)"
done
[[ -r /proc/self/stat ]] || die "/proc is needed (Linux)"

# ---------------------------------------------------------------- build
mkdir -p "$BENCH_DIR"
BENCH_DIR="$(cd "$BENCH_DIR" && pwd)"
has_daemon() { "$1" daemon --help >/dev/null 2>&1 && "$1" jobs list --help >/dev/null 2>&1; }
if [[ -n "${REPRISE_BIN:-}" ]]; then
    REPRISE="$REPRISE_BIN"
else
    REPRISE="$REPO/.build/release/reprise"
    if [[ "${SKIP_BUILD:-0}" != 1 ]] || ! { [[ -x "$REPRISE" ]] && has_daemon "$REPRISE"; }; then
        [[ "${SKIP_BUILD:-0}" == 1 ]] && log "SKIP_BUILD=1 but $REPRISE is missing or has no working 'daemon' command: building anyway"
        log "swift build -c release (log: $BENCH_DIR/build-daemon.log)"
        if ! (cd "$REPO" && swift build -c release) >"$BENCH_DIR/build-daemon.log" 2>&1; then
            grep -m 20 'error:' "$BENCH_DIR/build-daemon.log" >&2 || tail -n 20 "$BENCH_DIR/build-daemon.log" >&2
            die "release build failed (full log: $BENCH_DIR/build-daemon.log)"
        fi
    fi
fi
[[ -x "$REPRISE" ]] || die "no reprise binary at $REPRISE"
has_daemon "$REPRISE" || die "$REPRISE has no working 'daemon' / 'jobs list' command (an old build? run without SKIP_BUILD)"
REPRISE="$(cd "$(dirname "$REPRISE")" && pwd)/$(basename "$REPRISE")"
BUILT_FROM="$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo '?')"
[[ -n "$(cd "$REPO" && git status --porcelain -- Sources 2>/dev/null)" ]] && BUILT_FROM+=", uncommitted changes in Sources/"
[[ -n "${REPRISE_BIN:-}" || "${SKIP_BUILD:-0}" == 1 ]] && BUILT_FROM="not built by this run; tree at $BUILT_FROM"

# ---------------------------------------------------------------- inputs
near() { awk -v a="$1" -v b="$2" -v tol="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= tol) }'; }
input_ok() {
    [[ -s "$1" ]] || return 1
    near "$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$1" 2>/dev/null || echo 0)" "$2" 0.2 || return 1
    [[ "$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height,r_frame_rate -of csv=p=0 "$1")" == "1280,720,30/1" ]] || return 1
    [[ -n "$(ffprobe -v error -select_streams a:0 -show_entries stream=codec_name -of csv=p=0 "$1")" ]]
}
make_input() {  # SECONDS -> path (cached in BENCH_DIR)
    local f="$BENCH_DIR/daemon-input-${1}s.mp4"
    if ! input_ok "$f" "$1"; then
        log "making a ${1} s 720p30 sample (reprise sample)"
        rm -f "$f"
        "$REPRISE" sample "$f" --seconds "$1" --size 1280x720 --fps 30 >&2 || die "reprise sample failed"
        input_ok "$f" "$1" || die "$f is not a ${1} s 1280x720 30 fps recording with audio"
    fi
    echo "$f"
}
LAT_INPUT="$(make_input "$LAT_SECONDS")"
REC_INPUT="$(make_input "$REC_SECONDS")"

# ---------------------------------------------------------------- the daemon
RUN="$BENCH_DIR/daemon-run"
RES="$BENCH_DIR/daemon-results"
WATCH="$RUN/watch"; OUTDIR="$RUN/out"; STATE="$RUN/state"
rm -rf "$RUN" "$RES"; mkdir -p "$WATCH" "$OUTDIR" "$STATE" "$RES"
DLOG="$RES/daemon.log"
D_ARGS=(daemon --watch "$WATCH" --out "$OUTDIR" --state-dir "$STATE" --forms "$FORMS" --quiet "$QUIET" --workers "$WORKERS")
[[ -n "$PROFILE_DIR" ]] && D_ARGS+=(--profile-dir "$PROFILE_DIR")

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before: $LOAD_BEFORE (other work on the machine skews the numbers)"
: >"$DLOG"
T_LAUNCH=$(date +%s%N)
"$REPRISE" "${D_ARGS[@]}" >"$RES/daemon.stdout" 2>>"$DLOG" &
DAEMON_PID=$!
cleanup() {  # the daemon must not outlive the script (only the one this script started)
    if [[ -n "${DAEMON_PID:-}" ]] && kill -0 "$DAEMON_PID" 2>/dev/null; then
        log "stopping the daemon (pid $DAEMON_PID) on the way out"
        kill -TERM "$DAEMON_PID" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$DAEMON_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT
READY_S=$(python3 "$HELP" wait-ready "$DLOG" "$DAEMON_PID" 30 "$T_LAUNCH") || { tail -n 20 "$DLOG" >&2; die "the daemon did not get ready (log: $DLOG)"; }
READY_RSS=$(awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$DAEMON_PID/status")
log "daemon pid $DAEMON_PID ready after $READY_S s ($READY_RSS MB): ${D_ARGS[*]}"

export REPRISE STATE WATCH OUTDIR LOG="$DLOG" DAEMON_PID QUIET FORMS WORKERS LAT_INPUT LAT_FILES \
       SLOW_COPY_SECONDS SLOW_CHUNKS IDLE_SECONDS REC_INPUT REC_SECONDS RECORDINGS JOB_TIMEOUT

# ---------------------------------------------------------------- the three phases
if [[ $LAT_FILES -gt 0 ]]; then
    log "phase 1: latency, $((2 * LAT_FILES)) drops of a $LAT_SECONDS s recording (quiet period $QUIET s)"
    python3 "$HELP" latency "$RES/latency.json"
fi
sleep 1  # let the last job's child be reaped and the log settle
log "phase 2: idle for $IDLE_SECONDS s"
python3 "$HELP" idle "$RES/idle.json"
if [[ $RECORDINGS -gt 0 ]]; then
    log "phase 3: throughput, $RECORDINGS x $REC_SECONDS s, forms $FORMS, workers $WORKERS"
    python3 "$HELP" throughput "$RES/throughput.json"
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- stop
log "SIGTERM to the daemon"
LINES_BEFORE=$(wc -l <"$DLOG")
T0=$(date +%s%N)
kill -TERM "$DAEMON_PID"
KILLED=false
for _ in $(seq 600); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.05; done   # 30 s
if kill -0 "$DAEMON_PID" 2>/dev/null; then
    log "the daemon is still running 30 s after SIGTERM: SIGKILL"
    kill -KILL "$DAEMON_PID"; KILLED=true
fi
STATUS=0; wait "$DAEMON_PID" || STATUS=$?
T1=$(date +%s%N)
DAEMON_PID=""
python3 - "$RES/stop.json" "$T0" "$T1" "$STATUS" "$KILLED" "$DLOG" "$LINES_BEFORE" <<'EOF'
import json, re, sys
out, t0, t1, status, killed, logf, skip = sys.argv[1:]
lines = open(logf, errors="replace").read().splitlines()[int(skip):]
msgs = [re.sub(r"^.*\[\w+\] ", "", l) for l in lines]
json.dump({"seconds": (int(t1) - int(t0)) / 1e9, "status": int(status), "killed": killed == "true",
           "kill_after": 30, "last_lines": msgs[-3:]}, open(out, "w"))
EOF

# ---------------------------------------------------------------- summary
NLOG=$(wc -l <"$DLOG")
{
echo
echo "==================== Reprise daemon benchmark ===================="
echo "host: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM; load average before $LOAD_BEFORE, after $LOAD_AFTER"
echo "reprise: $REPRISE (built from $BUILT_FROM)"
echo "daemon: --forms $FORMS --quiet $QUIET --workers $WORKERS${PROFILE_DIR:+ --profile-dir $PROFILE_DIR}; ready ${READY_S} s after launch, RSS then $READY_RSS MB"
echo "inputs: $(basename "$LAT_INPUT") (phase 1), $(basename "$REC_INPUT") x $RECORDINGS (phase 3), 1280x720 30 fps H.264 + AAC"
echo
python3 "$HELP" report "$RES"
echo
echo "raw results: $RES/ (daemon.log: $NLOG lines); folders in $RUN/; total bench time $(( $(date +%s) - T_START )) s"
echo "=================================================================="
} | tee "$BENCH_DIR/summary-daemon.txt"
exit 0
