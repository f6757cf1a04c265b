"""`bench.py console`: the review console under load, on loopback, with --jobs (10,000) jobs in the store.

In one run of ONE daemon (fresh watch, output and state folders in BENCH_DIR/console-run):
1. The store: `reprise store-bench --store sqlite:STATE/jobs.sqlite --jobs N --workers 1` enqueues N jobs
   (fake inputs /bench/RUN/I.mkv, form "bench") and marks every one done; STATE/jobs.sqlite is the
   daemon's default store, so the daemon started next opens it (checked: /api/jobs counts N done).
   The seeded store is kept in BENCH_DIR/console-store-N/ and copied in while newer than the binary.
2. The daemon: `reprise daemon ... --http 127.0.0.1:0` (the server picks a free port; the
   "console listening url=" log line names it), polled for with a deadline. Nothing is dropped in the
   watch folder: the daemon only serves.
3. wrk (Debian's `wrk`): --threads threads, --connections connections, --duration seconds, --latency, a
   30 s timeout, on the jobs page (/jobs: its default 500 rows), /api/jobs?limit=100, /api/jobs/{id}
   (a random id per request, from a Lua request()) and, last, the recordings page (unbounded: every
   recording). The first request of each page alone is timed too, before any load. A Lua
   done() prints the exact figures (microseconds) as one JSON line; wrk's own text is kept in RES/.
   Any non-2xx answer or socket error is an error (exit 1, after the summary).
4. Exact-frame previews, when the daemon has GET /api/frame (probed with one request on a 2 s
   sample): a long recording (default 3 h: a --frame-sample-seconds `reprise sample` concatenated
   --frame-copies times with ffmpeg -c copy, both cached in BENCH_DIR) linked into the output folder
   (a console root, not watched); one cold request (the recording is opened and indexed), then
   --frame-requests sequential requests from Python (urllib, one connection each) at random frame
   times (fixed seed), each checked to be a 200 image/jpeg. Targets: p50 <= 150 ms, p99 <= 400 ms.
5. Daemon RSS: VmRSS at ready; after the load, VmRSS polled every 0.5 s until four samples in a row lie
   within 1 MB (at least 2 s after the last request, at most 30 s): the idle figure, with the CPU it
   used meanwhile; VmHWM for the peak. Then SIGTERM.
After each wrk run the next waits until the daemon's CPU falls below 5 % of a core (the server
finishes requests wrk gave up on); the seconds that took are noted. Timeouts are reported, not errors.
Percentiles of wrk are its own (HdrHistogram); of the frame requests nearest-rank over the samples.
wrk and the daemon share this machine's cores: the load average is printed.
"""
import json
import math
import os
import random
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

from . import common as c
from . import daemon as d
from .common import die, log

FRAME_P50_MS, FRAME_P99_MS = 150, 400  # issue 15's targets for an exact-frame preview

# done() prints wrk's exact figures as one JSON line (latency in microseconds).
WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
"""

# A random job id per request, 1...N; each wrk thread seeded by its number (repeatable runs).
WRK_RANDOM_JOB = """
local threads = 0
function setup(thread) threads = threads + 1; thread:set("thread_number", threads) end
function init(args) math.randomseed(15 * 7919 + thread_number) end
request = function() return wrk.format("GET", "/api/jobs/" .. math.random(1, {jobs})) end
"""


def add_arguments(p):
    c.add_common_options(p)
    e = c.env_int
    p.add_argument("--jobs", type=int, default=e("JOBS", 10000), help="jobs seeded in the store (env JOBS; default 10000)")
    p.add_argument("--duration", type=int, default=e("DURATION", 15), help="seconds per wrk run (env DURATION; default 15)")
    p.add_argument("--threads", type=int, default=e("THREADS", 2), help="wrk threads (env THREADS; default 2)")
    p.add_argument("--connections", type=int, default=e("CONNECTIONS", 8), help="wrk connections (env CONNECTIONS; default 8)")
    p.add_argument("--frame-requests", type=int, default=e("FRAME_REQUESTS", 200),
                   help="sequential frame previews at random times (env FRAME_REQUESTS; default 200; 0: none)")
    p.add_argument("--frame-width", type=int, default=e("FRAME_WIDTH", 0),
                   help="width= of each preview request (env FRAME_WIDTH; default 0: the endpoint's default)")
    p.add_argument("--frame-sample-seconds", type=int, default=e("FRAME_SAMPLE_SECONDS", 60),
                   help="the `reprise sample` the long recording repeats (env FRAME_SAMPLE_SECONDS; default 60)")
    p.add_argument("--frame-copies", type=int, default=e("FRAME_COPIES", 180),
                   help="copies of it in the long recording (env FRAME_COPIES; default 180: 3 h)")


# ----------------------------------------------------------------------------- HTTP

def get(url, timeout=60):
    """(status, content type, body, seconds) of one GET; HTTP errors are answers too."""
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            body = r.read()
            return r.status, r.headers.get("Content-Type", ""), body, time.perf_counter() - t0
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read(), time.perf_counter() - t0
    except (urllib.error.URLError, OSError) as e:
        die(f"GET {url}: {e}")


def get_json(url):
    status, _, body, _ = get(url)
    if status != 200:
        die(f"GET {url}: HTTP {status}: {body[:300]!r}")
    try:
        return json.loads(body)
    except ValueError:
        die(f"GET {url}: not JSON: {body[:300]!r}")


def percentile(xs, p):
    """Nearest-rank percentile of a non-empty list."""
    s = sorted(xs)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


# ----------------------------------------------------------------------------- wrk

def wrk(b, args, name, url, lua=""):
    """One wrk run; returns its figures (done()'s JSON line) with requests_per_s added."""
    script = b.res / f"{name}.lua"
    script.write_text(lua + WRK_DONE)
    cmd = ["wrk", "-t", args.threads, "-c", args.connections, "-d", f"{args.duration}s", "--latency",
           "--timeout", "30s", "-s", script, url]
    out = b.res / f"{name}.wrk.txt"
    log(f"wrk {name}: {url} ({args.duration} s)")
    with b.measure(name) as m:
        m.run(cmd, stdout=out)
    result = c.last_json(out, lambda o: "p99_us" in o)
    if not result:
        die(f"wrk printed no figures for {name} (see {out})")
    result["requests_per_s"] = result["requests"] / (result["duration_us"] / 1e6) if result["duration_us"] else 0.0
    result["errors"] = sum(result[k] for k in ("connect", "read", "write", "status"))
    return result


def ms(us):
    return f"{us / 1000:.1f} ms"


# ----------------------------------------------------------------------------- the daemon

def wait_listening(path, proc, timeout):
    """The console's base URL from the "console listening" line; None when the daemon exits first or
    the deadline passes."""
    deadline = time.time() + timeout
    with open(path, errors="replace") as f:
        buf = ""
        while time.time() < deadline:
            buf += f.read()
            for line in buf.splitlines():
                if "console listening" in line:
                    m = re.search(r"url=(http://\S+)", line)
                    if m:
                        return m.group(1).rstrip("/")
            if proc.poll() is not None:
                return None
            time.sleep(0.05)
    return None


def settle_rss(pid, since, min_wait=2.0, window=4, spread_kb=1024, timeout=30.0):
    """Poll VmRSS every 0.5 s until `window` samples in a row lie within spread_kb, at least min_wait s
    after `since`. Returns (VmRSS kB, VmHWM kB, seconds after `since`, CPU % of one core meanwhile,
    settled?)."""
    cpu0 = (d.proc_stat(pid) or (0, 0, 0))[0]
    t0 = time.time()
    samples = []
    while True:
        st = d.proc_status(pid)
        if st is None:
            die("the daemon exited while idle")
        samples.append(st["VmRSS"])
        now = time.time()
        tail = samples[-window:]
        settled = len(tail) == window and max(tail) - min(tail) <= spread_kb and now - since >= min_wait
        if settled or now - since >= timeout:
            cpu1 = (d.proc_stat(pid) or (0, 0, 0))[0]
            return st["VmRSS"], st["VmHWM"], now - since, 100 * (cpu1 - cpu0) / max(now - t0, 1e-9), settled
        time.sleep(0.5)


def drain(pid, timeout=300.0, quiet=5.0):
    """Seconds until the daemon's CPU falls below `quiet` % of one core over a second: the server may
    still be working on requests wrk gave up on (it does not stop when the connection closes), which
    would slow the next measurement. None when it is still busy at the deadline."""
    t0 = time.time()
    prev = d.proc_stat(pid)
    while time.time() - t0 < timeout:
        time.sleep(1.0)
        cur = d.proc_stat(pid)
        if prev is None or cur is None:
            die("the daemon exited")
        if 100 * (cur[0] - prev[0]) <= quiet:
            return time.time() - t0 - 1.0
        prev = cur
    return None


# ----------------------------------------------------------------------------- frame previews

def link_into(src, folder):
    """src hard-linked into folder (copied across file systems); the console serves only its roots."""
    dest = folder / src.name
    dest.unlink(missing_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)
    return dest


def frame_url(base, path, t, width):
    q = {"path": str(path), "t": f"{t:.3f}"}
    if width:
        q["width"] = str(width)
    return f"{base}/api/frame?{urllib.parse.urlencode(q)}"


def is_jpeg(status, ctype, body):
    return status == 200 and ctype.startswith("image/jpeg") and body[:2] == b"\xff\xd8"


def frames(b, args, base, outdir):
    """Frame previews: {available, probe, ...figures} (available False: the endpoint is not there)."""
    probe_src, _ = c.cached_sample(b, "console-probe-2s.mp4", 2)
    probe = link_into(probe_src, outdir)
    status, ctype, body, secs = get(frame_url(base, probe, 1.0, args.frame_width))
    if not is_jpeg(status, ctype, body):
        reason = f"HTTP {status} {ctype or '-'}: {body[:120].decode(errors='replace')}"
        log(f"no frame previews: /api/frame answered {reason}")
        return {"available": False, "probe": reason}
    if args.frame_requests <= 0:
        return {"available": True, "probe": f"200 image/jpeg in {secs * 1000:.0f} ms", "requests": 0}
    inputs = c.long_inputs(b, args.frame_sample_seconds, args.frame_copies)
    rec = link_into(inputs.long, outdir)
    length = inputs.long_duration
    had_index = c.index_file(rec) is not None
    status, ctype, body, cold = get(frame_url(base, rec, length / 2, args.frame_width), timeout=600)
    if not is_jpeg(status, ctype, body):
        die(f"/api/frame on {rec}: HTTP {status} {ctype}: {body[:200]!r}")
    log(f"frame previews: first request {cold * 1000:.0f} ms; {args.frame_requests} at random times of {c.hms(length)}")
    rng = random.Random(15)
    last_frame = int(length * c.FPS) - 2
    times, sizes = [], []
    for _ in range(args.frame_requests):
        t = rng.randint(0, last_frame) / c.FPS
        status, ctype, body, secs = get(frame_url(base, rec, t, args.frame_width))
        if not is_jpeg(status, ctype, body):
            die(f"/api/frame at t={t:.3f}: HTTP {status} {ctype}: {body[:200]!r}")
        times.append(secs)
        sizes.append(len(body))
    with open(b.res / "frame-times.txt", "w") as f:
        f.write("".join(f"{x:.4f}\n" for x in times))
    return {"available": True, "probe": "200 image/jpeg", "recording": str(rec), "length_s": length,
            "made": f"{inputs.sample_gen}; long file {inputs.long_gen}", "had_index": had_index,
            "cold_s": cold, "requests": len(times), "p50_s": percentile(times, 50), "p90_s": percentile(times, 90),
            "p99_s": percentile(times, 99), "max_s": max(times), "mean_s": sum(times) / len(times),
            "jpeg_kb": sum(sizes) / len(sizes) / 1024}


def frame_lines(frame, args):
    """The summary's frame-preview lines from frames()' result."""
    lines = []
    if frame["available"] and frame.get("requests"):
        p50, p99 = frame["p50_s"] * 1000, frame["p99_s"] * 1000
        width = f"width={args.frame_width}" if args.frame_width else "default width"
        lines += [
            f"frame previews /api/frame ({width}): {c.hms(frame['length_s'])} recording, "
            f"{frame['requests']} sequential requests at random frame times (urllib, one at a time)",
            f"  first request (opens and {'loads the cached index of' if frame['had_index'] else 'indexes'} the recording): "
            f"{frame['cold_s'] * 1000:.0f} ms",
            f"  p50 {p50:.1f} ms, p90 {frame['p90_s'] * 1000:.1f} ms, p99 {p99:.1f} ms, max {frame['max_s'] * 1000:.1f} ms, "
            f"mean {frame['mean_s'] * 1000:.1f} ms; JPEG {frame['jpeg_kb']:.0f} KB on average",
            f"  target p50 <= {FRAME_P50_MS} ms: {c.pf(p50 <= FRAME_P50_MS, 'MISS')}; "
            f"p99 <= {FRAME_P99_MS} ms: {c.pf(p99 <= FRAME_P99_MS, 'MISS')}",
            f"  recording: {frame['recording']} ({frame['made']})",
        ]
    elif frame["available"]:
        lines.append(f"frame previews: /api/frame answers ({frame['probe']}); --frame-requests 0, not measured")
    else:
        lines.append(f"frame previews: not measured, this build has no GET /api/frame (probe: {frame['probe']}); "
                     f"targets p50 <= {FRAME_P50_MS} ms, p99 <= {FRAME_P99_MS} ms")
    return lines


# ----------------------------------------------------------------------------- the benchmark

def run(args):
    for name, v, low in (("--jobs", args.jobs, 1), ("--duration", args.duration, 1), ("--threads", args.threads, 1),
                         ("--connections", args.connections, 1), ("--frame-requests", args.frame_requests, 0),
                         ("--frame-width", args.frame_width, 0), ("--frame-sample-seconds", args.frame_sample_seconds, 2),
                         ("--frame-copies", args.frame_copies, 1)):
        c.check_min(name, v, low)
    if args.connections < args.threads:
        die("--connections must be >= --threads (wrk gives each thread at least one)")
    if shutil.which("wrk") is None:
        die("wrk not found (apt-get install wrk)")
    if not os.access("/proc/self/status", os.R_OK):
        die("/proc is needed (Linux)")
    b = c.Bench("console", args, "console-results")
    c.check_tools(encoders=())
    b.ensure_reprise(needs=("store-bench --help", "daemon --help"))
    if "--http" not in subprocess.run([b.reprise, "daemon", "--help"], capture_output=True, text=True).stdout:
        die(f"{b.reprise} has no `daemon --http` (a build from before the console?)")

    run_dir, R = b.bench_dir / "console-run", b.res
    watch, outdir, state = run_dir / "watch", run_dir / "out", run_dir / "state"
    shutil.rmtree(run_dir, ignore_errors=True)
    for folder in (watch, outdir, state):
        folder.mkdir(parents=True)
    store = state / "jobs.sqlite"  # the daemon's default store for --state-dir STATE

    # The seeded store (the file and its write-ahead log, if store-bench left one: no process has it
    # open then, so the pair is a consistent copy) is kept in BENCH_DIR and reused while it is newer
    # than the binary: seeding 10,000 jobs takes minutes on a debug build.
    pristine = b.bench_dir / f"console-store-{args.jobs}"
    if (pristine / "jobs.sqlite").is_file() and (pristine / "jobs.sqlite").stat().st_mtime > os.stat(b.reprise).st_mtime:
        for f in pristine.iterdir():
            shutil.copyfile(f, state / f.name)
        seeded = f"cached in {pristine.name}/ (newer than the binary)"
    else:
        log(f"seeding {args.jobs} jobs: reprise store-bench --store sqlite:{store}")
        shutil.rmtree(pristine, ignore_errors=True)
        with b.measure("seed") as m:
            m.run([b.reprise, "store-bench", "--store", f"sqlite:{store}", "--jobs", args.jobs, "--workers", 1])
        rate = (c.last_json(R / "seed.stdout") or {}).get("claims_per_second", "?")
        seeded = f"made now in {m.wall:.1f} s ({rate} claims/s)"
        tmp = b.bench_dir / f"{pristine.name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for name in ("jobs.sqlite-wal", "jobs.sqlite"):  # the log first: the file's mtime marks the copy
            if (state / name).is_file():
                shutil.copyfile(state / name, tmp / name)
        tmp.rename(pristine)

    dlog = R / "daemon.log"
    d_args = ["daemon", "--watch", watch, "--out", outdir, "--state-dir", state, "--forms", "transcode:vertical-short",
              "--workers", 1, "--http", "127.0.0.1:0"]
    load_before = c.loadavg()
    log(f"load average before: {load_before}")
    dlog.write_text("")
    t_launch = time.time()
    with open(dlog, "ab") as err:
        proc = c.spawn([b.reprise, *d_args], R / "daemon.stdout", err)
    problems = []
    try:
        base = wait_listening(dlog, proc, 60)
        if base is None:
            print("\n".join(dlog.read_text(errors="replace").splitlines()[-20:]))
            die(f"the console did not start listening within 60 s (log: {dlog})")
        ready_s = time.time() - t_launch
        ready_rss = d.proc_status(proc.pid)["VmRSS"]
        log(f"daemon pid {proc.pid}: console at {base} after {ready_s:.2f} s ({ready_rss / 1024:.1f} MB)")

        # The daemon serves the store store-bench filled: every job there, done.
        listed = get_json(f"{base}/api/jobs?limit=100")
        counts = listed.get("counts", {})
        if len(listed.get("jobs", [])) != min(100, args.jobs) or counts.get("done") != args.jobs or sum(counts.values()) != args.jobs:
            die(f"/api/jobs does not show the {args.jobs} seeded jobs, all done: {len(listed.get('jobs', []))} listed, counts {counts}")
        for job_id in (1, args.jobs):
            if get_json(f"{base}/api/jobs/{job_id}").get("job", {}).get("id") != job_id:
                die(f"/api/jobs/{job_id} does not show job {job_id}")
        status, ctype, page, page_s = get(f"{base}/jobs")
        page_rows = page.decode(errors="replace").count('<tr id="job-')
        if status != 200 or not ctype.startswith("text/html") or page_rows == 0:
            die(f"/jobs: HTTP {status} {ctype}, {page_rows} job rows")
        status, _, rec_page, rec_page_s = get(f"{base}/recordings")
        if status != 200:
            die(f"/recordings: HTTP {status}")

        loads = [
            ("jobs-page", "jobs page /jobs", f"{base}/jobs", "", f"{page_rows} rows, {len(page) / 1024:.0f} KB, first request alone {page_s * 1000:.0f} ms"),
            ("api-jobs", "API /api/jobs?limit=100", f"{base}/api/jobs?limit=100", "", "100 jobs + counts"),
            ("api-job", "API /api/jobs/{id}", f"{base}/api/jobs/1", WRK_RANDOM_JOB.replace("{jobs}", str(args.jobs)),
             f"random id 1-{args.jobs}"),
            # last: unbounded (every recording), it may leave the server busy for long after wrk stops
            ("recordings-page", "recordings page /recordings", f"{base}/recordings", "", f"every recording, {len(rec_page) / 1024:.0f} KB, first request alone {rec_page_s * 1000:.0f} ms"),
        ]
        results = {}
        for key, label, url, lua, note in loads:
            r = wrk(b, args, key, url, lua)
            if not d.daemon_alive(proc.pid):
                die(f"the daemon exited during the {label} load (log: {dlog})")
            busy = drain(proc.pid)
            if busy is None:
                die(f"the daemon still uses CPU 300 s after the {label} load")
            if busy >= 1:
                note += f"; busy {busy:.0f} s after wrk stopped"
            if r["timeout"]:
                note += f"; {r['timeout']} timed out (30 s), not in the percentiles"
            if not r["requests"]:
                note = f"NONE finished within {args.duration} s; {note}"
            results[key] = dict(r, label=label, note=note)
            if r["errors"]:
                problems.append(f"{label}: {r['errors']} errors (non-2xx {r['status']}, "
                                f"connect/read/write {r['connect']}/{r['read']}/{r['write']})")

        frame = frames(b, args, base, outdir)
        t_load_end = time.time()
        log("idle: polling VmRSS until it settles")
        idle_rss, hwm, idle_after, idle_cpu, settled = settle_rss(proc.pid, t_load_end)
        load_after = c.loadavg()
        d.stop_daemon(proc, R, dlog)
        stop = json.loads((R / "stop.json").read_text())
    finally:
        d.ensure_stopped(proc)
    if stop["status"] != 0:
        problems.append(f"the daemon exited {stop['status']} after SIGTERM")
    warnings = [raw for raw in dlog.read_text(errors="replace").splitlines() if re.match(r"^\S+ (warning|error|critical) ", raw)]

    w = f"wrk {args.threads} threads, {args.connections} connections, {args.duration} s each, --latency"
    lines = [
        "==================== Reprise console benchmark ====================",
        f"host: {os.cpu_count()} cores, {c.mem_gb():.0f} GB RAM; load average before {load_before}, after {load_after} "
        "(wrk runs on the same cores as the daemon)",
        b.reprise_line(),
        f"store: {args.jobs} jobs seeded by `reprise store-bench --workers 1`, all done, {seeded}; "
        "STATE/jobs.sqlite, the daemon's default",
        f"daemon: {' '.join(map(str, d_args[7:]))}; console at {base} {ready_s:.2f} s after launch",
        "",
        f"{'endpoint':<30} {'req/s':>8} {'p50':>10} {'p90':>10} {'p99':>10} {'max':>10}  {'errors':>6}  notes",
    ]
    for key, _, _, _, _ in loads:
        r = results[key]
        p = [ms(r[k]) if r["requests"] else "-" for k in ("p50_us", "p90_us", "p99_us", "max_us")]
        lines.append(f"{r['label']:<30} {r['requests_per_s']:8.1f} {p[0]:>10} {p[1]:>10} {p[2]:>10} {p[3]:>10}  "
                     f"{r['errors']:>6}  {r['requests']} requests; {r['note']}")
    lines.append(f"({w})")
    lines.append("")
    lines += frame_lines(frame, args)
    lines += [
        "",
        f"daemon RSS: at ready {ready_rss / 1024:.1f} MB; idle after the load {idle_rss / 1024:.1f} MB "
        f"({'settled' if settled else 'NOT settled'} {idle_after:.1f} s after the last request: VmRSS polled every 0.5 s "
        f"until 4 samples within 1 MB; CPU meanwhile {idle_cpu:.1f} % of one core); peak (VmHWM) {hwm / 1024:.1f} MB",
        f"SIGTERM -> exit {stop['status']} in {stop['seconds']:.2f} s",
        "targets (issue 15): frame preview p50 <= 150 ms and p99 <= 400 ms; jobs page p50/p99, API p99 and idle RSS: reported",
        "errors: " + ("; ".join(problems) if problems else "none (every answer 2xx, no socket errors)"),
        f"daemon log: {len(warnings)} warning/error lines" + (f", first: {warnings[0][:200]}" if warnings else ""),
        f"raw results: {R}/ (wrk output *.wrk.txt, daemon.log); folders in {run_dir}/; total bench time {b.elapsed()} s",
        "==================================================================",
    ]
    with open(R / "console.json", "w") as f:
        json.dump({"jobs": args.jobs, "wrk": results, "frame": frame, "rss_kb": {"ready": ready_rss, "idle": idle_rss, "hwm": hwm},
                   "idle_after_s": idle_after, "idle_cpu_percent": idle_cpu, "stop": stop, "problems": problems}, f, indent=1)
    b.summary(lines, "summary-console.txt")
    if problems:
        die("; ".join(problems))
