"""What every benchmark shares: options, the release build, tool checks, cached samples, timed runs
(wall, user+sys CPU and peak RSS of the child from os.wait4), medians, ffprobe, the frame-index
barcode, and the summary (printed and kept in BENCH_DIR).
"""
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FPS = 30


class BenchError(Exception):
    """A real error (a command failed, a tool is missing): the driver prints it and exits 1."""


def die(msg):
    raise BenchError(msg)


_LOG_NAME = "bench"


def log(msg):
    print(f"{_LOG_NAME}: {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- options

def env_int(name, default, *aliases):
    for n in (name, *aliases):
        v = os.environ.get(n)
        if v not in (None, ""):
            try:
                return int(v)
            except ValueError:
                die(f"{n} must be a whole number (got '{v}')")
    return default


def env_float(name, default):
    v = os.environ.get(name)
    if v in (None, ""):
        return default
    try:
        return float(v)
    except ValueError:
        die(f"{name} must be a number (got '{v}')")


def env_str(name, default):
    v = os.environ.get(name)
    return default if v in (None, "") else v


def env_flag(name):
    return os.environ.get(name, "0") == "1"


def add_common_options(p, runs_default=None, runs_env="RUNS"):
    """--bench-dir, --reprise-bin, --skip-build and (when runs_default) --runs, defaulting to the
    environment variables the old scripts read."""
    p.add_argument("--bench-dir", default=env_str("BENCH_DIR", str(REPO / "bench-out")),
                   help="work folder, inputs cached there (env BENCH_DIR; default <repo>/bench-out)")
    p.add_argument("--reprise-bin", default=env_str("REPRISE_BIN", None),
                   help="use this reprise binary, no build (env REPRISE_BIN)")
    p.add_argument("--skip-build", action="store_true", default=env_flag("SKIP_BUILD"),
                   help="don't run `swift build -c release` (env SKIP_BUILD=1)")
    if runs_default is not None:
        p.add_argument("--runs", type=int, default=env_int(runs_env, runs_default),
                       help=f"timed runs per measurement, median reported (env {runs_env}; default {runs_default})")


def check_min(name, value, low):
    if value < low:
        die(f"{name} must be >= {low} (got {value})")


# ----------------------------------------------------------------------------- timed runs

@dataclass
class Run:
    wall: float
    user: float
    sys: float
    maxrss_kb: int

    @property
    def cpu(self):
        return self.user + self.sys


def spawn(cmd, stdout=None, stderr=None, env=None):
    """Start cmd (stdin closed); stdout/stderr: a path, a file, subprocess.PIPE or None (inherit)."""
    files = []

    def open_if_path(x, mode):
        if isinstance(x, (str, Path)):
            f = open(x, mode)
            files.append(f)
            return f
        return x
    try:
        return subprocess.Popen([str(c) for c in cmd], stdin=subprocess.DEVNULL,
                                stdout=open_if_path(stdout, "wb"), stderr=open_if_path(stderr, "wb"), env=env)
    except OSError as e:
        die(f"cannot run {cmd[0]}: {e}")
    finally:
        for f in files:
            f.close()


def reap(p):
    """Wait for p with os.wait4: (exit code, rusage of the child and the children it waited for).
    ru_maxrss is the largest resident set among them (kB on Linux), as GNU time's %M was; a child
    never reads below this Python process's own peak (the exec replaces a vfork'd copy of it)."""
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, ru


class Measure:
    """One timed unit that may run several children one after the other (e.g. a loudness pass, then
    the encode): wall from entry to exit, user+sys summed, peak RSS the largest child's."""

    def __init__(self, bench, name):
        self.bench, self.name = bench, name
        self.user = self.sys = 0.0
        self.maxrss = 0
        self.steps = 0

    def __enter__(self):
        self.t0 = time.monotonic()
        return self

    def add(self, ru):
        self.user += ru.ru_utime
        self.sys += ru.ru_stime
        self.maxrss = max(self.maxrss, ru.ru_maxrss)

    def run(self, cmd, stdout=None, stderr=None, env=None, check=True):
        """Run cmd; stdout/stderr go to RES/NAME.stdout/.stderr (appended after the first step)."""
        res = self.bench.res
        mode = "wb" if self.steps == 0 else "ab"
        self.steps += 1
        out = open(stdout or res / f"{self.name}.stdout", mode)
        err = open(stderr or res / f"{self.name}.stderr", mode)
        with out, err:
            p = spawn(cmd, out, err, env)
            rc, ru = reap(p)
        self.add(ru)
        if rc != 0 and check:
            tail = Path(stderr or res / f"{self.name}.stderr").read_text(errors="replace").splitlines()[-30:]
            sys.stderr.write("\n".join(tail) + "\n")
            die(f"command failed ({rc}): {' '.join(map(str, cmd))}")
        return rc

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.bench.record(self.name, Run(time.monotonic() - self.t0, self.user, self.sys, self.maxrss))
        return False

    @property
    def wall(self):
        return self.bench.runs[self.name][-1].wall


class Bench:
    """Work folders, the reprise binary, the runs of each named measurement and the summary."""

    def __init__(self, name, args, results, outputs=None, clean=True):
        global _LOG_NAME
        _LOG_NAME = f"bench {name}"
        self.name = name
        self.args = args
        self.t_start = time.time()
        self.bench_dir = Path(args.bench_dir).resolve()
        self.bench_dir.mkdir(parents=True, exist_ok=True)
        self.res = self.bench_dir / results
        self.outs = self.bench_dir / outputs if outputs else None
        if clean:
            shutil.rmtree(self.res, ignore_errors=True)
            if self.outs:
                shutil.rmtree(self.outs, ignore_errors=True)
        self.res.mkdir(parents=True, exist_ok=True)
        if self.outs:
            self.outs.mkdir(parents=True, exist_ok=True)
        self.runs = {}
        self.reprise = None
        self.built_from = "?"

    # runs
    def record(self, name, run):
        self.runs.setdefault(name, []).append(run)
        with open(self.res / f"{name}.runs", "a") as f:  # raw numbers, as the old scripts kept them
            f.write(f"{run.wall:.3f} {run.user:.2f} {run.sys:.2f} {run.maxrss_kb}\n")

    def measure(self, name):
        return Measure(self, name)

    def timed(self, name, cmd, **kw):
        """Run cmd as one timed unit; returns its wall seconds."""
        with self.measure(name) as m:
            m.run(cmd, **kw)
        return m.wall

    def wall(self, name):
        return median([r.wall for r in self.runs[name]])

    def cpu(self, name):
        return median([r.cpu for r in self.runs[name]])

    def user(self, name):
        return median([r.user for r in self.runs[name]])

    def sys(self, name):
        return median([r.sys for r in self.runs[name]])

    def peak_kb(self, name):
        return max(r.maxrss_kb for r in self.runs[name])

    def walls(self, name):
        return " ".join(f"{r.wall:.3f}" for r in self.runs[name])

    # the binary
    def ensure_reprise(self, needs=()):
        """The reprise binary: REPRISE_BIN as is, else .build/release/reprise, built with
        `swift build -c release` unless --skip-build (built anyway when it lacks a command in needs,
        e.g. ("ladder", "--help"))."""
        a = self.args

        def has(binary):
            return all(subprocess.run([str(binary), *n.split()], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL).returncode == 0 for n in needs)
        if a.reprise_bin:
            binary = Path(a.reprise_bin)
        else:
            binary = REPO / ".build/release/reprise"
            usable = binary.is_file() and os.access(binary, os.X_OK) and has(binary)
            if not a.skip_build or not usable:
                if a.skip_build:
                    log(f"--skip-build but {binary} is missing or lacks {', '.join(needs)}: building anyway")
                build_log = self.bench_dir / f"build-{self.name}.log"
                log(f"swift build -c release (log: {build_log}; may wait for another build's lock)")
                with open(build_log, "wb") as f:
                    rc = subprocess.run(["swift", "build", "-c", "release"], cwd=REPO, stdout=f,
                                        stderr=subprocess.STDOUT).returncode
                if rc != 0:
                    lines = build_log.read_text(errors="replace").splitlines()
                    errs = [l for l in lines if "error:" in l][:20] or lines[-20:]
                    sys.stderr.write("\n".join(errs) + "\n")
                    die(f"release build failed (full log: {build_log})")
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            die(f"no reprise binary at {binary}")
        if needs and not has(binary):
            die(f"{binary} has no working {' / '.join(needs)} (an old build? run without --skip-build)")
        self.reprise = str(binary.resolve())
        # The source state the binary was built from (noted now: Sources may change while it runs).
        head = git("rev-parse", "--short", "HEAD") or "?"
        if git("status", "--porcelain", "--", "Sources"):
            head += ", uncommitted changes in Sources/"
        self.built_from = head if not (a.reprise_bin or a.skip_build) else f"not built by this run; tree at {head}"
        return self.reprise

    # the summary
    def host_line(self):
        return f"host: {os.cpu_count()} cores, {mem_gb():.0f} GB RAM; {ffmpeg_version()}"

    def reprise_line(self):
        return f"reprise: {self.reprise} (built from {self.built_from})"

    def elapsed(self):
        return int(time.time() - self.t_start)

    def summary(self, lines, filename):
        """Print the summary and keep it in BENCH_DIR/filename."""
        text = "\n".join([""] + lines) + "\n"
        sys.stdout.write(text)
        sys.stdout.flush()
        (self.bench_dir / filename).write_text(text)


def git(*args):
    p = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else ""


def mem_gb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                return int(line.split()[1]) / 1048576
    return 0


def ffmpeg_version():
    p = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True)
    return " ".join(p.stdout.splitlines()[0].split()[:3]) if p.stdout else "ffmpeg ?"


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# ----------------------------------------------------------------------------- tools

def check_tools(encoders=("libx264",), muxers=(), need_ffmpeg=True):
    """ffmpeg/ffprobe on PATH, with the encoders and muxers asked for. Returns ffmpeg's encoder list."""
    for tool in (("ffmpeg", "ffprobe") if need_ffmpeg else ("ffprobe",)):
        if shutil.which(tool) is None:
            die(f"{tool} not found (apt-get install -y ffmpeg)")
    if not need_ffmpeg:
        return ""
    enc = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True).stdout
    for e in encoders:
        if f" {e} " not in enc:
            die(f"this ffmpeg has no {e} encoder")
    if muxers:
        mux = subprocess.run(["ffmpeg", "-hide_banner", "-muxers"], capture_output=True, text=True).stdout
        for m in muxers:
            if f" {m} " not in mux:
                die(f"this ffmpeg has no {m} muxer")
    return enc


# ----------------------------------------------------------------------------- numbers

def median(values):
    xs = sorted(float(v) for v in values)
    if not xs:
        return math.nan
    return statistics.median(xs)


def fdiv(a, b):
    """a / b as the table prints it (two decimals; 'nan' for b == 0)."""
    return "nan" if not b else f"{a / b:.2f}"


def mb(kb):
    return f"{kb / 1024:.0f}"


def pf(ok, miss="miss"):
    return "PASS" if ok else miss


def span(seconds):
    """10-min, 3-h or 140-s: a length as the report names it."""
    s = int(seconds)
    if s % 3600 == 0:
        return f"{s // 3600}-h"
    return f"{s // 60}-min" if s % 60 == 0 else f"{s}-s"


def hms(seconds):
    """0:02:00.4 for 120.4."""
    whole = int(seconds)
    frac = f"{seconds - whole:.1f}"[1:]
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}{frac}"


# ----------------------------------------------------------------------------- ffprobe

def ffprobe(*args):
    """ffprobe -v error ARGS; stdout stripped ('' on error)."""
    p = subprocess.run(["ffprobe", "-v", "error", *map(str, args)], capture_output=True, text=True)
    return p.stdout.strip()


def stream_value(path, sel, entries):
    """'-select_streams SEL -show_entries stream=ENTRIES -of csv=p=0' (first line)."""
    out = ffprobe("-select_streams", sel, "-show_entries", f"stream={entries}", "-of", "csv=p=0", path)
    return out.splitlines()[0] if out else ""


def duration(path):
    try:
        return float(ffprobe("-show_entries", "format=duration", "-of", "csv=p=0", path) or 0)
    except ValueError:
        return 0.0


def packets(path, sel="v:0"):
    v = ffprobe("-select_streams", sel, "-count_packets", "-show_entries", "stream=nb_read_packets",
                "-of", "csv=p=0", path)
    return int(v) if v.isdigit() else 0


def video_format(path):
    return stream_value(path, "v:0", "width,height,r_frame_rate")


def du_h(path):
    """du -h of a file, e.g. 1.2G."""
    p = subprocess.run(["du", "-h", str(path)], capture_output=True, text=True)
    return p.stdout.split()[0] if p.stdout else "?"


def du_sb(path):
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) if Path(path).is_dir() else 0


# ----------------------------------------------------------------------------- samples

def recording_ok(path, seconds, tol=0.2, audio=True):
    """A 1280x720 30 fps recording of about `seconds` (with audio when asked)."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return False
    if abs(duration(path) - seconds) > tol or video_format(path) != "1280,720,30/1":
        return False
    return not audio or bool(stream_value(path, "a:0", "codec_name"))


def make_sample(reprise, path, seconds, gop=None):
    """`reprise sample` of a 1280x720 30 fps recording with audio; returns (wall, Run)."""
    cmd = [reprise, "sample", path, "--seconds", seconds, "--size", "1280x720", "--fps", FPS]
    if gop:
        cmd += ["--gop", gop]
    t0 = time.monotonic()
    p = spawn(cmd, sys.stderr, sys.stderr)
    rc, ru = reap(p)
    if rc != 0:
        die("reprise sample failed")
    return Run(time.monotonic() - t0, ru.ru_utime, ru.ru_stime, ru.ru_maxrss)


def cached_sample(bench, name, seconds, gop=None):
    """BENCH_DIR/name: a `seconds` 720p30 sample with audio, made once. Returns (path, how made)."""
    path = bench.bench_dir / name
    if recording_ok(path, seconds):
        return path, "cached"
    log(f"making a {seconds} s 720p30 sample (reprise sample)")
    path.unlink(missing_ok=True)
    make_sample(bench.reprise, path, seconds, gop)
    if not recording_ok(path, seconds):
        die(f"{path} is not a {seconds} s 1280x720 30 fps recording with audio")
    return path, "made now with reprise sample"


@dataclass
class LongInputs:
    sample: Path
    long: Path
    sample_seconds: int
    copies: int
    sample_gen: str
    sample_gen_s: float
    long_gen: str
    long_duration: float


def long_input_names(sample_seconds, copies):
    if sample_seconds == 600 and copies == 18:
        return "sample-10min.mp4", "long-3h.mp4"  # the names the cache always had
    return f"sample-{sample_seconds}s.mp4", f"long-{sample_seconds}sx{copies}.mp4"


def long_inputs(bench, sample_seconds=600, copies=18):
    """The cut/highlights inputs: a sample (GOP 60) and COPIES of it concatenated (-c copy), both
    cached in BENCH_DIR (the long one remade when older than the sample)."""
    s_name, l_name = long_input_names(sample_seconds, copies)
    sample, long = bench.bench_dir / s_name, bench.bench_dir / l_name
    gen_time = Path(f"{sample}.gen-time")
    minutes = span(sample_seconds)
    if recording_ok(sample, sample_seconds, tol=0.5, audio=False):
        log(f"reusing {sample}")
        gen_s = 0.0
        sample_gen = "cached"
        try:
            gen_s = float(gen_time.read_text().split()[0])
            sample_gen = f"cached (made in {gen_s:.0f} s)"
        except (OSError, ValueError, IndexError):
            pass
    else:
        log(f"making the {minutes} 720p30 sample (reprise sample; several minutes)")
        sample.unlink(missing_ok=True)
        long.unlink(missing_ok=True)
        r = make_sample(bench.reprise, sample, sample_seconds, gop=60)
        gen_time.write_text(f"{r.wall:.2f} {r.user:.2f} {r.sys:.2f} {r.maxrss_kb}\n")
        if not recording_ok(sample, sample_seconds, tol=0.5, audio=False):
            die(f"the sample is not a {sample_seconds} s 1280x720 30 fps recording")
        gen_s = r.wall
        sample_gen = f"made now in {gen_s:.0f} s"
    want = sample_seconds * copies
    if long.is_file() and long.stat().st_mtime > sample.stat().st_mtime and abs(duration(long) - want) <= 1.0:
        log(f"reusing {long}")
        long_gen = "cached"
    else:
        log(f"concatenating {copies} copies into the long file (concat demuxer, -c copy)")
        lst = bench.bench_dir / "concat-list.txt"
        lst.write_text(f"file '{sample.name}'\n" * copies)
        long.unlink(missing_ok=True)
        tmp = Path(f"{long}.tmp")
        t0 = time.monotonic()
        if subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", lst,
                           "-map", "0", "-c", "copy", "-movflags", "+faststart", "-f", "mp4", tmp]).returncode != 0:
            die("ffmpeg concat failed")
        tmp.rename(long)
        long_gen = f"made now in {time.monotonic() - t0:.1f} s"
    dur = duration(long)
    if abs(dur - want) > 1.0:
        die(f"the long file lasts {dur} s, expected ~{want}")
    return LongInputs(sample, long, sample_seconds, copies, sample_gen, gen_s, long_gen, dur)


def index_paths(path):
    """Where reprise caches the packet index of `path`: keyed by the file's device and inode, under
    $REPRISE_CACHE_DIR, $XDG_CACHE_HOME/reprise, ~/.cache/reprise or the temp folder (first found
    wins), as PacketIndexer.cacheLocations does."""
    import tempfile
    st = os.stat(path)
    name = f"index/{st.st_dev:x}-{st.st_ino:x}.reprise-index"
    bases = []
    if os.environ.get("REPRISE_CACHE_DIR"):
        bases.append(os.environ["REPRISE_CACHE_DIR"])
    if os.environ.get("XDG_CACHE_HOME"):
        bases.append(os.environ["XDG_CACHE_HOME"] + "/reprise")
    if os.environ.get("HOME"):
        bases.append(os.environ["HOME"] + "/.cache/reprise")
    bases.append(os.path.join(tempfile.gettempdir(), f"reprise-{os.getuid()}"))
    return [Path(f"{b}/{name}") for b in bases]


def index_file(path):
    """The cached index of `path`, wherever reprise put it; None when there is none."""
    return next((p for p in index_paths(path) if p.is_file()), None)


# ----------------------------------------------------------------------------- JSON lines

def last_json(path_or_text, pred=lambda o: True):
    """The last line that parses as a JSON object satisfying pred; None when there is none."""
    text = path_or_text.read_text(errors="replace") if isinstance(path_or_text, Path) else path_or_text
    last = None
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and pred(obj):
            last = obj
    return last


def opt_args(opts, kind):
    """An encoder option dict as -KEY:v VALUE arguments."""
    args = []
    for k, v in (opts or {}).items():
        if isinstance(v, bool):
            v = int(v)
        args += [f"-{k}:{kind}", str(v)]
    return args


# ----------------------------------------------------------------------------- barcode

def barcode_geometry(width, height):
    """(side, x0, y0) of the frame-index barcode square `reprise sample` draws in a WxH frame."""
    side = (height // 2) // 48 * 48
    return side, (width - side) // 2, (height - side) // 2


def barcode_filter(width, height):
    side, x0, y0 = barcode_geometry(width, height)
    return f"crop={side}:{side}:{x0}:{y0},scale=8:6:flags=area"


def read_barcodes(data):
    """Frame indices from 8x6 gray cells per frame (48 bytes each): 24 bits over the top three rows,
    each with its complement below it; None where a frame is unreadable."""
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


def barcode_summary(values):
    """{frames, first, last, contiguous, unreadable, jumps, distinct} of read_barcodes' list."""
    unreadable = sum(1 for v in values if v is None)
    jumps, prev = [], None
    for pos, v in enumerate(values):
        if v is not None and prev is not None and v != prev + 1:
            jumps.append([pos, prev, v])
        if v is not None:
            prev = v
    readable = [v for v in values if v is not None]
    return {"frames": len(values), "first": values[0] if values else None, "last": values[-1] if values else None,
            "contiguous": unreadable == 0 and not jumps and bool(values), "unreadable": unreadable,
            "jumps": jumps[:5], "distinct": len(set(readable))}
