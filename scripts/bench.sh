#!/usr/bin/env bash
# Reprise benchmark: reprise cut vs the ffmpeg CLI on the same work.
#
#   scripts/bench.sh                     # everything, work files in bench-out/
#   BENCH_DIR=/scratch/b scripts/bench.sh
#
# Environment:
#   BENCH_DIR        work folder (default: <repo>/bench-out, git-ignored). Inputs are cached there.
#   RUNS             timed runs per measurement, median reported (default 3)
#   FFMPEG_REF_RUNS  runs of the ffmpeg re-encode at 2h50m on the 3-h file (default 1; reference only)
#   REPRISE_BIN      use this reprise binary instead of building .build/release/reprise
#   SKIP_BUILD=1     don't run `swift build -c release` (use the binary that is there)
#
# What it measures:
#   (a) 10-min 720p30 sample: 60 s cut from 123.4 s (between keyframes):
#       reprise --mode smart vs `ffmpeg -ss 123.4 -i IN -t 60 -c:v libx264 -preset veryfast -crf 20 -c:a aac`
#       (target ffmpeg/smart >= 15), and reprise --mode exact for information.
#   (b) 3-h file (18 copies of the sample, concat demuxer, -c copy): index build once, then the
#       same 60 s smart cut at 0:02:00.4 and at 2:50:00.4 (target: within 1.2x of each other),
#       plus ffmpeg's re-encode at 2:50:00.4 for reference.
#   Peak RSS of every run (GNU time %M), output checks (1800 frames, clean decode, frame-index
#   barcode contiguous and starting at the requested frame), and a summary table.
# Exit status: 0 even when a target is missed (this is a report); non-zero on real errors.
set -euo pipefail
shopt -s inherit_errexit

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-$REPO/bench-out}"
RUNS="${RUNS:-3}"
FFMPEG_REF_RUNS="${FFMPEG_REF_RUNS:-1}"
HELP="$REPO/scripts/bench_helpers.py"
# Index caches of the bench inputs stay in the bench folder (reprise keeps them under XDG_CACHE_HOME).
export XDG_CACHE_HOME="$BENCH_DIR/cache"

SAMPLE_SECONDS=600
COPIES=18
LONG_SECONDS=$((SAMPLE_SECONDS * COPIES))   # 10800
FPS=30
CLIP=60
A_FROM=123.4
EARLY_FROM=120.4
LATE_FROM=10200.4
TARGET_SPEEDUP=15
TARGET_POSITION_RATIO=1.2

die() { echo "bench: error: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

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
if [[ -n "${REPRISE_BIN:-}" ]]; then
    REPRISE="$REPRISE_BIN"
else
    REPRISE="$REPO/.build/release/reprise"
    if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
        log "swift build -c release (log: $BENCH_DIR/build.log)"
        if ! (cd "$REPO" && swift build -c release) >"$BENCH_DIR/build.log" 2>&1; then
            grep -m 20 'error:' "$BENCH_DIR/build.log" >&2 || tail -n 20 "$BENCH_DIR/build.log" >&2
            die "release build failed (full log: $BENCH_DIR/build.log)"
        fi
    fi
fi
[[ -x "$REPRISE" ]] || die "no reprise binary at $REPRISE"
# The source state the binary was built from (noted now: Sources may change while the bench runs).
BUILT_FROM="$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo '?')"
[[ -n "$(cd "$REPO" && git status --porcelain -- Sources 2>/dev/null)" ]] && BUILT_FROM+=", uncommitted changes in Sources/"
[[ -n "${REPRISE_BIN:-}" || "${SKIP_BUILD:-0}" == 1 ]] && BUILT_FROM="not built by this run; tree at $BUILT_FROM"

OUTS="$BENCH_DIR/outputs"
RES="$BENCH_DIR/results"
mkdir -p "$OUTS"
rm -rf "$RES"; mkdir -p "$RES"
SAMPLE="$BENCH_DIR/sample-10min.mp4"
LONG="$BENCH_DIR/long-3h.mp4"

# ---------------------------------------------------------------- helpers
# Seconds as a float from ffprobe.
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
        cat "$RES/$name.stderr" >&2
        die "command failed: $*"
    fi
    t1=$(date +%s%N)
    local wall; wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    echo "$wall $(tail -n 1 "$tf")" >>"$RES/$name.runs"
    echo "$wall"
}

# A reprise cut with --json, timed; its JSON result goes to $RES/NAME.last.json.
reprise_cut() {
    local name="$1" in="$2" out="$3" from="$4" to="$5" mode="$6"
    local wall; wall=$(timed "$name" "$REPRISE" cut "$in" -o "$out" --from "$from" --to "$to" --mode "$mode" --json)
    grep '"event":"result"' "$RES/$name.stdout" | tail -n 1 \
        | python3 -c 'import json,sys; json.dump({"result": json.loads(sys.stdin.read())}, open(sys.argv[1], "w"))' "$RES/$name.last.json"
    echo "$wall"
}

# The first cut of a file, with the index removed beforehand: total time, and when the
# indexing stage ended (from the arrival of the --json progress lines).
index_cut() {
    local name="$1" in="$2" out="$3" from="$4" to="$5"
    local p
    while read -r p; do rm -f "$p"; done < <(python3 "$HELP" index-paths "$in")
    local start t1 tf="$RES/$name.time"
    start=$(date +%s%N)
    set +o pipefail
    /usr/bin/time -f "%U %S %M" -o "$tf" "$REPRISE" cut "$in" -o "$out" --from "$from" --to "$to" --mode smart --json 2>"$RES/$name.stderr" \
        | python3 "$HELP" stamp "$start" "$RES/$name.last.json"
    local rc=${PIPESTATUS[0]}
    set -o pipefail
    t1=$(date +%s%N)
    [[ $rc -eq 0 ]] || { cat "$RES/$name.stderr" >&2; die "first (indexing) cut of $in failed"; }
    echo "$(awk -v a="$start" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }') $(tail -n 1 "$tf")" >"$RES/$name.runs"
}

index_file() {  # the cached index of FILE, wherever reprise put it
    local p
    while read -r p; do [[ -f "$p" ]] && { echo "$p"; return; }; done < <(python3 "$HELP" index-paths "$1")
    echo /nonexistent
}

# Column k (1 = wall, 2 = user, 3 = sys, 4 = maxrss kB) of NAME.runs: median / max.
col_median() { python3 "$HELP" median $(awk -v k="$2" '{ print $k }' "$RES/$1.runs"); }
col_max() { awk -v k="$2" 'BEGIN { m = 0 } { if ($k > m) m = $k } END { print m }' "$RES/$1.runs"; }
col_list() { awk '{ printf "%s%s", (NR > 1 ? " " : ""), $1 }' "$RES/$1.runs"; }

# verify NAME FILE EXPECT_FIRST_FRAME: frame count (packets), clean decode, barcode read-back.
# Writes "packets decode_errors_lines barcode_json" to $RES/NAME.verify.
verify() {
    local name="$1" file="$2"
    local packets width height crop errs bc
    packets=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$file" || echo 0)
    width=$(ffprobe -v error -select_streams v:0 -show_entries stream=width -of csv=p=0 "$file")
    height=$(ffprobe -v error -select_streams v:0 -show_entries stream=height -of csv=p=0 "$file")
    crop=$(python3 "$HELP" barcode-crop "$width" "$height")
    # One decode: `-f null -` of every stream (must print nothing at -v error) and the barcode cells.
    bc=$(ffmpeg -nostdin -v error -i "$file" -map 0 -f null - \
            -map 0:v:0 -vf "$crop" -pix_fmt gray -f rawvideo pipe:1 2>"$RES/$name.decode.err" \
         | python3 "$HELP" barcode "$width" "$height" || true)
    errs=$(wc -l <"$RES/$name.decode.err")
    local adur; adur=$(ffprobe -v error -select_streams a:0 -show_entries stream=duration -of csv=p=0 "$file" || true)
    echo "$packets $errs ${adur:-none} $bc" >"$RES/$name.verify"
}

# ---------------------------------------------------------------- inputs
sample_ok() {
    [[ -s "$SAMPLE" ]] || return 1
    near "$(fmt_duration "$SAMPLE")" "$SAMPLE_SECONDS" 0.5 || return 1
    [[ "$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height,r_frame_rate -of csv=p=0 "$SAMPLE")" == "1280,720,30/1" ]]
}
SAMPLE_GEN="cached"
if sample_ok; then
    log "reusing $SAMPLE"
    [[ -s "$SAMPLE.gen-time" ]] && SAMPLE_GEN="cached (made in $(awk '{ printf "%.0f s", $1 }' "$SAMPLE.gen-time"))"
else
    log "making the 10-min 720p30 sample (reprise sample; several minutes)"
    rm -f "$SAMPLE" "$LONG"
    /usr/bin/time -f "%e %U %S %M" -o "$SAMPLE.gen-time" \
        "$REPRISE" sample "$SAMPLE" --seconds "$SAMPLE_SECONDS" --size 1280x720 --fps "$FPS" --gop 60 >&2 \
        || die "reprise sample failed"
    sample_ok || die "the sample is not a 600 s 1280x720 30 fps recording"
    SAMPLE_GEN="made now in $(awk '{ printf "%.0f s", $1 }' "$SAMPLE.gen-time")"
fi
SAMPLE_GEN_S=$(awk '{ print $1 }' "$SAMPLE.gen-time" 2>/dev/null || echo 0)

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
LONG_VSTART=$(ffprobe -v error -select_streams v:0 -show_entries stream=start_time -of csv=p=0 "$LONG")
LONG_FRAMES=$(ffprobe -v error -select_streams v:0 -show_entries stream=nb_frames -of csv=p=0 "$LONG")
log "3-h file: $LONG_DUR s, $LONG_FRAMES video frames, video starts at $LONG_VSTART s, $(du -h "$LONG" | cut -f1)"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before timing: $LOAD_BEFORE (other work on the machine skews the numbers)"

# ---------------------------------------------------------------- (a) 10-min sample
A_TO=$(awk -v a="$A_FROM" -v c="$CLIP" 'BEGIN { printf "%.1f", a + c }')
log "(a) 10-min sample: first cut builds the index"
index_cut a_index "$SAMPLE" "$OUTS/a_index.mp4" "$A_FROM" "$A_TO"
A_INDEX_SIZE=$(stat -c %s "$(index_file "$SAMPLE")" 2>/dev/null || echo 0)

for i in $(seq "$RUNS"); do
    w=$(reprise_cut a_smart "$SAMPLE" "$OUTS/a_smart.mp4" "$A_FROM" "$A_TO" smart); log "(a) run $i/$RUNS: reprise smart $w s"
done
for i in $(seq "$RUNS"); do
    w=$(reprise_cut a_exact "$SAMPLE" "$OUTS/a_exact.mp4" "$A_FROM" "$A_TO" exact); log "(a) run $i/$RUNS: reprise exact $w s"
done
for i in $(seq "$RUNS"); do
    w=$(timed a_ffmpeg ffmpeg -nostdin -v error -y -ss "$A_FROM" -i "$SAMPLE" -t "$CLIP" \
        -c:v libx264 -preset veryfast -crf 20 -c:a aac "$OUTS/a_ffmpeg.mp4")
    log "(a) run $i/$RUNS: ffmpeg re-encode $w s"
done

# ---------------------------------------------------------------- (b) 3-h file
E_TO=$(awk -v a="$EARLY_FROM" -v c="$CLIP" 'BEGIN { printf "%.1f", a + c }')
L_TO=$(awk -v a="$LATE_FROM" -v c="$CLIP" 'BEGIN { printf "%.1f", a + c }')
log "(b) 3-h file: first cut builds the index"
index_cut b_index "$LONG" "$OUTS/b_index.mp4" "$EARLY_FROM" "$E_TO"
B_INDEX_SIZE=$(stat -c %s "$(index_file "$LONG")" 2>/dev/null || echo 0)

# Alternate early and late so drift in machine load hits both alike.
for i in $(seq "$RUNS"); do
    w=$(reprise_cut b_early "$LONG" "$OUTS/b_early.mp4" "$EARLY_FROM" "$E_TO" smart); log "(b) run $i/$RUNS: smart @2min $w s"
    w=$(reprise_cut b_late "$LONG" "$OUTS/b_late.mp4" "$LATE_FROM" "$L_TO" smart); log "(b) run $i/$RUNS: smart @2h50 $w s"
done
for i in $(seq "$FFMPEG_REF_RUNS"); do
    w=$(timed b_ffmpeg ffmpeg -nostdin -v error -y -ss "$LATE_FROM" -i "$LONG" -t "$CLIP" \
        -c:v libx264 -preset veryfast -crf 20 -c:a aac "$OUTS/b_ffmpeg.mp4")
    log "(b) run $i/$FFMPEG_REF_RUNS: ffmpeg re-encode @2h50 $w s"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- verification
log "verifying outputs"
verify a_smart "$OUTS/a_smart.mp4"
verify a_exact "$OUTS/a_exact.mp4"
verify a_ffmpeg "$OUTS/a_ffmpeg.mp4"
verify b_early "$OUTS/b_early.mp4"
verify b_late "$OUTS/b_late.mp4"
verify b_ffmpeg "$OUTS/b_ffmpeg.mp4"

# Expected first frame (barcode value): the first frame whose time is >= from. In the 3-h file the
# barcode restarts every 18000 frames, and the concat shifts video by its start time (< 1 frame).
expect_first() {  # FROM VSTART
    awk -v f="$1" -v s="$2" -v fps="$FPS" -v n=$((SAMPLE_SECONDS * FPS)) \
        'BEGIN { k = (f - s) * fps; i = int(k); if (i < k - 1e-6) i++; print i % n }'
}
EXP_A=$(expect_first "$A_FROM" 0)
EXP_E=$(expect_first "$EARLY_FROM" "$LONG_VSTART")
EXP_L=$(expect_first "$LATE_FROM" "$LONG_VSTART")

# ---------------------------------------------------------------- summary
pf() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }

A_SMART=$(col_median a_smart 1); A_EXACT=$(col_median a_exact 1); A_FF=$(col_median a_ffmpeg 1)
B_EARLY=$(col_median b_early 1); B_LATE=$(col_median b_late 1); B_FF=$(col_median b_ffmpeg 1)
SPEEDUP=$(fdiv "$A_FF" "$A_SMART")
POS_RATIO=$(fdiv "$B_LATE" "$B_EARLY")
POS_SPREAD=$(awk -v a="$B_EARLY" -v b="$B_LATE" 'BEGIN { hi = a > b ? a : b; lo = a > b ? b : a; printf "%.2f", hi / lo }')
B_FF_VS_LATE=$(fdiv "$B_FF" "$B_LATE")

read -r AI_WALL _ _ AI_RSS <"$RES/a_index.runs"
read -r BI_WALL _ _ BI_RSS <"$RES/b_index.runs"
AI_IDX=$(python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["index_s"]; print("%.2f" % v if v is not None else "n/a")' "$RES/a_index.last.json")
BI_IDX=$(python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["index_s"]; print("%.2f" % v if v is not None else "n/a")' "$RES/b_index.last.json")
engine_s() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["result"] or {}; print("copied %s pkts, re-encoded %s frames, engine %.2f s" % (r.get("copiedPackets"), r.get("reencodedFrames"), r.get("seconds", 0)))' "$RES/$1.last.json"; }

row() {  # LABEL NAME
    local name="$2" med rss
    med=$(col_median "$name" 1); rss=$(mb "$(col_max "$name" 4)")
    printf "  %-34s %8.2f  %7sx  %7s  %6.1f  %6.1f   [%s]\n" "$1" "$med" \
        "$(fdiv "$CLIP" "$med")" "$rss" "$(col_median "$name" 2)" "$(col_median "$name" 3)" "$(col_list "$name")"
}

VERIFY_FAILS=0
vrow() {  # LABEL NAME EXPECTED_FIRST STRICT(1 = counts toward PASS/FAIL)
    local label="$1" name="$2" exp="$3" strict="$4"
    local packets errs adur bc
    read -r packets errs adur bc <"$RES/$name.verify"
    local first last contig frames
    first=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["first"])' "$bc")
    last=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["last"])' "$bc")
    frames=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["frames"])' "$bc")
    contig=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("yes" if d["contiguous"] else "NO(%s unreadable, jumps %s)" % (d["unreadable"], d["jumps"]))' "$bc")
    local exp_last=$((exp + CLIP * FPS - 1))
    local ok=PASS
    [[ "$packets" == $((CLIP * FPS)) && "$frames" == $((CLIP * FPS)) ]] || ok=FAIL
    [[ "$errs" == 0 ]] || ok=FAIL
    [[ "$contig" == yes && "$first" == "$exp" && "$last" == "$exp_last" ]] || ok=FAIL
    if [[ "$strict" == 1 ]]; then
        [[ $ok == PASS ]] || VERIFY_FAILS=$((VERIFY_FAILS + 1))
    else
        ok="($ok, info)"
    fi
    printf "  %-28s %7s %7s %6s %8s  %6s..%-6s %-5s  %6s..%-6s %s\n" "$label" "$packets" "$frames" "$errs" "$adur" \
        "$first" "$last" "$contig" "$exp" "$exp_last" "$ok"
}

{
echo
echo "==================== Reprise benchmark ===================="
echo "host: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM; $(ffmpeg -version | head -n 1 | cut -d' ' -f1-3)"
echo "reprise: $REPRISE (built from $BUILT_FROM)"
echo "load average: before $LOAD_BEFORE, after $LOAD_AFTER; runs per measurement: $RUNS (median)"
echo "sample: $SAMPLE (10 min 1280x720 30 fps, $(du -h "$SAMPLE" | cut -f1)), $SAMPLE_GEN$(awk -v s="$SAMPLE_GEN_S" -v d="$SAMPLE_SECONDS" 'BEGIN { if (s > 0) printf ", %.2fx realtime", d / s }')"
echo "3-h file: $LONG ($LONG_DUR s, $LONG_FRAMES frames, $(du -h "$LONG" | cut -f1)), $LONG_GEN"
echo
printf "  %-34s %8s  %8s  %7s  %6s  %6s   %s\n" "run (60 s clip)" "median s" "x realtm" "peak MB" "user s" "sys s" "[wall of each run]"
echo "(a) 10-min sample, $A_FROM -> $A_TO"
printf "  %-34s %8.2f  %8s  %7s                  index build %s s (from --json progress), index file %s bytes\n" \
    "reprise smart, first cut (indexes)" "$AI_WALL" "" "$(mb "$AI_RSS")" "$AI_IDX" "$A_INDEX_SIZE"
row "reprise smart" a_smart
row "reprise exact" a_exact
row "ffmpeg re-encode (veryfast crf20)" a_ffmpeg
echo "(b) 3-h file"
printf "  %-34s %8.2f  %8s  %7s                  index build %s s (from --json progress), index file %s bytes\n" \
    "reprise smart, first cut (indexes)" "$BI_WALL" "" "$(mb "$BI_RSS")" "$BI_IDX" "$B_INDEX_SIZE"
row "reprise smart @ 0:02:00.4" b_early
row "reprise smart @ 2:50:00.4" b_late
row "ffmpeg re-encode @ 2:50:00.4" b_ffmpeg
echo
echo "engine detail (last run):"
echo "  a smart: $(engine_s a_smart)"
echo "  a exact: $(engine_s a_exact)"
echo "  b @2min: $(engine_s b_early)"
echo "  b @2h50: $(engine_s b_late)"
echo
echo "targets:"
printf "  %-52s %8s   target >= %-5s %s\n" "ffmpeg re-encode / reprise smart (10-min sample)" "${SPEEDUP}x" "$TARGET_SPEEDUP" "$(pf "$SPEEDUP >= $TARGET_SPEEDUP")"
printf "  %-52s %8s   target <= %-5s %s\n" "smart @2h50 / smart @2min (3-h file; max/min $POS_SPREAD)" "${POS_RATIO}x" "$TARGET_POSITION_RATIO" "$(pf "$POS_SPREAD <= $TARGET_POSITION_RATIO")"
printf "  %-52s %8s   (info)\n" "ffmpeg re-encode @2h50 / reprise smart @2h50" "${B_FF_VS_LATE}x"
printf "  %-52s %8s   (info)\n" "reprise exact / reprise smart (10-min sample)" "$(fdiv "$A_EXACT" "$A_SMART")x"
echo
echo "output checks (last run's file): video packets, decoded frames, decode error lines (ffmpeg -v error -f null),"
echo "audio duration, frame-index barcode first..last, contiguous, expected first..last"
printf "  %-28s %7s %7s %6s %8s  %14s %-5s  %14s %s\n" "output" "packets" "frames" "errors" "audio s" "barcode" "contig" "expected" "result"
vrow "a reprise smart" a_smart "$EXP_A" 1
vrow "a reprise exact" a_exact "$EXP_A" 1
vrow "a ffmpeg re-encode" a_ffmpeg "$EXP_A" 0
vrow "b reprise smart @2min" b_early "$EXP_E" 1
vrow "b reprise smart @2h50" b_late "$EXP_L" 1
vrow "b ffmpeg re-encode @2h50" b_ffmpeg "$EXP_L" 0
echo
if [[ $VERIFY_FAILS -eq 0 ]]; then
    echo "output checks: PASS (reprise outputs: 1800 frames, clean decode, exactly the requested frames)"
else
    echo "output checks: FAIL ($VERIFY_FAILS reprise output(s) wrong; see above and $RES/)"
fi
echo "raw numbers: $RES/*.runs (wall user sys maxrss_kB), outputs in $OUTS/"
echo "==========================================================="
} | tee "$BENCH_DIR/summary.txt"
exit 0
