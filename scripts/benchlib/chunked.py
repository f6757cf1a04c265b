"""`bench.py chunked`: a chunked `reprise transcode` (one process per chunk, the audio part, the
stitch) against the whole encode it reproduces (`transcode --keyframe-grid`), one after the other on
this machine.

The source is 720p30 H.264 (testsrc2 + a tone, as ladder-reuse makes it), encoded to --profile
(default long-form-720p). Reported: CPU (user+sys) of the whole encode and of the chunked one (sum of
chunks + audio + stitch; target: <= 5 % more), the critical path (the longest chunk, or the audio
part if longer, then the stitch), the projected wall time of a 3-hour recording on 4, 16 and 64
nodes of this size (per-chunk cost measured here, one chunk per node at a time), frames and
presentation times compared, IDR times compared, audio packets compared, and the size difference
(target: within 3 %). --ssim adds each file's mean SSIM against the source (target: within 0.002).
"""
import math
import re
import subprocess

from . import common as c
from . import ladder_reuse
from .common import die, log

TARGET_CPU = 0.05
TARGET_SIZE = 0.03
TARGET_SSIM = 0.002


def add_arguments(p):
    c.add_common_options(p)
    p.add_argument("--seconds", type=int, default=c.env_int("SECONDS", 600),
                   help="length of the 720p30 source (env SECONDS; default 600)")
    p.add_argument("--chunk-seconds", type=float, default=c.env_float("CHUNK_SECONDS", 60),
                   help="chunk length, a multiple of the profile's gop_seconds (env CHUNK_SECONDS; default 60)")
    p.add_argument("--profile", default=c.env_str("PROFILE", "long-form-720p"), help="MP4 profile (env PROFILE)")
    p.add_argument("--ssim", action="store_true", default=c.env_flag("SSIM"),
                   help="mean SSIM of both files against the source (env SSIM=1; a decode of all three)")


def packet_list(path, sel, entries):
    return c.ffprobe("-select_streams", sel, "-show_entries", f"packet={entries}", "-of", "csv=p=0", path).splitlines()


def ssim(path, src):
    p = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-i", str(path), "-i", str(src), "-lavfi",
                        "[0:v]format=yuv420p[d];[1:v]format=yuv420p[r];[d][r]ssim", "-f", "null", "-"],
                       capture_output=True, text=True)
    m = re.search(r"SSIM .*All:([0-9.]+)", p.stderr)
    if not m:
        die(f"no SSIM for {path}: {p.stderr[-800:]}")
    return float(m.group(1))


def run(args):
    c.check_min("--seconds", args.seconds, 10)
    b = c.Bench("chunked", args, "chunked-results", outputs="chunked-outputs")
    c.check_tools()
    b.ensure_reprise(needs=("stitch --help",))
    src = b.bench_dir / f"reuse-source-720p30-{args.seconds}s.mp4"
    made = ladder_reuse.make_source(src, args.seconds)
    whole, out = b.outs / "whole.mp4", b.outs / "chunked.mp4"
    prof = ["--profile", args.profile]

    # Index once, untimed (both sides would pay it once; the cache is shared).
    plan_run = subprocess.run([b.reprise, "transcode", src, *prof, "-o", out, "--chunk-plan", str(args.chunk_seconds), "--json"],
                              capture_output=True, text=True)
    plan = c.last_json(plan_run.stdout, lambda o: o.get("event") == "result")
    if plan_run.returncode != 0 or not plan:
        die(f"--chunk-plan failed: {plan_run.stderr.strip()[-500:]}")
    chunks = plan["chunks"]
    log(f"{len(chunks)} chunk(s) of {args.chunk_seconds:g} s over {plan['duration']:.3f} s")

    b.timed("whole", [b.reprise, "transcode", src, *prof, "-o", whole, "--keyframe-grid"])
    for ch in chunks:
        b.timed(f"chunk-{ch['index']:03d}", [b.reprise, "transcode", src, *prof, "-o", out, "--chunk", f"{ch['start']},{ch['end']}"])
    b.timed("audio", [b.reprise, "transcode", src, *prof, "-o", out, "--audio-only"])
    b.timed("stitch", [b.reprise, "stitch", *[ch["part"] for ch in chunks], "--audio", plan["audioPart"], "-o", out, "--remove-parts"])

    names = [f"chunk-{ch['index']:03d}" for ch in chunks]
    chunk_cpu = sum(b.cpu(n) for n in names)
    chunked_cpu = chunk_cpu + b.cpu("audio") + b.cpu("stitch")
    overhead = chunked_cpu / b.cpu("whole") - 1
    longest = max(b.wall(n) for n in names)
    critical = max(longest, b.wall("audio")) + b.wall("stitch")

    # A 3-hour recording: its chunks spread over N nodes (each runs one chunk at a time), the audio
    # part on one of them meanwhile, then the stitch; costs per second of output as measured here.
    three_h = 3 * 3600
    n_chunks = math.ceil(three_h / args.chunk_seconds)
    mean_chunk = sum(b.wall(n) for n in names[:-1] or names) / max(len(names[:-1] or names), 1)
    scale = three_h / plan["duration"]
    projections = []
    for nodes in (4, 16, 64):
        wall = max(math.ceil(n_chunks / nodes) * mean_chunk, b.wall("audio") * scale) + b.wall("stitch") * scale
        projections.append(f"{nodes} nodes {c.hms(wall)}")
    whole_3h = b.wall("whole") * scale

    same_video = packet_list(whole, "v:0", "pts,dts,flags") == packet_list(out, "v:0", "pts,dts,flags")
    keys = lambda p: [l for l in packet_list(p, "v:0", "pts,flags") if "K" in l]
    same_keys = keys(whole) == keys(out)
    same_audio = packet_list(whole, "a:0", "pts,size") == packet_list(out, "a:0", "pts,size")
    frames = c.packets(out)
    size_w, size_c = whole.stat().st_size, out.stat().st_size
    size_diff = size_c / size_w - 1
    lines = [
        f"bench chunked: {args.profile}, {plan['duration']:.0f} s 720p30 source ({made}), {len(chunks)} chunks of {args.chunk_seconds:g} s",
        b.host_line(), b.reprise_line(),
        f"  whole encode (--keyframe-grid): wall {b.wall('whole'):.1f} s, CPU {b.cpu('whole'):.1f} s",
        f"  chunked: chunks CPU {chunk_cpu:.1f} s + audio {b.cpu('audio'):.1f} s + stitch {b.cpu('stitch'):.2f} s = {chunked_cpu:.1f} s"
        f" -> {overhead * 100:+.1f} % CPU ({c.pf(overhead <= TARGET_CPU)} <= {TARGET_CPU * 100:.0f} %)",
        f"  critical path: longest chunk {longest:.1f} s (audio {b.wall('audio'):.1f} s) + stitch {b.wall('stitch'):.2f} s = {critical:.1f} s wall",
        f"  3-hour recording ({n_chunks} chunks): whole {c.hms(whole_3h)}; " + ", ".join(projections),
        f"  frames {frames}; video pts/dts/flags identical: {same_video}; IDR times identical: {same_keys}; audio packets identical: {same_audio}",
        f"  size {size_c} vs {size_w} bytes: {size_diff * 100:+.2f} % ({c.pf(abs(size_diff) <= TARGET_SIZE)} within {TARGET_SIZE * 100:.0f} %)",
    ]
    if args.ssim:
        s_w, s_c = ssim(whole, src), ssim(out, src)
        lines.append(f"  mean SSIM vs source: whole {s_w:.5f}, chunked {s_c:.5f} ({c.pf(abs(s_w - s_c) <= TARGET_SSIM)} within {TARGET_SSIM})")
    lines.append(f"  load average {c.loadavg()}; {b.elapsed()} s in all")
    b.summary(lines, "summary-chunked.txt")
