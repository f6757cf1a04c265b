#!/usr/bin/env bash
# Reprise benchmark: `reprise highlights` planning a 3-hour recording, then its highlight reel cut
# by `reprise cut --segments --mode smart` vs the ffmpeg CLI re-encoding the same ranges.
#
#   scripts/bench-highlights.sh                        # ~20-min reel of 40 x 30 s windows, bench-out/
#   REEL_MINUTES=2 scripts/bench-highlights.sh         # a quick check (4 windows; the plan is the same work)
#   SKIP_BUILD=1 CUT_RUNS=1 scripts/bench-highlights.sh
#
# Environment:
#   REEL_MINUTES   reel target in minutes (default 20 -> ~40 windows of 30 s); the ffmpeg re-encode of
#                  the reel is the long part (~4-6 min for 20 min of 720p on the 2-core machine)
#   WINDOW_SECONDS length of every window (recipe windows.min = max; default 30)
#   SEED           seed of the generated chat/orders/products (default 20240601)
#   PLAN_RUNS      timed runs of `reprise highlights --plan-only` (default 1; median reported)
#   CUT_RUNS       timed runs of `reprise cut` of the reel (default 3; median reported)
#   FFMPEG_RUNS    timed runs of the ffmpeg re-encode (default 1)
#   CHECK_FRAMES=0 skip decoding both reels' frame-index barcodes (frame counts and durations are
#                  always compared)
#   BENCH_DIR      work folder (default: <repo>/bench-out, git-ignored). The 10-min sample and the
#                  3-h file are the ones scripts/bench.sh makes and caches there (same names).
#   REPRISE_BIN    use this reprise binary instead of .build/release/reprise (no build)
#   SKIP_BUILD=1   don't run `swift build -c release` (built anyway when the binary has no
#                  `highlights` command)
#
# What it measures, in one run:
#   1. Signal files for the 3-h recording (python, fixed seed): chat JSON lines (1-3 msg/s background,
#      Chinese and English; 45 planted bursts of 5-10x the background for 20-40 s, evenly spread),
#      orders CSV (20-60 orders after 15 of the bursts, one more every ~5 min), a product timeline
#      (~12 products of 8-15 min). A recipe (profile folder in BENCH_DIR) with fixed-length windows,
#      no snapping, reel target REEL_MINUTES, the teaser not in the reel.
#   2. `reprise highlights LONG --chat --orders --products --profile-dir P --recipe bench --plan-only`:
#      wall, its planSeconds (scoring + windowing) and seconds, peak RSS; where the windows fell
#      against the planted bursts (info).
#   3. The reel's ranges (a segments file) cut by `reprise cut LONG --segments F --mode smart` (with
#      the packet index cached; building it, when missing, is timed apart), and by ONE ffmpeg process:
#      one input per range (-ss S -t D -i LONG, accurate seek), -filter_complex concat=n=N:v=1:a=1,
#      -c:v libx264 -preset veryfast -crf 20 -c:a aac. Ratio ffmpeg/reprise (target >= 10x).
#      Both outputs: video packets (ffprobe -count_packets) equal to each other and to the frames the
#      ranges hold, durations within 0.1 s, and (CHECK_FRAMES) every frame's barcode as expected.
# Report on stdout and in BENCH_DIR/summary-highlights.txt, progress on stderr.
# Exit status: 0 even when a target is missed (this is a report); non-zero when a command fails.
set -euo pipefail
shopt -s inherit_errexit

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-$REPO/bench-out}"
REEL_MINUTES="${REEL_MINUTES:-20}"
WINDOW_SECONDS="${WINDOW_SECONDS:-30}"
SEED="${SEED:-20240601}"
PLAN_RUNS="${PLAN_RUNS:-1}"
CUT_RUNS="${CUT_RUNS:-3}"
FFMPEG_RUNS="${FFMPEG_RUNS:-1}"
CHECK_FRAMES="${CHECK_FRAMES:-1}"
HELP="$REPO/scripts/bench_highlights.py"
HELPERS="$REPO/scripts/bench_helpers.py"
T_START=$(date +%s)

SAMPLE_SECONDS=600
COPIES=18
LONG_SECONDS=$((SAMPLE_SECONDS * COPIES))   # 10800
FPS=30
TARGET_SPEEDUP=10
DURATION_TOL=0.1

die() { echo "bench-highlights: error: $*" >&2; exit 1; }
log() { echo "bench-highlights: $*" >&2; }

[[ "$REEL_MINUTES" =~ ^[0-9]+([.][0-9]+)?$ ]] && awk -v m="$REEL_MINUTES" 'BEGIN { exit !(m > 0 && m <= 120) }' \
    || die "REEL_MINUTES must be a number of minutes in (0, 120] (got '$REEL_MINUTES')"
[[ "$WINDOW_SECONDS" =~ ^[0-9]+$ && "$WINDOW_SECONDS" -ge 2 ]] || die "WINDOW_SECONDS must be a whole number >= 2"
for v in PLAN_RUNS CUT_RUNS FFMPEG_RUNS; do [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -ge 1 ]] || die "$v must be >= 1"; done
REEL_SECONDS=$(awk -v m="$REEL_MINUTES" 'BEGIN { printf "%.0f", m * 60 }')
awk -v r="$REEL_SECONDS" -v w="$WINDOW_SECONDS" 'BEGIN { exit !(r >= w) }' || die "the reel (REEL_MINUTES) is shorter than one window"

# ---------------------------------------------------------------- tools
for tool in ffmpeg ffprobe python3 awk; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install -y ffmpeg python3 gawk)"
done
if [[ ! -x /usr/bin/time ]]; then
    log "/usr/bin/time (GNU time) missing; installing the Debian package 'time'"
    if [[ $(id -u) -eq 0 ]]; then
        apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
    else
        sudo apt-get install -y time >/dev/null
    fi
    [[ -x /usr/bin/time ]] || die "could not install GNU time"
fi
[[ "$(ffmpeg -hide_banner -encoders 2>/dev/null)" == *libx264* ]] || die "this ffmpeg has no libx264 encoder"

# ---------------------------------------------------------------- build
mkdir -p "$BENCH_DIR"
BENCH_DIR="$(cd "$BENCH_DIR" && pwd)"
has_highlights() { "$1" highlights --help >/dev/null 2>&1; }
if [[ -n "${REPRISE_BIN:-}" ]]; then
    REPRISE="$REPRISE_BIN"
else
    REPRISE="$REPO/.build/release/reprise"
    if [[ "${SKIP_BUILD:-0}" != 1 ]] || ! { [[ -x "$REPRISE" ]] && has_highlights "$REPRISE"; }; then
        [[ "${SKIP_BUILD:-0}" == 1 ]] && log "SKIP_BUILD=1 but $REPRISE is missing or has no 'highlights' command: building anyway"
        log "swift build -c release (log: $BENCH_DIR/build-highlights.log; may wait for another build's lock)"
        if ! (cd "$REPO" && swift build -c release) >"$BENCH_DIR/build-highlights.log" 2>&1; then
            grep -m 20 'error:' "$BENCH_DIR/build-highlights.log" >&2 || tail -n 20 "$BENCH_DIR/build-highlights.log" >&2
            die "release build failed (full log: $BENCH_DIR/build-highlights.log)"
        fi
    fi
fi
[[ -x "$REPRISE" ]] || die "no reprise binary at $REPRISE"
has_highlights "$REPRISE" || die "$REPRISE has no 'highlights' command (an old build? run without SKIP_BUILD)"
BUILT_FROM="$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo '?')"
[[ -n "$(cd "$REPO" && git status --porcelain -- Sources 2>/dev/null)" ]] && BUILT_FROM+=", uncommitted changes in Sources/"
[[ -n "${REPRISE_BIN:-}" || "${SKIP_BUILD:-0}" == 1 ]] && BUILT_FROM="not built by this run; tree at $BUILT_FROM"

RES="$BENCH_DIR/highlights-results"
OUTS="$BENCH_DIR/highlights-outputs"
rm -rf "$RES" "$OUTS"; mkdir -p "$RES" "$OUTS"
SAMPLE="$BENCH_DIR/sample-10min.mp4"   # the names scripts/bench.sh uses: one cache for both
LONG="$BENCH_DIR/long-3h.mp4"

# ---------------------------------------------------------------- helpers
fmt_duration() { ffprobe -v error -show_entries format=duration -of csv=p=0 "$1" 2>/dev/null || echo 0; }
near() { awk -v a="$1" -v b="$2" -v tol="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= tol) }'; }
fdiv() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "nan"; else printf "%.2f", a / b }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

# timed NAME CMD...: runs CMD under GNU time, stdout to $RES/NAME.stdout, stderr to $RES/NAME.stderr.
# Appends "wall_s user_s sys_s maxrss_kb" to $RES/NAME.runs. Fails the script if CMD fails.
timed() {
    local name="$1"; shift
    local t0 t1 tf="$RES/$name.time"
    t0=$(date +%s%N)
    if ! /usr/bin/time -f "%U %S %M" -o "$tf" "$@" >"$RES/$name.stdout" 2>"$RES/$name.stderr"; then
        tail -n 30 "$RES/$name.stderr" >&2
        die "command failed: $*"
    fi
    t1=$(date +%s%N)
    local wall; wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    echo "$wall $(tail -n 1 "$tf")" >>"$RES/$name.runs"
    echo "$wall"
}
col_median() { python3 "$HELP" median $(awk -v k="$2" '{ print $k }' "$RES/$1.runs"); }
col_max() { awk -v k="$2" 'BEGIN { m = 0 } { if ($k > m) m = $k } END { print m }' "$RES/$1.runs"; }
col_list() { awk '{ printf "%s%s", (NR > 1 ? " " : ""), $1 }' "$RES/$1.runs"; }
cpu_median() { python3 "$HELP" median $(awk '{ print $2 + $3 }' "$RES/$1.runs"); }
index_file() {  # the cached packet index of FILE, wherever reprise put it; empty if none
    local p
    while read -r p; do [[ -f "$p" ]] && { echo "$p"; return; }; done < <(python3 "$HELPERS" index-paths "$1")
    return 0
}
jfield() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("n/a" if v is None else v)' "$1" "$2"; }

# ---------------------------------------------------------------- inputs (as scripts/bench.sh makes them)
sample_ok() {
    [[ -s "$SAMPLE" ]] || return 1
    near "$(fmt_duration "$SAMPLE")" "$SAMPLE_SECONDS" 0.5 || return 1
    [[ "$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height,r_frame_rate -of csv=p=0 "$SAMPLE")" == "1280,720,30/1" ]]
}
if sample_ok; then
    log "reusing $SAMPLE"
    SAMPLE_GEN="cached"
else
    log "making the 10-min 720p30 sample (reprise sample; several minutes)"
    rm -f "$SAMPLE" "$LONG"
    /usr/bin/time -f "%e %U %S %M" -o "$SAMPLE.gen-time" \
        "$REPRISE" sample "$SAMPLE" --seconds "$SAMPLE_SECONDS" --size 1280x720 --fps "$FPS" --gop 60 >&2 \
        || die "reprise sample failed"
    sample_ok || die "the sample is not a 600 s 1280x720 30 fps recording"
    SAMPLE_GEN="made now in $(awk '{ printf "%.0f s", $1 }' "$SAMPLE.gen-time")"
fi

long_ok() {
    [[ -s "$LONG" && "$LONG" -nt "$SAMPLE" ]] || return 1
    near "$(fmt_duration "$LONG")" "$LONG_SECONDS" 1.0
}
if long_ok; then
    log "reusing $LONG"
    LONG_GEN="cached"
else
    log "concatenating $COPIES copies into the 3-h file (concat demuxer, -c copy)"
    list="$BENCH_DIR/concat-list.txt"
    : >"$list"
    for _ in $(seq "$COPIES"); do echo "file '$(basename "$SAMPLE")'" >>"$list"; done
    rm -f "$LONG"
    t0=$(date +%s%N)
    ffmpeg -nostdin -v error -y -f concat -safe 0 -i "$list" -map 0 -c copy -movflags +faststart \
        -f mp4 "$LONG.tmp" || die "ffmpeg concat failed"
    mv "$LONG.tmp" "$LONG"
    LONG_GEN="made now in $(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f s", (b - a) / 1e9 }')"
fi
LONG_DUR=$(fmt_duration "$LONG")
near "$LONG_DUR" "$LONG_SECONDS" 1.0 || die "3-h file lasts $LONG_DUR s, expected ~$LONG_SECONDS"
LONG_FRAMES=$(ffprobe -v error -select_streams v:0 -show_entries stream=nb_frames -of csv=p=0 "$LONG")
log "3-h file: $LONG_DUR s, $LONG_FRAMES video frames, $(du -h "$LONG" | cut -f1)"

# ---------------------------------------------------------------- 1. signals and recipe
SIG="$RES/signals"
PROF="$RES/profile"
log "generating signal files (seed $SEED)"
SIG_SUMMARY=$(python3 "$HELP" signals "$LONG_DUR" "$SIG" "$SEED") || die "could not generate the signal files"
python3 "$HELP" recipe "$PROF" "$REEL_SECONDS" "$WINDOW_SECONDS"
log "signals: $SIG_SUMMARY; recipe: reel target $REEL_SECONDS s of $WINDOW_SECONDS s windows"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before timing: $LOAD_BEFORE (other work on the machine skews the numbers)"

# ---------------------------------------------------------------- 2. plan
H_ARGS=(highlights "$LONG" -o "$OUTS/highlights" --chat "$SIG/chat.jsonl" --orders "$SIG/orders.csv"
        --products "$SIG/products.json" --profile-dir "$PROF" --recipe bench --plan-only)
for i in $(seq "$PLAN_RUNS"); do
    w=$(timed plan "$REPRISE" "${H_ARGS[@]}")
    cp "$RES/plan.stdout" "$RES/plan-$i.json"
    log "plan run $i/$PLAN_RUNS: reprise highlights --plan-only $w s"
done
python3 "$HELP" analyse "$RES/plan.stdout" "$SIG/planted.json" "$RES/ranges.json" "$RES/plan-summary.json" \
    || die "could not read the plan (see $RES/plan.stdout)"
PLAN_SECONDS_LIST=$(for i in $(seq "$PLAN_RUNS"); do python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][-1]["planSeconds"])' "$RES/plan-$i.json"; done)
SECONDS_LIST=$(for i in $(seq "$PLAN_RUNS"); do python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][-1]["seconds"])' "$RES/plan-$i.json"; done)
PLAN_S=$(python3 "$HELP" median $PLAN_SECONDS_LIST)
PLAN_CMD_S=$(python3 "$HELP" median $SECONDS_LIST)
NRANGES=$(python3 "$HELP" field "$RES/plan-summary.json" reel_ranges)
REEL_TOTAL=$(python3 "$HELP" field "$RES/plan-summary.json" reel_seconds)
log "reel: $NRANGES ranges, $REEL_TOTAL s"

# ---------------------------------------------------------------- 3. the reel: reprise cut vs ffmpeg
INDEX_NOTE="cached beside the file"
if [[ -z "$(index_file "$LONG")" ]]; then
    log "no packet index for $LONG yet: building it with a 1 s cut (timed apart, not in the ratio)"
    w=$(timed index "$REPRISE" cut "$LONG" -o "$OUTS/index-warmup.mp4" --from 0 --to 1 --mode smart --json)
    INDEX_NOTE="built now by a 1 s cut in $w s (not counted)"
fi
R_ARGS=(cut "$LONG" -o "$OUTS/reel-reprise.mp4" --segments "$RES/ranges.json" --mode smart --json)
python3 "$HELP" ffmpeg "$RES/ranges.json" "$LONG" "$OUTS/reel-ffmpeg.mp4" "$RES/ffmpeg-cmd.json"

# Alternate so drift in the machine's load hits both alike.
for i in $(seq "$(( CUT_RUNS > FFMPEG_RUNS ? CUT_RUNS : FFMPEG_RUNS ))"); do
    if [[ $i -le $CUT_RUNS ]]; then
        w=$(timed reprise "$REPRISE" "${R_ARGS[@]}")
        log "cut run $i/$CUT_RUNS: reprise cut --segments ($NRANGES ranges) $w s"
    fi
    if [[ $i -le $FFMPEG_RUNS ]]; then
        log "ffmpeg run $i/$FFMPEG_RUNS: re-encoding $REEL_TOTAL s of 720p (minutes)"
        w=$(timed ffmpeg python3 "$HELP" run "$RES/ffmpeg-cmd.json")
        log "ffmpeg run $i/$FFMPEG_RUNS: $w s"
    fi
done
grep '"event":"result"' "$RES/reprise.stdout" | tail -n 1 >"$RES/reprise-result.json" || die "reprise cut printed no result JSON"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- checks (not timed)
log "checking outputs"
python3 "$HELP" probe "$OUTS/reel-reprise.mp4" >"$RES/probe-reprise.json"
python3 "$HELP" probe "$OUTS/reel-ffmpeg.mp4" >"$RES/probe-ffmpeg.json"
EXPECT_FRAMES=$(python3 "$HELP" expect "$RES/ranges.json" "$LONG")
if [[ "$CHECK_FRAMES" == 1 ]]; then
    log "decoding both reels' barcodes (CHECK_FRAMES=0 skips this)"
    python3 "$HELP" barcodes "$OUTS/reel-reprise.mp4" "$RES/ranges.json" "$LONG" $((SAMPLE_SECONDS * FPS)) >"$RES/barcodes-reprise.json"
    python3 "$HELP" barcodes "$OUTS/reel-ffmpeg.mp4" "$RES/ranges.json" "$LONG" $((SAMPLE_SECONDS * FPS)) >"$RES/barcodes-ffmpeg.json"
fi

# ---------------------------------------------------------------- summary
pf() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo miss; fi; }
okfail() { if "$@"; then echo ok; else echo DIFFERENT; fi; }
prow() {  # LABEL NAME: median wall, median cpu, peak MB, [walls]
    printf "  %-46s %8.2f %7.1f %7s   [%s]\n" "$1" "$(col_median "$2" 1)" "$(cpu_median "$2")" "$(mb "$(col_max "$2" 4)")" "$(col_list "$2")"
}
P_R="$RES/probe-reprise.json"; P_F="$RES/probe-ffmpeg.json"
RP=$(jfield "$P_R" packets); FP=$(jfield "$P_F" packets)
RD=$(jfield "$P_R" format_s); FD=$(jfield "$P_F" format_s)
RW=$(col_median reprise 1); FW=$(col_median ffmpeg 1)
SPEEDUP=$(fdiv "$FW" "$RW")

{
echo
echo "==================== Reprise highlights benchmark ===================="
echo "host: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM; $(ffmpeg -version | head -n 1 | cut -d' ' -f1-3)"
echo "reprise: $REPRISE (built from $BUILT_FROM)"
echo "input: $LONG ($LONG_DUR s 1280x720 30 fps, $LONG_FRAMES frames, $(du -h "$LONG" | cut -f1); 18 x the 10-min sample), $LONG_GEN; sample $SAMPLE_GEN"
echo "signals (seed $SEED): $SIG_SUMMARY; in $SIG/"
echo "recipe: $PROF/recipe-bench.yaml: windows $WINDOW_SECONDS s (min = max, no snap, min_score 1), reel target $REEL_SECONDS s, teaser not in the reel"
echo "load average: before $LOAD_BEFORE, after $LOAD_AFTER"
echo
echo "1. time to plan highlights for a 3 h recording (reprise highlights --plan-only)"
printf "  %-46s %8s %7s %7s   %s\n" "" "wall s" "cpu s" "peak MB" "[wall of each run]"
prow "reprise highlights --plan-only (whole command)" plan
printf "  %-46s %8.3f   (scoring + windowing; runs: %s)\n" "its planSeconds" "$PLAN_S" "$(echo $PLAN_SECONDS_LIST)"
printf "  %-46s %8.2f   (the rest is reading signals + keyframe/loudness analysis)\n" "its seconds (whole command, own clock)" "$PLAN_CMD_S"
python3 "$HELP" field "$RES/plan-summary.json" lines | sed 's/^/  /'
echo
echo "2. the reel: $NRANGES ranges, $REEL_TOTAL s in all ($(awk -v s="$REEL_TOTAL" 'BEGIN { printf "%.1f", s / 60 }') min), $EXPECT_FRAMES frames in the source"
printf "  %-46s %8s %7s %7s   %s\n" "" "wall s" "cpu s" "peak MB" "[wall of each run]"
prow "reprise cut --segments --mode smart" reprise
prow "ffmpeg CLI re-encode (one process, concat)" ffmpeg
echo "  packet index: $INDEX_NOTE"
echo "  reprise result: $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("copied %s packets, re-encoded %s frames, %s frames, %.3f s, engine %.2f s" % (r.get("copiedPackets"), r.get("reencodedFrames"), r.get("frames"), r.get("duration", 0), r.get("seconds", 0)))' "$RES/reprise-result.json")"
printf "  %-46s %7sx  target >= %s  %s\n" "ffmpeg / reprise (wall)" "$SPEEDUP" "$TARGET_SPEEDUP" "$(pf "$SPEEDUP >= $TARGET_SPEEDUP")"
echo
echo "3. outputs (video packets by ffprobe -count_packets; durations in s)"
printf "  %-10s %8s %10s %10s %10s   %s\n" "" packets format video audio barcodes
for side in reprise ffmpeg; do
    bc="(not checked)"
    if [[ -s "$RES/barcodes-$side.json" ]]; then
        bc=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("all %d as expected" % d["frames"] if d["match"] and not d["decode_errors"] else "%d frames, %d expected, %d unreadable, %d decode error lines, first mismatch %s" % (d["frames"], d["expected"], d["unreadable"], d["decode_errors"], d["first_mismatch"]))' "$RES/barcodes-$side.json")
    fi
    printf "  %-10s %8s %10s %10s %10s   %s\n" "$side" "$(jfield "$RES/probe-$side.json" packets)" "$(jfield "$RES/probe-$side.json" format_s)" \
        "$(jfield "$RES/probe-$side.json" video_s)" "$(jfield "$RES/probe-$side.json" audio_s)" "$bc"
done
echo "  same frame count: $(okfail test "$RP" == "$FP") ($RP vs $FP; the ranges hold $EXPECT_FRAMES: reprise $(okfail test "$RP" == "$EXPECT_FRAMES"), ffmpeg $(okfail test "$FP" == "$EXPECT_FRAMES"))"
echo "  duration within $DURATION_TOL s: $(okfail near "$RD" "$FD" "$DURATION_TOL") ($RD vs $FD; the ranges: $REEL_TOTAL)"
echo
echo "commands:"
echo "  reprise ${H_ARGS[*]}"
echo "  reprise ${R_ARGS[*]}"
echo "  $(python3 "$HELP" commands "$RES/ffmpeg-cmd.json")"
echo
echo "raw numbers: $RES/*.runs (wall user sys maxrss_kB), plan JSON $RES/plan.stdout, outputs in $OUTS/; total bench time $(( $(date +%s) - T_START )) s"
echo "======================================================================"
} | tee "$BENCH_DIR/summary-highlights.txt"
exit 0
