"""`bench.py cut`: reprise cut vs the ffmpeg CLI on the same work.

(a) 10-min 720p30 sample: 60 s cut from 123.4 s (between keyframes): reprise --mode smart vs
    `ffmpeg -ss 123.4 -i IN -t 60 -c:v libx264 -preset veryfast -crf 20 -c:a aac` (target
    ffmpeg/smart >= 15), and reprise --mode exact for information.
(b) 3-h file (18 copies of the sample, concat demuxer, -c copy): index build once, then the same 60 s
    smart cut at 0:02:00.4 and at 2:50:00.4 (target: within 1.2x of each other), plus ffmpeg's
    re-encode at 2:50:00.4 for reference.
Peak RSS of every run, output checks (1800 frames, clean decode, frame-index barcode contiguous and
starting at the requested frame), and a summary table (BENCH_DIR/summary.txt).
"""
import json
import os
import subprocess
import time

from . import common as c
from .common import die, log

TARGET_SPEEDUP = 15
TARGET_POSITION_RATIO = 1.2
A_FROM = 123.4
EARLY_FROM = 120.4


def add_arguments(p):
    c.add_common_options(p, runs_default=3)
    p.add_argument("--ffmpeg-ref-runs", type=int, default=c.env_int("FFMPEG_REF_RUNS", 1),
                   help="runs of the ffmpeg re-encode at 2h50m on the 3-h file (env FFMPEG_REF_RUNS; default 1)")
    p.add_argument("--sample-seconds", type=int, default=c.env_int("SAMPLE_SECONDS", 600),
                   help="length of the sample (default 600; smaller for a quick check)")
    p.add_argument("--copies", type=int, default=c.env_int("COPIES", 18),
                   help="copies of the sample in the long file (default 18: 3 h)")
    p.add_argument("--clip", type=int, default=c.env_int("CLIP", 60), help="length of the cut in seconds (default 60)")


def index_cut(b, name, src, out, frm, to):
    """The first cut of a file, with the index removed beforehand: total time, and when the indexing
    stage ended (from the arrival of the --json progress lines)."""
    for p in c.index_paths(src):
        p.unlink(missing_ok=True)
    t0 = time.monotonic()
    with open(b.res / f"{name}.stderr", "wb") as err:
        p = c.spawn([b.reprise, "cut", src, "-o", out, "--from", frm, "--to", to, "--mode", "smart", "--json"],
                    subprocess.PIPE, err)
        saw_indexing, index_end, result = False, None, None
        for line in p.stdout:  # each line's arrival, relative to the start
            now = time.monotonic() - t0
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            ev, stage = obj.get("event"), obj.get("stage")
            if ev == "progress" and stage == "indexing":
                saw_indexing, index_end = True, None
            elif saw_indexing and index_end is None:
                index_end = now  # the first event after the last "indexing" one
            if ev == "result":
                result = obj
        p.stdout.close()
        rc, ru = c.reap(p)
    if rc != 0:
        print((b.res / f"{name}.stderr").read_text(errors="replace"), end="")
        die(f"first (indexing) cut of {src} failed")
    b.record(name, c.Run(time.monotonic() - t0, ru.ru_utime, ru.ru_stime, ru.ru_maxrss))
    return {"index_s": index_end if saw_indexing else None, "result": result}


def reprise_cut(b, name, src, out, frm, to, mode):
    """A timed reprise cut with --json; returns (wall, its result object)."""
    w = b.timed(name, [b.reprise, "cut", src, "-o", out, "--from", frm, "--to", to, "--mode", mode, "--json"])
    return w, c.last_json(b.res / f"{name}.stdout", lambda o: o.get("event") == "result")


def verify(b, name, path):
    """Packets, decode error lines (one decode: -f null of every stream, and the barcode cells),
    audio duration and the barcode read-back of an output."""
    npk = c.packets(path)
    w = int(c.stream_value(path, "v:0", "width"))
    h = int(c.stream_value(path, "v:0", "height"))
    errf = b.res / f"{name}.decode.err"
    with open(errf, "wb") as err:
        p = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0", "-f", "null", "-",
                            "-map", "0:v:0", "-vf", c.barcode_filter(w, h), "-pix_fmt", "gray", "-f", "rawvideo",
                            "pipe:1"], stdout=subprocess.PIPE, stderr=err)
    bc = c.barcode_summary(c.read_barcodes(p.stdout))
    errs = len(errf.read_text(errors="replace").splitlines())
    adur = c.stream_value(path, "a:0", "duration") or "none"
    v = {"packets": npk, "errors": errs, "audio": adur, "barcode": bc}
    (b.res / f"{name}.verify").write_text(json.dumps(v) + "\n")
    return v


def expect_first(frm, vstart, period):
    """The first frame whose time is >= frm (barcode value). In the long file the barcode restarts
    every `period` frames, and the concat shifts video by its start time (< 1 frame)."""
    k = (frm - vstart) * c.FPS
    i = int(k)
    if i < k - 1e-6:
        i += 1
    return i % period


def run(args):
    b = c.Bench("cut", args, "results", "outputs")
    check = c.check_min
    check("--runs", args.runs, 1)
    check("--ffmpeg-ref-runs", args.ffmpeg_ref_runs, 1)
    check("--clip", args.clip, 1)
    check("--copies", args.copies, 1)
    clip, fps = args.clip, c.FPS
    if args.sample_seconds < A_FROM + clip:
        die(f"--sample-seconds must be >= {A_FROM + clip:g} (the cut from {A_FROM} s lasts {clip} s)")
    late_from = (args.copies - 1) * args.sample_seconds + 0.4  # 2:50:00.4 in the 3-h file
    c.check_tools()
    # Index caches of the bench inputs stay in the bench folder (reprise keeps them under XDG_CACHE_HOME).
    os.environ["XDG_CACHE_HOME"] = str(b.bench_dir / "cache")
    b.ensure_reprise()
    R, OUTS = b.res, b.outs

    li = c.long_inputs(b, args.sample_seconds, args.copies)
    sample, long = li.sample, li.long
    long_vstart = float(c.stream_value(long, "v:0", "start_time") or 0)
    long_frames = c.stream_value(long, "v:0", "nb_frames")
    log(f"long file: {li.long_duration} s, {long_frames} video frames, video starts at {long_vstart} s, {c.du_h(long)}")
    sample_label = f"{c.span(args.sample_seconds)} sample"
    long_label = f"{c.span(li.sample_seconds * li.copies)} file"

    load_before = c.loadavg()
    log(f"load average before timing: {load_before} (other work on the machine skews the numbers)")

    # (a) the sample
    a_to = f"{A_FROM + clip:.1f}"
    log(f"(a) {sample_label}: first cut builds the index")
    a_index = index_cut(b, "a_index", sample, OUTS / "a_index.mp4", A_FROM, a_to)
    a_index_size = (c.index_file(sample).stat().st_size if c.index_file(sample) else 0)
    engine = {}
    for i in range(1, args.runs + 1):
        w, engine["a_smart"] = reprise_cut(b, "a_smart", sample, OUTS / "a_smart.mp4", A_FROM, a_to, "smart")
        log(f"(a) run {i}/{args.runs}: reprise smart {w:.3f} s")
    for i in range(1, args.runs + 1):
        w, engine["a_exact"] = reprise_cut(b, "a_exact", sample, OUTS / "a_exact.mp4", A_FROM, a_to, "exact")
        log(f"(a) run {i}/{args.runs}: reprise exact {w:.3f} s")
    for i in range(1, args.runs + 1):
        w = b.timed("a_ffmpeg", ["ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", A_FROM, "-i", sample, "-t", clip,
                                 "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-c:a", "aac",
                                 OUTS / "a_ffmpeg.mp4"])
        log(f"(a) run {i}/{args.runs}: ffmpeg re-encode {w:.3f} s")

    # (b) the long file
    e_to, l_to = f"{EARLY_FROM + clip:.1f}", f"{late_from + clip:.1f}"
    log(f"(b) {long_label}: first cut builds the index")
    b_index = index_cut(b, "b_index", long, OUTS / "b_index.mp4", EARLY_FROM, e_to)
    b_index_size = (c.index_file(long).stat().st_size if c.index_file(long) else 0)
    # Alternate early and late so drift in machine load hits both alike.
    for i in range(1, args.runs + 1):
        w, engine["b_early"] = reprise_cut(b, "b_early", long, OUTS / "b_early.mp4", EARLY_FROM, e_to, "smart")
        log(f"(b) run {i}/{args.runs}: smart @{hm(EARLY_FROM)} {w:.3f} s")
        w, engine["b_late"] = reprise_cut(b, "b_late", long, OUTS / "b_late.mp4", late_from, l_to, "smart")
        log(f"(b) run {i}/{args.runs}: smart @{hm(late_from)} {w:.3f} s")
    for i in range(1, args.ffmpeg_ref_runs + 1):
        w = b.timed("b_ffmpeg", ["ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", f"{late_from:.1f}", "-i", long,
                                 "-t", clip, "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-c:a", "aac",
                                 OUTS / "b_ffmpeg.mp4"])
        log(f"(b) run {i}/{args.ffmpeg_ref_runs}: ffmpeg re-encode @{hm(late_from)} {w:.3f} s")
    load_after = c.loadavg()

    # checks
    log("verifying outputs")
    names = ["a_smart", "a_exact", "a_ffmpeg", "b_early", "b_late", "b_ffmpeg"]
    ver = {n: verify(b, n, OUTS / f"{n}.mp4") for n in names}
    period = li.sample_seconds * fps
    exp_a = expect_first(A_FROM, 0, period)
    exp_e = expect_first(EARLY_FROM, long_vstart, period)
    exp_l = expect_first(late_from, long_vstart, period)

    # summary
    a_smart, a_exact, a_ff = b.wall("a_smart"), b.wall("a_exact"), b.wall("a_ffmpeg")
    b_early, b_late, b_ff = b.wall("b_early"), b.wall("b_late"), b.wall("b_ffmpeg")
    speedup = c.fdiv(a_ff, a_smart)
    pos_ratio = c.fdiv(b_late, b_early)
    pos_spread = f"{max(b_early, b_late) / min(b_early, b_late):.2f}"
    frames_want = clip * fps

    def idx_s(d):
        return "n/a" if d["index_s"] is None else f"{d['index_s']:.2f}"

    def engine_s(n):
        r = engine.get(n) or {}
        return (f"copied {r.get('copiedPackets')} pkts, re-encoded {r.get('reencodedFrames')} frames, "
                f"engine {r.get('seconds', 0):.2f} s")

    def row(label, n):
        med = b.wall(n)
        return (f"  {label:<34} {med:8.2f}  {c.fdiv(clip, med):>7}x  {c.mb(b.peak_kb(n)):>7}  {b.user(n):6.1f}  "
                f"{b.sys(n):6.1f}   [{b.walls(n)}]")

    fails = 0

    def vrow(label, n, exp, strict):
        nonlocal fails
        v = ver[n]
        bc = v["barcode"]
        exp_last = exp + frames_want - 1
        contig = "yes" if bc["contiguous"] else f"NO({bc['unreadable']} unreadable, jumps {json.dumps(bc['jumps'])})"
        ok = (v["packets"] == frames_want and bc["frames"] == frames_want and v["errors"] == 0
              and bc["contiguous"] and bc["first"] == exp and bc["last"] == exp_last)
        res = "PASS" if ok else "FAIL"
        if strict:
            fails += 0 if ok else 1
        else:
            res = f"({res}, info)"
        return (f"  {label:<28} {v['packets']:>7} {bc['frames']:>7} {v['errors']:>6} {v['audio']:>8}  "
                f"{str(bc['first']):>6}..{str(bc['last']):<6} {contig:<5}  {exp:>6}..{exp_last:<6} {res}")

    ai, bi = b.runs["a_index"][-1], b.runs["b_index"][-1]
    a_from_to = f"{A_FROM} -> {a_to}"
    gen = li.sample_gen + (f", {li.sample_seconds / li.sample_gen_s:.2f}x realtime" if li.sample_gen_s > 0 else "")
    lines = [
        "==================== Reprise benchmark ====================",
        b.host_line(),
        b.reprise_line(),
        f"load average: before {load_before}, after {load_after}; runs per measurement: {args.runs} (median)",
        f"sample: {sample} ({c.span(args.sample_seconds).replace('-', ' ')} 1280x720 30 fps, {c.du_h(sample)}), {gen}",
        f"{long_label}: {long} ({li.long_duration} s, {long_frames} frames, {c.du_h(long)}), {li.long_gen}",
        "",
        f"  {f'run ({clip} s clip)':<34} {'median s':>8}  {'x realtm':>8}  {'peak MB':>7}  {'user s':>6}  {'sys s':>6}   [wall of each run]",
        f"(a) {sample_label}, {a_from_to}",
        f"  {'reprise smart, first cut (indexes)':<34} {ai.wall:8.2f}  {'':>8}  {c.mb(ai.maxrss_kb):>7}                  "
        f"index build {idx_s(a_index)} s (from --json progress), index file {a_index_size} bytes",
        row("reprise smart", "a_smart"),
        row("reprise exact", "a_exact"),
        row("ffmpeg re-encode (veryfast crf20)", "a_ffmpeg"),
        f"(b) {long_label}",
        f"  {'reprise smart, first cut (indexes)':<34} {bi.wall:8.2f}  {'':>8}  {c.mb(bi.maxrss_kb):>7}                  "
        f"index build {idx_s(b_index)} s (from --json progress), index file {b_index_size} bytes",
        row(f"reprise smart @ {c.hms(EARLY_FROM)}", "b_early"),
        row(f"reprise smart @ {c.hms(late_from)}", "b_late"),
        row(f"ffmpeg re-encode @ {c.hms(late_from)}", "b_ffmpeg"),
        "",
        "engine detail (last run):",
        f"  a smart: {engine_s('a_smart')}",
        f"  a exact: {engine_s('a_exact')}",
        f"  b @{hm(EARLY_FROM)}: {engine_s('b_early')}",
        f"  b @{hm(late_from)}: {engine_s('b_late')}",
        "",
        "targets:",
        f"  {f'ffmpeg re-encode / reprise smart ({sample_label})':<52} {speedup + 'x':>8}   target >= {TARGET_SPEEDUP:<5} "
        f"{c.pf(speedup != 'nan' and float(speedup) >= TARGET_SPEEDUP, 'FAIL')}",
        f"  {f'smart @{hm(late_from)} / smart @{hm(EARLY_FROM)} ({long_label}; max/min {pos_spread})':<52} {pos_ratio + 'x':>8}   "
        f"target <= {TARGET_POSITION_RATIO:<5} {c.pf(float(pos_spread) <= TARGET_POSITION_RATIO, 'FAIL')}",
        f"  {f'ffmpeg re-encode @{hm(late_from)} / reprise smart @{hm(late_from)}':<52} {c.fdiv(b_ff, b_late) + 'x':>8}   (info)",
        f"  {f'reprise exact / reprise smart ({sample_label})':<52} {c.fdiv(a_exact, a_smart) + 'x':>8}   (info)",
        "",
        "output checks (last run's file): video packets, decoded frames, decode error lines (ffmpeg -v error -f null),",
        "audio duration, frame-index barcode first..last, contiguous, expected first..last",
        f"  {'output':<28} {'packets':>7} {'frames':>7} {'errors':>6} {'audio s':>8}  {'barcode':>14} {'contig':<5}  "
        f"{'expected':>14} result",
        vrow("a reprise smart", "a_smart", exp_a, True),
        vrow("a reprise exact", "a_exact", exp_a, True),
        vrow("a ffmpeg re-encode", "a_ffmpeg", exp_a, False),
        vrow(f"b reprise smart @{hm(EARLY_FROM)}", "b_early", exp_e, True),
        vrow(f"b reprise smart @{hm(late_from)}", "b_late", exp_l, True),
        vrow(f"b ffmpeg re-encode @{hm(late_from)}", "b_ffmpeg", exp_l, False),
        "",
    ]
    if fails == 0:
        lines.append(f"output checks: PASS (reprise outputs: {frames_want} frames, clean decode, exactly the requested frames)")
    else:
        lines.append(f"output checks: FAIL ({fails} reprise output(s) wrong; see above and {R}/)")
    lines += [f"raw numbers: {R}/*.runs (wall user sys maxrss_kB), outputs in {OUTS}/",
              "==========================================================="]
    b.summary(lines, "summary.txt")


def hm(seconds):
    """2min for 120.4, 2h50 for 10200.4 (the short labels of the old report)."""
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}" if s >= 3600 else f"{s // 60}min"
