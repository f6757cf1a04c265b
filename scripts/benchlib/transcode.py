"""`bench.py transcode`: `reprise transcode` vs the ffmpeg CLI doing the same work (the whole input).

1. each profile alone: `reprise transcode IN --profile P -o OUT --json` vs the ffmpeg CLI doing what the
   product's JSON says it did: its videoFilter (-vf) and audioFilter (-af), its encoders and encoder
   option dicts (-KEY:v VALUE, -KEY:a VALUE), moov at the front for mp4 (+faststart), and, for a profile
   with loudness, ffmpeg's own loudnorm measurement pass first, whose values replace the product's
   measured_* in the loudnorm arguments (the two-pass loudnorm an ffmpeg user runs). Both passes are
   one timed unit. Ratio reprise/ffmpeg, target <= 1.05.
2. all the profiles in one `reprise transcode --profile A,B,C -o DIR` vs the sum of separate ffmpeg runs
   (the runs of 1. when the multi-profile JSON asks for the same work, else run again). Reprise should
   be faster (it decodes once).
Peak RSS of every run (for ffmpeg the larger of its two passes), CPU seconds, and an output table (size,
frames, bitrate, loudness of both sides) to show the two did the same work.
--ffmpeg-only (automatic while the binary has no `transcode` command) plans the ffmpeg work from the
profile files instead of the product's JSON.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from . import common as c
from .common import die, log, opt_args

TARGET_RATIO = 1.05
DEFAULT_PROFILES = "vertical-short,long-form-720p,overseas-low"


def add_arguments(p):
    c.add_common_options(p, runs_default=1)
    p.add_argument("--seconds", type=int, default=c.env_int("SECONDS", 120, "BENCH_SECONDS"),
                   help="length of the 720p30 input (env SECONDS or BENCH_SECONDS; default 120). vertical-short "
                        "asks for 30..180 s. On the 2-core machine one run of everything takes about 5 min per 60 s")
    p.add_argument("--profiles", default=c.env_str("PROFILES", DEFAULT_PROFILES),
                   help=f"comma-separated profiles (env PROFILES; default {DEFAULT_PROFILES}; unknown ones skipped)")
    p.add_argument("--ffmpeg-one-process", action="store_true", default=c.env_flag("FFMPEG_ONE_PROCESS"),
                   help="also time ONE ffmpeg process writing all the profiles (info; env FFMPEG_ONE_PROCESS=1)")
    p.add_argument("--ffmpeg-only", action="store_true", default=c.env_flag("FFMPEG_ONLY"),
                   help="don't run reprise transcode; plan the ffmpeg work from the profile files (env FFMPEG_ONLY=1)")


def untimed(cmd):
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def load_result(path):
    """The last line of a `--json` stdout that parses as an object with outputs."""
    last = c.last_json(Path(path), lambda o: isinstance(o.get("outputs"), list))
    if not last:
        die(f"no result object with outputs in {path}")
    return last


def find_output(result, profile):
    outs = result["outputs"]
    for o in outs:
        if o.get("profile") == profile:
            return o
    if len(outs) == 1 and not profile:
        return outs[0]
    die(f"result has no output for profile {profile!r} "
                     f"(has {[o.get('profile') for o in outs]})")


LOUDNORM_MEASURED = {"measured_i", "measured_lra", "measured_tp", "measured_thresh", "offset"}


def plan_key(out):
    """Fields that define the work; loudnorm's measured values are left out (they are data)."""
    af = out.get("audioFilter") or ""
    af = re.sub(r"(?i)(measured_(i|lra|tp|thresh)|offset)=[-+0-9.eE]+", r"\1=*", af)
    keys = ["container", "width", "height", "videoEncoder", "videoOptions", "videoFilter",
            "audioEncoder", "audioOptions"]
    d = {k: out.get(k) for k in keys}
    d["audioFilter"] = af
    d["loudness"] = out.get("loudness") is not None
    return json.dumps(d, sort_keys=True)


# ----------------------------------------------------------------------------- loudness pass

def split_loudnorm(af):
    """(prefix chain before loudnorm, loudnorm args dict in order, match) or None."""
    m = re.search(r"(?:^|,)\s*loudnorm(?:=([^,;\[]*))?", af)
    if not m:
        return None
    prefix = af[:m.start()].strip().rstrip(",")
    args = []
    if m.group(1):
        for part in m.group(1).split(":"):
            if "=" in part:
                k, v = part.split("=", 1)
                args.append((k.strip(), v.strip()))
            elif part.strip():
                args.append((None, part.strip()))  # positional (unusual): kept as is
    return prefix, args, m


def loudnorm_string(args):
    return "loudnorm=" + ":".join(v if k is None else f"{k}={v}" for k, v in args) if args else "loudnorm"


def last_json_block(text):
    end = text.rfind("}")
    start = text.rfind("{", 0, end)
    if start < 0 or end < 0:
        return None
    try:
        return json.loads(text[start:end + 1])
    except ValueError:
        return None


def measure_loudnorm(inp, prefix, args, audio_map, runner=None):
    """Run ffmpeg's loudnorm measurement pass; return (command, measured dict)."""
    margs = [(k, v) for k, v in args
             if k is None or (k.lower() not in LOUDNORM_MEASURED and k.lower() not in ("linear", "print_format"))]
    margs.append(("print_format", "json"))
    chain = (prefix + "," if prefix and "[" not in prefix and ";" not in prefix else "") + loudnorm_string(margs)
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-v", "info", "-i", inp,
           "-map", audio_map, "-vn", "-sn", "-dn", "-af", chain, "-f", "null", "-"]
    p = (runner or untimed)(cmd)
    if p.returncode != 0:
        sys.stderr.write(p.stderr[-4000:])
        die(f"loudness pass failed: {shlex.join(cmd)}")
    stats = last_json_block(p.stderr)
    if not stats or "input_i" not in stats:
        die("no loudnorm JSON in the measurement pass output")
    return cmd, stats


def measure_ebur128(inp, audio_map, runner=None):
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-v", "info", "-i", inp,
           "-map", audio_map, "-vn", "-sn", "-dn", "-af", "ebur128=peak=true", "-f", "null", "-"]
    p = (runner or untimed)(cmd)
    if p.returncode != 0:
        sys.stderr.write(p.stderr[-4000:])
        die(f"loudness pass failed: {shlex.join(cmd)}")
    m = re.findall(r"I:\s+(-?[0-9.]+|-inf) LUFS", p.stderr)
    return cmd, {"integrated": m[-1] if m else None}


def with_measured(af, stats):
    """The product's audio filter with ffmpeg's measured values in its loudnorm arguments."""
    prefix, args, m = split_loudnorm(af)
    values = {"measured_i": stats["input_i"], "measured_lra": stats["input_lra"],
              "measured_tp": stats["input_tp"], "measured_thresh": stats["input_thresh"],
              "offset": stats["target_offset"]}
    seen = set()
    new = []
    for k, v in args:
        if k is not None and k.lower() in values:
            new.append((k, values[k.lower()]))
            seen.add(k.lower())
        else:
            new.append((k, v))
    for k in ("measured_I", "measured_LRA", "measured_TP", "measured_thresh", "offset"):
        if k.lower() not in seen:
            new.append((k, values[k.lower()]))
    start = m.start() + (1 if af[m.start()] == "," else 0)
    return af[:start] + loudnorm_string(new) + af[m.end():]




def output_args(out, audio_filter, output, audio_format=None):
    """ffmpeg CLI output options doing what one product output did (after `-i INPUT`).

    audio_format (RATE, CHANNELS) pins the encoder's input format to the product's output's, as the
    product's abuffersink/encoder setup does. Without it ffmpeg 5.1 can fail to negotiate a layout
    after loudnorm in dynamic mode ("Cannot select channel layout"), which loudnorm falls back to
    when measured_LRA is 0 (steady test tones). -ar/-ac convert only where the graph's output differs.
    """
    a = ["-map", "0:v:0"]
    vf = out.get("videoFilter")
    if vf:
        # A simple filtergraph may hold split/overlay with inner labels (and [in]/[out] labels) as long as
        # one input and one output stay open; it is the same libavfilter parse the product does.
        a += ["-vf", vf]
    a += ["-c:v", out.get("videoEncoder") or "libx264"] + opt_args(out.get("videoOptions"), "v")
    if out.get("audioEncoder"):
        a += ["-map", "0:a:0"]
        if audio_filter:
            a += ["-af", audio_filter]
        a += ["-c:a", out["audioEncoder"]] + opt_args(out.get("audioOptions"), "a")
        rate_ch = audio_format or (out.get("sampleRate"), out.get("channels"))
        aopts = out.get("audioOptions") or {}
        if rate_ch[0] and not ({"ar", "sample_rate"} & set(aopts)):
            a += ["-ar:a", str(rate_ch[0])]
        if rate_ch[1] and not ({"ac", "channels", "ch_layout", "channel_layout"} & set(aopts)):
            a += ["-ac:a", str(rate_ch[1])]
    else:
        a += ["-an"]
    a += ["-sn", "-dn"]
    container = (out.get("container") or os.path.splitext(output)[1].lstrip(".") or "mp4").lower()
    fmt = {"mp4": "mp4", "mov": "mov", "mkv": "matroska", "matroska": "matroska", "ts": "mpegts",
           "mpegts": "mpegts"}.get(container, container)
    if fmt in ("mp4", "mov"):
        a += ["-movflags", "+faststart"]  # the product writes moov at the front
    a += ["-f", fmt, output]
    return a



def parse_simple_yaml(path):
    """Enough YAML for the shipped profile files: nested maps by indentation, scalars, comments."""
    root = {}
    stack = [(-1, root)]
    with open(path) as f:
        for raw in f:
            line = re.sub(r"\s+#.*$", "", raw.rstrip("\n"))
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            indent = len(line) - len(line.lstrip())
            key, _, value = line.strip().partition(":")
            value = value.strip()
            while stack[-1][0] >= indent:
                stack.pop()
            parent = stack[-1][1]
            if value == "":
                parent[key] = {}
                stack.append((indent, parent[key]))
            else:
                parent[key] = value.strip("'\"")
    return root


def rate(v):
    if v is None:
        return None
    v = str(v).strip()
    mult = {"k": 1000, "K": 1000, "m": 1000000, "M": 1000000}.get(v[-1], 1)
    return str(int(float(v[:-1] if mult != 1 else v) * mult))


def probe_input(inp):
    p = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                        "stream=width,height,r_frame_rate", "-of", "json", inp],
                       capture_output=True, text=True, check=True)
    s = json.loads(p.stdout)["streams"][0]
    n, d = s["r_frame_rate"].split("/")
    return int(s["width"]), int(s["height"]), float(n) / float(d)


def emulate(ymls, inp, out_json):
    """A result in the product's --json shape, planned here from the profile files (used only while
    `reprise transcode` does not exist, to exercise the ffmpeg half). Loudness is measured untimed."""
    sw, sh, sfps = probe_input(inp)
    outputs = []
    for y in ymls:
        p = parse_simple_yaml(y)
        v, a = p.get("video", {}), p.get("audio", {})
        W, H = int(v["width"]), int(v["height"])
        fps = min(sfps, float(v.get("max_fps", sfps)))
        fit = v.get("fit", "pad")
        if fit in ("crop", "follow"):
            vf = f"scale={W}:{H}:force_original_aspect_ratio=increase,crop={W}:{H}"
        elif fit == "blur-pad":
            vf = (f"[in]split[bgsrc][fgsrc];[bgsrc]scale={W // 4}:{H // 4}:force_original_aspect_ratio=increase,"
                  f"crop={W // 4}:{H // 4},boxblur=10,scale={W}:{H}[bg];"
                  f"[fgsrc]scale={W}:{H}:force_original_aspect_ratio=decrease[fg];"
                  f"[bg][fg]overlay=(W-w)/2:(H-h)/2,setsar=1,format=yuv420p[out]")
        else:
            vf = f"scale={W}:{H}:force_original_aspect_ratio=decrease,pad={W}:{H}:(ow-iw)/2:(oh-ih)/2"
        if fit != "blur-pad":
            vf += f",fps={fps:g},setsar=1,format=yuv420p"
        g = str(round(fps * float(v.get("gop_seconds", 2))))
        vo = dict(v.get("encoder_options", {}))
        if "quality" in v:
            vo["crf"] = v["quality"]
        if "bitrate" in v:
            vo["b"] = rate(v["bitrate"])
        if "max_bitrate" in v:
            vo["maxrate"] = rate(v["max_bitrate"])
        if "buffer" in v:
            vo["bufsize"] = rate(v["buffer"])
        vo.update({"g": g, "keyint_min": g, "sc_threshold": "0"})
        if "profile" in v:
            vo["profile"] = v["profile"]
        codec = a.get("codec", "aac")
        notes = []
        if codec == "he-aac":
            notes.append("he-aac: this ffmpeg has no HE-AAC encoder; AAC-LC used")
        aenc = "libopus" if codec == "opus" else "aac"
        sr = int(a.get("sample_rate", 48000))
        ch = int(a.get("channels", 2))
        layout = {1: "mono", 2: "stereo"}.get(ch, f"{ch}c")
        af = f"aresample={sr},aformat=sample_fmts=fltp:channel_layouts={layout}"
        loud = None
        if "loudness" in a:
            I, TP = float(a["loudness"]), float(a.get("true_peak", -1))
            _, stats = measure_loudnorm(inp, af, [("I", f"{I:g}"), ("TP", f"{TP:g}"), ("LRA", "11")], "0:a:0")
            af += (f",loudnorm=I={I:g}:TP={TP:g}:LRA=11:measured_I={stats['input_i']}"
                   f":measured_TP={stats['input_tp']}:measured_LRA={stats['input_lra']}"
                   f":measured_thresh={stats['input_thresh']}:offset={stats['target_offset']}"
                   f":linear=true,aresample={sr}")
            loud = {"target": I, "truePeak": TP, "measuredI": float(stats["input_i"])}
        outputs.append({
            "profile": p.get("name", os.path.splitext(os.path.basename(y))[0]),
            "output": None, "container": p.get("container", "mp4"), "width": W, "height": H,
            "frameRate": fps, "videoCodec": v.get("codec", "h264"), "videoEncoder": "libx264",
            "videoOptions": vo, "videoFilter": vf, "audioCodec": codec, "audioEncoder": aenc,
            "audioOptions": {"b": rate(a.get("bitrate", "128k"))}, "audioFilter": af,
            "sampleRate": sr, "channels": ch,  # not in the product's contract; read by ffmpeg-run
            "loudness": loud, "notes": notes + ["emulated by scripts/bench.py transcode, not reprise"]})
    with open(out_json, "w") as f:
        f.write(json.dumps({"event": "result", "input": inp, "seconds": None, "outputs": outputs}) + "\n")


# ----------------------------------------------------------------------------- probe

def probe(path):
    """[width, height, frames, duration, size, video kb/s, audio codec, rate, channels, LUFS (ebur128)]."""
    def ff(*args):
        p = subprocess.run(["ffprobe", "-v", "error", *args, path], capture_output=True, text=True)
        return p.stdout.strip()
    v = ff("-select_streams", "v:0", "-count_packets", "-show_entries",
           "stream=width,height,nb_read_packets,bit_rate", "-of", "json")
    a = ff("-select_streams", "a:0", "-show_entries", "stream=codec_name,sample_rate,channels", "-of", "json")
    fmt = ff("-show_entries", "format=duration,size", "-of", "json")
    vs = (json.loads(v or "{}").get("streams") or [{}])[0]
    as_ = (json.loads(a or "{}").get("streams") or [{}])[0]
    fm = json.loads(fmt or "{}").get("format") or {}
    lufs = "-"
    if as_:
        p = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-v", "info", "-i", path,
                            "-map", "0:a:0", "-af", "ebur128", "-f", "null", "-"],
                           capture_output=True, text=True)
        m = re.findall(r"I:\s+(-?[0-9.]+|-inf) LUFS", p.stderr)
        lufs = m[-1] if m else "?"
    vk = int(vs["bit_rate"]) // 1000 if vs.get("bit_rate", "N/A") not in ("N/A", None) else "?"
    return [str(x) for x in (vs.get("width", "?"), vs.get("height", "?"), vs.get("nb_read_packets", "?"),
                             "%.2f" % float(fm.get("duration", 0) or 0), fm.get("size", 0), vk,
                             as_.get("codec_name", "-"), as_.get("sample_rate", "-"), as_.get("channels", "-"), lufs)]


# ----------------------------------------------------------------------------- main


# ----------------------------------------------------------------------------- the ffmpeg side

def ffmpeg_work(b, name, jobs, audio_formats, input_path, sidecar):
    """One timed unit doing the ffmpeg CLI's equivalent of jobs [(result, profile, output)]: for each
    output whose profile has loudness, a measurement pass (loudnorm print_format=json when the
    product's audio filter uses loudnorm, else ebur128) with the measured values put into the
    product's loudnorm arguments; then ONE ffmpeg encode (several outputs = one process that decodes
    once). Writes {commands, measured} to sidecar. Returns the wall seconds."""
    inp = str(input_path)
    with b.measure(name) as m:
        pass_err = b.res / f"{name}.pass.stderr"

        def timed_pass(cmd):
            pass_err.unlink(missing_ok=True)
            rc = m.run(cmd, stdout=os.devnull, stderr=pass_err, check=False)
            return SimpleNamespace(returncode=rc, stderr=pass_err.read_text(errors="replace"))
        commands, measured = [], {}
        enc = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", "-i", inp]
        for result, profile, output in jobs:
            out = find_output(result, profile)
            af = out.get("audioFilter") or ""
            if out.get("loudness") is not None and out.get("audioEncoder"):
                ln = split_loudnorm(af)
                if ln:
                    cmd, stats = measure_loudnorm(inp, ln[0], ln[1], "0:a:0", timed_pass)
                    commands.append(shlex.join(cmd))
                    measured[profile] = {k: stats.get(k) for k in
                                         ("input_i", "input_tp", "input_lra", "input_thresh", "target_offset")}
                    af = with_measured(af, stats)
                else:
                    # Not loudnorm (e.g. a volume gain from the product's own measurement): do ffmpeg's
                    # measurement work too, and apply the product's filter unchanged.
                    cmd, stats = measure_ebur128(inp, "0:a:0", timed_pass)
                    commands.append(shlex.join(cmd))
                    measured[profile] = stats
            enc += output_args(out, af, str(output), audio_formats.get(profile))
        commands.append(shlex.join(enc))
        with open(sidecar, "w") as f:
            json.dump({"commands": commands, "measured": measured}, f, indent=1)
        m.run(enc)
    return m.wall


# ----------------------------------------------------------------------------- the benchmark

def read_profiles(b, wanted):
    """{name: (size, ext, file)} of the wanted profiles that `reprise profiles` knows. Its lines:
    "NAME<TAB>WxH CODEC CONTAINER<TAB>DESCRIPTION" then "<TAB>SOURCE FILE ..."."""
    p = subprocess.run([b.reprise, "profiles"], capture_output=True, text=True)
    (b.res / "profiles.txt").write_text(p.stdout)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        die("reprise profiles failed")
    lines = p.stdout.splitlines()
    found = {}
    for name in wanted:
        k = next((i for i, l in enumerate(lines) if l.split("\t")[0] == name), None)
        if k is None:
            log(f"profile '{name}' is not known to reprise; skipped")
            continue
        info = lines[k].split("\t")[1].split()
        ext = {"mkv": "mkv", "ts": "ts"}.get(info[2] if len(info) > 2 else "", "mp4")
        src = lines[k + 1] if k + 1 < len(lines) else ""
        src = re.sub(r" \(overrides .*$", "", src[1:] if src.startswith("\t") else src)
        found[name] = SimpleNamespace(size=info[0], ext=ext, file=src)
    return found


def make_input(b, seconds):
    path = b.bench_dir / f"transcode-input-{seconds}s.mp4"
    sample = b.bench_dir / "sample-10min.mp4"  # `bench.py cut`'s cached sample, when there
    if c.recording_ok(path, seconds):
        return path, "cached"
    path.unlink(missing_ok=True)
    if sample.is_file() and seconds <= 600 and c.video_format(sample) == "1280,720,30/1":
        with open(b.res / "input.log", "wb") as f:
            rc = subprocess.run([b.reprise, "cut", sample, "-o", path, "--from", "0", "--to", str(seconds),
                                 "--mode", "smart"], stdout=f, stderr=subprocess.STDOUT).returncode
        if rc == 0 and c.recording_ok(path, seconds):
            return path, f"first {seconds} s of {sample.name} (reprise cut, smart: GOPs copied)"
    path.unlink(missing_ok=True)
    log(f"making a {seconds} s 720p30 sample (reprise sample)")
    c.make_sample(b.reprise, path, seconds, gop=60)
    if not c.recording_ok(path, seconds):
        die(f"{path} is not a {seconds} s 1280x720 30 fps recording with audio")
    return path, "made now with reprise sample"


def run(args):
    b = c.Bench("transcode", args, "transcode-results", "transcode-outputs")
    c.check_min("--seconds", args.seconds, 2)
    c.check_min("--runs", args.runs, 1)
    c.check_tools()
    b.ensure_reprise()
    R, OUTS = b.res, b.outs
    mode = "full"
    if args.ffmpeg_only:
        mode = "ffmpeg-only"
    else:
        helptext = subprocess.run([b.reprise, "--help"], capture_output=True, text=True).stdout
        if not re.search(r"^\s+transcode(\s|$)", helptext, re.M):
            mode = "ffmpeg-only"
            log("this reprise has no 'transcode' command: ffmpeg half only, planned from the profile files")
    full = mode == "full"

    # Re-encode against re-encode: the shipped profiles with `reuse: never`, so a fitting sample is not
    # copied (the copy path has its own figure: `reprise transcode` with reuse: auto, in the README).
    reencode = R / "profiles-reencode"
    reencode.mkdir(exist_ok=True)
    for y in sorted((c.REPO / "Profiles").glob("*.yaml")):
        (reencode / y.name).write_text(re.sub(r"(?m)^(\s*)reuse: auto", r"\1reuse: never", y.read_text()))
    pdir = ["--profile-dir", reencode]
    profs = read_profiles(b, [p for p in args.profiles.split(",") if p])
    if not profs:
        die(f"none of the profiles '{args.profiles}' exist (see reprise profiles)")
    plist = list(profs)
    joined = ",".join(plist)

    inp, input_gen = make_input(b, args.seconds)
    input_frames = c.packets(inp)
    input_audio = c.stream_value(inp, "a:0", "codec_name,sample_rate,channels").replace(",", " ")
    log(f"input: {inp} ({args.seconds} s, {input_frames} frames, audio {input_audio}); profiles: {joined}; "
        f"runs: {args.runs}; mode: {mode}")

    results = {}  # "r_P" / "r_multi" -> the product's (or the emulated) result
    if not full:
        emulate([profs[p].file for p in plist], str(inp), R / "emulated.json")
        em = load_result(R / "emulated.json")
        for p in plist:
            results[f"r_{p}"] = em
        results["r_multi"] = em

    load_before = c.loadavg()
    log(f"load average before timing: {load_before} (other work on the machine skews the numbers)")

    def audio_format(p):
        """The audio format (rate, channels) of reprise's output for a profile (not timed). ffmpeg gets
        the same -ar/-ac, which the product sets on its encoder."""
        if not full:
            return None
        f = OUTS / f"r_{p}.{profs[p].ext}"
        o = find_output(results[f"r_{p}"], p).get("output")
        if o and Path(o).is_file():
            f = Path(o)
        rc = c.stream_value(f, "a:0", "sample_rate,channels")
        return tuple(rc.split(",")) if re.fullmatch(r"[0-9]+,[0-9]+", rc) else None

    # 1. one profile at a time. Reprise first (its JSON says what ffmpeg must do), then ffmpeg, profile
    # by profile, so drift in the machine's load hits both alike.
    afmt = {}
    for i in range(1, args.runs + 1):
        for p in plist:
            if full:
                out = OUTS / f"r_{p}.{profs[p].ext}"
                out.unlink(missing_ok=True)
                w = b.timed(f"r_{p}", [b.reprise, "transcode", inp, "--profile", p, "-o", out, "--json", *pdir])
                results[f"r_{p}"] = load_result(R / f"r_{p}.stdout")
                log(f"1. run {i}/{args.runs} {p}: reprise {w:.3f} s")
            if i == 1:
                f = audio_format(p)
                if f:
                    afmt[p] = f
            out = OUTS / f"f_{p}.{profs[p].ext}"
            out.unlink(missing_ok=True)
            w = ffmpeg_work(b, f"f_{p}", [(results[f"r_{p}"], p, out)], afmt, inp, R / f"f_{p}.cmd.json")
            log(f"1. run {i}/{args.runs} {p}: ffmpeg {w:.3f} s")

    # 2. all profiles in one run
    multi_dir = OUTS / "multi"
    multi_reuse = True
    for i in range(1, args.runs + 1):
        if full:
            shutil.rmtree(multi_dir, ignore_errors=True)
            multi_dir.mkdir(parents=True)
            w = b.timed("r_multi", [b.reprise, "transcode", inp, "--profile", joined, "-o", multi_dir, "--json", *pdir])
            results["r_multi"] = load_result(R / "r_multi.stdout")
            log(f"2. run {i}/{args.runs}: reprise {joined} in one run {w:.3f} s")
        if i == 1:
            for p in plist:
                single = plan_key(find_output(results[f"r_{p}"], p))
                multi = plan_key(find_output(results["r_multi"], p))
                if single != multi:
                    multi_reuse = False
                    log(f"2. {p}: the multi-profile run asks for other filters/options than the single run; "
                        "ffmpeg runs again for it")
                    (R / f"plan-diff-{p}.txt").write_text(f"{single}\n{multi}\n")
        if not multi_reuse:
            for p in plist:
                out = OUTS / f"fm_{p}.{profs[p].ext}"
                out.unlink(missing_ok=True)
                w = ffmpeg_work(b, f"fm_{p}", [(results["r_multi"], p, out)], afmt, inp, R / f"fm_{p}.cmd.json")
                log(f"2. run {i}/{args.runs} {p}: ffmpeg (separate run) {w:.3f} s")
        if args.ffmpeg_one_process:
            jobs = []
            for p in plist:
                out = OUTS / f"fo_{p}.{profs[p].ext}"
                out.unlink(missing_ok=True)
                jobs.append((results["r_multi"], p, out))
            w = ffmpeg_work(b, "f_one", jobs, afmt, inp, R / "f_one.cmd.json")
            log(f"2. run {i}/{args.runs}: ffmpeg, one process for all {w:.3f} s")
    load_after = c.loadavg()

    # output checks (not timed)
    log("checking outputs")
    probes = {}
    for p in plist:
        r_out = OUTS / f"r_{p}.{profs[p].ext}"
        if full:
            o = find_output(results[f"r_{p}"], p).get("output")
            if o and Path(o).is_file():
                r_out = Path(o)
            o = find_output(results["r_multi"], p).get("output")
            m_out = Path(o) if o and Path(o).is_file() else multi_dir / f"{inp.stem}.{p}.{profs[p].ext}"
            if r_out.is_file():
                probes[f"r_{p}"] = probe(r_out)
            if m_out.is_file():
                probes[f"m_{p}"] = probe(m_out)
        probes[f"f_{p}"] = probe(OUTS / f"f_{p}.{profs[p].ext}")
    (R / "probes.json").write_text(json.dumps(probes, indent=1))

    # summary
    def prow(n):
        return f"{b.wall(n):8.2f} {b.cpu(n):7.1f} {c.mb(b.peak_kb(n)):>7}"

    lines = ["==================== Reprise transcode benchmark ====================", b.host_line(), b.reprise_line()]
    if not full:
        lines += ["MODE: ffmpeg half only (no reprise transcode); the ffmpeg work is planned from the profile files by",
                  "      scripts/bench.py transcode (emulate), not taken from the product's JSON; there are no ratios."]
    lines += [
        f"input: {inp} ({args.seconds} s 1280x720 30 fps, {input_frames} frames, audio {input_audio}, {c.du_h(inp)}), {input_gen}",
        f"load average: before {load_before}, after {load_after}; runs per measurement: {args.runs} (median)",
        "",
        "1. one profile per run (whole input)         reprise                    ffmpeg CLI (+ loudness pass)",
        f"  {'profile':<28} {'wall s':>8} {'cpu s':>7} {'peak MB':>7}   {'wall s':>8} {'cpu s':>7} {'peak MB':>7}   "
        f"{'r/f':>7}  target <= {TARGET_RATIO}",
    ]
    for p in plist:
        label = f"{p} ({profs[p].size})"
        if full:
            ratio = c.fdiv(b.wall(f"r_{p}"), b.wall(f"f_{p}"))
            lines.append(f"  {label:<28} {prow(f'r_{p}')}   {prow(f'f_{p}')}   {ratio:>6}x  "
                         f"{c.pf(ratio != 'nan' and float(ratio) <= TARGET_RATIO)}")
        else:
            lines.append(f"  {label:<28} {'-':>8} {'-':>7} {'-':>7}   {prow(f'f_{p}')}   {'-':>7}")
    lines += ["", f"2. profiles {joined} together", f"  {'':<46} {'wall s':>8} {'cpu s':>7} {'peak MB':>7}"]
    if full:
        lines.append(f"  {'reprise, one run (-o DIR)':<46} {prow('r_multi')}")
    sep = [f"f_{p}" for p in plist] if multi_reuse else [f"fm_{p}" for p in plist]
    fm_sum = sum(b.wall(n) for n in sep)
    fm_cpu = sum(b.cpu(n) for n in sep)
    fm_rss = max(b.peak_kb(n) for n in sep)
    fm_note = ("the runs of 1.: the multi-profile JSON asks for the same work" if multi_reuse else
               f"run again: the multi-profile JSON differs from the single ones, see {R}/plan-diff-*.txt")
    lines.append(f"  {f'ffmpeg, {len(plist)} separate runs (sum)':<46} {fm_sum:8.2f} {fm_cpu:7.1f} {c.mb(fm_rss):>7}   "
                 f"({fm_note}; peak = largest run)")
    if args.ffmpeg_one_process:
        lines.append(f"  {'ffmpeg, one process writing all (info)':<46} {prow('f_one')}   (info: decodes once, like reprise)")
    if full:
        rm = b.wall("r_multi")
        lines += ["", "ratios:"]
        for p in plist:
            ratio = c.fdiv(b.wall(f"r_{p}"), b.wall(f"f_{p}"))
            lines.append(f"  {f'reprise / ffmpeg, {p}':<58} {ratio:>7}x  target <= {TARGET_RATIO}  "
                         f"{c.pf(ratio != 'nan' and float(ratio) <= TARGET_RATIO)}")
        ratio = c.fdiv(rm, fm_sum)
        lines.append(f"  {f'reprise one run / ffmpeg {len(plist)} separate runs':<58} {ratio:>7}x  target < 1     "
                     f"{c.pf(ratio != 'nan' and float(ratio) < 1)}")
        lines.append(f"  {'reprise one run / sum of reprise single runs':<58} "
                     f"{c.fdiv(rm, sum(b.wall(f'r_{p}') for p in plist)):>7}x  (info: what one decode for all saves)")
        if args.ffmpeg_one_process:
            lines.append(f"  {'reprise one run / ffmpeg one process':<58} {c.fdiv(rm, b.wall('f_one')):>7}x  (info)")
        lines.append(f"  {'peak memory: reprise one run / largest ffmpeg run':<58} "
                     f"{c.fdiv(b.peak_kb('r_multi'), fm_rss):>7}x  (info)")
        walls = "".join(f"r_{p} [{b.walls(f'r_{p}')}] f_{p} [{b.walls(f'f_{p}')}]  " for p in plist)
        lines += ["", f"wall of each run: {walls}r_multi [{b.walls('r_multi')}]"]
    lines += ["", "outputs (last run): size, frames, duration, video kb/s, audio, integrated loudness (ebur128)",
              f"  {'output':<34} {'WxH':>10} {'frames':>7} {'dur s':>8} {'video kb/s':>8}  {'audio':<18} {'LUFS':>7}"]

    def orow(label, key):
        pr = probes.get(key)
        if not pr:
            return f"  {label:<34} (missing)"
        w, h, fr, du, sz, vk, ac, sr, ch, lu = pr
        return (f"  {label:<34} {w + 'x' + h:>10} {fr:>7} {du:>8} {vk:>8}    {ac + ' ' + sr + '/' + ch:<18} {lu:>7}   "
                f"{int(sz) / 1e6:.1f} MB")
    for p in plist:
        if full:
            lines.append(orow(f"{p} reprise", f"r_{p}"))
            lines.append(orow(f"{p} reprise (multi run)", f"m_{p}"))
        lines.append(orow(f"{p} ffmpeg", f"f_{p}"))
    lines += ["", "loudness: product's measured input (from its audioFilter) vs ffmpeg's measurement pass" if full else
              "loudness: the emulated plan's measured input (not the product's) vs ffmpeg's measurement pass"]
    for p in plist:
        o = find_output(results[f"r_{p}"], p)
        side = json.loads((R / f"f_{p}.cmd.json").read_text())
        af = o.get("audioFilter") or ""

        def grab(k):
            m = re.search(r"(?i)(?<![a-z_])" + k + r"=(-?[0-9.]+)", af)
            return m.group(1) if m else "-"
        ff = (side.get("measured") or {}).get(p)
        if o.get("loudness") is None:
            lines.append(f"  {p:<28} no loudness target")
        elif ff and "input_i" in ff:
            lines.append(f"  {p:<28} product I={grab('measured_I')} TP={grab('measured_TP')} LRA={grab('measured_LRA')} "
                         f"offset={grab('offset')}   ffmpeg I={ff['input_i']} TP={ff['input_tp']} LRA={ff['input_lra']} "
                         f"offset={ff['target_offset']}")
        else:
            lines.append(f"  {p:<28} product loudness {json.dumps(o.get('loudness'))}; ffmpeg {json.dumps(ff)}")
    if full:
        lines += ["", "product notes and engine seconds:"]
        for name in [f"r_{p}" for p in plist] + ["r_multi"]:
            r = results[name]
            notes = [f"{o.get('profile')}: {n}" for o in r["outputs"] for n in (o.get("notes") or [])]
            lines.append(f"  {name:<28} seconds={r.get('seconds')}  notes: {'; '.join(notes) if notes else '-'}")
    lines += ["", "ffmpeg commands (last run; measurement pass, then the encode, timed together):"]
    for p in plist:
        lines += ["  " + cmd for cmd in json.loads((R / f"f_{p}.cmd.json").read_text())["commands"]]
    lines += ["", f"raw numbers: {R}/*.runs (wall user sys maxrss_kB), outputs in {OUTS}/; total bench time {b.elapsed()} s",
              "====================================================================="]
    b.summary(lines, "summary-transcode.txt")
