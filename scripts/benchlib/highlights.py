"""`bench.py highlights`: `reprise highlights` planning a 3-hour recording, then its highlight reel cut by
`reprise cut --segments --mode smart` vs the ffmpeg CLI re-encoding the same ranges.

1. Signal files for the 3-h recording (fixed seed): chat JSON lines (1-3 msg/s background, Chinese and
   English; 45 planted bursts of 5-10x the background for 20-40 s, evenly spread), orders CSV (20-60
   orders after 15 of the bursts, one more every ~5 min), a product timeline (~12 products of 8-15 min).
   A recipe (profile folder in the results) with fixed-length windows, no snapping, reel target
   --reel-minutes, the teaser not in the reel.
2. `reprise highlights LONG --chat --orders --products --profile-dir P --recipe bench --plan-only`: wall,
   its planSeconds (scoring + windowing) and seconds, peak RSS; where the windows fell against the
   planted bursts (info).
3. The reel's ranges (a segments file) cut by `reprise cut LONG --segments F --mode smart` (with the
   packet index cached; building it, when missing, is timed apart), and by ONE ffmpeg process: one
   input per range (-ss S -t D -i LONG, accurate seek), -filter_complex concat=n=N:v=1:a=1, -c:v libx264
   -preset veryfast -crf 20 -c:a aac. Ratio ffmpeg/reprise (target >= 10x). Both outputs: video packets
   equal to each other and to the frames the ranges hold, durations within 0.1 s, and (unless
   --no-check-frames) every frame's barcode as expected.
The 10-min sample and the 3-h file are the ones `bench.py cut` makes and caches (same names).
"""
import json
import math
import os
import random
import shlex
import subprocess
from pathlib import Path

from . import common as c
from .common import die, log

TARGET_SPEEDUP = 10
DURATION_TOL = 0.1

BURSTS_PER_3H = 45
ORDERED_BURSTS_PER_3H = 15
PRODUCTS_PER_3H = 12
THREE_HOURS = 10800.0

CHAT_BACKGROUND = [
    "主播好", "来了来了", "这个多少钱", "有优惠券吗", "包邮吗", "什么时候发货", "颜色好看", "尺码偏大吗", "回放在哪看",
    "主播声音好好听", "已关注", "想要同款", "这个适合敏感肌吗", "还有库存吗", "第一次来", "晚上好",
    "hello from Singapore", "what size is the model wearing?", "is shipping free to Malaysia?", "nice color",
    "how long does delivery take", "can you show the back?", "hi everyone", "first time here", "price please",
    "does it come in black?", "love this stream", "😀😀", "👍", "ok",
]
CHAT_BURST = [
    "上链接！", "买买买", "抢到了！！", "666666", "冲冲冲", "太便宜了吧", "秒没了", "还有吗还有吗", "已下单", "再上一波",
    "链接在哪", "手慢了没抢到", "WOW", "take my money", "just ordered!", "link please!!", "sold out already??",
    "omg that price", "need this", "🔥🔥🔥", "❤️❤️❤️", "买了买了 bought it",
]
PRODUCT_NAMES = [
    ("保湿面霜", "Hydrating Cream"), ("防晒喷雾", "Sun Spray"), ("真丝睡衣", "Silk Pyjamas"), ("羊绒围巾", "Cashmere Scarf"),
    ("蓝牙耳机", "Wireless Earbuds"), ("空气炸锅", "Air Fryer"), ("运动鞋", "Running Shoes"), ("口红套装", "Lipstick Set"),
    ("坚果礼盒", "Nut Gift Box"), ("保温杯", "Thermal Bottle"), ("瑜伽垫", "Yoga Mat"), ("精华液", "Face Serum"),
    ("电动牙刷", "Electric Toothbrush"), ("羽绒服", "Down Jacket"), ("茶叶礼盒", "Tea Gift Set"), ("香薰蜡烛", "Scented Candle"),
]


def poisson(rng, lam):
    """Knuth's method; fine for the small rates used here (at most ~40)."""
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def signals(duration, out_dir, seed):
    duration = float(duration)
    rng = random.Random(int(seed))
    n = int(duration)
    os.makedirs(out_dir, exist_ok=True)
    scale = duration / THREE_HOURS

    # Products: ~12 per 3 h, 8-15 min each, in order with gaps (intro, breaks) between them.
    count = max(1, round(PRODUCTS_PER_3H * scale))
    lengths = [rng.uniform(480, 900) for _ in range(count)]
    if sum(lengths) > 0.85 * duration:
        lengths = [x * 0.85 * duration / sum(lengths) for x in lengths]
    spare = duration - sum(lengths)
    weights = [rng.uniform(0.5, 1.5) for _ in range(count + 1)]
    gaps = [spare * w / sum(weights) for w in weights]
    products, t = [], 0.0
    names = rng.sample(PRODUCT_NAMES, min(count, len(PRODUCT_NAMES)))
    for k in range(count):
        t += gaps[k]
        zh, en = names[k % len(names)]
        products.append({"id": f"P{k + 1}", "title": f"{zh} {en}", "start": round(t, 1), "end": round(t + lengths[k], 1)})
        t += lengths[k]

    def product_at(x):
        for p in products:
            if p["start"] <= x < p["end"]:
                return p["id"]
        return None

    # Background chat rate: 1-3 msg/s, drifting slowly.
    phase1, phase2 = rng.uniform(0, 2 * math.pi), rng.uniform(0, 2 * math.pi)
    base = [min(3.0, max(1.0, 2 + 0.6 * math.sin(2 * math.pi * s / 1800 + phase1) + 0.3 * math.sin(2 * math.pi * s / 420 + phase2)))
            for s in range(n)]

    # Bursts: one per equal slot, away from the slot edges (room for the orders after it).
    nb = max(1, round(BURSTS_PER_3H * scale))
    slot = duration / nb
    bursts = []
    for k in range(nb):
        length = rng.uniform(20, 40)
        lo, hi = k * slot + 40, (k + 1) * slot - length - 100
        start = rng.uniform(lo, max(lo, hi))
        bursts.append({"start": round(start, 1), "end": round(start + length, 1), "mult": round(rng.uniform(5, 10), 2), "orders": 0})
    rate = list(base)
    for b in bursts:
        for s in range(int(b["start"]), min(n, int(math.ceil(b["end"])))):
            rate[s] = base[s] * b["mult"]

    chat_lines = 0
    with open(os.path.join(out_dir, "chat.jsonl"), "w", encoding="utf-8") as f:
        for s in range(n):
            times = sorted(s + rng.random() for _ in range(poisson(rng, rate[s])))
            hot = rate[s] > base[s]  # a second inside a burst
            for tm in times:
                text = rng.choice(CHAT_BURST if hot and rng.random() < 0.8 else CHAT_BACKGROUND)
                f.write(json.dumps({"t": round(tm, 2), "user": f"u{rng.randint(1, 5000)}", "text": text}, ensure_ascii=False) + "\n")
                chat_lines += 1

    # Orders: 20-60 after each of 15 bursts (most 5-40 s after the burst ends), plus one every ~5 min.
    orders = []
    ordered = sorted(rng.sample(range(nb), min(nb, max(1, round(ORDERED_BURSTS_PER_3H * scale)))))
    for k in ordered:
        b = bursts[k]
        pid = product_at(b["start"]) or "P0"
        m = rng.randint(20, 60)
        b["orders"] = m
        for _ in range(m):
            tm = b["end"] + rng.triangular(-10, 60, 15)
            kind = "order" if rng.random() < 0.7 else "cart"
            amount = round(rng.choice([39, 59, 99, 129, 199, 299]) * rng.randint(1, 3), 2) if kind == "order" else 0
            orders.append((tm, pid, kind, amount))
    for s in range(n):
        if rng.random() < 1 / 300:
            tm = s + rng.random()
            orders.append((tm, product_at(tm) or "P0", "order", rng.choice([39, 59, 99])))
    orders.sort()
    with open(os.path.join(out_dir, "orders.csv"), "w", encoding="utf-8") as f:
        f.write("t,product,kind,amount\n")
        for tm, pid, kind, amount in orders:
            if 0 <= tm < duration:
                f.write(f"{tm:.2f},{pid},{kind},{amount:g}\n")

    with open(os.path.join(out_dir, "products.json"), "w", encoding="utf-8") as f:
        json.dump(products, f, ensure_ascii=False, indent=1)
    with open(os.path.join(out_dir, "planted.json"), "w") as f:
        json.dump({"duration": duration, "seed": int(seed), "bursts": bursts, "products": products,
                   "chat_lines": chat_lines, "orders": len(orders), "ordered_bursts": len(ordered)}, f, indent=1)
    return f"{chat_lines} chat lines, {nb} bursts ({len(ordered)} with orders), {len(orders)} orders, {count} products"


def recipe(out_dir, reel_seconds, window):
    reel, w = float(reel_seconds), float(window)
    os.makedirs(out_dir, exist_ok=True)
    text = f"""# written by scripts/bench.py highlights: fixed-length windows, the reel filled to its target
name: bench
description: benchmark recipe ({reel:g} s reel of {w:g} s windows)
windows: {{min: {w:g}, max: {w:g}, snap: 0, min_score: 1}}
reel: {{min: {math.floor(reel * 0.9):g}, target: {reel:g}, max: {math.ceil(reel * 1.5):g}}}
teaser: {{seconds: 3, snippets: 3, before_reel: false}}
"""
    with open(os.path.join(out_dir, "recipe-bench.yaml"), "w") as f:
        f.write(text)


# ----------------------------------------------------------------------------- the plan

def load_plan(path):
    last = c.last_json(Path(path), lambda o: o.get("event") == "plan")
    if last is None:
        die(f"no plan line in {path}")
    return last


def overlap(a0, a1, b0, b1):
    return max(0.0, min(a1, b1) - max(a0, b0))


def analyse(plan_path, planted_path, ranges_out, summary_out):
    plan = load_plan(plan_path)
    planted = json.load(open(planted_path))
    bursts = planted["bursts"]
    reel = next((o for o in plan.get("outputs", []) if o.get("form") == "reel"), None)
    if reel is None or not reel.get("ranges"):
        die("the plan has no reel output with ranges")
    ranges = [[float(a), float(b)] for a, b in reel["ranges"]]
    with open(ranges_out, "w") as f:
        json.dump({"segments": [{"from": a, "to": b} for a, b in ranges]}, f)
    total = sum(b - a for a, b in ranges)
    windows = plan.get("windows", [])
    lines = []

    # Where the windows fell against the planted bursts.
    found = [any(overlap(w["start"], w["end"], b["start"], b["end"]) > 0 for w in windows) for b in bursts]
    ordered = [i for i, b in enumerate(bursts) if b["orders"]]
    on_burst = [w for w in windows if any(overlap(w["start"], w["end"], b["start"], b["end"]) > 0 for b in bursts)]
    off = [w for w in windows if w not in on_burst]
    # A window just after a burst with orders: the orders' tail (moved earlier by the recipe's
    # order lag) scored as a moment of its own.
    def tail_of(w):
        return next((i for i, b in enumerate(bursts) if b["orders"] and b["end"] - 1 <= w["start"] <= b["end"] + 60), None)
    tails = [w for w in off if tail_of(w) is not None]
    peak_in = sum(1 for w in windows if any(b["start"] - 5 <= w["peak"] <= b["end"] + 5 for b in bursts))
    cover = []  # share of each found burst inside its window(s)
    for i, b in enumerate(bursts):
        if found[i]:
            inside = sum(overlap(w["start"], w["end"], b["start"], b["end"]) for w in windows)
            cover.append(inside / (b["end"] - b["start"]))
    per_burst = {}
    for w in windows:
        hit = [i for i, b in enumerate(bursts) if overlap(w["start"], w["end"], b["start"], b["end"]) > 0]
        for i in hit:
            per_burst.setdefault(i, []).append(w)
    split = sum(1 for v in per_burst.values() if len(v) > 1)
    lines.append(f"windows: {len(windows)}; on a planted burst {len(on_burst)}, just after one with orders "
                 f"{len(tails)}, elsewhere {len(off) - len(tails)}; "
                 f"peak within 5 s of a burst: {peak_in}/{len(windows)}")
    lines.append(f"planted bursts found: {sum(found)}/{len(bursts)} (with orders: {sum(found[i] for i in ordered)}/{len(ordered)}); "
                 f"bursts split over >1 window: {split}")
    if cover:
        lines.append(f"share of a found burst inside the reel: min {min(cover):.0%}, mean {sum(cover) / len(cover):.0%}")
    missed = [i for i, f in enumerate(found) if not f]
    if missed:
        def show(ix):
            return ", ".join(f"#{i + 1} {bursts[i]['start']:.0f}-{bursts[i]['end']:.0f}s x{bursts[i]['mult']:g}"
                             f"{' +%d orders' % bursts[i]['orders'] if bursts[i]['orders'] else ''}" for i in ix)
        room = f" (the reel has room for {len(windows)} windows only)" if len(windows) < len(bursts) else ""
        m_ord = [i for i in missed if bursts[i]["orders"]]
        m_rest = sorted((i for i in missed if not bursts[i]["orders"]), key=lambda i: -bursts[i]["mult"])
        listed = show(m_ord) if m_ord and len(windows) >= len(ordered) else ""
        lines.append(f"missed bursts: {len(missed)}{room}; with orders: {len(m_ord)}{': ' + listed if listed else ''}")
        if m_rest and (not room or len(missed) <= 10):
            lines.append(f"missed bursts without orders, strongest first: {show(m_rest[:6])}{' ...' if len(m_rest) > 6 else ''}")
    if off:
        def where(w):
            i = tail_of(w)
            return f" after #{i + 1} {bursts[i]['start']:.0f}-{bursts[i]['end']:.0f}s" if i is not None else ""
        desc = ", ".join(f"{w['start']:.0f}-{w['end']:.0f}s{where(w)} (score {w['score']:g}: {', '.join(w.get('reasons', [])[:1])})"
                         for w in off[:4])
        lines.append(f"windows off the bursts: {desc}{' ...' if len(off) > 4 else ''}")
    if windows:
        scores = sorted(w["score"] for w in windows)
        lines.append(f"window scores: min {scores[0]:g}, median {scores[len(scores) // 2]:g}, max {scores[-1]:g}; "
                     f"lengths {min(w['end'] - w['start'] for w in windows):g}-{max(w['end'] - w['start'] for w in windows):g} s; "
                     f"with a product: {sum(1 for w in windows if w.get('product'))}")
    # Consistency of the plan's own numbers.
    checks = []
    if abs(total - float(reel.get("duration", total))) > 0.01:
        checks.append(f"reel duration {reel.get('duration')} != sum of its ranges {total:.3f}")
    s = sorted(ranges)
    if any(b0 < a1 for (a0, a1), (b0, b1) in zip(s, s[1:])):
        checks.append("reel ranges overlap")
    if any(b <= a for a, b in ranges):
        checks.append("an empty or reversed reel range")
    forms = {}
    for o in plan.get("outputs", []):
        forms[o.get("form")] = forms.get(o.get("form"), 0) + 1
    lines.append("outputs planned: " + ", ".join(f"{k} x{v}" for k, v in forms.items())
                 + f"; scene cuts {plan.get('sceneCuts')}, pauses {plan.get('pauses')}")
    for k, v in (plan.get("signals") or {}).items():
        bad = len(v.get("badLines") or [])
        lines.append(f"signal {k}: {v.get('items')} items read{', %d bad lines' % bad if bad else ''}")
    for note in plan.get("notes") or []:
        lines.append(f"note from reprise: {note}")
    if checks:
        lines.append("plan checks: " + "; ".join(checks))
    summary = {
        "windows": len(windows), "reel_ranges": len(ranges), "reel_seconds": round(total, 3),
        "reel_duration": reel.get("duration"), "planSeconds": plan.get("planSeconds"), "seconds": plan.get("seconds"),
        "duration": plan.get("duration"), "found": sum(found), "bursts": len(bursts), "off": len(off),
        "plan_checks": checks, "lines": lines,
    }
    with open(summary_out, "w") as f:
        json.dump(summary, f, indent=1, ensure_ascii=False)
    return summary


# ----------------------------------------------------------------------------- ffmpeg

def load_ranges(path):
    d = json.load(open(path))
    segs = d["segments"] if isinstance(d, dict) else d
    return [(float(s["from"]), float(s["to"])) for s in segs]


def ffmpeg_plan(ranges, inp, out):
    """The ffmpeg CLI re-encode of the same ranges into one file: one input per range (-ss S -t D -i
    INPUT, accurate seek), setpts/asetpts=PTS-STARTPTS per range, concat=n=N:v=1:a=1, -fps_mode:v
    passthrough, libx264 veryfast crf 20 + aac."""
    inp, out = str(inp), str(out)
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y"]
    for a, b in ranges:
        cmd += ["-ss", f"{a:.3f}", "-t", f"{b - a:.3f}", "-i", inp]
    n = len(ranges)
    # Each range re-timed to start at 0 (setpts/asetpts), else concat keeps every input's leading
    # offset (the video's first frame lies ~21 ms after -ss) as a gap: +0.8 s over 40 ranges.
    graph = "".join(f"[{k}:v:0]setpts=PTS-STARTPTS[v{k}];[{k}:a:0]asetpts=PTS-STARTPTS[a{k}];" for k in range(n))
    graph += "".join(f"[v{k}][a{k}]" for k in range(n)) + f"concat=n={n}:v=1:a=1[v][a]"
    # passthrough: every selected frame once (the mp4 default, cfr, duplicates a frame where a
    # range's first timestamp is off the output's 1/30 s grid)
    cmd += ["-filter_complex", graph, "-map", "[v]", "-map", "[a]", "-fps_mode:v", "passthrough",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-c:a", "aac", out]
    return cmd


def command_line(cmd):
    """cmd shell-quoted, long input lists shortened."""
    pos = [i for i, a in enumerate(cmd) if a == "-ss"]
    if len(pos) > 3:  # the first two inputs and the last, not 40
        hidden = f"[... {len(pos) - 3} more -ss S -t D -i IN ...]"
        cmd = cmd[:pos[2]] + [hidden] + cmd[pos[-1]:]
        return " ".join(a if a == hidden else shlex.quote(a) for a in cmd)
    return shlex.join(cmd)


# ----------------------------------------------------------------------------- checks

def ffprobe(args):
    return c.ffprobe(*args)


def probe(path):
    def num(x):
        try:
            return float(x)
        except ValueError:
            return None
    packets = ffprobe(["-select_streams", "v:0", "-count_packets", "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", path])
    return {
        "packets": int(packets) if packets.isdigit() else None,
        "format_s": num(ffprobe(["-show_entries", "format=duration", "-of", "csv=p=0", path])),
        "video_s": num(ffprobe(["-select_streams", "v:0", "-show_entries", "stream=duration", "-of", "csv=p=0", path])),
        "audio_s": num(ffprobe(["-select_streams", "a:0", "-show_entries", "stream=duration", "-of", "csv=p=0", path])),
    }


def frame_times(inp):
    """(video start relative to the format start, fps as a float, frame count) of INP."""
    fstart = float(ffprobe(["-show_entries", "format=start_time", "-of", "csv=p=0", inp]) or 0)
    out = ffprobe(["-select_streams", "v:0", "-show_entries", "stream=start_time,r_frame_rate,nb_frames", "-of", "json", inp])
    st = json.loads(out)["streams"][0]
    num, den = (int(x) for x in st["r_frame_rate"].split("/"))
    return float(st.get("start_time", 0)) - fstart, num / den, int(st.get("nb_frames") or 0)


def expected_frames(ranges, inp):
    """Frame indices (presentation order) the ranges select: vstart + k/fps in [from, to)."""
    v0, fps, total = frame_times(inp)
    out = []
    for a, b in ranges:
        k0 = max(0, math.ceil((a - v0) * fps - 1e-6))
        k1 = math.ceil((b - v0) * fps - 1e-6)
        if total:
            k1 = min(k1, total)
        out.extend(range(k0, k1))
    return out


def barcodes(path, ranges, inp, period):
    """Decode path's frame-index barcodes and compare them with the frames the ranges select from inp
    (whose barcode restarts every `period` frames): {frames, expected, match, unreadable,
    first_mismatch, decode_errors}."""
    period = int(period)
    w = int(ffprobe(["-select_streams", "v:0", "-show_entries", "stream=width", "-of", "csv=p=0", path]))
    h = int(ffprobe(["-select_streams", "v:0", "-show_entries", "stream=height", "-of", "csv=p=0", path]))
    side, x0, y0 = c.barcode_geometry(w, h)
    p = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:v:0", "-fps_mode", "passthrough",
                        "-vf", f"crop={side}:{side}:{x0}:{y0},scale=8:6:flags=area", "-pix_fmt", "gray",
                        "-f", "rawvideo", "pipe:1"], capture_output=True)
    got = c.read_barcodes(p.stdout)
    want = [k % period for k in expected_frames(ranges, inp)]
    first = None
    for i in range(max(len(got), len(want))):
        g = got[i] if i < len(got) else "missing"
        e = want[i] if i < len(want) else "extra"
        if g != e:
            first = {"frame": i, "got": g, "want": e}
            break
    return {"frames": len(got), "expected": len(want), "match": first is None,
            "unreadable": sum(1 for v in got if v is None), "first_mismatch": first,
            "decode_errors": len(p.stderr.decode(errors="replace").splitlines())}




# ----------------------------------------------------------------------------- the benchmark

def add_arguments(p):
    c.add_common_options(p)
    p.add_argument("--reel-minutes", type=float, default=c.env_float("REEL_MINUTES", 20),
                   help="reel target in minutes (env REEL_MINUTES; default 20 -> ~40 windows of 30 s); the ffmpeg "
                        "re-encode of the reel is the long part (~4-6 min for 20 min of 720p on the 2-core machine)")
    p.add_argument("--window-seconds", type=int, default=c.env_int("WINDOW_SECONDS", 30),
                   help="length of every window (recipe windows.min = max; env WINDOW_SECONDS; default 30)")
    p.add_argument("--seed", type=int, default=c.env_int("SEED", 20240601),
                   help="seed of the generated chat/orders/products (env SEED)")
    p.add_argument("--plan-runs", type=int, default=c.env_int("PLAN_RUNS", 1),
                   help="timed runs of `reprise highlights --plan-only` (env PLAN_RUNS; default 1)")
    p.add_argument("--cut-runs", "--runs", type=int, default=c.env_int("CUT_RUNS", 3, "RUNS"),
                   help="timed runs of `reprise cut` of the reel (env CUT_RUNS or RUNS; default 3)")
    p.add_argument("--ffmpeg-runs", type=int, default=c.env_int("FFMPEG_RUNS", 1),
                   help="timed runs of the ffmpeg re-encode (env FFMPEG_RUNS; default 1)")
    p.add_argument("--no-check-frames", dest="check_frames", action="store_false",
                   default=os.environ.get("CHECK_FRAMES", "1") != "0",
                   help="skip decoding both reels' frame-index barcodes (env CHECK_FRAMES=0)")
    p.add_argument("--sample-seconds", type=int, default=c.env_int("SAMPLE_SECONDS", 600),
                   help="length of the sample the long file is made of (default 600)")
    p.add_argument("--copies", type=int, default=c.env_int("COPIES", 18),
                   help="copies of the sample in the long file (default 18: 3 h)")


def run(args):
    b = c.Bench("highlights", args, "highlights-results", "highlights-outputs")
    if not 0 < args.reel_minutes <= 120:
        die(f"--reel-minutes must be in (0, 120] (got {args.reel_minutes:g})")
    c.check_min("--window-seconds", args.window_seconds, 2)
    for name, v in (("--plan-runs", args.plan_runs), ("--cut-runs", args.cut_runs), ("--ffmpeg-runs", args.ffmpeg_runs),
                    ("--copies", args.copies), ("--sample-seconds", args.sample_seconds)):
        c.check_min(name, v, 1)
    reel_seconds = round(args.reel_minutes * 60)
    if reel_seconds < args.window_seconds:
        die("the reel (--reel-minutes) is shorter than one window")
    c.check_tools()
    # The packet index of the long file is the one `bench.py cut` caches (in BENCH_DIR/cache).
    os.environ["XDG_CACHE_HOME"] = str(b.bench_dir / "cache")
    b.ensure_reprise(needs=("highlights --help",))
    R, OUTS = b.res, b.outs

    li = c.long_inputs(b, args.sample_seconds, args.copies)
    long, long_dur = li.long, li.long_duration
    long_frames = c.stream_value(long, "v:0", "nb_frames")
    log(f"long file: {long_dur} s, {long_frames} video frames, {c.du_h(long)}")

    # 1. signals and recipe
    sig, prof = R / "signals", R / "profile"
    log(f"generating signal files (seed {args.seed})")
    sig_summary = signals(long_dur, str(sig), args.seed)
    recipe(str(prof), reel_seconds, args.window_seconds)
    log(f"signals: {sig_summary}; recipe: reel target {reel_seconds} s of {args.window_seconds} s windows")
    load_before = c.loadavg()
    log(f"load average before timing: {load_before} (other work on the machine skews the numbers)")

    # 2. plan
    h_args = ["highlights", long, "-o", OUTS / "highlights", "--chat", sig / "chat.jsonl", "--orders", sig / "orders.csv",
              "--products", sig / "products.json", "--profile-dir", prof, "--recipe", "bench", "--plan-only"]
    plans = []
    for i in range(1, args.plan_runs + 1):
        w = b.timed("plan", [b.reprise, *h_args])
        plans.append(load_plan(R / "plan.stdout"))
        log(f"plan run {i}/{args.plan_runs}: reprise highlights --plan-only {w:.3f} s")
    summary = analyse(R / "plan.stdout", sig / "planted.json", R / "ranges.json", R / "plan-summary.json")
    ranges = load_ranges(R / "ranges.json")
    plan_s = c.median([p["planSeconds"] for p in plans])
    plan_cmd_s = c.median([p["seconds"] for p in plans])
    nranges, reel_total = summary["reel_ranges"], summary["reel_seconds"]
    log(f"reel: {nranges} ranges, {reel_total} s")

    # 3. the reel: reprise cut vs ffmpeg
    index_note = "cached beside the file"
    if c.index_file(long) is None:
        log(f"no packet index for {long} yet: building it with a 1 s cut (timed apart, not in the ratio)")
        w = b.timed("index", [b.reprise, "cut", long, "-o", OUTS / "index-warmup.mp4", "--from", "0", "--to", "1",
                              "--mode", "smart", "--json"])
        index_note = f"built now by a 1 s cut in {w:.3f} s (not counted)"
    r_args = ["cut", long, "-o", OUTS / "reel-reprise.mp4", "--segments", R / "ranges.json", "--mode", "smart", "--json"]
    ff_cmd = ffmpeg_plan(ranges, long, OUTS / "reel-ffmpeg.mp4")
    # Alternate so drift in the machine's load hits both alike.
    for i in range(1, max(args.cut_runs, args.ffmpeg_runs) + 1):
        if i <= args.cut_runs:
            w = b.timed("reprise", [b.reprise, *r_args])
            log(f"cut run {i}/{args.cut_runs}: reprise cut --segments ({nranges} ranges) {w:.3f} s")
        if i <= args.ffmpeg_runs:
            log(f"ffmpeg run {i}/{args.ffmpeg_runs}: re-encoding {reel_total} s of 720p (minutes)")
            w = b.timed("ffmpeg", ff_cmd)
            log(f"ffmpeg run {i}/{args.ffmpeg_runs}: {w:.3f} s")
    cut_result = c.last_json(R / "reprise.stdout", lambda o: o.get("event") == "result")
    if cut_result is None:
        die("reprise cut printed no result JSON")
    load_after = c.loadavg()

    # checks (not timed)
    log("checking outputs")
    probes = {side: probe(OUTS / f"reel-{side}.mp4") for side in ("reprise", "ffmpeg")}
    expect_frames = len(expected_frames(ranges, long))
    bcs = {}
    if args.check_frames:
        log("decoding both reels' barcodes (--no-check-frames skips this)")
        period = li.sample_seconds * c.FPS
        bcs = {side: barcodes(OUTS / f"reel-{side}.mp4", ranges, long, period) for side in ("reprise", "ffmpeg")}
    (R / "checks.json").write_text(json.dumps({"probes": probes, "barcodes": bcs}, indent=1))

    # summary
    def prow(label, n):
        return f"  {label:<46} {b.wall(n):8.2f} {b.cpu(n):7.1f} {c.mb(b.peak_kb(n)):>7}   [{b.walls(n)}]"

    def okfail(ok):
        return "ok" if ok else "DIFFERENT"

    def v(x):
        return "n/a" if x is None else x
    rp, fp = probes["reprise"]["packets"], probes["ffmpeg"]["packets"]
    rd, fd = probes["reprise"]["format_s"], probes["ffmpeg"]["format_s"]
    speedup = c.fdiv(b.wall("ffmpeg"), b.wall("reprise"))
    long_label = c.span(li.sample_seconds * li.copies).replace("-", " ")
    r = cut_result
    lines = [
        "==================== Reprise highlights benchmark ====================",
        b.host_line(), b.reprise_line(),
        f"input: {long} ({long_dur} s 1280x720 30 fps, {long_frames} frames, {c.du_h(long)}; {li.copies} x the "
        f"{c.span(li.sample_seconds)} sample), {li.long_gen}; sample {li.sample_gen}",
        f"signals (seed {args.seed}): {sig_summary}; in {sig}/",
        f"recipe: {prof}/recipe-bench.yaml: windows {args.window_seconds} s (min = max, no snap, min_score 1), "
        f"reel target {reel_seconds} s, teaser not in the reel",
        f"load average: before {load_before}, after {load_after}",
        "",
        f"1. time to plan highlights for a {long_label} recording (reprise highlights --plan-only)",
        f"  {'':<46} {'wall s':>8} {'cpu s':>7} {'peak MB':>7}   [wall of each run]",
        prow("reprise highlights --plan-only (whole command)", "plan"),
        f"  {'its planSeconds':<46} {plan_s:8.3f}   (scoring + windowing; runs: {' '.join(str(p['planSeconds']) for p in plans)})",
        f"  {'its seconds (whole command, own clock)':<46} {plan_cmd_s:8.2f}   (the rest is reading signals + keyframe/loudness analysis)",
    ]
    lines += ["  " + x for x in summary["lines"]]
    lines += [
        "",
        f"2. the reel: {nranges} ranges, {reel_total} s in all ({reel_total / 60:.1f} min), {expect_frames} frames in the source",
        f"  {'':<46} {'wall s':>8} {'cpu s':>7} {'peak MB':>7}   [wall of each run]",
        prow("reprise cut --segments --mode smart", "reprise"),
        prow("ffmpeg CLI re-encode (one process, concat)", "ffmpeg"),
        f"  packet index: {index_note}",
        f"  reprise result: copied {r.get('copiedPackets')} packets, re-encoded {r.get('reencodedFrames')} frames, "
        f"{r.get('frames')} frames, {r.get('duration', 0):.3f} s, engine {r.get('seconds', 0):.2f} s",
        f"  {'ffmpeg / reprise (wall)':<46} {speedup:>7}x  target >= {TARGET_SPEEDUP}  "
        f"{c.pf(speedup != 'nan' and float(speedup) >= TARGET_SPEEDUP)}",
        "",
        "3. outputs (video packets by ffprobe -count_packets; durations in s)",
        f"  {'':<10} {'packets':>8} {'format':>10} {'video':>10} {'audio':>10}   barcodes",
    ]
    for side in ("reprise", "ffmpeg"):
        d = bcs.get(side)
        if d is None:
            bc = "(not checked)"
        elif d["match"] and not d["decode_errors"]:
            bc = f"all {d['frames']} as expected"
        else:
            bc = (f"{d['frames']} frames, {d['expected']} expected, {d['unreadable']} unreadable, "
                  f"{d['decode_errors']} decode error lines, first mismatch {d['first_mismatch']}")
        pr = probes[side]
        lines.append(f"  {side:<10} {v(pr['packets']):>8} {v(pr['format_s']):>10} {v(pr['video_s']):>10} "
                     f"{v(pr['audio_s']):>10}   {bc}")
    lines += [
        f"  same frame count: {okfail(rp == fp)} ({v(rp)} vs {v(fp)}; the ranges hold {expect_frames}: "
        f"reprise {okfail(rp == expect_frames)}, ffmpeg {okfail(fp == expect_frames)})",
        f"  duration within {DURATION_TOL} s: {okfail(rd is not None and fd is not None and abs(rd - fd) <= DURATION_TOL)} "
        f"({v(rd)} vs {v(fd)}; the ranges: {reel_total})",
        "",
        "commands:",
        "  reprise " + " ".join(map(str, h_args)),
        "  reprise " + " ".join(map(str, r_args)),
        "  " + command_line(ff_cmd),
        "",
        f"raw numbers: {R}/*.runs (wall user sys maxrss_kB), plan JSON {R}/plan.stdout, outputs in {OUTS}/; "
        f"total bench time {b.elapsed()} s",
        "======================================================================",
    ]
    b.summary(lines, "summary-highlights.txt")
