#!/usr/bin/env bash
_SECONDS_AT_START=$SECONDS   # bash's SECONDS takes an exported value and counts up from it: read it first
# Reprise benchmark: `reprise transcode` vs the ffmpeg CLI doing the same work.
#
#   scripts/bench-transcode.sh                      # 120 s input, 1 run, work files in bench-out/
#   SECONDS=60 RUNS=3 scripts/bench-transcode.sh
#   SKIP_BUILD=1 PROFILES=long-form-720p scripts/bench-transcode.sh
#
# Environment:
#   SECONDS            length of the 720p30 input in seconds (default 120; BENCH_SECONDS works too).
#                      vertical-short asks for 30..180 s (duration.min/max), so stay in that range.
#                      On the 2-core machine one run of everything takes about 5 min per 60 s of input.
#   RUNS               timed runs per measurement, median reported (default 1)
#   PROFILES           comma-separated profiles (default vertical-short,long-form-720p,overseas-low;
#                      the ones `reprise profiles` does not know are skipped)
#   BENCH_DIR          work folder (default: <repo>/bench-out, git-ignored). The input is cached there.
#   REPRISE_BIN        use this reprise binary instead of building .build/release/reprise
#   SKIP_BUILD=1       don't run `swift build -c release` (use the binary that is there)
#   FFMPEG_ONE_PROCESS=1  also time ONE ffmpeg process writing all the profiles (decode once; info only)
#   FFMPEG_ONLY=1      don't run reprise transcode; plan the ffmpeg work from the profile files instead
#                      (automatic while the binary has no `transcode` command)
#
# What it measures (the whole input, no --from/--to):
#   1. each profile alone: `reprise transcode IN --profile P -o OUT --json` vs the ffmpeg CLI doing what
#      the product's JSON says it did: its videoFilter (-vf) and audioFilter (-af), its encoders and
#      encoder option dicts (-KEY:v VALUE, -KEY:a VALUE), moov at the front for mp4 (+faststart), and,
#      for a profile with loudness, ffmpeg's own loudnorm measurement pass first, whose values replace
#      the product's measured_* in the loudnorm arguments (the two-pass loudnorm an ffmpeg user runs).
#      Both passes are one timed unit (scripts/bench_transcode.py ffmpeg-run execs the encode).
#      Ratio reprise/ffmpeg, target <= 1.05.
#   2. all the profiles in one `reprise transcode --profile A,B,C -o DIR` vs the sum of separate ffmpeg
#      runs (the runs of 1. when the multi-profile JSON asks for the same work, else run again).
#      Reprise should be faster (it decodes once).
#   Peak RSS of every run (GNU time %M; for ffmpeg the larger of its two passes), CPU seconds, and an
#   output table (size, frames, bitrate, loudness of both sides) to show the two did the same work.
# Exit status: 0 even when a target is missed (this is a report); non-zero when a command fails.
set -euo pipefail
shopt -s inherit_errexit

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-$REPO/bench-out}"
if [[ "$_SECONDS_AT_START" -gt 0 ]]; then CLIP_S="$_SECONDS_AT_START"; else CLIP_S="${BENCH_SECONDS:-120}"; fi
RUNS="${RUNS:-1}"
PROFILES="${PROFILES:-vertical-short,long-form-720p,overseas-low}"
FFMPEG_ONE_PROCESS="${FFMPEG_ONE_PROCESS:-0}"
FFMPEG_ONLY="${FFMPEG_ONLY:-0}"
HELP="$REPO/scripts/bench_transcode.py"
FPS=30
TARGET_RATIO=1.05
T_START=$(date +%s)

die() { echo "bench-transcode: error: $*" >&2; exit 1; }
log() { echo "bench-transcode: $*" >&2; }

[[ "$CLIP_S" =~ ^[0-9]+$ && "$CLIP_S" -ge 2 ]] || die "SECONDS must be a whole number of seconds >= 2 (got '$CLIP_S')"
[[ "$RUNS" =~ ^[0-9]+$ && "$RUNS" -ge 1 ]] || die "RUNS must be >= 1"

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
        log "swift build -c release (log: $BENCH_DIR/build-transcode.log)"
        if ! (cd "$REPO" && swift build -c release) >"$BENCH_DIR/build-transcode.log" 2>&1; then
            grep -m 20 'error:' "$BENCH_DIR/build-transcode.log" >&2 || tail -n 20 "$BENCH_DIR/build-transcode.log" >&2
            die "release build failed (full log: $BENCH_DIR/build-transcode.log)"
        fi
    fi
fi
[[ -x "$REPRISE" ]] || die "no reprise binary at $REPRISE"
BUILT_FROM="$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo '?')"
[[ -n "$(cd "$REPO" && git status --porcelain -- Sources 2>/dev/null)" ]] && BUILT_FROM+=", uncommitted changes in Sources/"
[[ -n "${REPRISE_BIN:-}" || "${SKIP_BUILD:-0}" == 1 ]] && BUILT_FROM="not built by this run; tree at $BUILT_FROM"

MODE=full
if [[ "$FFMPEG_ONLY" == 1 ]]; then
    MODE=ffmpeg-only
elif ! "$REPRISE" --help 2>/dev/null | grep -qE '^[[:space:]]+transcode([[:space:]]|$)'; then
    MODE=ffmpeg-only
    log "this reprise has no 'transcode' command: ffmpeg half only, planned from the profile files"
fi

RES="$BENCH_DIR/transcode-results"
OUTS="$BENCH_DIR/transcode-outputs"
rm -rf "$RES" "$OUTS"; mkdir -p "$RES" "$OUTS"

# ---------------------------------------------------------------- profiles
# `reprise profiles`: "NAME<TAB>WxH CODEC CONTAINER<TAB>DESCRIPTION" then "<TAB>SOURCE FILE ...".
"$REPRISE" profiles >"$RES/profiles.txt" 2>"$RES/profiles.stderr" || { cat "$RES/profiles.stderr" >&2; die "reprise profiles failed"; }
declare -A P_EXT P_FILE P_SIZE
P_LIST=()
IFS=, read -r -a wanted <<<"$PROFILES"
for p in "${wanted[@]}"; do
    line=$(awk -F'\t' -v n="$p" '$1 == n { print; getline; print; exit }' "$RES/profiles.txt")
    if [[ -z "$line" ]]; then log "profile '$p' is not known to reprise; skipped"; continue; fi
    info=$(head -n 1 <<<"$line" | cut -f2)
    P_SIZE[$p]=$(awk '{ print $1 }' <<<"$info")
    c=$(awk '{ print $3 }' <<<"$info")
    case "$c" in mkv) P_EXT[$p]=mkv ;; ts) P_EXT[$p]=ts ;; *) P_EXT[$p]=mp4 ;; esac
    P_FILE[$p]=$(tail -n 1 <<<"$line" | sed -E 's/^\t//; s/ \(overrides .*$//')
    P_LIST+=("$p")
done
[[ ${#P_LIST[@]} -ge 1 ]] || die "none of the profiles '$PROFILES' exist (see reprise profiles)"
P_JOINED=$(IFS=,; echo "${P_LIST[*]}")

# ---------------------------------------------------------------- helpers
fmt_duration() { ffprobe -v error -show_entries format=duration -of csv=p=0 "$1" 2>/dev/null || echo 0; }
near() { awk -v a="$1" -v b="$2" -v tol="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= tol) }'; }
fdiv() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "nan"; else printf "%.2f", a / b }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
fsum() { awk 'BEGIN { s = 0; for (i = 1; i < ARGC; i++) s += ARGV[i]; printf "%.3f", s }' "$@"; }
fmax() { awk 'BEGIN { m = 0; for (i = 1; i < ARGC; i++) if (ARGV[i] + 0 > m) m = ARGV[i] + 0; print m }' "$@"; }

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
INPUT="$BENCH_DIR/transcode-input-${CLIP_S}s.mp4"
SAMPLE="$BENCH_DIR/sample-10min.mp4"   # bench.sh's cached sample, when there
input_ok() {
    [[ -s "$INPUT" ]] || return 1
    near "$(fmt_duration "$INPUT")" "$CLIP_S" 0.2 || return 1
    [[ "$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height,r_frame_rate -of csv=p=0 "$INPUT")" == "1280,720,30/1" ]] || return 1
    [[ -n "$(ffprobe -v error -select_streams a:0 -show_entries stream=codec_name -of csv=p=0 "$INPUT")" ]]
}
if input_ok; then
    INPUT_GEN="cached"
else
    rm -f "$INPUT"
    if [[ -s "$SAMPLE" && "$CLIP_S" -le 600 ]] \
        && [[ "$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height,r_frame_rate -of csv=p=0 "$SAMPLE")" == "1280,720,30/1" ]] \
        && "$REPRISE" cut "$SAMPLE" -o "$INPUT" --from 0 --to "$CLIP_S" --mode smart >"$RES/input.log" 2>&1 && input_ok; then
        INPUT_GEN="first ${CLIP_S} s of $(basename "$SAMPLE") (reprise cut, smart: GOPs copied)"
    else
        log "making a ${CLIP_S} s 720p30 sample (reprise sample)"
        rm -f "$INPUT"
        "$REPRISE" sample "$INPUT" --seconds "$CLIP_S" --size 1280x720 --fps "$FPS" --gop 60 >&2 || die "reprise sample failed"
        input_ok || die "$INPUT is not a ${CLIP_S} s 1280x720 30 fps recording with audio"
        INPUT_GEN="made now with reprise sample"
    fi
fi
INPUT_FRAMES=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$INPUT")
INPUT_AUDIO=$(ffprobe -v error -select_streams a:0 -show_entries stream=codec_name,sample_rate,channels -of csv=p=0 "$INPUT" | tr , ' ')
log "input: $INPUT ($CLIP_S s, $INPUT_FRAMES frames, audio $INPUT_AUDIO); profiles: $P_JOINED; runs: $RUNS; mode: $MODE"

# In ffmpeg-only mode the "product JSON" is planned here from the profile files.
if [[ $MODE == ffmpeg-only ]]; then
    files=(); for p in "${P_LIST[@]}"; do files+=("${P_FILE[$p]}"); done
    python3 "$HELP" emulate "${files[0]}" "$INPUT" "$RES/emulated.json" "${files[@]:1}" || die "could not plan from the profile files"
    for p in "${P_LIST[@]}"; do cp "$RES/emulated.json" "$RES/r_$p.json"; done
    cp "$RES/emulated.json" "$RES/r_multi.json"
fi

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before timing: $LOAD_BEFORE (other work on the machine skews the numbers)"

# The audio format (rate, channels) of reprise's output for a profile, as ffmpeg-run's --audio-format
# (not timed). ffmpeg gets the same -ar/-ac, which the product sets on its encoder; see bench_transcode.py.
declare -A AFMT
audio_format() {
    local p="$1" f o
    [[ $MODE == full ]] || return 0
    f="$OUTS/r_$p.${P_EXT[$p]}"
    o=$(python3 "$HELP" output-field "$RES/r_$p.json" "$p" output 2>/dev/null || true)
    [[ -n "$o" && "$o" != null && -f "$o" ]] && f="$o"
    local rc; rc=$(ffprobe -v error -select_streams a:0 -show_entries stream=sample_rate,channels -of csv=p=0 "$f" 2>/dev/null | head -n 1)
    [[ "$rc" =~ ^[0-9]+,[0-9]+$ ]] && echo "--audio-format $p=${rc%,*}:${rc#*,}"
    return 0
}

# ---------------------------------------------------------------- 1. one profile at a time
# Reprise first (its JSON says what ffmpeg must do), then ffmpeg, profile by profile, so drift in the
# machine's load hits both alike.
for i in $(seq "$RUNS"); do
    for p in "${P_LIST[@]}"; do
        if [[ $MODE == full ]]; then
            out="$OUTS/r_$p.${P_EXT[$p]}"; rm -f "$out"
            w=$(timed "r_$p" "$REPRISE" transcode "$INPUT" --profile "$p" -o "$out" --json)
            python3 "$HELP" result "$RES/r_$p.stdout" >"$RES/r_$p.json" || die "reprise transcode --profile $p printed no result JSON"
            log "1. run $i/$RUNS $p: reprise $w s"
        fi
        [[ $i == 1 ]] && AFMT[$p]=$(audio_format "$p")
        out="$OUTS/f_$p.${P_EXT[$p]}"; rm -f "$out"
        w=$(timed "f_$p" python3 "$HELP" ffmpeg-run --sidecar "$RES/f_$p.cmd.json" ${AFMT[$p]} "$RES/r_$p.json" "$p" "$INPUT" "$out")
        log "1. run $i/$RUNS $p: ffmpeg $w s"
    done
done

# ---------------------------------------------------------------- 2. all profiles in one run
MULTI_DIR="$OUTS/multi"
MULTI_REUSE=1
for i in $(seq "$RUNS"); do
    if [[ $MODE == full ]]; then
        rm -rf "$MULTI_DIR"; mkdir -p "$MULTI_DIR"
        w=$(timed r_multi "$REPRISE" transcode "$INPUT" --profile "$P_JOINED" -o "$MULTI_DIR" --json)
        python3 "$HELP" result "$RES/r_multi.stdout" >"$RES/r_multi.json" || die "reprise transcode --profile $P_JOINED printed no result JSON"
        log "2. run $i/$RUNS: reprise $P_JOINED in one run $w s"
    fi
    if [[ $i == 1 ]]; then
        for p in "${P_LIST[@]}"; do
            if [[ "$(python3 "$HELP" plan-key "$RES/r_multi.json" "$p")" != "$(python3 "$HELP" plan-key "$RES/r_$p.json" "$p")" ]]; then
                MULTI_REUSE=0
                log "2. $p: the multi-profile run asks for other filters/options than the single run; ffmpeg runs again for it"
                python3 -c 'import sys; print(sys.argv[1]); print(sys.argv[2])' \
                    "$(python3 "$HELP" plan-key "$RES/r_$p.json" "$p")" "$(python3 "$HELP" plan-key "$RES/r_multi.json" "$p")" >"$RES/plan-diff-$p.txt"
            fi
        done
    fi
    if [[ $MULTI_REUSE == 0 ]]; then
        for p in "${P_LIST[@]}"; do
            out="$OUTS/fm_$p.${P_EXT[$p]}"; rm -f "$out"
            w=$(timed "fm_$p" python3 "$HELP" ffmpeg-run --sidecar "$RES/fm_$p.cmd.json" ${AFMT[$p]} "$RES/r_multi.json" "$p" "$INPUT" "$out")
            log "2. run $i/$RUNS $p: ffmpeg (separate run) $w s"
        done
    fi
    if [[ "$FFMPEG_ONE_PROCESS" == 1 ]]; then
        args=(); fmts=()
        for p in "${P_LIST[@]}"; do
            out="$OUTS/fo_$p.${P_EXT[$p]}"; rm -f "$out"; args+=("$RES/r_multi.json" "$p" "$INPUT" "$out"); fmts+=(${AFMT[$p]})
        done
        w=$(timed f_one python3 "$HELP" ffmpeg-run --sidecar "$RES/f_one.cmd.json" "${fmts[@]}" "${args[@]}")
        log "2. run $i/$RUNS: ffmpeg, one process for all $w s"
    fi
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- output checks (not timed)
log "checking outputs"
field() { python3 "$HELP" output-field "$1" "$2" "$3"; }
declare -A R_OUT M_OUT
for p in "${P_LIST[@]}"; do
    R_OUT[$p]="$OUTS/r_$p.${P_EXT[$p]}"
    if [[ $MODE == full ]]; then
        o=$(field "$RES/r_$p.json" "$p" output); [[ "$o" != null && -f "$o" ]] && R_OUT[$p]="$o"
        o=$(field "$RES/r_multi.json" "$p" output)
        if [[ "$o" != null && -f "$o" ]]; then M_OUT[$p]="$o"; else M_OUT[$p]="$MULTI_DIR/$(basename "${INPUT%.*}").$p.${P_EXT[$p]}"; fi
        [[ -f "${R_OUT[$p]}" ]] && python3 "$HELP" probe "${R_OUT[$p]}" >"$RES/r_$p.probe"
        [[ -f "${M_OUT[$p]}" ]] && python3 "$HELP" probe "${M_OUT[$p]}" >"$RES/m_$p.probe"
    fi
    python3 "$HELP" probe "$OUTS/f_$p.${P_EXT[$p]}" >"$RES/f_$p.probe"
done

# ---------------------------------------------------------------- summary
pf() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo miss; fi; }

prow() {  # NAME: median wall, median cpu, peak MB
    printf "%8.2f %7.1f %7s" "$(col_median "$1" 1)" "$(cpu_median "$1")" "$(mb "$(col_max "$1" 4)")"
}

{
echo
echo "==================== Reprise transcode benchmark ===================="
echo "host: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM; $(ffmpeg -version | head -n 1 | cut -d' ' -f1-3)"
echo "reprise: $REPRISE (built from $BUILT_FROM)"
if [[ $MODE == ffmpeg-only ]]; then
    echo "MODE: ffmpeg half only (no reprise transcode); the ffmpeg work is planned from the profile files by"
    echo "      scripts/bench_transcode.py emulate, not taken from the product's JSON; there are no ratios."
fi
echo "input: $INPUT ($CLIP_S s 1280x720 30 fps, $INPUT_FRAMES frames, audio $INPUT_AUDIO, $(du -h "$INPUT" | cut -f1)), $INPUT_GEN"
echo "load average: before $LOAD_BEFORE, after $LOAD_AFTER; runs per measurement: $RUNS (median)"
echo
echo "1. one profile per run (whole input)         reprise                    ffmpeg CLI (+ loudness pass)"
printf "  %-28s %8s %7s %7s   %8s %7s %7s   %7s  %s\n" "profile" "wall s" "cpu s" "peak MB" "wall s" "cpu s" "peak MB" "r/f" "target <= $TARGET_RATIO"
RSUM=(); FSUM=(); FMAXRSS=()
for p in "${P_LIST[@]}"; do
    fw=$(col_median "f_$p" 1); FSUM+=("$fw"); FMAXRSS+=("$(col_max "f_$p" 4)")
    if [[ $MODE == full ]]; then
        rw=$(col_median "r_$p" 1); RSUM+=("$rw"); ratio=$(fdiv "$rw" "$fw")
        printf "  %-28s %s   %s   %6sx  %s\n" "$p (${P_SIZE[$p]})" "$(prow "r_$p")" "$(prow "f_$p")" "$ratio" "$(pf "$ratio <= $TARGET_RATIO")"
    else
        printf "  %-28s %8s %7s %7s   %s   %7s\n" "$p (${P_SIZE[$p]})" - - - "$(prow "f_$p")" -
    fi
done
echo
echo "2. profiles $P_JOINED together"
printf "  %-46s %8s %7s %7s\n" "" "wall s" "cpu s" "peak MB"
if [[ $MODE == full ]]; then
    printf "  %-46s %s\n" "reprise, one run (-o DIR)" "$(prow r_multi)"
fi
if [[ $MULTI_REUSE == 1 ]]; then
    FM_SUM=$(fsum "${FSUM[@]}"); FM_RSS=$(fmax "${FMAXRSS[@]}")
    FM_CPU=$(fsum $(for p in "${P_LIST[@]}"; do cpu_median "f_$p"; done))
    FM_NOTE="the runs of 1.: the multi-profile JSON asks for the same work"
else
    FM_SUM=$(fsum $(for p in "${P_LIST[@]}"; do col_median "fm_$p" 1; done))
    FM_RSS=$(fmax $(for p in "${P_LIST[@]}"; do col_max "fm_$p" 4; done))
    FM_CPU=$(fsum $(for p in "${P_LIST[@]}"; do cpu_median "fm_$p"; done))
    FM_NOTE="run again: the multi-profile JSON differs from the single ones, see $RES/plan-diff-*.txt"
fi
printf "  %-46s %8.2f %7.1f %7s   (%s; peak = largest run)\n" "ffmpeg, ${#P_LIST[@]} separate runs (sum)" "$FM_SUM" "$FM_CPU" "$(mb "$FM_RSS")" "$FM_NOTE"
if [[ "$FFMPEG_ONE_PROCESS" == 1 ]]; then
    printf "  %-46s %s   (info: decodes once, like reprise)\n" "ffmpeg, one process writing all (info)" "$(prow f_one)"
fi
if [[ $MODE == full ]]; then
    RM=$(col_median r_multi 1)
    echo
    echo "ratios:"
    for p in "${P_LIST[@]}"; do
        ratio=$(fdiv "$(col_median "r_$p" 1)" "$(col_median "f_$p" 1)")
        printf "  %-58s %7sx  target <= %s  %s\n" "reprise / ffmpeg, $p" "$ratio" "$TARGET_RATIO" "$(pf "$ratio <= $TARGET_RATIO")"
    done
    ratio=$(fdiv "$RM" "$FM_SUM")
    printf "  %-58s %7sx  target < 1     %s\n" "reprise one run / ffmpeg ${#P_LIST[@]} separate runs" "$ratio" "$(pf "$ratio < 1")"
    printf "  %-58s %7sx  (info: what one decode for all saves)\n" "reprise one run / sum of reprise single runs" "$(fdiv "$RM" "$(fsum "${RSUM[@]}")")"
    [[ "$FFMPEG_ONE_PROCESS" == 1 ]] && printf "  %-58s %7sx  (info)\n" "reprise one run / ffmpeg one process" "$(fdiv "$RM" "$(col_median f_one 1)")"
    printf "  %-58s %7sx  (info)\n" "peak memory: reprise one run / largest ffmpeg run" "$(fdiv "$(col_max r_multi 4)" "$FM_RSS")"
    echo
    echo "wall of each run: $(for p in "${P_LIST[@]}"; do printf "r_%s [%s] f_%s [%s]  " "$p" "$(col_list "r_$p")" "$p" "$(col_list "f_$p")"; done)r_multi [$(col_list r_multi)]"
fi
echo
echo "outputs (last run): size, frames, duration, video kb/s, audio, integrated loudness (ebur128)"
printf "  %-34s %10s %7s %8s %8s  %-18s %7s\n" "output" "WxH" "frames" "dur s" "video kb/s" "audio" "LUFS"
orow() {  # LABEL PROBEFILE
    [[ -s "$2" ]] || { printf "  %-34s (missing)\n" "$1"; return; }
    local w h fr du sz vk ac sr ch lu
    read -r w h fr du sz vk ac sr ch lu <"$2"
    printf "  %-34s %10s %7s %8s %8s    %-18s %7s   %s MB\n" "$1" "${w}x$h" "$fr" "$du" "$vk" "$ac $sr/$ch" "$lu" "$(awk -v s="$sz" 'BEGIN { printf "%.1f", s / 1e6 }')"
}
for p in "${P_LIST[@]}"; do
    [[ $MODE == full ]] && orow "$p reprise" "$RES/r_$p.probe"
    [[ $MODE == full ]] && orow "$p reprise (multi run)" "$RES/m_$p.probe"
    orow "$p ffmpeg" "$RES/f_$p.probe"
done
echo
if [[ $MODE == full ]]; then
    echo "loudness: product's measured input (from its audioFilter) vs ffmpeg's measurement pass"
else
    echo "loudness: the emulated plan's measured input (not the product's) vs ffmpeg's measurement pass"
fi
for p in "${P_LIST[@]}"; do
    python3 - "$RES/r_$p.json" "$p" "$RES/f_$p.cmd.json" <<'EOF'
import json, re, sys
res = [json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]
o = next(x for x in res["outputs"] if x.get("profile") == sys.argv[2])
side = json.load(open(sys.argv[3]))
af = o.get("audioFilter") or ""
def grab(k):
    m = re.search(r"(?i)(?<![a-z_])" + k + r"=(-?[0-9.]+)", af)
    return m.group(1) if m else "-"
ff = (side.get("measured") or {}).get(sys.argv[2])
if o.get("loudness") is None:
    print(f"  {sys.argv[2]:<28} no loudness target")
elif ff and "input_i" in ff:
    print(f"  {sys.argv[2]:<28} product I={grab('measured_I')} TP={grab('measured_TP')} LRA={grab('measured_LRA')} offset={grab('offset')}"
          f"   ffmpeg I={ff['input_i']} TP={ff['input_tp']} LRA={ff['input_lra']} offset={ff['target_offset']}")
else:
    print(f"  {sys.argv[2]:<28} product loudness {json.dumps(o.get('loudness'))}; ffmpeg {json.dumps(ff)}")
EOF
done
if [[ $MODE == full ]]; then
    echo
    echo "product notes and engine seconds:"
    python3 - "$RES" "${P_LIST[@]}" <<'EOF'
import json, sys
d, ps = sys.argv[1], sys.argv[2:]
for name in [f"r_{p}" for p in ps] + ["r_multi"]:
    r = json.loads(open(f"{d}/{name}.json").read())
    notes = [f"{o.get('profile')}: {n}" for o in r["outputs"] for n in (o.get("notes") or [])]
    print(f"  {name:<28} seconds={r.get('seconds')}  notes: {'; '.join(notes) if notes else '-'}")
EOF
fi
echo
echo "ffmpeg commands (last run; measurement pass, then the encode, timed together):"
for p in "${P_LIST[@]}"; do
    python3 -c 'import json,sys; [print("  " + c) for c in json.load(open(sys.argv[1]))["commands"]]' "$RES/f_$p.cmd.json"
done
echo
echo "raw numbers: $RES/*.runs (wall user sys maxrss_kB), outputs in $OUTS/; total bench time $(( $(date +%s) - T_START )) s"
echo "====================================================================="
} | tee "$BENCH_DIR/summary-transcode.txt"
exit 0
