"""`bench.py daemon`: the watch-folder daemon (`reprise daemon`, quick-start mode): how soon a dropped
recording's job starts, what the daemon costs while idle, and how fast it gets through a batch.

In one run of ONE daemon (fresh watch, output and state folders in BENCH_DIR/daemon-run), inputs made
with `reprise sample` (1280x720 30 fps H.264 + AAC):
1. Latency: 2 x --lat-files drops, one at a time (the next once the last file's jobs are all finished),
   alternately "rename" (copied to NAME.mp4.part in the watch folder, then renamed) and "slow" (a
   plain copy under the final name, written in chunks). From the time of the last write to the file's
   first job starting: the "started" log line's arrival (the log and the store have whole seconds
   only, so the line is timed as it arrives) and its startedAt in `reprise jobs list --json`. Reported
   minus the quiet period: the daemon's own overhead. min/median/max per method.
2. Idle: --idle-seconds with nothing to do: CPU % of one core (/proc/PID/stat utime+stime), VmRSS each
   second, context switches of all threads per second.
3. Throughput: --recordings copies of a --rec-seconds recording dropped at once (copied as .part, then
   renamed in a burst): wall from the drop until every job is finished (quiet period included),
   jobs/minute, seconds of video per second of wall, sum of per-job times (the "done" lines'
   seconds=), the daemon's peak RSS (sampled every 0.5 s, and VmHWM) and the largest job process's.
   Every job must end "done" and every output it lists must exist and be non-empty.
Then SIGTERM: how long the daemon took to exit, and its exit status.
The daemon's log follows each line's arrival with a ~20 ms poll; `jobs list` is asked for the jobs;
/proc/PID is sampled. Timings are wall-clock on a shared machine: the load average is printed.
"""
import datetime
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import time

from . import common as c
from . import highlights
from .common import die, log

DEFAULT_FORMS = "transcode:vertical-short,transcode:long-form-720p"
# The daemon's default package: what `reprise daemon` makes of a recording when no forms are given
# (the forms issue 13 measured: 273 s for long-form-720p and 514 s for the ladder, 0.69x in all).
PACKAGE_FORMS = "shorts,highlights,transcode:long-form-720p,ladder:default"
# The shipped systemd/reprise.yaml's forms: the default package plus the overseas profiles.
SHIPPED_FORMS = "shorts,highlights,transcode:long-form-720p,transcode:overseas-low,ladder:default,ladder:overseas"
PACKAGE_TARGET = 0.35  # the whole package within this share of the recording's length (issue 13)

TERMINAL = {"done", "failed", "quarantined", "cancelled"}
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


SETTINGS = {}  # REPRISE, STATE, WATCH, OUTDIR, LOG, DAEMON_PID, QUIET, FORMS, WORKERS, LAT_INPUT, ...


def env(name):
    """A setting of this run (set by run() from the options), as a string."""
    return str(SETTINGS[name])


# ----------------------------------------------------------------------------- the daemon's log

# "2026-11-23T13:58:40+0000 notice reprise.daemon: input=/x.mp4 job=1 [RepriseDaemon] started": the
# source is the last "[Word] " (metadata such as jobs=[1] come before it)
LINE = re.compile(r"^(\S+) (\w+) (\S+?): ?(.*)\[(\w+)\] (.*)$")
META = re.compile(r"(\w+)=(\[[^\]]*\]|\S+)")


class LogFollower:
    """Reads the daemon's stderr as it grows; every complete line with the time it was seen."""

    def __init__(self, path):
        self.f = open(path, "r", errors="replace")
        self.f.seek(0, os.SEEK_END)  # only what is written from now on
        self.partial = ""
        self.lines = []  # (arrival, level, message, meta dict, raw)

    def poll(self):
        new = []
        chunk = self.f.read()
        if not chunk:
            return new
        now = time.time()
        data = self.partial + chunk
        *complete, self.partial = data.split("\n")
        for raw in complete:
            m = LINE.match(raw)
            if m:
                meta = dict(META.findall(m.group(4)))
                entry = (now, m.group(2), m.group(6), meta, raw)
            else:
                entry = (now, "?", raw, {}, raw)
            self.lines.append(entry)
            new.append(entry)
        return new


def problems(lines):
    """Warning/error lines and lines the parser did not understand."""
    return [raw for _, level, _, _, raw in lines if level not in ("notice", "info", "debug", "trace")]


# ----------------------------------------------------------------------------- jobs and /proc

def jobs_list():
    p = subprocess.run([env("REPRISE"), "jobs", "list", "--state-dir", env("STATE"), "--json"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        log(f"jobs list failed ({p.returncode}): {p.stderr.strip()[-300:]}")
        return None
    try:
        return json.loads(p.stdout)
    except ValueError:
        log(f"jobs list printed no JSON: {p.stdout[:200]!r}")
        return None


def iso(s):
    if not s:
        return None
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def proc_stat(pid):
    """(utime+stime s, cutime+cstime s, threads) or None when gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return ((int(rest[11]) + int(rest[12])) / CLK_TCK, (int(rest[13]) + int(rest[14])) / CLK_TCK, int(rest[17]))


def proc_status(pid, keys=("VmRSS", "VmHWM", "Threads")):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in keys:
                    out[k] = int(v.split()[0])
    except OSError:
        return None
    return out


def ctx_switches(pid):
    """{thread id: voluntary + involuntary context switches} (a thread's wakeups)."""
    found = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                found[tid] = sum(int(line.split()[1]) for line in f
                                 if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")))
        except OSError:
            pass
    return found


def ctx_delta(a, b):
    """Switches between two ctx_switches samples: threads in both count their growth, new threads all
    of theirs (threads that ended in between are lost)."""
    return sum(n - a.get(tid, 0) for tid, n in b.items())


def children_rss_kb(pid):
    """{child pid: VmRSS kB} of the processes whose parent is pid."""
    found = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
            if int(rest[1]) != pid:
                continue
            with open(f"/proc/{d}/statm") as f:
                found[int(d)] = int(f.read().split()[1]) * PAGE // 1024
        except (OSError, IndexError, ValueError):
            pass
    return found


def daemon_alive(pid):
    st = proc_stat(pid)
    if st is None:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# ----------------------------------------------------------------------------- dropping files

def drop_rename(src, dest):
    """Copy to DEST.part in the same folder (a name the daemon ignores), then rename. Returns the
    time right after the rename: when the complete file appears under its name."""
    tmp = dest + ".part"
    shutil.copyfile(src, tmp)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.rename(tmp, dest)
    return time.time()


def drop_slow(src, dest, seconds, chunks):
    """A plain copy under the final name, written in CHUNKS writes SECONDS apart in all (each write
    flushed, so the daemon sees the file grow). Returns the time right after the last write's close."""
    size = os.path.getsize(src)
    step = max(1, -(-size // chunks))
    pause = seconds / max(1, chunks - 1)
    with open(src, "rb") as s, open(dest, "wb") as d:
        k = 0
        while True:
            buf = s.read(step)
            if not buf:
                break
            if k:
                time.sleep(pause)
            d.write(buf)
            d.flush()
            k += 1
    return time.time()


# ----------------------------------------------------------------------------- phase 1: latency

def wait_jobs(path, want, follower, timeout, poll=1.0):
    """Polls `jobs list` until `want` jobs of input `path` are all finished. Returns (jobs, timed_out)."""
    t_end = time.time() + timeout
    mine = []
    while time.time() < t_end:
        follower.poll()
        jobs = jobs_list() or []
        mine = [j for j in jobs if j["input"]["path"] == path]
        if len(mine) >= want and all(j["state"] in TERMINAL for j in mine):
            return mine, False
        if not daemon_alive(int(env("DAEMON_PID"))):
            log("the daemon exited")
            return mine, True
        time.sleep(poll)
    return mine, True


def latency(out_path):
    quiet = float(env("QUIET"))
    nforms = len([f for f in env("FORMS").split(",") if f.strip()])
    files = int(env("LAT_FILES"))
    slow_s, chunks = float(env("SLOW_COPY_SECONDS")), int(env("SLOW_CHUNKS"))
    src, watch = env("LAT_INPUT"), env("WATCH")
    timeout = float(env("JOB_TIMEOUT"))
    pid = int(env("DAEMON_PID"))
    follower = LogFollower(env("LOG"))
    rows = []
    order = [m for _ in range(files) for m in ("rename", "slow")]
    for k, method in enumerate(order, 1):
        dest = os.path.join(watch, f"lat{k:02d}-{method}.mp4")
        follower.poll()
        t_first = time.time()
        if method == "rename":
            t_last = drop_rename(src, dest)
        else:
            t_last = drop_slow(src, dest, slow_s, chunks)
        # Follow the log until the file's first job has started.
        t_queued = t_started = None
        deadline = t_last + quiet + timeout
        while t_started is None and time.time() < deadline:
            for arrival, _, msg, meta, _ in follower.poll():
                if meta.get("input") != dest:
                    continue
                if msg == "queued" and t_queued is None:
                    t_queued = arrival
                elif msg == "started" and t_started is None:
                    t_started = arrival
            if not daemon_alive(pid):
                break
            time.sleep(0.02)
        mine, timed_out = wait_jobs(dest, nforms, follower, max(1.0, deadline - time.time()))
        starts = [iso(j.get("startedAt")) for j in mine if j.get("startedAt")]
        t_db = min(starts) if starts else None
        row = {
            "file": os.path.basename(dest), "method": method, "write_s": round(t_last - t_first, 3),
            "t_last": t_last, "startedAt": t_db,
            "latency_db": None if t_db is None else round(t_db - t_last, 3),
            "latency_log": None if t_started is None else round(t_started - t_last, 3),
            "queued_log": None if t_queued is None else round(t_queued - t_last, 3),
            "jobs": len(mine), "states": sorted(j["state"] for j in mine), "timed_out": timed_out,
        }
        rows.append(row)
        log(f"latency {k}/{len(order)} ({method}): started {row['latency_log']} s after the last write "
            f"(log), startedAt {row['latency_db']} s (jobs list, whole seconds); jobs {row['states']}")
        if not daemon_alive(pid):
            break
    json.dump({"quiet": quiet, "rows": rows, "problems": problems(follower.lines)},
              open(out_path, "w"), indent=1)


# ----------------------------------------------------------------------------- phase 2: idle

def idle(out_path):
    pid = int(env("DAEMON_PID"))
    seconds = float(env("IDLE_SECONDS"))
    follower = LogFollower(env("LOG"))
    jobs = jobs_list() or []
    busy = [j["id"] for j in jobs if j["state"] not in TERMINAL]
    s0, c0, t0 = proc_stat(pid), ctx_switches(pid), time.time()
    rss = []
    threads = 0
    while time.time() - t0 < seconds:
        time.sleep(min(1.0, max(0.0, seconds - (time.time() - t0))))
        st = proc_status(pid)
        if st is None:
            break
        rss.append(st.get("VmRSS", 0))
        threads = st.get("Threads", threads)
    s1, c1, t1 = proc_stat(pid), ctx_switches(pid), time.time()
    follower.poll()
    wall = t1 - t0
    res = {"seconds": round(wall, 3), "busy_jobs_at_start": busy, "threads": threads,
           "log_lines": len(follower.lines), "problems": problems(follower.lines),
           "children": len(children_rss_kb(pid))}
    if s0 and s1:
        cpu = s1[0] - s0[0]
        res.update(cpu_s=round(cpu, 3), cpu_pct=round(100 * cpu / wall, 3))
    if c0 is not None and c1 is not None:
        res["wakeups_per_s"] = round(ctx_delta(c0, c1) / wall, 1)
    if rss:
        res.update(rss_mb_mean=round(statistics.mean(rss) / 1024, 1), rss_mb_max=round(max(rss) / 1024, 1),
                   rss_mb_min=round(min(rss) / 1024, 1))
    json.dump(res, open(out_path, "w"), indent=1)
    log(f"idle {wall:.0f} s: cpu {res.get('cpu_pct')} %, rss {res.get('rss_mb_mean')} MB, "
        f"{res.get('wakeups_per_s')} wakeups/s")


# ----------------------------------------------------------------------------- phase 3: throughput

def throughput(out_path):
    pid = int(env("DAEMON_PID"))
    n, rec_s = int(env("RECORDINGS")), float(env("REC_SECONDS"))
    forms = [f.strip() for f in env("FORMS").split(",") if f.strip()]
    src, watch = env("REC_INPUT"), env("WATCH")
    timeout = float(env("JOB_TIMEOUT"))
    follower = LogFollower(env("LOG"))
    dests = [os.path.join(watch, f"rec{k:02d}.mp4") for k in range(1, n + 1)]
    # Copy every file under a name the daemon ignores first, then rename them all in a burst. The
    # signal sidecars (chat, orders, products) go in first, so highlights read them at once.
    sidecars = {}
    if env("SIGNALS") == "True":
        sig_dir = os.path.join(os.path.dirname(watch), "signals")
        log("throughput: signals: " + highlights.signals(rec_s, sig_dir, 1))
        sidecars = {os.path.join(sig_dir, f): suffix for f, suffix in
                    (("chat.jsonl", ".chat.jsonl"), ("orders.csv", ".orders.csv"), ("products.json", ".products.json"))}
    for d in dests:
        for f, suffix in sidecars.items():
            shutil.copyfile(f, d[:-len(".mp4")] + suffix)
        shutil.copyfile(src, d + ".part")
    os.sync()
    st0 = proc_stat(pid)
    t_drop0 = time.time()
    for d in dests:
        os.rename(d + ".part", d)
    t_drop = time.time()
    log(f"throughput: {n} recordings of {rec_s:g} s dropped in {1000 * (t_drop - t_drop0):.1f} ms; "
        f"{n * len(forms)} jobs to wait for (forms {','.join(forms)})")
    want = n * len(forms)
    paths = set(dests)
    rss_max = 0
    child_max = 0
    child_sum_max = 0
    busy_max = 0
    t_next_poll = 0.0
    t_last_report = time.time()
    jobs = []
    done_log = {}  # job id -> (arrival, seconds)
    started_log = {}
    timed_out = False
    finished_at = None
    while True:
        now = time.time()
        for arrival, _, msg, meta, _ in follower.poll():
            if meta.get("input") not in paths or "job" not in meta:
                continue
            if msg == "started":
                started_log[meta["job"]] = arrival
            elif msg in ("done", "failed", "cancelled", "stalled; stopped", "quarantined"):
                try:
                    done_log[meta["job"]] = (arrival, float(meta.get("seconds", "nan")))
                except ValueError:
                    done_log[meta["job"]] = (arrival, float("nan"))
        st = proc_status(pid)
        if st is None or not daemon_alive(pid):
            log("the daemon exited during the throughput phase")
            timed_out = True
            break
        rss_max = max(rss_max, st.get("VmRSS", 0))
        kids = children_rss_kb(pid)
        if kids:
            child_max = max(child_max, max(kids.values()))
            child_sum_max = max(child_sum_max, sum(kids.values()))
            busy_max = max(busy_max, len(kids))
        if now >= t_next_poll:
            t_next_poll = now + 2.0  # `jobs list` is a process start: not more than every 2 s
            got = jobs_list()
            if got is not None:
                jobs = [j for j in got if j["input"]["path"] in paths]
                n_done = sum(j["state"] in TERMINAL for j in jobs)
                if now - t_last_report >= 30:
                    t_last_report = now
                    log(f"throughput: {n_done}/{want} jobs finished after {now - t_drop:.0f} s")
                if len(jobs) >= want and n_done == len(jobs):
                    finished_at = now
                    # The store is written before the "done" line is logged: let the last lines come.
                    t_grace = time.time() + 3
                    while time.time() < t_grace and len(done_log) < len(jobs):
                        for arrival, _, msg, meta, _ in follower.poll():
                            if meta.get("input") in paths and "job" in meta and "seconds" in meta:
                                try:
                                    done_log[meta["job"]] = (arrival, float(meta["seconds"]))
                                except ValueError:
                                    done_log[meta["job"]] = (arrival, float("nan"))
                        time.sleep(0.02)
                    break
        if now - t_drop > timeout:
            timed_out = True
            log(f"throughput: gave up after JOB_TIMEOUT={timeout:g} s")
            break
        time.sleep(0.5)
    st1 = proc_stat(pid)
    status = proc_status(pid) or {}
    # Wall: from the drop to the last job's end (its log line's arrival; finishedAt when missing).
    ends_log = [a for a, _ in done_log.values()]
    ends_db = [iso(j.get("finishedAt")) for j in jobs if j.get("finishedAt")]
    starts_db = [iso(j.get("startedAt")) for j in jobs if j.get("startedAt")]
    t_end = max(ends_log) if len(ends_log) >= len(jobs) and ends_log else (max(ends_db) if ends_db else finished_at)
    per_job_log = [s for _, s in done_log.values() if s == s]
    per_job_db = [iso(j["finishedAt"]) - iso(j["startedAt"]) for j in jobs if j.get("finishedAt") and j.get("startedAt")]
    first_start = min(list(started_log.values()) or starts_db or [t_drop])
    # Checks: every job done, every output there and non-empty.
    states = {}
    for j in jobs:
        states[j["state"]] = states.get(j["state"], 0) + 1
    missing, empty, no_outputs, n_outputs = [], [], [], 0
    for j in jobs:
        outs = j.get("outputs") or []
        if not outs and j["state"] == "done":
            no_outputs.append(j["id"])
        for o in outs:
            n_outputs += 1
            if not os.path.exists(o):
                missing.append(o)
            elif os.path.getsize(o) == 0:
                empty.append(o)
    not_done = [f"{j['id']} {j['kind']} {os.path.basename(j['input']['path'])}: {j['state']}"
                + (f" ({j.get('lastError')})" if j.get("lastError") else "") for j in jobs if j["state"] != "done"]
    wall = (t_end - t_drop) if t_end else None
    res = {
        "recordings": n, "rec_seconds": rec_s, "forms": forms, "workers": int(env("WORKERS")),
        "signals": bool(sidecars),
        "jobs_expected": want, "jobs_seen": len(jobs), "states": states, "timed_out": timed_out,
        "wall_s": None if wall is None else round(wall, 3),
        "first_start_s": round(first_start - t_drop, 3),
        "processing_s": None if t_end is None else round(t_end - first_start, 3),
        "jobs_per_min": None if not wall else round(len(jobs) * 60 / wall, 2),
        "video_s_per_s": None if not wall else round(n * rec_s / wall, 3),
        "sum_job_s_log": round(sum(per_job_log), 1), "jobs_with_log_seconds": len(per_job_log),
        "sum_job_s_db": round(sum(per_job_db), 1),
        "job_s_by_form": {},
        "daemon_rss_mb_max": round(rss_max / 1024, 1), "daemon_vmhwm_mb": round(status.get("VmHWM", 0) / 1024, 1),
        "child_rss_mb_max": round(child_max / 1024, 1), "children_rss_mb_sum_max": round(child_sum_max / 1024, 1),
        "children_at_once_max": busy_max,
        "outputs": n_outputs, "missing_outputs": missing, "empty_outputs": empty, "done_without_outputs": no_outputs,
        "not_done": not_done, "problems": problems(follower.lines),
    }
    if st0 and st1:
        res["daemon_cpu_s"] = round(st1[0] - st0[0], 2)
        res["children_cpu_s"] = round(st1[1] - st0[1], 1)
    by_form = {}
    for j in jobs:
        d = done_log.get(str(j["id"]))
        if d and d[1] == d[1]:
            by_form.setdefault(j["kind"], []).append(d[1])
    res["job_s_by_form"] = {k: {"n": len(v), "median": round(statistics.median(v), 1), "sum": round(sum(v), 1)}
                            for k, v in by_form.items()}
    json.dump(res, open(out_path, "w"), indent=1)
    log(f"throughput: {len(jobs)} jobs, states {states}, wall {res['wall_s']} s")


# ----------------------------------------------------------------------------- wait-ready

def wait_ready(path, pid, timeout, since):
    """Seconds from `since` (time.time()) to the "daemon ready" line; None when pid exits first or
    timeout passes."""
    t0 = time.time()
    with open(path, errors="replace") as f:
        buf = ""
        while time.time() - t0 < float(timeout):
            buf += f.read()
            if "daemon ready" in buf:
                return time.time() - since
            if not daemon_alive(int(pid)):
                return None
            time.sleep(0.02)
    return None


# ----------------------------------------------------------------------------- report

def stats(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return min(xs), statistics.median(xs), max(xs)


def fmt3(t, unit="s"):
    return "-" if t is None else f"{t[0]:6.2f} {t[1]:6.2f} {t[2]:6.2f} {unit}"


def report(res_dir):
    """The report body (lines) from RES_DIR/{latency,idle,throughput,stop}.json."""
    lines = []

    def out(s=""):
        lines.append(s)

    def load(name):
        try:
            return json.load(open(os.path.join(res_dir, name)))
        except (OSError, ValueError):
            return None
    lat, idl, thr, stop = load("latency.json"), load("idle.json"), load("throughput.json"), load("stop.json")
    notes = []
    out("1. latency: the script's last write (after the rename / the slow copy's last write) -> the")
    out("   file's first job started; 'overhead' = latency - quiet period (the daemon's own cost)")
    if lat and lat["rows"]:
        q = lat["quiet"]
        out(f"   quiet period {q:g} s, {len(lat['rows'])} files; overhead from     min median    max")
        for label, sel in (("rename", "rename"), ("slow copy", "slow"), ("all", None)):
            rows = [r for r in lat["rows"] if sel is None or r["method"] == sel]
            if not rows:
                continue
            lg = stats([r["latency_log"] - q for r in rows if r["latency_log"] is not None])
            db = stats([r["latency_db"] - q for r in rows if r["latency_db"] is not None])
            qd = stats([r["queued_log"] - q for r in rows if r["queued_log"] is not None])
            out(f"   {label:<10} 'started' log line (arrival)  {fmt3(lg)}")
            out(f"   {'':<10} startedAt (jobs list)        {fmt3(db)}   (ISO 8601 whole seconds, truncated)")
            if sel is None:
                out(f"   {'':<10} 'queued' log line (arrival)  {fmt3(qd)}   (detection alone)")
                if lg and lg[2] > 2.0:
                    notes.append(f"latency: overhead up to {lg[2]:.2f} s above the {q:g} s quiet period")
        slow = [r["write_s"] for r in lat["rows"] if r["method"] == "slow"]
        if slow:
            out(f"   (slow copies took {min(slow):.1f}-{max(slow):.1f} s to write; latency counts from their last write)")
        bad = [f"{r['file']}: {r['states']}{' (timed out)' if r['timed_out'] else ''}" for r in lat["rows"]
               if r["timed_out"] or any(s != "done" for s in r["states"]) or r["latency_log"] is None]
        if bad:
            notes.append("latency files not all done: " + "; ".join(bad))
        if lat["problems"]:
            notes.append(f"{len(lat['problems'])} warning/error log lines during phase 1, first: {lat['problems'][0]}")
    else:
        out("   (no result)")
    out()
    out("2. idle (nothing queued, no file arriving)")
    if idl and "cpu_pct" in idl:
        out(f"   {idl['seconds']:.0f} s: CPU {idl['cpu_pct']:.2f} % of one core ({idl['cpu_s']:.2f} s user+sys), "
              f"RSS {idl.get('rss_mb_mean', '-')} MB (min {idl.get('rss_mb_min', '-')}, max {idl.get('rss_mb_max', '-')}), "
              f"{idl['threads']} threads, {idl.get('wakeups_per_s', '-')} context switches/s")
        if idl["cpu_pct"] > 1.0:
            notes.append(f"idle CPU {idl['cpu_pct']:.2f} % (> 1 %)")
        if idl["busy_jobs_at_start"]:
            notes.append(f"idle phase began with unfinished jobs {idl['busy_jobs_at_start']}")
        if idl["log_lines"]:
            notes.append(f"the daemon logged {idl['log_lines']} lines while idle")
    else:
        out("   (no result)")
    out()
    out("3. throughput")
    if thr:
        t = thr
        out(f"   {t['recordings']} recordings x {t['rec_seconds']:g} s, forms {','.join(t['forms'])}, "
              f"workers {t['workers']}: {t['jobs_seen']}/{t['jobs_expected']} jobs, states {t['states']}")
        if t["wall_s"]:
            out(f"   wall, drop -> last job finished       {t['wall_s']:8.1f} s   (includes the quiet period; "
                  f"first job started after {t['first_start_s']:.1f} s)")
            out(f"   jobs per minute                       {t['jobs_per_min']:8.2f}")
            share = t["wall_s"] / (t["recordings"] * t["rec_seconds"])
            ok = share <= PACKAGE_TARGET
            out(f"   wall / length of the recordings        {share:8.3f}x  "
                + (f"target <= {PACKAGE_TARGET} (the default package)  {c.pf(ok)}" if t["forms"] == PACKAGE_FORMS.split(",")
                   else f"(info; the shipped six forms, against {PACKAGE_TARGET}: {c.pf(ok)})" if t["forms"] == SHIPPED_FORMS.split(",")
                   else "(info)"))
            out(f"   seconds of video per second of wall   {t['video_s_per_s']:8.3f}   "
                  f"({t['recordings'] * t['rec_seconds']:g} s of input, each made into {len(t['forms'])} forms)")
            out(f"   sum of per-job times                  {t['sum_job_s_log']:8.1f} s   ('done' seconds=; "
                  f"finishedAt-startedAt: {t['sum_job_s_db']:.0f} s)")
            if t["processing_s"]:
                gap = t["processing_s"] - t["sum_job_s_log"] / max(1, t["workers"])
                out(f"   first start -> last end               {t['processing_s']:8.1f} s   "
                      f"(minus sum/workers: {gap:+.1f} s between jobs)")
        for k, v in t["job_s_by_form"].items():
            out(f"     {k:<34} {v['n']:3d} jobs, median {v['median']:6.1f} s, sum {v['sum']:7.1f} s")
        out(f"   daemon RSS peak {t['daemon_rss_mb_max']} MB sampled (VmHWM {t['daemon_vmhwm_mb']} MB); "
              f"largest job process {t['child_rss_mb_max']} MB; at most {t['children_at_once_max']} at once")
        if "daemon_cpu_s" in t:
            out(f"   CPU: daemon itself {t['daemon_cpu_s']:.2f} s, its jobs {t['children_cpu_s']:.0f} s")
        out(f"   checks: {t['outputs']} output files; missing {len(t['missing_outputs'])}, empty "
              f"{len(t['empty_outputs'])}, done jobs without outputs {len(t['done_without_outputs'])}; "
              f"not done {len(t['not_done'])}")
        if t["timed_out"]:
            notes.append("throughput: did not finish (JOB_TIMEOUT or the daemon exited)")
        if t["jobs_seen"] != t["jobs_expected"]:
            notes.append(f"throughput: {t['jobs_seen']} jobs, expected {t['jobs_expected']}")
        for x in t["not_done"][:5]:
            notes.append(f"not done: {x}")
        for x in (t["missing_outputs"] + t["empty_outputs"])[:5]:
            notes.append(f"output missing or empty: {x}")
        if t["done_without_outputs"]:
            notes.append(f"done jobs listing no outputs: {t['done_without_outputs'][:10]}")
        if t["problems"]:
            notes.append(f"{len(t['problems'])} warning/error log lines during phase 3, first: {t['problems'][0]}")
    else:
        out("   (no result)")
    out()
    if stop:
        out(f"stop: SIGTERM -> exit in {stop['seconds']:.2f} s, exit status {stop['status']}"
              f"{' (killed with SIGKILL after ' + str(stop['kill_after']) + ' s)' if stop.get('killed') else ''}; "
              f"log: {'; '.join(stop.get('last_lines', [])) or '-'}")
        if stop["status"] != 0:
            notes.append(f"the daemon's exit status after SIGTERM was {stop['status']}")
        if stop["seconds"] > 5:
            notes.append(f"stopping took {stop['seconds']:.1f} s")
    out("notes: " + ("; ".join(notes) if notes else "none (every job done, outputs present, overhead <= 2 s, idle CPU <= 1 %)"))
    return lines


# ----------------------------------------------------------------------------- the benchmark

def add_arguments(p):
    c.add_common_options(p)
    e = c.env_int
    p.add_argument("--quiet", type=float, default=c.env_float("QUIET", 5),
                   help="the daemon's --quiet, seconds a file must stay unchanged (env QUIET; default 5)")
    p.add_argument("--forms", default=c.env_str("FORMS", DEFAULT_FORMS),
                   help=f"the daemon's --forms (env FORMS; default {DEFAULT_FORMS}). shorts/highlights wait for "
                        "chat sidecars (a grace period) before queueing, so with them the latency counts that grace too")
    p.add_argument("--workers", type=int, default=e("WORKERS", 1), help="the daemon's --workers (env WORKERS; default 1)")
    p.add_argument("--profile-dir", default=c.env_str("PROFILE_DIR", None), help="passed as --profile-dir (env PROFILE_DIR)")
    p.add_argument("--lat-files", type=int, default=e("LAT_FILES", 3),
                   help="phase 1: files per drop method, rename and slow copy (env LAT_FILES; default 3, so 6 drops)")
    p.add_argument("--lat-seconds", type=int, default=e("LAT_SECONDS", 4),
                   help="length of the phase-1 recording (env LAT_SECONDS; default 4)")
    p.add_argument("--slow-copy-seconds", type=float, default=c.env_float("SLOW_COPY_SECONDS", 3),
                   help="phase 1: a slow copy is spread over this many seconds (env SLOW_COPY_SECONDS; default 3)")
    p.add_argument("--slow-chunks", type=int, default=e("SLOW_CHUNKS", 10),
                   help="phase 1: in this many flushed writes (env SLOW_CHUNKS; default 10)")
    p.add_argument("--idle-seconds", type=int, default=e("IDLE_SECONDS", 30), help="phase 2 length (env IDLE_SECONDS; default 30)")
    p.add_argument("--recordings", type=int, default=e("RECORDINGS", 10),
                   help="phase 3: recordings dropped at once (env RECORDINGS; default 10)")
    p.add_argument("--rec-seconds", type=int, default=e("REC_SECONDS", 30),
                   help="phase 3: their length in seconds (env REC_SECONDS; default 30)")
    p.add_argument("--signals", action="store_true", default=c.env_flag("SIGNALS"),
                   help="phase 3: drop generated chat, orders and products sidecars with each recording (env SIGNALS=1)")
    p.add_argument("--package", action="store_true",
                   help="the default package of one 20-minute recording: --forms " + PACKAGE_FORMS +
                        " (the daemon's default forms; --shipped for systemd/reprise.yaml's) --recordings 1 "
                        "--rec-seconds 1200 --signals, no latency phase, 2 s idle; prints wall / recording length "
                        "against the 0.35x target")
    p.add_argument("--shipped", action="store_true",
                   help="with --package: the shipped systemd/reprise.yaml's forms, " + SHIPPED_FORMS)
    p.add_argument("--baseline-bin", default=c.env_str("BASELINE_BIN", None),
                   help="run the same phases again with this reprise binary (e.g. an older build) and print "
                        "the ratio of the two throughput walls (env BASELINE_BIN)")
    p.add_argument("--baseline-profile-dir", default=c.env_str("BASELINE_PROFILE_DIR", None),
                   help="the baseline's --profile-dir (default: Profiles/ of the checkout the binary was built "
                        "in, found above its .build folder)")
    p.add_argument("--job-timeout", type=int, default=e("JOB_TIMEOUT", 1800),
                   help="give up waiting for a phase's jobs after this many seconds (env JOB_TIMEOUT; default 1800)")


def ensure_stopped(proc):
    """The daemon must not outlive the benchmark: SIGTERM, then SIGKILL after 10 s."""
    if proc.poll() is None:
        log(f"stopping the daemon (pid {proc.pid}) on the way out")
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def stop_daemon(proc, res_dir, dlog):
    """SIGTERM; SIGKILL after 30 s. Writes stop.json (seconds to exit, status, last log lines)."""
    lines_before = len(dlog.read_text(errors="replace").splitlines())
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    killed = False
    try:
        status = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        log("the daemon is still running 30 s after SIGTERM: SIGKILL")
        proc.kill()
        killed = True
        status = proc.wait()
    t1 = time.time()
    if status < 0:
        status = 128 - status  # as the shell reported a signal death
    lines = dlog.read_text(errors="replace").splitlines()[lines_before:]
    msgs = [re.sub(r"^.*\[\w+\] ", "", l) for l in lines]
    json.dump({"seconds": t1 - t0, "status": status, "killed": killed, "kill_after": 30, "last_lines": msgs[-3:]},
              open(res_dir / "stop.json", "w"))


def run(args):
    if args.package:
        args.forms = SHIPPED_FORMS if args.shipped else PACKAGE_FORMS
        args.recordings, args.rec_seconds, args.signals = 1, 1200, True
        args.lat_files, args.idle_seconds = 0, 2
    elif args.shipped:
        die("--shipped goes with --package")
    for name, v, low in (("--workers", args.workers, 1), ("--lat-files", args.lat_files, 0),
                         ("--lat-seconds", args.lat_seconds, 2), ("--slow-chunks", args.slow_chunks, 1),
                         ("--idle-seconds", args.idle_seconds, 1), ("--recordings", args.recordings, 0),
                         ("--rec-seconds", args.rec_seconds, 2), ("--job-timeout", args.job_timeout, 1)):
        c.check_min(name, v, low)
    if not args.forms:
        die("--forms is empty")
    if not os.access("/proc/self/stat", os.R_OK):
        die("/proc is needed (Linux)")
    baseline, baseline_profiles = None, None
    if args.baseline_bin:
        baseline = os.path.abspath(args.baseline_bin)
        if not os.access(baseline, os.X_OK):
            die(f"--baseline-bin {baseline}: not an executable file")
        baseline_profiles = args.baseline_profile_dir or checkout_profiles(baseline)
        if not baseline_profiles or not os.path.isdir(baseline_profiles):
            die(f"--baseline-bin {baseline}: no Profiles/ folder found above it; give --baseline-profile-dir")
        for need in (["daemon", "--help"], ["jobs", "list", "--help"]):
            if subprocess.run([baseline, *need], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
                die(f"--baseline-bin {baseline}: has no working `{' '.join(need[:-1])}`")
    b = c.Bench("daemon", args, "daemon-results")
    c.check_tools(need_ffmpeg=False)
    b.ensure_reprise(needs=("daemon --help", "jobs list --help"))

    lat_input, _ = c.cached_sample(b, f"daemon-input-{args.lat_seconds}s.mp4", args.lat_seconds)
    rec_input, _ = c.cached_sample(b, f"daemon-input-{args.rec_seconds}s.mp4", args.rec_seconds)
    inputs = (lat_input, rec_input)

    lines = ["==================== Reprise daemon benchmark ====================",
             f"host: {os.cpu_count()} cores, {c.mem_gb():.0f} GB RAM"]
    lines += session(args, b, b.reprise, args.profile_dir, b.res, b.bench_dir / "daemon-run", inputs,
                     b.reprise_line())
    if baseline:
        # This build's results are kept even if the baseline's run fails.
        (b.bench_dir / "summary-daemon.txt").write_text("\n".join(lines) + "\n")
        R2 = b.bench_dir / "daemon-results-baseline"
        shutil.rmtree(R2, ignore_errors=True)
        R2.mkdir(parents=True)
        lines += ["", "---------- the same phases with the baseline binary ----------"]
        try:
            lines += session(args, b, baseline, baseline_profiles, R2, b.bench_dir / "daemon-run-baseline", inputs,
                             f"baseline: {baseline} (profiles {baseline_profiles})")
            lines += ["", *comparison(b.res / "throughput.json", R2 / "throughput.json")]
        except c.BenchError as e:
            lines += [f"the baseline's run failed: {e}"]
    lines += ["", f"total bench time {b.elapsed()} s",
              "=================================================================="]
    b.summary(lines, "summary-daemon.txt")


def checkout_profiles(binary):
    """Profiles/ of the checkout a binary was built in (CHECKOUT/.build/CONFIG/reprise), if any."""
    d = os.path.dirname(os.path.realpath(binary))
    while d != "/":
        if os.path.basename(d) == ".build":
            found = os.path.join(os.path.dirname(d), "Profiles")
            return found if os.path.isdir(found) else None
        d = os.path.dirname(d)
    return None


def comparison(this_path, base_path):
    """Both throughput walls, their ratio, and per form the ratio of job times."""
    try:
        this, base = json.load(open(this_path)), json.load(open(base_path))
    except (OSError, ValueError) as e:
        return [f"comparison: no result to compare ({e})"]
    if not this.get("wall_s") or not base.get("wall_s") or this["not_done"] or base["not_done"]:
        return ["comparison: not made (a run did not finish every job)"]
    length = this["recordings"] * this["rec_seconds"]
    r = this["wall_s"] / base["wall_s"]
    out = ["comparison (same machine, same run, same input and forms):",
           f"   wall: this build {this['wall_s']:.1f} s ({this['wall_s'] / length:.3f}x the recording), baseline "
           f"{base['wall_s']:.1f} s ({base['wall_s'] / length:.3f}x): this build takes {r:.3f} of the baseline's "
           f"time ({1 / r:.2f}x faster)"]
    for k in this["job_s_by_form"]:
        a, z = this["job_s_by_form"][k]["sum"], base["job_s_by_form"].get(k, {}).get("sum")
        if z:
            out.append(f"     {k:<34} {a:8.1f} s vs {z:8.1f} s   {a / z:6.3f}")
    return out


def session(args, b, reprise, profile_dir, R, run_dir, inputs, binary_line):
    """One daemon with one binary through the phases; the summary lines of its results."""
    lat_input, rec_input = inputs
    watch, outdir, state = run_dir / "watch", run_dir / "out", run_dir / "state"
    shutil.rmtree(run_dir, ignore_errors=True)
    for d in (watch, outdir, state):
        d.mkdir(parents=True)
    dlog = R / "daemon.log"
    d_args = ["daemon", "--watch", watch, "--out", outdir, "--state-dir", state, "--forms", args.forms,
              "--quiet", f"{args.quiet:g}", "--workers", args.workers]
    if profile_dir:
        d_args += ["--profile-dir", profile_dir]

    load_before = c.loadavg()
    log(f"load average before: {load_before} (other work on the machine skews the numbers)")
    dlog.write_text("")
    t_launch = time.time()
    with open(dlog, "ab") as err:
        proc = c.spawn([reprise, *d_args], R / "daemon.stdout", err)
    try:
        ready_s = wait_ready(dlog, proc.pid, 30, t_launch)
        if ready_s is None:
            print("\n".join(dlog.read_text(errors="replace").splitlines()[-20:]))
            die(f"the daemon did not get ready (log: {dlog})")
        ready_rss = (proc_status(proc.pid) or {}).get("VmRSS", 0) / 1024
        log(f"daemon pid {proc.pid} ready after {ready_s:.2f} s ({ready_rss:.1f} MB): {' '.join(map(str, d_args))}")
        SETTINGS.update(REPRISE=reprise, STATE=state, WATCH=watch, OUTDIR=outdir, LOG=dlog, DAEMON_PID=proc.pid,
                        QUIET=args.quiet, FORMS=args.forms, WORKERS=args.workers, LAT_INPUT=lat_input,
                        LAT_FILES=args.lat_files, SLOW_COPY_SECONDS=args.slow_copy_seconds,
                        SLOW_CHUNKS=args.slow_chunks, IDLE_SECONDS=args.idle_seconds, REC_INPUT=rec_input,
                        REC_SECONDS=args.rec_seconds, RECORDINGS=args.recordings, JOB_TIMEOUT=args.job_timeout,
                        SIGNALS=bool(args.signals))
        if args.lat_files > 0:
            log(f"phase 1: latency, {2 * args.lat_files} drops of a {args.lat_seconds} s recording "
                f"(quiet period {args.quiet:g} s)")
            latency(R / "latency.json")
        time.sleep(1)  # let the last job's child be reaped and the log settle
        log(f"phase 2: idle for {args.idle_seconds} s")
        idle(R / "idle.json")
        if args.recordings > 0:
            log(f"phase 3: throughput, {args.recordings} x {args.rec_seconds} s, forms {args.forms}, "
                f"workers {args.workers}")
            throughput(R / "throughput.json")
        load_after = c.loadavg()
        log("SIGTERM to the daemon")
        stop_daemon(proc, R, dlog)
    finally:
        ensure_stopped(proc)

    nlog = len(dlog.read_text(errors="replace").splitlines())
    pd = f" --profile-dir {profile_dir}" if profile_dir else ""
    lines = [
        f"load average before {load_before}, after {load_after}",
        binary_line,
        f"daemon: --forms {args.forms} --quiet {args.quiet:g} --workers {args.workers}{pd}; ready {ready_s:.2f} s after "
        f"launch, RSS then {ready_rss:.1f} MB",
        f"inputs: {lat_input.name} (phase 1), {rec_input.name} x {args.recordings} (phase 3), 1280x720 30 fps H.264 + AAC",
        "",
    ]
    lines += report(R)
    lines += ["", f"raw results: {R}/ (daemon.log: {nlog} lines); folders in {run_dir}/"]
    return lines
