"""`bench.py ladder`: `reprise ladder` (decode once, every rung encoded in parallel, HLS) vs the ffmpeg
CLI making the same rungs, on the whole input, each run in this order so drift in the machine's load
hits all alike:

1. `reprise ladder IN -o DIR --ladder L --json`                             (measure_reprise)
2. ONE ffmpeg process doing what the product's JSON says it did: -filter_complex
   "[0:v]split=N[s0]..;[s0]<rung 0 videoFilter>[v0];.." and per rung -map [vK] -c:v <videoEncoder>
   -KEY:v VALUE (videoOptions) -force_key_frames:v expr:gte(t,n_forced*GOP) -an -f hls ..., plus the
   audio rendition (-map 0:a -af <audioFilter> -c:a <audioEncoder> -KEY:a VALUE -vn -f hls). Decodes
   once, like reprise. Ratio reprise/ffmpeg, target <= 1.0.                (measure_ffmpeg_one)
3. N+1 separate ffmpeg processes (one per rung, one for the audio), each decoding the input; their
   walls summed (info: what decoding once saves over the naive way).     (measure_ffmpeg_separate)
Wall (median), CPU (user+sys, median), peak RSS (for 3. the largest process), bytes written, and a
per-rendition table (size, frames, keyframes and whether they fall on the GOP grid, segments, bytes,
measured peak/average segment bitrate) for the three outputs, to show they did the same work.
"""
import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

from . import common as c
from .common import die, log, opt_args

TARGET_RATIO = 1.0


def add_arguments(p):
    c.add_common_options(p, runs_default=1)
    p.add_argument("--seconds", type=int, default=c.env_int("SECONDS", 60, "BENCH_SECONDS"),
                   help="length of the 1280x720 30 fps input (env SECONDS or BENCH_SECONDS; default 60). On the "
                        "2-core machine one run of everything takes about 2.5 min per 60 s (default ladder)")
    p.add_argument("--ladder", default=c.env_str("LADDER", "default"),
                   help="ladder name for `reprise ladder --ladder` (env LADDER; default: default)")
    p.add_argument("--segment", default=c.env_str("SEGMENT", None),
                   help="--segment for reprise (env SEGMENT; default: the ladder's); ffmpeg follows the JSON")
    p.add_argument("--format", choices=("fmp4", "ts"), default=c.env_str("FORMAT", None),
                   help="--format for reprise (env FORMAT; default: the ladder's); ffmpeg follows the JSON")


# ----------------------------------------------------------------------------- result JSON

def load_result(path):
    """The last `--json` line that is a ladder result (an object with rungs)."""
    last = c.last_json(Path(path), lambda o: isinstance(o.get("rungs"), list))
    if not last:
        die(f"no result object with rungs in {path}")
    return last


# ----------------------------------------------------------------------------- ffmpeg commands

def hls_args(res, folder):
    """-f hls ... FOLDER/index.m3u8, segments named as the product names them."""
    fmt = (res.get("format") or "fmp4").lower()
    seg = res.get("segmentSeconds") or 6
    a = ["-f", "hls", "-hls_time", f"{float(seg):g}", "-hls_playlist_type", "vod",
         "-hls_flags", "independent_segments", "-hls_list_size", "0"]
    if fmt == "ts":
        a += ["-hls_segment_type", "mpegts", "-hls_segment_filename", os.path.join(folder, "seg_%05d.ts")]
    else:
        a += ["-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
              "-hls_segment_filename", os.path.join(folder, "seg_%05d.m4s")]
    return a + [os.path.join(folder, "index.m3u8")]


def rung_video_args(res, rung):
    gop = res.get("gopSeconds") or 2
    enc = rung.get("videoEncoder") or "libx264"
    a = ["-c:v", enc] + opt_args(rung.get("videoOptions"), "v")
    if enc in ("libx265", "hevc_nvenc", "hevc_vaapi", "hevc_qsv") and (res.get("format") or "fmp4") != "ts":
        a += ["-tag:v", "hvc1"]  # the product tags HEVC in fMP4 hvc1 (container metadata, no encode cost)
    a += ["-force_key_frames:v", f"expr:gte(t,n_forced*{float(gop):g})", "-an", "-sn", "-dn"]
    return a


def audio_args(res):
    au = res.get("audio") or {}
    a = ["-map", "0:a:0"]
    if au.get("audioFilter"):
        a += ["-af", au["audioFilter"]]
    a += ["-c:a", au.get("audioEncoder") or "aac"] + opt_args(au.get("audioOptions"), "a")
    return a + ["-vn", "-sn", "-dn"]


def labelled_chain(vf, src, dst):
    """A rung's simple chain between two pads of the -filter_complex graph."""
    vf = (vf or "").strip() or "null"
    if "[in]" in vf or "[out]" in vf:  # a labelled graph (one input, one output), as -vf accepts
        return vf.replace("[in]", f"[{src}]").replace("[out]", f"[{dst}]")
    return f"[{src}]{vf}[{dst}]"


def plan(res, inp, one_dir, sep_dir):
    """{"one": argv, "separate": [[name, argv], ...]}: ONE ffmpeg process making every rung (split in
    -filter_complex, decode once) and the audio rendition into ONE_DIR, and one ffmpeg process per rung
    plus one for the audio (each decoding the input) into SEP_DIR."""
    inp, one_dir, sep_dir = str(inp), str(one_dir), str(sep_dir)
    rungs = res["rungs"]
    base = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", "-i", inp]
    # ONE process: decode once, split, one scaler chain + encoder + HLS muxer per rung, plus audio.
    n = len(rungs)
    graph = [f"[0:v]split={n}" + "".join(f"[s{k}]" for k in range(n))]
    graph += [labelled_chain(r.get("videoFilter"), f"s{k}", f"v{k}") for k, r in enumerate(rungs)]
    one = base + ["-filter_complex", ";".join(graph)]
    for k, r in enumerate(rungs):
        one += ["-map", f"[v{k}]"] + rung_video_args(res, r) + hls_args(res, os.path.join(one_dir, r["name"]))
    if res.get("audio"):
        one += audio_args(res) + hls_args(res, os.path.join(one_dir, "audio"))
    # Separate processes: each decodes the input itself.
    sep = []
    for r in rungs:
        cmd = base + ["-map", "0:v:0"]
        if r.get("videoFilter"):
            cmd += ["-vf", r["videoFilter"]]
        cmd += rung_video_args(res, r) + hls_args(res, os.path.join(sep_dir, r["name"]))
        sep.append([r["name"], cmd])
    if res.get("audio"):
        sep.append(["audio", base + audio_args(res) + hls_args(res, os.path.join(sep_dir, "audio"))])
    return {"one": one, "separate": sep}


def playlists(argv):
    return [a for a in argv if a.endswith("index.m3u8")]


def make_folders(cmd):
    for pl in playlists(cmd):
        os.makedirs(os.path.dirname(pl), exist_ok=True)  # the hls muxer does not make folders


def commands(p):
    return (["one process:  " + shlex.join(p["one"])]
            + [f"separate {n}:  " + shlex.join(cmd) for n, cmd in p["separate"]])


# ----------------------------------------------------------------------------- measuring outputs

def read_playlist(path):
    """[(segment file, EXTINF seconds)] of a media playlist."""
    segs, dur = [], None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("#EXTINF:"):
                dur = float(line[8:].split(",")[0])
            elif line and not line.startswith("#"):
                segs.append((line, dur or 0.0))
                dur = None
    return segs


def folder_bytes(d):
    total = 0
    for root, _, files in os.walk(d):
        for n in files:
            total += os.path.getsize(os.path.join(root, n))
    return total


def rendition_row(folder, name, video, gop):
    pl = os.path.join(folder, "index.m3u8")
    if not os.path.isfile(pl):
        return f"{name} - - - - 0 {folder_bytes(folder) if os.path.isdir(folder) else 0} 0 0 0"
    segs = read_playlist(pl)
    rates, media, dur = [], 0, 0.0
    for s, d in segs:
        b = os.path.getsize(os.path.join(folder, s))
        media += b
        dur += d
        if d > 0:
            rates.append(b * 8 / d)
    peak = round(max(rates)) if rates else 0
    avg = round(media * 8 / dur) if dur > 0 else 0
    sel = "v:0" if video else "a:0"
    p = subprocess.run(["ffprobe", "-v", "error", "-select_streams", sel, "-show_entries",
                        "stream=width,height,codec_name", "-of", "json", pl], capture_output=True, text=True)
    st = (json.loads(p.stdout or "{}").get("streams") or [{}])[0]
    size = f"{st.get('width', '?')}x{st.get('height', '?')}" if video else st.get("codec_name", "?")
    frames = keys = aligned = "-"
    if video:
        p = subprocess.run(["ffprobe", "-v", "error", "-select_streams", sel, "-show_entries",
                            "packet=pts_time,flags", "-of", "csv=p=0", pl], capture_output=True, text=True)
        pts = []
        n = 0
        for line in p.stdout.splitlines():
            parts = line.split(",")
            if len(parts) < 2:
                continue
            n += 1
            if "K" in parts[1]:
                try:
                    pts.append(float(parts[0]))
                except ValueError:
                    pass
        frames, keys = n, len(pts)
        if pts and gop:
            t0 = pts[0]
            # every keyframe within half a frame (30 fps) of a multiple of gopSeconds after the first
            ok = all(abs((t - t0) / gop - round((t - t0) / gop)) * gop < 0.017 for t in pts)
            aligned = "yes" if ok else "NO"
    return f"{name} {size} {frames} {keys} {aligned} {len(segs)} {folder_bytes(folder)} {peak} {avg} {dur:.3f}"


def table(res, d):
    """{name: row} per rendition written under d (the rungs in the result's order, then audio), a row
    being "name WxH frames keyframes aligned segments bytes peak_bps avg_bps duration_s" split in
    words (measured with ffprobe and the playlists; peak = largest segment bytes*8/EXTINF, init
    segment not counted, as the product measures it)."""
    d = str(d)
    gop = float(res.get("gopSeconds") or 0)
    rows = [rendition_row(os.path.join(d, r["name"]), r["name"], True, gop) for r in res["rungs"]]
    if res.get("audio"):
        rows.append(rendition_row(os.path.join(d, "audio"), "audio", False, gop))
    return {r.split()[0]: r.split() for r in rows}


# ----------------------------------------------------------------------------- the measurements

def measure_reprise(b, inp, out_dir, args):
    """1. reprise ladder; returns its result (whose JSON says what ffmpeg must do)."""
    cmd = [b.reprise, "ladder", inp, "-o", out_dir, "--ladder", args.ladder, "--json"]
    if args.segment:
        cmd += ["--segment", args.segment]
    if args.format:
        cmd += ["--format", args.format]
    shutil.rmtree(out_dir, ignore_errors=True)
    w = b.timed("reprise", cmd)
    return w, load_result(b.res / "reprise.stdout")


def measure_ffmpeg_one(b, p, out_dir):
    """2. one ffmpeg process, decode once."""
    shutil.rmtree(out_dir, ignore_errors=True)
    make_folders(p["one"])
    return b.timed("f_one", p["one"])


def measure_ffmpeg_separate(b, p, out_dir):
    """3. one ffmpeg process per rendition; returns the sum of their walls."""
    shutil.rmtree(out_dir, ignore_errors=True)
    total = 0.0
    for name, cmd in p["separate"]:
        make_folders(cmd)
        total += b.timed(f"f_sep_{name}", cmd)
    return total


def check_rows(res, rows):
    """Both sides made the same renditions, and reprise's JSON agrees with its own files."""
    notes = []
    names = [r["name"] for r in res["rungs"]] + (["audio"] if res.get("audio") else [])
    for n in names:
        rp, f1 = rows["reprise"].get(n), rows["ff-one"].get(n)
        if rp and f1:
            if rp[5] != f1[5]:
                notes.append(f"{n}: {rp[5]} segments (reprise) vs {f1[5]} (ffmpeg)")
            if rp[2] != f1[2]:
                notes.append(f"{n}: {rp[2]} frames (reprise) vs {f1[2]} (ffmpeg)")
            if rp[1] != f1[1]:
                notes.append(f"{n}: {rp[1]} (reprise) vs {f1[1]} (ffmpeg)")
            if rp[4] == "NO":
                notes.append(f"{n}: reprise keyframes off the {res.get('gopSeconds')} s grid")
            if int(f1[6]) and abs(int(rp[6]) / int(f1[6]) - 1) > 0.10:
                notes.append(f"{n}: bytes differ by {100 * (int(rp[6]) / int(f1[6]) - 1):+.0f}% (reprise vs ffmpeg)")
    for r in res["rungs"]:
        m = rows["reprise"].get(r["name"])
        if not m:
            continue
        if abs(int(m[7]) - int(r.get("videoPeakBitrate", 0))) > max(2, 0.01 * int(m[7])):
            notes.append(f"{r['name']}: JSON videoPeakBitrate {r.get('videoPeakBitrate')} vs measured {m[7]}")
        if str(r.get("segments")) != m[5]:
            notes.append(f"{r['name']}: JSON segments {r.get('segments')} vs playlist {m[5]}")
        if str(r.get("frames")) != m[2]:
            notes.append(f"{r['name']}: JSON frames {r.get('frames')} vs probed {m[2]}")
        if r.get("width") and f"{r['width']}x{r['height']}" != m[1]:
            notes.append(f"{r['name']}: JSON {r['width']}x{r['height']} vs probed {m[1]}")
    a, m = res.get("audio"), rows["reprise"].get("audio")
    if a and m and abs(int(m[7]) - int(a.get("peakBitrate", 0))) > max(2, 0.01 * int(m[7])):
        notes.append(f"audio: JSON peakBitrate {a.get('peakBitrate')} vs measured {m[7]}")
    return notes


def run(args):
    b = c.Bench("ladder", args, "ladder-results", "ladder-outputs")
    c.check_min("--seconds", args.seconds, 2)
    c.check_min("--runs", args.runs, 1)
    encoders = c.check_tools(muxers=("hls",))
    b.ensure_reprise(needs=("ladder --help",))
    R, OUTS = b.res, b.outs
    r_dir, f1_dir, fs_dir = OUTS / "reprise", OUTS / "ffmpeg-one", OUTS / "ffmpeg-separate"

    inp, input_gen = c.cached_sample(b, f"ladder-input-{args.seconds}s.mp4", args.seconds)
    input_frames = c.packets(inp)
    input_audio = c.stream_value(inp, "a:0", "codec_name,sample_rate,channels").replace(",", " ")
    log(f"input: {inp} ({args.seconds} s, {input_frames} frames, audio {input_audio}); ladder: {args.ladder}; "
        f"runs: {args.runs}")
    load_before = c.loadavg()
    log(f"load average before timing: {load_before} (other work on the machine skews the numbers)")

    p = None
    for i in range(1, args.runs + 1):
        w, res = measure_reprise(b, inp, r_dir, args)
        log(f"run {i}/{args.runs}: reprise ladder {w:.3f} s")
        if i == 1:
            p = plan(res, inp, f1_dir, fs_dir)
            (R / "plan.json").write_text(json.dumps(p, indent=1))
            wanted = {x.get("videoEncoder", "libx264") for x in res["rungs"]}
            wanted.add((res.get("audio") or {}).get("audioEncoder", "aac"))
            for enc in sorted(wanted):
                if f" {enc} " not in encoders:
                    die(f"this ffmpeg has no {enc} encoder (asked for by reprise's JSON)")
        w = measure_ffmpeg_one(b, p, f1_dir)
        log(f"run {i}/{args.runs}: ffmpeg one process {w:.3f} s")
        w = measure_ffmpeg_separate(b, p, fs_dir)
        log(f"run {i}/{args.runs}: ffmpeg {len(p['separate'])} separate processes {w:.3f} s")
    load_after = c.loadavg()

    log("checking outputs")
    rows = {"reprise": table(res, r_dir), "ff-one": table(res, f1_dir), "ff-sep": table(res, fs_dir)}
    (R / "tables.json").write_text(json.dumps(rows, indent=1))

    # summary
    sep_names = [n for n, _ in p["separate"]]
    rw, f1w = b.wall("reprise"), b.wall("f_one")
    fsw = sum(b.wall(f"f_sep_{n}") for n in sep_names)
    fsc = sum(b.cpu(f"f_sep_{n}") for n in sep_names)
    fsm = max(b.peak_kb(f"f_sep_{n}") for n in sep_names)
    rb, f1b, fsb = c.du_sb(r_dir), c.du_sb(f1_dir), c.du_sb(fs_dir)
    nrungs = len(res["rungs"])
    skipped = res.get("skipped") or []

    def prow(n):
        return f"{b.wall(n):8.2f} {b.cpu(n):7.1f} {c.mb(b.peak_kb(n)):>7}"
    ratio = c.fdiv(rw, f1w)
    lines = [
        "==================== Reprise ladder benchmark ====================",
        b.host_line(), b.reprise_line(),
        f"input: {inp} ({args.seconds} s 1280x720 30 fps, {input_frames} frames, audio {input_audio}, {c.du_h(inp)}), {input_gen}",
        f"ladder: {res.get('ladder')}, {nrungs} rungs + audio, {res.get('format')} segments of {res.get('segmentSeconds')} s, "
        f"IDR every {res.get('gopSeconds')} s; skipped: {'; '.join(skipped) if skipped else '-'}",
        f"load average: before {load_before}, after {load_after}; runs per measurement: {args.runs} (median)",
        "",
        f"  {'':<40} {'wall s':>8} {'cpu s':>7} {'peak MB':>7} {'bytes':>12}",
        f"  {'reprise ladder (one process)':<40} {prow('reprise')} {rb:>12}",
        f"  {'ffmpeg, one process (split, decode once)':<40} {prow('f_one')} {f1b:>12}",
        f"  {f'ffmpeg, {len(sep_names)} separate processes (sum)':<40} {fsw:8.2f} {fsc:7.1f} {c.mb(fsm):>7} {fsb:>12}"
        "   (peak = largest process)",
        "    separate walls: " + "".join(f"{n} {b.wall(f'f_sep_{n}'):.2f}  " for n in sep_names),
        f"  reprise's own 'seconds' (engine, last run): {float(res.get('seconds') or 0):.2f}",
        "",
        "ratios:",
        f"  {'reprise / ffmpeg one process (wall)':<50} {ratio:>7}x  target <= {TARGET_RATIO}  "
        f"{c.pf(ratio != 'nan' and float(ratio) <= TARGET_RATIO)}",
        f"  {'reprise / ffmpeg separate processes, sum (wall)':<50} {c.fdiv(rw, fsw):>7}x  (info)",
        f"  {'cpu: reprise / ffmpeg one process':<50} {c.fdiv(b.cpu('reprise'), b.cpu('f_one')):>7}x  (info)",
        f"  {'peak memory: reprise / ffmpeg one process':<50} {c.fdiv(b.peak_kb('reprise'), b.peak_kb('f_one')):>7}x  (info)",
        f"  {'bytes: reprise / ffmpeg one process':<50} {c.fdiv(rb, f1b):>7}x  (info)",
    ]
    if args.runs > 1:
        lines.append(f"  walls of each run: reprise [{b.walls('reprise')}] ffmpeg one [{b.walls('f_one')}]")
    lines += [
        "",
        "outputs (last run): peak/avg = largest/mean media segment bitrate (bytes*8/EXTINF, init not counted);",
        "keyframes 'on grid' = every keyframe at a multiple of gopSeconds",
        f"  {'rung':<6} {'side':<10} {'WxH':>9} {'frames':>7} {'keyfr':>8} {'grid':>5} {'segs':>5} {'bytes':>10} "
        f"{'peak kb/s':>9} {'avg kb/s':>9}",
    ]
    names = [r["name"] for r in res["rungs"]] + (["audio"] if res.get("audio") else [])
    for n in names:
        for side in ("reprise", "ff-one", "ff-sep"):
            r = rows[side].get(n)
            if not r:
                lines.append(f"  {n:<6} {side:<10} (missing)")
                continue
            _, size, fr, kf, grid, segs, nbytes, peak, avg, _ = r
            lines.append(f"  {n:<6} {side:<10} {size:>9} {fr:>7} {kf:>8} {grid:>5} {segs:>5} {nbytes:>10} "
                         f"{int(peak) / 1000:9.0f} {int(avg) / 1000:9.0f}")
    notes = check_rows(res, rows)
    lines.append("  checks: " + ("; ".join(notes) if notes else "same segments, frames and sizes on both sides (bytes "
                                 "within 10%); reprise's JSON agrees with its files"))
    lines += ["", "ffmpeg commands:"] + ["  " + x for x in commands(p)]
    lines += ["", f"raw numbers: {R}/*.runs (wall user sys maxrss_kB), outputs in {OUTS}/; total bench time {b.elapsed()} s",
              "=================================================================="]
    b.summary(lines, "summary-ladder.txt")
