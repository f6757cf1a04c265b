#!/usr/bin/env bash
# libFuzzer targets for the parsers that read outside bytes (see "### Fuzzing" in README.md).
#
#   scripts/fuzz.sh TARGET|all [SECONDS]     build, write seeds, fuzz each target SECONDS (default 60)
#   scripts/fuzz.sh TARGET|all 0             build and write seeds only
#   scripts/fuzz.sh list                     the targets
#
# Targets (one file each in Fuzz/): codecs, classify, index-cache, signals, profiles, hls.
# Not part of Package.swift: `swift build`, `swift test` and CI never see it. Everything is built with
# swiftc/clang -sanitize=fuzzer,address from the module sources directly:
#   - modules a target imports (RepriseMedia, RepriseHLS, RepriseProfiles, Yams + CYaml) are compiled
#     once each into .fuzz/build/modules (objects + .swiftmodule); Yams from SwiftPM's checkout
#     (.build/checkouts/Yams, `swift package resolve` is run if it is missing; or YAMS_DIR);
#   - targets that need internal API (classify, index-cache: PacketIndexer.classify / load) are
#     compiled together with the RepriseCut sources as one module; `signals` is compiled with the
#     Signals sources only (Foundation-only, no FFmpeg).
# Work files (build, seeds, corpus, crashes, logs) are under .fuzz/ (git-ignored; FUZZ_WORK moves it).
#
# Environment: FUZZ_JOBS=N (libFuzzer -fork=N -ignore_crashes=1: keep fuzzing after a crash),
# FUZZ_ARGS="..." (more libFuzzer flags; leak detection is off by default because FoundationXML
# leaks on libxml2 errors, FUZZ_ARGS=-detect_leaks=1 turns it back on), FUZZ_OPT=-Onone (default -O; overflow checks stay on),
# REPRISE_FUZZ_INDEX_USE=1 (index-cache also uses the loaded index, see Fuzz/index-cache.swift).
#
# Prints per target: seconds run, executions (libFuzzer's final stats) and the crash files this run
# wrote under .fuzz/crashes/TARGET/. Exits 1 if any target crashed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ALL_TARGETS=(codecs classify index-cache signals profiles hls)
WORK=${FUZZ_WORK:-$ROOT/.fuzz}
BUILD=$WORK/build
MOD=$BUILD/modules
BIN=$WORK/bin
OPT=${FUZZ_OPT:--O}
SAN=(-sanitize=fuzzer,address)
SWIFTC=${SWIFTC:-swiftc}
CLANG=${CLANG:-$(dirname "$(command -v "$SWIFTC")")/clang}
FF_PKGS="libavformat libavcodec libavutil libswscale libswresample libavfilter"

# gold warns once per ASan helper symbol ("Cannot export local symbol"); harmless, dropped.
quiet_linker() { grep -v "Cannot export local symbol" || true; }
log() { echo "fuzz.sh: $*" >&2; }
die() { log "error: $*"; exit 2; }

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

[[ $# -ge 1 ]] || usage
WHAT=$1
SECONDS_EACH=${2:-60}
[[ $SECONDS_EACH =~ ^[0-9]+$ ]] || die "SECONDS must be a whole number"
if [[ $WHAT == list ]]; then printf '%s\n' "${ALL_TARGETS[@]}"; exit 0; fi
if [[ $WHAT == all ]]; then TARGETS=("${ALL_TARGETS[@]}"); else
    [[ " ${ALL_TARGETS[*]} " == *" $WHAT "* ]] || die "unknown target '$WHAT' (targets: ${ALL_TARGETS[*]}, all)"
    TARGETS=("$WHAT")
fi
mkdir -p "$MOD" "$BIN"

# ---------------------------------------------------------------------------------------------
# Build

FF_CFLAGS=() FF_LIBS=()
ffmpeg_flags() {
    [[ ${#FF_LIBS[@]} -gt 0 ]] && return
    local f
    for f in $(pkg-config --cflags $FF_PKGS); do FF_CFLAGS+=(-Xcc "$f"); done
    for f in $(pkg-config --libs $FF_PKGS); do FF_LIBS+=("$f"); done
}

# up_to_date OUTPUT INPUT...: OUTPUT exists and is newer than every input (after changing flags in this
# script, remove .fuzz/build and .fuzz/bin).
up_to_date() {
    local out=$1; shift
    [[ -e $out ]] || return 1
    [[ -n $(find "$@" -newer "$out" -print -quit 2>/dev/null) ]] && return 1
    return 0
}

# swift_module NAME SWIFT_VERSION SOURCES... [-- EXTRA FLAGS]: NAME.o + NAME.swiftmodule in $MOD.
swift_module() {
    local name=$1 version=$2; shift 2
    local srcs=() extra=()
    while [[ $# -gt 0 && $1 != -- ]]; do srcs+=("$1"); shift; done
    [[ $# -gt 0 ]] && { shift; extra=("$@"); }
    up_to_date "$MOD/$name.o" "${srcs[@]}" && return
    log "compiling module $name (${#srcs[@]} files)"
    "$SWIFTC" -module-name "$name" -parse-as-library -wmo -swift-version "$version" "$OPT" -g "${SAN[@]}" \
        -emit-module -emit-module-path "$MOD/$name.swiftmodule" -c -o "$MOD/$name.o" \
        -I "$MOD" "${extra[@]}" "${srcs[@]}" 2> >(quiet_linker >&2)
    touch "$MOD/$name.o"   # swiftc leaves an unchanged output's time alone
}

yams_dir() {
    if [[ -n ${YAMS_DIR:-} ]]; then echo "$YAMS_DIR"; return; fi
    if [[ ! -d $ROOT/.build/checkouts/Yams/Sources/Yams ]]; then
        log "Yams checkout missing: swift package resolve"
        swift package resolve >&2
    fi
    echo "$ROOT/.build/checkouts/Yams"
}

build_media() {
    ffmpeg_flags
    swift_module RepriseCore 6 $(find Sources/RepriseCore -name '*.swift' | sort)
    swift_module RepriseMedia 6 $(find Sources/RepriseMedia -name '*.swift' | sort) -- -I Sources/CFFmpeg "${FF_CFLAGS[@]}"
}

build_yams() {
    local y; y=$(yams_dir)
    local inc=$y/Sources/CYaml/include c o objs=()
    for c in "$y"/Sources/CYaml/src/*.c; do
        o=$MOD/CYaml-$(basename "$c" .c).o
        objs+=("$o")
        up_to_date "$o" "$c" || { log "compiling $(basename "$c")"; "$CLANG" -c -O1 -g -fsanitize=fuzzer-no-link,address \
            -DYAML_DECLARE_STATIC -I "$inc" -o "$o" "$c"; touch "$o"; }
    done
    swift_module Yams 5 $(find "$y/Sources/Yams" -name '*.swift' | sort) -- -I "$inc" -Xcc -DYAML_DECLARE_STATIC -D SWIFT_PACKAGE
    swift_module RepriseProfiles 6 $(find Sources/RepriseProfiles -name '*.swift' | sort) -- -I "$inc" -Xcc -DYAML_DECLARE_STATIC -D SWIFT_PACKAGE
}

# link TARGET MODULE_NAME OBJECTS/FLAGS... -- EXTRA SOURCES...
link_target() {
    local target=$1 modname=$2; shift 2
    local inputs=() srcs=()
    while [[ $# -gt 0 && $1 != -- ]]; do inputs+=("$1"); shift; done
    [[ $# -gt 0 ]] && { shift; srcs=("$@"); }
    local own=(Fuzz/"$target".swift Fuzz/Support/*.swift)
    local deps=("${own[@]}" "${srcs[@]}")
    for i in "${inputs[@]}"; do [[ -f $i ]] && deps+=("$i"); done
    up_to_date "$BIN/$target" "${deps[@]}" && return
    log "building $BIN/$target"
    "$SWIFTC" -module-name "$modname" -parse-as-library -swift-version 6 "$OPT" -g "${SAN[@]}" \
        -I "$MOD" -o "$BIN/$target" "${own[@]}" "${srcs[@]}" "${inputs[@]}" 2> >(quiet_linker >&2)
    touch "$BIN/$target"
}

build_target() {
    local t=$1
    case $t in
    codecs)
        build_media
        link_target codecs FuzzCodecs "$MOD/RepriseMedia.o" "$MOD/RepriseCore.o" -I Sources/CFFmpeg "${FF_CFLAGS[@]}" "${FF_LIBS[@]}" ;;
    classify|index-cache)
        build_media
        link_target "$t" RepriseCut "$MOD/RepriseMedia.o" "$MOD/RepriseCore.o" -I Sources/CFFmpeg "${FF_CFLAGS[@]}" "${FF_LIBS[@]}" \
            -- $(find Sources/RepriseCut -name '*.swift' | sort) ;;
    signals)
        link_target signals RepriseHighlights -- $(find Sources/RepriseHighlights/Signals -name '*.swift' | sort) ;;
    profiles)
        build_yams
        local inc; inc=$(yams_dir)/Sources/CYaml/include
        link_target profiles FuzzProfiles "$MOD/RepriseProfiles.o" "$MOD/Yams.o" "$MOD"/CYaml-*.o \
            -I "$inc" -Xcc -DYAML_DECLARE_STATIC ;;
    hls)
        build_media
        swift_module RepriseHLS 6 $(find Sources/RepriseHLS -name '*.swift' | sort) -- -I Sources/CFFmpeg "${FF_CFLAGS[@]}"
        link_target hls FuzzHLS "$MOD/RepriseHLS.o" "$MOD/RepriseMedia.o" "$MOD/RepriseCore.o" -I Sources/CFFmpeg "${FF_CFLAGS[@]}" "${FF_LIBS[@]}" ;;
    esac
}

# ---------------------------------------------------------------------------------------------
# Seeds (written fresh each run into .fuzz/seeds/TARGET; libFuzzer adds what it finds to .fuzz/corpus/TARGET)

MEDIA=$WORK/media
REPRISE=$ROOT/.build/debug/reprise

# seed DIR NAME SELECTOR_BYTE (decimal) < content
seed() {
    local dir=$1 name=$2 sel=$3
    { printf "\\$(printf '%03o' "$sel")"; cat; } > "$dir/$name"
}

# The media seeds: two short samples (H.264, HEVC), their avcC/hvcC, Annex B streams, packets,
# index caches and HLS-style segments. Made once; skipped (with a note) without reprise or ffmpeg.
make_media() {
    [[ -f $MEDIA/done ]] && return 0
    mkdir -p "$MEDIA"
    if [[ ! -x $REPRISE ]]; then
        log "building .build/debug/reprise for the media seeds"
        swift build --product reprise >&2 || { log "no reprise binary: media seeds skipped"; return 0; }
    fi
    command -v ffmpeg >/dev/null || { log "no ffmpeg: media seeds skipped"; return 0; }
    local c
    for c in h264 hevc; do
        "$REPRISE" sample "$MEDIA/$c.mp4" --seconds 2 --size 160x90 --fps 30 --gop 15 --codec "$c" >/dev/null
        "$REPRISE" probe "$MEDIA/$c.mp4" >/dev/null          # writes $MEDIA/.$c.mp4.reprise-index
        ffmpeg -v error -y -i "$MEDIA/$c.mp4" -an -c:v copy -bsf:v "${c}_mp4toannexb" -frames:v 4 -f "$c" "$MEDIA/$c.annexb"
        ffmpeg -v error -y -i "$MEDIA/$c.mp4" -an -c:v copy -t 1 -f mpegts "$MEDIA/$c.ts"
        ffmpeg -v error -y -i "$MEDIA/$c.mp4" -an -c:v copy -t 1 -movflags +frag_keyframe+empty_moov+default_base_moof \
            -f mp4 "$MEDIA/$c.frag.mp4"
    done
    python3 - "$MEDIA" <<'PY'
import struct, sys, os
media = sys.argv[1]
def boxes(d, start, end):
    i = start
    while i + 8 <= end:
        size, kind = struct.unpack('>I4s', d[i:i + 8])
        if size < 8 or i + size > end: return
        yield kind.decode('latin1'), i, size
        i += size
def find(d, kind):
    i = d.find(kind.encode())
    if i < 4: return None
    size = struct.unpack('>I', d[i - 4:i])[0]
    return d[i + 4:i - 4 + size]
for c, rec in (('h264', 'avcC'), ('hevc', 'hvcC')):
    d = open(f'{media}/{c}.mp4', 'rb').read()
    open(f'{media}/{c}.extradata', 'wb').write(find(d, rec))
    # The first video packets as stored (length-prefixed NAL units), cut short.
    mdat = d.find(b'mdat')
    open(f'{media}/{c}.packets', 'wb').write(d[mdat + 4:mdat + 4 + 2048])
    # fMP4: everything up to the end of the first moof, plus a little of its mdat.
    f = open(f'{media}/{c}.frag.mp4', 'rb').read()
    for kind, i, size in boxes(f, 0, len(f)):
        if kind == 'moof':
            open(f'{media}/{c}.segment.mp4', 'wb').write(f[:i + size + 64]); break
    t = open(f'{media}/{c}.ts', 'rb').read()
    open(f'{media}/{c}.segment.ts', 'wb').write(t[:188 * 24])
PY
    touch "$MEDIA/done"
}

write_seeds() {
    local t=$1 dir=$WORK/seeds/$1
    rm -rf "$dir"; mkdir -p "$dir"
    case $t in
    codecs)
        make_media
        # Hand-written avcC (x264 720p High SPS/PPS) and the same sets as Annex B.
        printf '\x01\x64\x00\x1f\xff\xe1\x00\x19\x67\x64\x00\x1f\xac\xd9\x40\x50\x05\xbb\x01\x10\x00\x00\x03\x00\x10\x00\x00\x03\x03\xc0\xf1\x83\x19\x60\x01\x00\x06\x68\xeb\xe3\xcb\x22\xc0\xfd\xf8\xf8\x00' | seed "$dir" avcc-hand 6
        printf '\x00\x00\x00\x01\x67\x64\x00\x1f\xac\xd9\x40\x50\x05\xbb\x01\x10\x00\x00\x03\x00\x10\x00\x00\x03\x03\xc0\xf1\x83\x19\x60\x00\x00\x01\x68\xeb\xe3\xcb\x22\xc0\x00\x00\x01\x65\x88\x84\x00\x33\xff' | seed "$dir" annexb-hand 0
        if [[ -f $MEDIA/done && -f $MEDIA/h264.extradata ]]; then
            seed "$dir" avcc-sample 6 < "$MEDIA/h264.extradata"
            seed "$dir" hvcc-sample 7 < "$MEDIA/hevc.extradata"
            head -c 3000 "$MEDIA/h264.annexb" | seed "$dir" annexb-h264 0
            head -c 3000 "$MEDIA/hevc.annexb" | seed "$dir" annexb-hevc 1
            head -c 1500 "$MEDIA/h264.packets" | seed "$dir" packets-h264 6
            head -c 1500 "$MEDIA/hevc.packets" | seed "$dir" packets-hevc 7
        fi ;;
    classify)
        make_media
        printf '\x00\x00\x00\x01\x09\xf0\x00\x00\x01\x65\x88\x84\x00' | seed "$dir" idr-annexb 0
        printf '\x00\x00\x00\x02\x09\xf0\x00\x00\x00\x04\x41\x9a\x00\x10' | seed "$dir" p-avcc 8
        printf '\x00\x00\x00\x03\x46\x01\x50\x00\x00\x00\x04\x2a\x01\xaf\x00' | seed "$dir" cra-hvcc 9
        printf '\x00\x00\x01\x10\x01\xaf\x00' | seed "$dir" rasl-annexb 1
        if [[ -f $MEDIA/done && -f $MEDIA/h264.packets ]]; then
            head -c 1500 "$MEDIA/h264.packets" | seed "$dir" packets-h264 8
            head -c 1500 "$MEDIA/hevc.packets" | seed "$dir" packets-hevc 9
            head -c 1500 "$MEDIA/h264.annexb" | seed "$dir" annexb-h264 0
            head -c 1500 "$MEDIA/hevc.annexb" | seed "$dir" annexb-hevc 1
        fi ;;
    index-cache)
        make_media
        local c
        for c in h264 hevc; do [[ -f $MEDIA/.$c.mp4.reprise-index ]] && cp "$MEDIA/.$c.mp4.reprise-index" "$dir/$c"; done
        # A header alone (no packets), and the magic alone.
        local header='{"version":2,"fileSize":1000,"modificationTime":1700000000.5,"inode":42,"streamIndex":0,"timeBaseNum":1,"timeBaseDen":15360,"codec":"h264","formatName":"mov,mp4,m4a,3gp,3g2,mj2","startTimeMicros":0}'
        python3 -c 'import sys,struct; h=sys.argv[1].encode(); sys.stdout.buffer.write(b"RPIX"+struct.pack("<I",len(h))+h)' "$header" > "$dir/header-only"
        printf 'RPIX' > "$dir/magic" ;;
    signals)
        # selector: kind (0 chat, 1 orders, 2 products) + 3 * extension (0 jsonl, 1 json, 2 csv, 3 xml, 4 none) [+128: start known]
        seed "$dir" chat.jsonl 128 <<'EOF'
{"t": 12.5, "user": "amy", "text": "wow 好看"}
{"time": "2023-11-14T22:13:40.250+00:00", "user": 42, "text": "how much?"}
{"t": -1, "text": "bad"}
not json
EOF
        seed "$dir" chat.json 3 <<'EOF'
{"messages": [
  {"t": 1, "user": "a", "text": "hi"},
  {"t": "2.5", "text": "second, with \"quotes\""},
  {"t": true, "text": "bad"}
]}
EOF
        seed "$dir" chat.csv 6 <<'EOF'
t,user,text
1.5,amy,"hello, world"
2,"bob","multi
line ""quoted"""
3,carl
EOF
        seed "$dir" chat.xml 9 <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<i><chatserver>chat.example.com</chatserver>
<d p="754.2,1,25,16777215,1700000000,0,abc,123">上链接</d>
<d p="755.0,1,25,16777215,1700000000,0,def,124">text <![CDATA[<b>]]> &amp; more</d>
<d>no p</d>
</i>
EOF
        seed "$dir" chat-guess 140 <<'EOF'
<i><d p="1.0,1,25,1,1,0,u,1">cut short
EOF
        seed "$dir" orders.jsonl 129 <<'EOF'
{"t": 30, "product": "sku-1", "kind": "order", "amount": 59.9}
{"time": "2023-11-14 22:14:00Z", "product_id": 7, "amount": "12"}
{"t": 31, "product": "", "amount": "x"}
EOF
        seed "$dir" orders.csv 7 <<'EOF'
T,Product,Kind,Amount
30,sku-1,order,59.9
31,sku-2,refund,
32,sku-3,order,abc
EOF
        seed "$dir" products.json 5 <<'EOF'
{"products": [
  {"id": "sku-1", "title": "Red dress", "start": 0, "end": 300},
  {"id": 2, "title": "Shoes", "start": "2023-11-14T22:20:00+08:00", "end": "2023-11-14T22:30:00+0800"},
  {"id": "sku-3", "start": 500, "end": 400}
]}
EOF
        seed "$dir" products.csv 8 <<'EOF'
id,title,start,end
sku-1,"Red dress, long",0,300
sku-2,Shoes,300,600.5
EOF
        seed "$dir" products-guess 14 <<'EOF'
[{"id": "a", "start": 1, "end": 2}, {"id": "b", "start": 2, "end": 3}
EOF
        ;;
    profiles)
        # selector: 0 profile, 1 ladder, 2 recipe, 3 daemon config
        local f sel
        for f in Profiles/*.yaml systemd/reprise.yaml; do
            case $(basename "$f") in
            ladder-*) sel=1 ;; recipe-*) sel=2 ;; reprise.yaml) sel=3 ;; *) sel=0 ;;
            esac
            seed "$dir" "$(basename "$f")" "$sel" < "$f"
        done ;;
    hls)
        # selector: 0 playlist text, 1 fMP4 segment, 2 TS segment, 3 codec string (+128: HEVC)
        seed "$dir" media.m3u8 0 <<'EOF'
#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init.mp4",BYTERANGE="720@0"
#EXTINF:6.000000,
seg-00000.m4s
#EXTINF:5.966667,
seg-00001.m4s
#EXT-X-ENDLIST
EOF
        seed "$dir" iframes.m3u8 0 <<'EOF'
#EXTM3U
#EXT-X-VERSION:4
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-I-FRAMES-ONLY
#EXTINF:6.000000,
#EXT-X-BYTERANGE:18988@0
seg-00000.ts
#EXTINF:6.000000,
#EXT-X-BYTERANGE:17108
seg-00001.ts
#EXT-X-ENDLIST
EOF
        seed "$dir" master.m3u8 0 <<'EOF'
#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="audio",DEFAULT=YES,URI="audio/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=6453000,AVERAGE-BANDWIDTH=5100000,CODECS="avc1.640028,mp4a.40.2",RESOLUTION=1920x1080,FRAME-RATE=30.000,AUDIO="aud"
1080p/index.m3u8
EOF
        printf '\x67\x64\x00\x1f\xac\xd9\x40\x50\x05\xbb\x01\x10' | seed "$dir" sps-h264 3
        if [[ -f $MEDIA/done ]] || make_media; then
            if [[ -f $MEDIA/h264.segment.mp4 ]]; then
                seed "$dir" segment.mp4 1 < "$MEDIA/h264.segment.mp4"
                seed "$dir" segment.ts 2 < "$MEDIA/h264.segment.ts"
                seed "$dir" hvcc 131 < "$MEDIA/hevc.extradata"
                seed "$dir" avcc 3 < "$MEDIA/h264.extradata"
            fi
        fi ;;
    esac
}

# Dictionaries (libFuzzer -dict; escapes: \\ \" \xNN only): tokens the parsers look for, numbers at the edges.
write_dict() {
    local t=$1 f=$WORK/seeds/$1.dict
    {
        printf '%s\n' '"0"' '"-1"' '"9223372036854775807"' '"-9223372036854775808"' '"4294967295"' '"1e308"' \
            '"1e30"' '"inf"' '"-inf"' '"nan"' '"-0"' '"0.0000001"'
        case $t in
        codecs|classify)
            printf '%s\n' '"\x00\x00\x01"' '"\x00\x00\x00\x01"' '"\x00\x00\x03"' '"\x01\x64\x00\x1f\xff\xe1"' \
                '"\x67"' '"\x68"' '"\x65"' '"\x40\x01"' '"\x42\x01"' '"\x44\x01"' '"\x26\x01"' '"\x2a\x01"' '"\x10\x01"' ;;
        index-cache)
            printf '%s\n' '"RPIX"' '"\"version\":2"' '"\"damagedAtPTS\":"' '"\"damageMessage\":"' '"null"' \
                '"\"timeBaseDen\":0"' '"\"inode\":"' '"\"fileSize\":"' '"\xff\xff\xff\xff"' '"\x00\x00\x00\x80"' ;;
        signals)
            printf '%s\n' '"\"t\":"' '"\"time\":"' '"\"user\":"' '"\"text\":"' '"\"product\":"' '"\"product_id\":"' \
                '"\"kind\":"' '"\"amount\":"' '"\"id\":"' '"\"title\":"' '"\"start\":"' '"\"end\":"' \
                '"\"messages\":["' '"\"orders\":["' '"\"products\":["' '"<d p=\""' '"</d>"' '"<![CDATA["' '"]]>"' \
                '"&amp;"' '"&#x10FFFF;"' '"<!DOCTYPE"' '"<!ENTITY"' '"2023-11-14T22:13:40.25Z"' '"9999-12-31T23:59:60+23:59"' \
                '"0000-01-01 00:00Z"' '"+08:00"' '"-0800"' '"true"' '"\"\""' '"\xef\xbb\xbf"' '"\x0d\x0a"' ;;
        profiles)
            printf '%s\n' '"bitrate: "' '"max_bitrate: "' '"buffer: "' '"disk_reserve: "' '"width: "' '"height: "' \
                '"rungs:\x0a  - "' '"watch:\x0a  - "' '"forms: ["' '"video:\x0a  "' '"audio:\x0a  "' '"900k"' '"6M"' '"9e99G"' \
                '".inf"' '".nan"' '"0x7fffffffffffffff"' '"0o777"' '"1_000"' '"190:20:30"' '"!!int "' '"!!float "' \
                '"&a "' '"*a"' '"<<: "' '"{"' '"["' '"? "' '"--- "' '"..."' '"%YAML 1.1"' '"|\x0a"' ;;
        hls)
            printf '%s\n' '"#EXTM3U\x0a"' '"#EXT-X-BYTERANGE:"' '"#EXTINF:"' '"#EXT-X-MAP:"' '"URI=\""' '"@"' \
                '"#EXT-X-TARGETDURATION:"' '"#EXT-X-MEDIA-SEQUENCE:"' '"#EXT-X-VERSION:"' '"#EXT-X-ENDLIST"' \
                '"moof"' '"traf"' '"tfhd"' '"trun"' '"mdat"' '"\x47\x40"' '"\xff\xff\xff\xff"' '"\x00\x00\x00\x08"' ;;
        esac
    } > "$f"
}

# ---------------------------------------------------------------------------------------------
# Run

declare -A R_SECS R_EXECS R_CRASH R_NOTE
run_target() {
    local t=$1 secs=$2
    local corpus=$WORK/corpus/$t crashes=$WORK/crashes/$t logf=$WORK/logs/$t.log
    mkdir -p "$corpus" "$crashes" "$WORK/logs"
    local stamp; stamp=$(mktemp "$WORK/.stamp.XXXXXX")
    local extra=()
    [[ -n ${FUZZ_JOBS:-} ]] && extra+=(-fork="$FUZZ_JOBS" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    log "fuzzing $t for ${secs}s (log: $logf)"
    local start end rc=0
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$BIN/$t" -max_total_time="$secs" -print_final_stats=1 -detect_leaks=0 -timeout=20 -rss_limit_mb=2560 \
        -artifact_prefix="$crashes/" -dict="$WORK/seeds/$t.dict" "${extra[@]}" ${FUZZ_ARGS:-} "$corpus" "$WORK/seeds/$t" > "$logf" 2>&1 || rc=$?
    end=$(date +%s.%N)
    local execs
    execs=$({ grep -o 'stat::number_of_executed_units: [0-9]*' "$logf" || true; } | awk '{s+=$2} END {print s+0}')
    if [[ $execs == 0 ]]; then   # fork mode: the last "#N:" progress line of the parent
        execs=$({ grep -oE '^#[0-9]+:' "$logf" || true; } | tail -1 | tr -d '#:'); execs=${execs:-0}
    fi
    local found; found=$(find "$crashes" -type f -newer "$stamp" | sort)
    rm -f "$stamp"
    R_SECS[$t]=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.0f", b - a}')
    R_EXECS[$t]=$execs
    R_CRASH[$t]=$(printf '%s' "$found" | grep -c . || true)
    R_NOTE[$t]=$([[ -n $found ]] && echo "$found" | xargs -n1 basename | head -3 | paste -sd' ' || echo "-")
    [[ ${R_CRASH[$t]} -gt 3 ]] && R_NOTE[$t]+=" …"
    [[ $rc -ne 0 && -z $found ]] && R_NOTE[$t]="libFuzzer exit $rc, see $logf"
    return 0
}

command -v "$SWIFTC" >/dev/null || die "swiftc not found"
# Foundation itself leaks (Data(contentsOf:) on some reads, XMLParser on libxml2 errors): LeakSanitizer
# would report those at exit as a crash of whatever input ran last.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
# Swift's own crash backtracer would catch a Swift runtime trap first (and can stall or trip ASan while
# reading memory); off, the trap reaches libFuzzer, which saves the input and prints the stack.
export SWIFT_BACKTRACE=${SWIFT_BACKTRACE:-enable=no}
for t in "${TARGETS[@]}"; do build_target "$t"; write_seeds "$t"; write_dict "$t"; done
[[ $SECONDS_EACH -eq 0 ]] && { log "built: ${TARGETS[*]} (in $BIN); seeds in $WORK/seeds"; exit 0; }

for t in "${TARGETS[@]}"; do run_target "$t" "$SECONDS_EACH"; done

status=0
printf '\n%-12s %8s %14s %8s  %s\n' target seconds executions crashes "files (under .fuzz/crashes/TARGET/)"
for t in "${TARGETS[@]}"; do
    printf '%-12s %8s %14s %8s  %s\n' "$t" "${R_SECS[$t]}" "${R_EXECS[$t]}" "${R_CRASH[$t]}" "${R_NOTE[$t]}"
    [[ ${R_CRASH[$t]} -gt 0 ]] && status=1
done
exit $status
