#!/usr/bin/env bash
_SECONDS_AT_START=$SECONDS   # bash's SECONDS takes an exported value and counts up from it: read it first
# Reprise benchmark: `reprise ladder` (decode once, every rung encoded in parallel, HLS) vs the ffmpeg
# CLI making the same rungs.
#
#   scripts/bench-ladder.sh                          # 60 s input, 1 run, work files in bench-out/
#   SECONDS=20 scripts/bench-ladder.sh               # a quick check
#   SECONDS=120 RUNS=3 LADDER=overseas scripts/bench-ladder.sh
#   SKIP_BUILD=1 FORMAT=ts scripts/bench-ladder.sh
#
# Environment:
#   SECONDS            length of the 1280x720 30 fps input in seconds (default 60; BENCH_SECONDS works
#                      too). Made with `reprise sample` and cached in BENCH_DIR. On the 2-core machine
#                      one run of everything takes about 2.5 min per 60 s of input (default ladder).
#   RUNS               timed runs per measurement, median reported (default 1)
#   LADDER             ladder name for `reprise ladder --ladder` (default: default; overseas, overseas-hevc, ...)
#   SEGMENT            --segment for reprise (default: the ladder's); ffmpeg follows the JSON's segmentSeconds
#   FORMAT             --format fmp4|ts for reprise (default: the ladder's); ffmpeg follows the JSON's format
#   BENCH_DIR          work folder (default: <repo>/bench-out, git-ignored)
#   REPRISE_BIN        use this reprise binary instead of .build/release/reprise (no build)
#   SKIP_BUILD=1       don't run `swift build -c release` (use the binary that is there)
#
# What it measures (the whole input, no --from/--to), each run in this order so drift in the machine's
# load hits all alike:
#   1. `reprise ladder IN -o DIR --ladder L --json`
#   2. ONE ffmpeg process doing what the product's JSON says it did: -filter_complex
#      "[0:v]split=N[s0]..;[s0]<rung 0 videoFilter>[v0];.." and per rung -map [vK] -c:v <videoEncoder>
#      -KEY:v VALUE (videoOptions) -force_key_frames:v expr:gte(t,n_forced*GOP) -an -f hls ..., plus
#      the audio rendition (-map 0:a -af <audioFilter> -c:a <audioEncoder> -KEY:a VALUE -vn -f hls).
#      Decodes once, like reprise. Ratio reprise/ffmpeg, target <= 1.0.
#   3. N+1 separate ffmpeg processes (one per rung, one for the audio), each decoding the input;
#      their walls summed (info: what decoding once saves over the naive way).
#   Wall (median), CPU (user+sys, median), peak RSS (GNU time %M; for 3. the largest process), bytes
#   written (du -sb of each output folder), and a per-rendition table (size, frames, keyframes and
#   whether they fall on the GOP grid, segments, bytes, measured peak/average segment bitrate) for
#   the three outputs, to show they did the same work.
# Exit status: 0 even when a target is missed (this is a report); non-zero when a command fails.
set -euo pipefail
shopt -s inherit_errexit

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-$REPO/bench-out}"
if [[ "$_SECONDS_AT_START" -gt 0 ]]; then CLIP_S="$_SECONDS_AT_START"; else CLIP_S="${BENCH_SECONDS:-60}"; fi
RUNS="${RUNS:-1}"
LADDER="${LADDER:-default}"
SEGMENT="${SEGMENT:-}"
FORMAT="${FORMAT:-}"
HELP="$REPO/scripts/bench_ladder.py"
TARGET_RATIO=1.0
T_START=$(date +%s)

die() { echo "bench-ladder: error: $*" >&2; exit 1; }
log() { echo "bench-ladder: $*" >&2; }

[[ "$CLIP_S" =~ ^[0-9]+$ && "$CLIP_S" -ge 2 ]] || die "SECONDS must be a whole number of seconds >= 2 (got '$CLIP_S')"
[[ "$RUNS" =~ ^[0-9]+$ && "$RUNS" -ge 1 ]] || die "RUNS must be >= 1"
[[ -z "$FORMAT" || "$FORMAT" == fmp4 || "$FORMAT" == ts ]] || die "FORMAT must be fmp4 or ts (got '$FORMAT')"

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
ENCODERS="$(ffmpeg -hide_banner -encoders 2>/dev/null)"
[[ "$ENCODERS" == *libx264* ]] || die "this ffmpeg has no libx264 encoder"
[[ "$(ffmpeg -hide_banner -muxers 2>/dev/null)" == *" hls "* ]] || die "this ffmpeg has no hls muxer"

# ---------------------------------------------------------------- build
mkdir -p "$BENCH_DIR"
BENCH_DIR="$(cd "$BENCH_DIR" && pwd)"
has_ladder() { "$1" ladder --help >/dev/null 2>&1; }
if [[ -n "${REPRISE_BIN:-}" ]]; then
    REPRISE="$REPRISE_BIN"
else
    REPRISE="$REPO/.build/release/reprise"
    if [[ "${SKIP_BUILD:-0}" != 1 ]] || ! { [[ -x "$REPRISE" ]] && has_ladder "$REPRISE"; }; then
        [[ "${SKIP_BUILD:-0}" == 1 ]] && log "SKIP_BUILD=1 but $REPRISE is missing or has no 'ladder' command: building anyway"
        log "swift build -c release (log: $BENCH_DIR/build-ladder.log)"
        if ! (cd "$REPO" && swift build -c release) >"$BENCH_DIR/build-ladder.log" 2>&1; then
            grep -m 20 'error:' "$BENCH_DIR/build-ladder.log" >&2 || tail -n 20 "$BENCH_DIR/build-ladder.log" >&2
            die "release build failed (full log: $BENCH_DIR/build-ladder.log)"
        fi
    fi
fi
[[ -x "$REPRISE" ]] || die "no reprise binary at $REPRISE"
has_ladder "$REPRISE" || die "$REPRISE has no 'ladder' command (an old build? run without SKIP_BUILD)"
BUILT_FROM="$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo '?')"
[[ -n "$(cd "$REPO" && git status --porcelain -- Sources 2>/dev/null)" ]] && BUILT_FROM+=", uncommitted changes in Sources/"
[[ -n "${REPRISE_BIN:-}" || "${SKIP_BUILD:-0}" == 1 ]] && BUILT_FROM="not built by this run; tree at $BUILT_FROM"

RES="$BENCH_DIR/ladder-results"
OUTS="$BENCH_DIR/ladder-outputs"
rm -rf "$RES" "$OUTS"; mkdir -p "$RES" "$OUTS"
R_DIR="$OUTS/reprise"; F1_DIR="$OUTS/ffmpeg-one"; FS_DIR="$OUTS/ffmpeg-separate"

# ---------------------------------------------------------------- helpers
fmt_duration() { ffprobe -v error -show_entries format=duration -of csv=p=0 "$1" 2>/dev/null || echo 0; }
near() { awk -v a="$1" -v b="$2" -v tol="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= tol) }'; }
fdiv() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "nan"; else printf "%.2f", a / b }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
fsum() { awk 'BEGIN { s = 0; for (i = 1; i < ARGC; i++) s += ARGV[i]; printf "%.3f", s }' "$@"; }
fmax() { awk 'BEGIN { m = 0; for (i = 1; i < ARGC; i++) if (ARGV[i] + 0 > m) m = ARGV[i] + 0; print m }' "$@"; }
dusb() { if [[ -d "$1" ]]; then du -sb "$1" | cut -f1; else echo 0; fi; }

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

# ---------------------------------------------------------------- input
INPUT="$BENCH_DIR/ladder-input-${CLIP_S}s.mp4"
input_ok() {
    [[ -s "$INPUT" ]] || return 1
    near "$(fmt_duration "$INPUT")" "$CLIP_S" 0.2 || return 1
    [[ "$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height,r_frame_rate -of csv=p=0 "$INPUT")" == "1280,720,30/1" ]] || return 1
    [[ -n "$(ffprobe -v error -select_streams a:0 -show_entries stream=codec_name -of csv=p=0 "$INPUT")" ]]
}
if input_ok; then
    INPUT_GEN="cached"
else
    log "making a ${CLIP_S} s 720p30 sample (reprise sample)"
    rm -f "$INPUT"
    "$REPRISE" sample "$INPUT" --seconds "$CLIP_S" --size 1280x720 --fps 30 >&2 || die "reprise sample failed"
    input_ok || die "$INPUT is not a ${CLIP_S} s 1280x720 30 fps recording with audio"
    INPUT_GEN="made now with reprise sample"
fi
INPUT_FRAMES=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$INPUT")
INPUT_AUDIO=$(ffprobe -v error -select_streams a:0 -show_entries stream=codec_name,sample_rate,channels -of csv=p=0 "$INPUT" | tr , ' ')

R_ARGS=(ladder "$INPUT" -o "$R_DIR" --ladder "$LADDER" --json)
[[ -n "$SEGMENT" ]] && R_ARGS+=(--segment "$SEGMENT")
[[ -n "$FORMAT" ]] && R_ARGS+=(--format "$FORMAT")
log "input: $INPUT ($CLIP_S s, $INPUT_FRAMES frames, audio $INPUT_AUDIO); ladder: $LADDER; runs: $RUNS"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before timing: $LOAD_BEFORE (other work on the machine skews the numbers)"

# ---------------------------------------------------------------- timed runs
SEP_NAMES=()
for i in $(seq "$RUNS"); do
    # 1. reprise (its JSON says what ffmpeg must do)
    rm -rf "$R_DIR"
    w=$(timed reprise "$REPRISE" "${R_ARGS[@]}")
    python3 "$HELP" result "$RES/reprise.stdout" >"$RES/reprise.json" || die "reprise ladder printed no result JSON (see $RES/reprise.stdout)"
    log "run $i/$RUNS: reprise ladder $w s"
    if [[ $i == 1 ]]; then
        python3 "$HELP" plan "$RES/reprise.json" "$INPUT" "$F1_DIR" "$FS_DIR" "$RES/plan.json" || die "could not plan the ffmpeg commands"
        mapfile -t SEP_NAMES < <(python3 -c 'import json,sys; [print(n) for n, _ in json.load(open(sys.argv[1]))["separate"]]' "$RES/plan.json")
        for enc in $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(" ".join(sorted({x.get("videoEncoder","libx264") for x in r["rungs"]} | {(r.get("audio") or {}).get("audioEncoder","aac")})))' "$RES/reprise.json"); do
            [[ "$ENCODERS" == *" $enc "* ]] || die "this ffmpeg has no $enc encoder (asked for by reprise's JSON)"
        done
    fi
    # 2. one ffmpeg process, decode once
    rm -rf "$F1_DIR"
    w=$(timed f_one python3 "$HELP" run "$RES/plan.json" one)
    log "run $i/$RUNS: ffmpeg one process $w s"
    # 3. one ffmpeg process per rendition
    rm -rf "$FS_DIR"
    tot=()
    for n in "${SEP_NAMES[@]}"; do
        w=$(timed "f_sep_$n" python3 "$HELP" run "$RES/plan.json" "$n")
        tot+=("$w")
    done
    log "run $i/$RUNS: ffmpeg ${#SEP_NAMES[@]} separate processes $(fsum "${tot[@]}") s"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- output checks (not timed)
log "checking outputs"
python3 "$HELP" table "$RES/reprise.json" "$R_DIR" >"$RES/table-reprise.txt"
python3 "$HELP" table "$RES/reprise.json" "$F1_DIR" >"$RES/table-f_one.txt"
python3 "$HELP" table "$RES/reprise.json" "$FS_DIR" >"$RES/table-f_sep.txt"

# ---------------------------------------------------------------- summary
pf() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo miss; fi; }
prow() {  # NAME: median wall, median cpu, peak MB
    printf "%8.2f %7.1f %7s" "$(col_median "$1" 1)" "$(cpu_median "$1")" "$(mb "$(col_max "$1" 4)")"
}
jf() { python3 "$HELP" field "$RES/reprise.json" "$1"; }

RW=$(col_median reprise 1); F1W=$(col_median f_one 1)
FSW=$(fsum $(for n in "${SEP_NAMES[@]}"; do col_median "f_sep_$n" 1; done))
FSC=$(fsum $(for n in "${SEP_NAMES[@]}"; do cpu_median "f_sep_$n"; done))
FSM=$(fmax $(for n in "${SEP_NAMES[@]}"; do col_max "f_sep_$n" 4; done))
RB=$(dusb "$R_DIR"); F1B=$(dusb "$F1_DIR"); FSB=$(dusb "$FS_DIR")
NRUNGS=$(( ${#SEP_NAMES[@]} - 1 ))
[[ " ${SEP_NAMES[*]} " == *" audio "* ]] || NRUNGS=${#SEP_NAMES[@]}

{
echo
echo "==================== Reprise ladder benchmark ===================="
echo "host: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM; $(ffmpeg -version | head -n 1 | cut -d' ' -f1-3)"
echo "reprise: $REPRISE (built from $BUILT_FROM)"
echo "input: $INPUT ($CLIP_S s 1280x720 30 fps, $INPUT_FRAMES frames, audio $INPUT_AUDIO, $(du -h "$INPUT" | cut -f1)), $INPUT_GEN"
echo "ladder: $(jf ladder), $NRUNGS rungs + audio, $(jf format) segments of $(jf segmentSeconds) s, IDR every $(jf gopSeconds) s; skipped: $(python3 -c 'import json,sys; s=json.loads(sys.argv[1]) or []; print("; ".join(s) if s else "-")' "$(jf skipped)")"
echo "load average: before $LOAD_BEFORE, after $LOAD_AFTER; runs per measurement: $RUNS (median)"
echo
printf "  %-40s %8s %7s %7s %12s\n" "" "wall s" "cpu s" "peak MB" "bytes"
printf "  %-40s %s %12s\n" "reprise ladder (one process)" "$(prow reprise)" "$RB"
printf "  %-40s %s %12s\n" "ffmpeg, one process (split, decode once)" "$(prow f_one)" "$F1B"
printf "  %-40s %8.2f %7.1f %7s %12s   (peak = largest process)\n" "ffmpeg, ${#SEP_NAMES[@]} separate processes (sum)" "$FSW" "$FSC" "$(mb "$FSM")" "$FSB"
printf "    %s\n" "separate walls: $(for n in "${SEP_NAMES[@]}"; do printf "%s %.2f  " "$n" "$(col_median "f_sep_$n" 1)"; done)"
echo "  reprise's own 'seconds' (engine, last run): $(printf "%.2f" "$(jf seconds)")"
echo
echo "ratios:"
ratio=$(fdiv "$RW" "$F1W")
printf "  %-50s %7sx  target <= %s  %s\n" "reprise / ffmpeg one process (wall)" "$ratio" "$TARGET_RATIO" "$(pf "$ratio <= $TARGET_RATIO")"
printf "  %-50s %7sx  (info)\n" "reprise / ffmpeg separate processes, sum (wall)" "$(fdiv "$RW" "$FSW")"
printf "  %-50s %7sx  (info)\n" "cpu: reprise / ffmpeg one process" "$(fdiv "$(cpu_median reprise)" "$(cpu_median f_one)")"
printf "  %-50s %7sx  (info)\n" "peak memory: reprise / ffmpeg one process" "$(fdiv "$(col_max reprise 4)" "$(col_max f_one 4)")"
printf "  %-50s %7sx  (info)\n" "bytes: reprise / ffmpeg one process" "$(fdiv "$RB" "$F1B")"
[[ $RUNS -gt 1 ]] && echo "  walls of each run: reprise [$(col_list reprise)] ffmpeg one [$(col_list f_one)]"
echo
echo "outputs (last run): peak/avg = largest/mean media segment bitrate (bytes*8/EXTINF, init not counted);"
echo "keyframes 'on grid' = every keyframe at a multiple of gopSeconds"
printf "  %-6s %-10s %9s %7s %8s %5s %5s %10s %9s %9s\n" rung side WxH frames keyfr grid segs bytes "peak kb/s" "avg kb/s"
python3 - "$RES" "$RES/reprise.json" <<'EOF'
import json, sys
d = sys.argv[1]
res = [json.loads(l) for l in open(sys.argv[2]) if l.strip()][-1]
sides = [("reprise", "table-reprise.txt"), ("ff-one", "table-f_one.txt"), ("ff-sep", "table-f_sep.txt")]
rows = {s: {l.split()[0]: l.split() for l in open(f"{d}/{f}") if l.strip()} for s, f in sides}
notes = []
names = [r["name"] for r in res["rungs"]] + (["audio"] if res.get("audio") else [])
for n in names:
    for s, _ in sides:
        r = rows[s].get(n)
        if not r:
            print(f"  {n:<6} {s:<10} (missing)"); continue
        _, size, fr, kf, grid, segs, b, peak, avg, dur = r
        print(f"  {n:<6} {s:<10} {size:>9} {fr:>7} {kf:>8} {grid:>5} {segs:>5} {b:>10} {int(peak)/1000:9.0f} {int(avg)/1000:9.0f}")
    rp, f1 = rows["reprise"].get(n), rows["ff-one"].get(n)
    if rp and f1:
        if rp[5] != f1[5]: notes.append(f"{n}: {rp[5]} segments (reprise) vs {f1[5]} (ffmpeg)")
        if rp[2] != f1[2]: notes.append(f"{n}: {rp[2]} frames (reprise) vs {f1[2]} (ffmpeg)")
        if rp[1] != f1[1]: notes.append(f"{n}: {rp[1]} (reprise) vs {f1[1]} (ffmpeg)")
        if rp[4] == "NO": notes.append(f"{n}: reprise keyframes off the {res.get('gopSeconds')} s grid")
        if int(f1[6]) and abs(int(rp[6]) / int(f1[6]) - 1) > 0.10:
            notes.append(f"{n}: bytes differ by {100 * (int(rp[6]) / int(f1[6]) - 1):+.0f}% (reprise vs ffmpeg)")
# the product's JSON against what was measured on its own output
for r in res["rungs"]:
    m = rows["reprise"].get(r["name"])
    if not m: continue
    if abs(int(m[7]) - int(r.get("videoPeakBitrate", 0))) > max(2, 0.01 * int(m[7])):
        notes.append(f"{r['name']}: JSON videoPeakBitrate {r.get('videoPeakBitrate')} vs measured {m[7]}")
    if str(r.get("segments")) != m[5]: notes.append(f"{r['name']}: JSON segments {r.get('segments')} vs playlist {m[5]}")
    if str(r.get("frames")) != m[2]: notes.append(f"{r['name']}: JSON frames {r.get('frames')} vs probed {m[2]}")
    if r.get("width") and f"{r['width']}x{r['height']}" != m[1]: notes.append(f"{r['name']}: JSON {r['width']}x{r['height']} vs probed {m[1]}")
a, m = res.get("audio"), rows["reprise"].get("audio")
if a and m and abs(int(m[7]) - int(a.get("peakBitrate", 0))) > max(2, 0.01 * int(m[7])):
    notes.append(f"audio: JSON peakBitrate {a.get('peakBitrate')} vs measured {m[7]}")
print("  checks: " + ("; ".join(notes) if notes else "same segments, frames and sizes on both sides (bytes within 10%); "
                      "reprise's JSON agrees with its files"))
EOF
echo
echo "ffmpeg commands:"
python3 "$HELP" commands "$RES/plan.json" | sed 's/^/  /'
echo
echo "raw numbers: $RES/*.runs (wall user sys maxrss_kB), outputs in $OUTS/; total bench time $(( $(date +%s) - T_START )) s"
echo "=================================================================="
} | tee "$BENCH_DIR/summary-ladder.txt"
exit 0
