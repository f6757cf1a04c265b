#!/usr/bin/env python3
"""Helpers for scripts/bench-highlights.sh (stdlib only; reuses bench_helpers.py by import).

  signals DURATION DIR SEED          write DIR/chat.jsonl, DIR/orders.csv, DIR/products.json and
                                     DIR/planted.json (what was planted where, for the checks):
                                     background chat 1-3 msg/s (Chinese and English), 45 bursts
                                     per 3 h (5-10x the background for 20-40 s, spread evenly),
                                     orders after 15 of them (plus a sparse background of orders),
                                     ~12 products of 8-15 min per 3 h
  recipe DIR REEL_SECONDS WINDOW     write DIR/recipe-bench.yaml: windows of WINDOW s (no snapping),
                                     reel target REEL_SECONDS, teaser not in the reel
  analyse PLAN_STDOUT PLANTED RANGES.json SUMMARY.json
                                     read the plan line of `reprise highlights --plan-only`, write
                                     the reel's ranges as a segments file for `reprise cut`, and a
                                     summary (numbers + report lines: where the windows fell
                                     against the planted bursts)
  field SUMMARY KEY                  print a field of a summary JSON (strings bare, else JSON)
  ffmpeg RANGES.json INPUT OUT CMD.json
                                     plan the ffmpeg CLI re-encode of the same ranges into one
                                     file: one input per range (-ss S -t D -i INPUT, accurate
                                     seek), -filter_complex setpts/asetpts=PTS-STARTPTS per range,
                                     concat=n=N:v=1:a=1, -fps_mode:v
                                     passthrough, libx264 veryfast crf 20 + aac
  run CMD.json                       exec that command (so GNU time measures ffmpeg itself)
  commands CMD.json                  print it shell-quoted (long input lists shortened)
  probe FILE                         print JSON {packets, format_s, video_s, audio_s} (packets
                                     counted with ffprobe -count_packets)
  expect RANGES.json INPUT           print the number of video frames the ranges hold in INPUT
                                     (presentation times relative to the file's start time)
  barcodes FILE RANGES.json INPUT PERIOD
                                     decode FILE's frame-index barcodes and compare them with the
                                     frames the ranges select from INPUT (whose barcode restarts
                                     every PERIOD frames); print JSON {frames, expected, match,
                                     unreadable, first_mismatch}
  median V...                        as bench_helpers.py median
"""
import json
import math
import os
import random
import shlex
import subprocess
import sys

sys.dont_write_bytecode = True  # no scripts/__pycache__ in the work tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_helpers  # noqa: E402  (median and the barcode geometry are reused as is)

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
    print(f"{chat_lines} chat lines, {nb} bursts ({len(ordered)} with orders), {len(orders)} orders, {count} products")


def recipe(out_dir, reel_seconds, window):
    reel, w = float(reel_seconds), float(window)
    os.makedirs(out_dir, exist_ok=True)
    text = f"""# written by scripts/bench-highlights.sh: fixed-length windows, the reel filled to its target
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
    last = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict) and obj.get("event") == "plan":
                last = obj
    if last is None:
        raise SystemExit(f"bench_highlights.py: no plan line in {path}")
    return last


def overlap(a0, a1, b0, b1):
    return max(0.0, min(a1, b1) - max(a0, b0))


def analyse(plan_path, planted_path, ranges_out, summary_out):
    plan = load_plan(plan_path)
    planted = json.load(open(planted_path))
    bursts = planted["bursts"]
    reel = next((o for o in plan.get("outputs", []) if o.get("form") == "reel"), None)
    if reel is None or not reel.get("ranges"):
        raise SystemExit("bench_highlights.py: the plan has no reel output with ranges")
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


def field(path, key):
    v = json.load(open(path)).get(key)
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        print("\n".join(v))
    else:
        print(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))


# ----------------------------------------------------------------------------- ffmpeg

def load_ranges(path):
    d = json.load(open(path))
    segs = d["segments"] if isinstance(d, dict) else d
    return [(float(s["from"]), float(s["to"])) for s in segs]


def ffmpeg_plan(ranges_path, inp, out, cmd_path):
    ranges = load_ranges(ranges_path)
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
    with open(cmd_path, "w") as f:
        json.dump(cmd, f)


def run(cmd_path):
    cmd = json.load(open(cmd_path))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvp(cmd[0], cmd)


def commands(cmd_path):
    cmd = json.load(open(cmd_path))
    pos = [i for i, a in enumerate(cmd) if a == "-ss"]
    if len(pos) > 3:  # the first two inputs and the last, not 40
        hidden = f"[... {len(pos) - 3} more -ss S -t D -i IN ...]"
        cmd = cmd[:pos[2]] + [hidden] + cmd[pos[-1]:]
        print(" ".join(a if a == hidden else shlex.quote(a) for a in cmd))
    else:
        print(shlex.join(cmd))


# ----------------------------------------------------------------------------- checks

def ffprobe(args):
    return subprocess.run(["ffprobe", "-v", "error"] + args, capture_output=True, text=True).stdout.strip()


def probe(path):
    def num(x):
        try:
            return float(x)
        except ValueError:
            return None
    packets = ffprobe(["-select_streams", "v:0", "-count_packets", "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", path])
    print(json.dumps({
        "packets": int(packets) if packets.isdigit() else None,
        "format_s": num(ffprobe(["-show_entries", "format=duration", "-of", "csv=p=0", path])),
        "video_s": num(ffprobe(["-select_streams", "v:0", "-show_entries", "stream=duration", "-of", "csv=p=0", path])),
        "audio_s": num(ffprobe(["-select_streams", "a:0", "-show_entries", "stream=duration", "-of", "csv=p=0", path])),
    }))


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


def expect(ranges_path, inp):
    print(len(expected_frames(load_ranges(ranges_path), inp)))


def read_cells(data):
    """As bench_helpers.barcode: 24 bits over 48 cells, each with its complement; None if unreadable."""
    values = []
    for k in range(len(data) // 48):
        cells = data[k * 48:(k + 1) * 48]
        value, ok = 0, True
        for b in range(24):
            r, c = b // 8, b % 8
            top, bottom = cells[r * 8 + c], cells[(r + 3) * 8 + c]
            if (bottom >= 128) == (top >= 128) or abs(top - bottom) < 100:
                ok = False
            value |= (1 if top >= 128 else 0) << b
        values.append(value if ok else None)
    return values


def barcodes(path, ranges_path, inp, period):
    period = int(period)
    w = int(ffprobe(["-select_streams", "v:0", "-show_entries", "stream=width", "-of", "csv=p=0", path]))
    h = int(ffprobe(["-select_streams", "v:0", "-show_entries", "stream=height", "-of", "csv=p=0", path]))
    side, x0, y0 = bench_helpers.geometry(w, h)
    p = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:v:0", "-fps_mode", "passthrough",
                        "-vf", f"crop={side}:{side}:{x0}:{y0},scale=8:6:flags=area", "-pix_fmt", "gray",
                        "-f", "rawvideo", "pipe:1"], capture_output=True)
    got = read_cells(p.stdout)
    want = [k % period for k in expected_frames(load_ranges(ranges_path), inp)]
    first = None
    for i in range(max(len(got), len(want))):
        g = got[i] if i < len(got) else "missing"
        e = want[i] if i < len(want) else "extra"
        if g != e:
            first = {"frame": i, "got": g, "want": e}
            break
    print(json.dumps({"frames": len(got), "expected": len(want), "match": first is None,
                      "unreadable": sum(1 for v in got if v is None), "first_mismatch": first,
                      "decode_errors": len(p.stderr.decode(errors="replace").splitlines())}))


# ----------------------------------------------------------------------------- main

def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    table = {
        "signals": signals, "recipe": recipe, "analyse": analyse, "field": field, "ffmpeg": ffmpeg_plan, "run": run,
        "commands": commands, "probe": probe, "expect": expect, "barcodes": barcodes,
        "median": lambda *v: bench_helpers.median(v),
    }
    if cmd not in table:
        raise SystemExit(f"bench_highlights.py: unknown command {cmd}")
    table[cmd](*args)


if __name__ == "__main__":
    main()
