#!/usr/bin/env python3
"""Helpers for scripts/bench-ladder.sh (stdlib only; reuses bench_helpers.py by import).

The ffmpeg side of the benchmark is derived from what `reprise ladder --json` says it did: per rung
its videoFilter, videoEncoder and videoOptions (-KEY:v VALUE), the audio rendition's audioFilter,
audioEncoder and audioOptions (-KEY:a VALUE), an IDR every gopSeconds
(-force_key_frames:v "expr:gte(t,n_forced*GOP)"), and HLS written the way the product writes it
(DIR/<rung>/index.m3u8 + seg_%05d.m4s|.ts, DIR/audio/index.m3u8; segmentSeconds, format).

  result FILE                      print the last JSON line of FILE that has "rungs" (the --json
                                   result) re-serialised; exit 1 when there is none
  field RESULT KEY                 print a top-level field of the result (strings bare, else JSON)
  plan RESULT INPUT ONE_DIR SEP_DIR PLAN.json
                                   write {"one": argv, "separate": [[name, argv], ...]}: ONE ffmpeg
                                   process making every rung (split in -filter_complex, decode once)
                                   and the audio rendition into ONE_DIR, and one ffmpeg process per
                                   rung plus one for the audio (each decoding the input) into SEP_DIR
  run PLAN.json one|NAME           make the rendition folders, then exec that ffmpeg command (so GNU
                                   time measures ffmpeg itself)
  commands PLAN.json               print the planned commands, shell-quoted, one a line
  table RESULT DIR                 print one row per rendition written under DIR (the rungs in the
                                   result's order, then audio): "name WxH frames keyframes aligned
                                   segments bytes peak_bps avg_bps duration_s" (measured with
                                   ffprobe and the playlists; peak = largest segment bytes*8/EXTINF,
                                   init segment not counted, as the product measures it)
  median V...                      as bench_helpers.py median
"""
import json
import os
import re
import shlex
import subprocess
import sys

sys.dont_write_bytecode = True  # no scripts/__pycache__ in the work tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_helpers  # noqa: E402  (median is reused as is)


# ----------------------------------------------------------------------------- result JSON

def load_result(path):
    last = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict) and isinstance(obj.get("rungs"), list):
                last = obj
    if not last:
        raise SystemExit(f"bench_ladder.py: no result object with rungs in {path}")
    return last


# ----------------------------------------------------------------------------- ffmpeg commands

def opt_args(opts, kind):
    args = []
    for k, v in (opts or {}).items():
        if isinstance(v, bool):
            v = int(v)
        args += [f"-{k}:{kind}", str(v)]
    return args


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


def plan(result_path, inp, one_dir, sep_dir, out_path):
    res = load_result(result_path)
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
    with open(out_path, "w") as f:
        json.dump({"one": one, "separate": sep}, f, indent=1)


def playlists(argv):
    return [a for a in argv if a.endswith("index.m3u8")]


def run(plan_path, which):
    p = json.load(open(plan_path))
    if which == "one":
        cmd = p["one"]
    else:
        cmd = dict((n, c) for n, c in p["separate"]).get(which)
        if cmd is None:
            raise SystemExit(f"bench_ladder.py: no planned command {which!r}")
    for pl in playlists(cmd):
        os.makedirs(os.path.dirname(pl), exist_ok=True)  # the hls muxer does not make folders
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvp(cmd[0], cmd)


def commands(plan_path):
    p = json.load(open(plan_path))
    print("one process:  " + shlex.join(p["one"]))
    for n, c in p["separate"]:
        print(f"separate {n}:  " + shlex.join(c))


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


def table(result_path, d):
    res = load_result(result_path)
    gop = float(res.get("gopSeconds") or 0)
    for r in res["rungs"]:
        print(rendition_row(os.path.join(d, r["name"]), r["name"], True, gop))
    if res.get("audio"):
        print(rendition_row(os.path.join(d, "audio"), "audio", False, gop))


# ----------------------------------------------------------------------------- main

def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "result":
        print(json.dumps(load_result(args[0])))
    elif cmd == "field":
        v = load_result(args[0]).get(args[1])
        print(v if isinstance(v, str) else json.dumps(v))
    elif cmd == "plan":
        plan(*args)
    elif cmd == "run":
        run(*args)
    elif cmd == "commands":
        commands(args[0])
    elif cmd == "table":
        table(*args)
    elif cmd == "median":
        bench_helpers.median(args)
    else:
        raise SystemExit(f"bench_ladder.py: unknown command {cmd}")


if __name__ == "__main__":
    main()
