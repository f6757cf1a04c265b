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
  reuse [--seconds S] [--runs N] [--dir DIR] [--bin REPRISE] [--ladder NAME]
                                   the source-reuse benchmark (issue 13 item 10), self-contained: a
                                   1280x720 30 fps H.264 High source with an IDR every 2 s (testsrc2 +
                                   sine, default 150 s), `reprise ladder` (its top rung copied from
                                   the source) against ONE ffmpeg process encoding every rung with
                                   the options the result JSON names (split + scale + encoders,
                                   forced keyframes on the same grid, hls muxer), timed in the same
                                   run; then the top rung's framemd5 against the source's, and each
                                   other rung's average video bitrate and SSIM (source scaled down
                                   to the rung, bicubic, ffmpeg's ssim filter) against ffmpeg's rung
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



# ----------------------------------------------------------------------------- source-reuse benchmark

def reuse_benchmark(argv):
    """`reprise ladder` with a copied top rung vs one ffmpeg process encoding every rung.

    Self-contained (stdlib, ffmpeg/ffprobe, and plan() above for the ffmpeg command) so it can be
    moved into a shared benchmark driver as it is. Prints a report and a JSON line; exit 0 even
    when a target is missed (it is a report), non-zero when a command fails.
    """
    import argparse
    import hashlib
    import resource
    import time
    ap = argparse.ArgumentParser(prog="bench_ladder.py reuse")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--seconds", type=int, default=150)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--dir", default=os.path.join(repo, "bench-out", "reuse"))
    ap.add_argument("--bin", default=os.path.join(repo, ".build", "release", "reprise"))
    ap.add_argument("--ladder", default="default")
    a = ap.parse_args(argv)
    os.makedirs(a.dir, exist_ok=True)
    src = os.path.join(a.dir, f"source-720p30-{a.seconds}s.mp4")
    if not os.path.isfile(src):
        # OBS-like: H.264 High, CBR-ish, an IDR every 2 s (no scene-cut keyframes).
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y",
                        "-f", "lavfi", "-i", f"testsrc2=s=1280x720:r=30:d={a.seconds}",
                        "-f", "lavfi", "-i", f"sine=f=440:r=48000:d={a.seconds}",
                        "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-pix_fmt", "yuv420p",
                        "-b:v", "2500k", "-maxrate", "3000k", "-bufsize", "5000k",
                        "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
                        "-c:a", "aac", "-b:a", "160k", "-shortest", src + ".part.mp4"], check=True)
        os.rename(src + ".part.mp4", src)

    def timed(cmd, **kw):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True, **kw)
        wall = time.monotonic() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode != 0:
            raise SystemExit(f"bench_ladder.py reuse: {shlex.join(cmd[:3])}... failed ({p.returncode}): {p.stderr[-2000:]}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return wall, cpu, p

    def clean(d):
        subprocess.run(["rm", "-rf", d], check=True)

    rep_dir, ff_dir = os.path.join(a.dir, "reprise"), os.path.join(a.dir, "ffmpeg")
    result_path = os.path.join(a.dir, "result.json")
    rep_cmd = [a.bin, "ladder", src, "-o", rep_dir, "--ladder", a.ladder, "--json"]
    walls = {"reprise": [], "ffmpeg": []}
    cpus = {"reprise": [], "ffmpeg": []}
    ff_cmd = None
    for run_no in range(a.runs):
        # reprise first, then ffmpeg: each run times both under the same load.
        clean(rep_dir)
        w, c, p = timed(rep_cmd, env=dict(os.environ, REPRISE_CACHE_DIR=os.path.join(a.dir, "cache")))
        walls["reprise"].append(w); cpus["reprise"].append(c)
        with open(result_path, "w") as f:
            f.write(p.stdout)
        if ff_cmd is None:
            plan_path = os.path.join(a.dir, "plan.json")
            plan(result_path, src, ff_dir, os.path.join(a.dir, "unused"), plan_path)
            ff_cmd = json.load(open(plan_path))["one"]
        clean(ff_dir)
        for pl in playlists(ff_cmd):
            os.makedirs(os.path.dirname(pl), exist_ok=True)
        w, c, _ = timed(ff_cmd)
        walls["ffmpeg"].append(w); cpus["ffmpeg"].append(c)
    res = load_result(result_path)

    def med(v):
        v = sorted(v)
        return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2

    def frame_md5s(path):
        p = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:v:0", "-f", "framemd5", "-"],
                           capture_output=True, text=True, check=True)
        return [ln.split(",")[-1].strip() for ln in p.stdout.splitlines() if ln and not ln.startswith("#")]

    def video_rate(folder):
        bits, dur = 0, 0.0
        for s, d in read_playlist(os.path.join(folder, "index.m3u8")):
            bits += os.path.getsize(os.path.join(folder, s)) * 8
            dur += d
        return bits / dur if dur else 0

    def ssim(path, w, h):
        # The source scaled down to the rung (bicubic), as `reprise ladder --quality-report` does.
        p = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-i", path, "-i", src, "-lavfi",
                            f"[1:v]scale={w}:{h}:flags=bicubic,format=yuv420p[r];[0:v]format=yuv420p[d];[d][r]ssim",
                            "-f", "null", "-"], capture_output=True, text=True)
        m = re.search(r"SSIM .*All:([0-9.]+)", p.stderr)
        if not m:
            raise SystemExit(f"bench_ladder.py reuse: no SSIM for {path}: {p.stderr[-800:]}")
        return float(m.group(1))

    rungs = res["rungs"]
    top = rungs[0]
    src_md5 = frame_md5s(src)
    top_md5 = frame_md5s(os.path.join(rep_dir, top["playlist"]))
    same = sum(1 for x, y in zip(src_md5, top_md5) if x == y)
    rows = []
    ok = True
    for r in rungs[1:]:
        rr, fr = video_rate(os.path.join(rep_dir, r["name"])), video_rate(os.path.join(ff_dir, r["name"]))
        rs = ssim(os.path.join(rep_dir, r["playlist"]), r["width"], r["height"])
        fs = ssim(os.path.join(ff_dir, r["name"], "index.m3u8"), r["width"], r["height"])
        dr = rr / fr - 1 if fr else float("inf")
        good = abs(dr) <= 0.01 and abs(rs - fs) <= 0.005
        ok = ok and good
        rows.append({"rung": r["name"], "size": f'{r["width"]}x{r["height"]}', "reprise_bps": round(rr), "ffmpeg_bps": round(fr),
                     "bitrate_diff": round(dr, 4), "reprise_ssim": rs, "ffmpeg_ssim": fs, "ssim_diff": round(rs - fs, 5),
                     "within": good})
    ratio = med(walls["ffmpeg"]) / med(walls["reprise"])
    report = {
        "source": src, "seconds": a.seconds, "runs": a.runs, "ladder": res.get("ladder"),
        "reprise_wall_s": round(med(walls["reprise"]), 2), "reprise_cpu_s": round(med(cpus["reprise"]), 2),
        "ffmpeg_wall_s": round(med(walls["ffmpeg"]), 2), "ffmpeg_cpu_s": round(med(cpus["ffmpeg"]), 2),
        "speedup": round(ratio, 3), "target_speedup": 1.5,
        "top_rung": {"name": top["name"], "video": top.get("video"), "copiedPackets": top.get("copiedPackets"),
                     "reencodedFrames": top.get("reencodedFrames"), "frames": len(top_md5), "source_frames": len(src_md5),
                     "bit_identical_frames": same},
        "rungs": rows, "rungs_within_1pct_and_0.005_ssim": ok,
        "reprise_command": shlex.join(rep_cmd), "ffmpeg_command": shlex.join(ff_cmd),
    }
    print(f"source {src} ({a.seconds} s, 1280x720 30 fps H.264 High, IDR every 2 s), ladder {res.get('ladder')}, {a.runs} run(s)")
    print(f"reprise ladder: {report['reprise_wall_s']} s wall, {report['reprise_cpu_s']} s CPU")
    print(f"one ffmpeg:     {report['ffmpeg_wall_s']} s wall, {report['ffmpeg_cpu_s']} s CPU")
    print(f"speed-up {ratio:.2f}x (target >= 1.5x): {'met' if ratio >= 1.5 else 'MISSED'}")
    print(f"top rung {top['name']}: {top.get('video')}, {same}/{len(src_md5)} frames bit-identical to the source "
          f"({top.get('reencodedFrames')} re-encoded)")
    for row in rows:
        print(f"  {row['rung']} {row['size']}: bitrate {row['reprise_bps']} vs {row['ffmpeg_bps']} ({row['bitrate_diff']:+.2%}), "
              f"SSIM {row['reprise_ssim']:.4f} vs {row['ffmpeg_ssim']:.4f} ({row['ssim_diff']:+.4f}) "
              f"{'ok' if row['within'] else 'OUTSIDE 1 % / 0.005'}")
    print(json.dumps(report))

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
    elif cmd == "reuse":
        reuse_benchmark(args)
    elif cmd == "median":
        bench_helpers.median(args)
    else:
        raise SystemExit(f"bench_ladder.py: unknown command {cmd}")


if __name__ == "__main__":
    main()
