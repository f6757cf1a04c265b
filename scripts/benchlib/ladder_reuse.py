"""`bench.py ladder-reuse`: `reprise ladder` with the source as its top rung vs ONE ffmpeg process
encoding every rung (`split` + encoders, the same x264 options, keyframes forced on the same grid).

The source is OBS-like: 1280x720 30 fps H.264 High at ~2.5 Mb/s with an IDR every 2 s, so it fits
ladder-default's 720p rung. Reported: wall and CPU of both (median of --runs, alternating), the
speed-up (target >= 1.5x), how many of the top rung's frames are bit-identical to the source
(framemd5 of decoded frames), and per lower rung its bitrate and SSIM (the source scaled down to the
rung, bicubic, as `--quality-report` does) against ffmpeg's (targets: within 1 % and 0.005).
"""
import json
import os
import re
import shutil
import subprocess

from . import common as c
from . import ladder
from .common import die, log

TARGET_SPEEDUP = 1.5
TARGET_BITRATE = 0.01
TARGET_SSIM = 0.005


def add_arguments(p):
    c.add_common_options(p, runs_default=1)
    p.add_argument("--seconds", type=int, default=c.env_int("SECONDS", 150),
                   help="length of the 720p30 source (env SECONDS; default 150)")
    p.add_argument("--ladder", default=c.env_str("LADDER", "default"), help="ladder name (env LADDER; default default)")


def make_source(path, seconds):
    if c.recording_ok(path, seconds):
        return "cached"
    tmp = path.with_suffix(".part.mp4")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=s=1280x720:r=30:d={seconds}",
                    "-f", "lavfi", "-i", f"sine=f=440:r=48000:d={seconds}",
                    "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-pix_fmt", "yuv420p",
                    "-b:v", "2500k", "-maxrate", "3000k", "-bufsize", "5000k",
                    "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
                    "-c:a", "aac", "-b:a", "160k", "-shortest", str(tmp)], check=True)
    os.rename(tmp, path)
    return "made now with ffmpeg (testsrc2 + sine)"


def frame_md5s(path):
    p = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:v:0", "-f", "framemd5", "-"],
                       capture_output=True, text=True, check=True)
    return [ln.split(",")[-1].strip() for ln in p.stdout.splitlines() if ln and not ln.startswith("#")]


def video_rate(folder):
    bits, dur = 0, 0.0
    for seg, d in ladder.read_playlist(os.path.join(folder, "index.m3u8")):
        bits += os.path.getsize(os.path.join(folder, seg)) * 8
        dur += d
    return bits / dur if dur else 0


def ssim(path, src, w, h):
    p = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-i", str(path), "-i", str(src), "-lavfi",
                        f"[1:v]scale={w}:{h}:flags=bicubic,format=yuv420p[r];[0:v]format=yuv420p[d];[d][r]ssim",
                        "-f", "null", "-"], capture_output=True, text=True)
    m = re.search(r"SSIM .*All:([0-9.]+)", p.stderr)
    if not m:
        die(f"no SSIM for {path}: {p.stderr[-800:]}")
    return float(m.group(1))


def run(args):
    c.check_min("--seconds", args.seconds, 10)
    c.check_min("--runs", args.runs, 1)
    b = c.Bench("ladder-reuse", args, "ladder-reuse-results", outputs="ladder-reuse-outputs")
    c.check_tools(muxers=("hls",))
    b.ensure_reprise(needs=("ladder --help",))
    src = b.bench_dir / f"reuse-source-720p30-{args.seconds}s.mp4"
    made = make_source(src, args.seconds)
    rep_dir, ff_dir = b.outs / "reprise", b.outs / "ffmpeg"
    rep_cmd = [b.reprise, "ladder", src, "-o", rep_dir, "--ladder", args.ladder, "--json"]
    env = dict(os.environ, REPRISE_CACHE_DIR=str(b.bench_dir / "cache"))
    load_before = c.loadavg()
    one = None
    for k in range(args.runs):
        # reprise, then ffmpeg: each run times both under the same load.
        shutil.rmtree(rep_dir, ignore_errors=True)
        with b.measure("reprise") as m:
            m.run(rep_cmd, stdout=b.res / "reprise.stdout", env=env)
        res = ladder.load_result(b.res / "reprise.stdout")
        if one is None:
            one = ladder.plan(res, src, ff_dir, b.outs / "unused")["one"]
        shutil.rmtree(ff_dir, ignore_errors=True)
        ladder.make_folders(one)
        b.timed("ffmpeg", one)
        log(f"run {k + 1}/{args.runs}: reprise {b.runs['reprise'][-1].wall:.2f} s, ffmpeg {b.runs['ffmpeg'][-1].wall:.2f} s")

    rungs = res["rungs"]
    top = rungs[0]
    src_md5 = frame_md5s(src)
    top_md5 = frame_md5s(rep_dir / top["playlist"])
    same = sum(1 for x, y in zip(src_md5, top_md5) if x == y)
    lines = [
        "==================== Reprise ladder with the source reused ====================",
        f"host: {os.cpu_count()} cores; load average before {load_before}, after {c.loadavg()}",
        b.reprise_line(),
        f"source: {src.name} ({args.seconds} s 1280x720 30 fps H.264 High, IDR every 2 s), {made}; "
        f"ladder {res.get('ladder')}; runs {args.runs} (median)",
        "",
        f"  reprise ladder        {b.wall('reprise'):8.2f} s wall {b.cpu('reprise'):8.1f} s CPU  {c.mb(b.peak_kb('reprise'))} MB",
        f"  ffmpeg, one process   {b.wall('ffmpeg'):8.2f} s wall {b.cpu('ffmpeg'):8.1f} s CPU  {c.mb(b.peak_kb('ffmpeg'))} MB",
    ]
    speedup = b.wall("ffmpeg") / b.wall("reprise")
    lines.append(f"  speed-up (wall) {speedup:.2f}x, CPU {b.cpu('ffmpeg') / b.cpu('reprise'):.2f}x   "
                 f"target >= {TARGET_SPEEDUP}x  {c.pf(speedup >= TARGET_SPEEDUP)}")
    lines.append(f"  top rung {top['name']}: {top.get('video')} ({top.get('reuse')}); {same}/{len(src_md5)} frames "
                 f"bit-identical to the source, {top.get('reencodedFrames')} re-encoded")
    if not rungs[1:]:
        die("the ladder has no rung below the top one: nothing to compare")
    for r in rungs[1:]:
        rr, fr = video_rate(rep_dir / r["name"]), video_rate(ff_dir / r["name"])
        rs = ssim(rep_dir / r["playlist"], src, r["width"], r["height"])
        fs = ssim(ff_dir / r["name"] / "index.m3u8", src, r["width"], r["height"])
        dr = rr / fr - 1 if fr else float("inf")
        ok = abs(dr) <= TARGET_BITRATE and abs(rs - fs) <= TARGET_SSIM
        lines.append(f"  {r['name']:>6} {r['width']}x{r['height']}: bitrate {rr / 1000:.0f} vs {fr / 1000:.0f} kb/s ({dr:+.2%}), "
                     f"SSIM {rs:.4f} vs {fs:.4f} ({rs - fs:+.4f})  within 1 % / 0.005: {c.pf(ok)}")
    lines += ["", "commands:", "  " + " ".join(map(str, rep_cmd)), "  " + " ".join(map(str, one)),
              f"total bench time {b.elapsed()} s",
              "=============================================================================="]
    b.summary(lines, "summary-ladder-reuse.txt")
    json.dump({"speedup": speedup, "bit_identical": same, "frames": len(src_md5)}, open(b.res / "result.json", "w"))
