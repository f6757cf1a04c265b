#!/usr/bin/env python3
"""Helpers for scripts/bench-transcode.sh (stdlib only; reuses bench_helpers.py by import).

The ffmpeg side of the benchmark is derived from what `reprise transcode --json` says it did:
the same libavfilter graphs (videoFilter, audioFilter), the same encoders and the same encoder
option dictionaries (passed as -KEY:v VALUE / -KEY:a VALUE), moov at the front for mp4, plus
ffmpeg's own loudness measurement pass when the profile normalises loudness.

  result FILE                       print the last JSON line of FILE (the `--json` result) re-serialised;
                                    exit 1 when there is none
  output-field RESULT PROFILE KEY   print outputs[profile==PROFILE][KEY] from a result JSON file
  plan-key RESULT PROFILE           print a canonical JSON of the work-defining fields of one output
                                    (to tell whether two results ask for the same work)
  ffmpeg-run [--dry-run] [--sidecar F] [--audio-format PROFILE=RATE:CH ...] RESULT PROFILE INPUT OUTPUT [RESULT PROFILE INPUT OUTPUT ...]
                                    do the ffmpeg CLI's equivalent work: for each output whose
                                    profile has loudness, a measurement pass (loudnorm print_format=json
                                    when the product's audio filter uses loudnorm, else ebur128) with
                                    the measured values put into the product's loudnorm arguments;
                                    then exec ONE ffmpeg encode (several outputs = one process that
                                    decodes once). --dry-run prints the commands instead.
                                    --sidecar writes {commands, measured} as JSON before the encode.
  emulate PROFILE_YAML INPUT OUT_JSON [PROFILE_YAML ...]
                                    write a result in the product's --json shape, planned here from
                                    the profile files (used only while `reprise transcode` does not
                                    exist, to exercise the ffmpeg half). Loudness is measured untimed.
  probe FILE                        print "width height frames duration size video_kbps acodec
                                    sample_rate channels lufs" for the table (lufs: ebur128 integrated)
  median V...                       as bench_helpers.py median
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
    """The last non-empty line of a `--json` stdout that parses as an object with outputs."""
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
            if isinstance(obj, dict):
                last = obj
    if not last or not isinstance(last.get("outputs"), list):
        raise SystemExit(f"bench_transcode.py: no result object with outputs in {path}")
    return last


def find_output(result, profile):
    outs = result["outputs"]
    for o in outs:
        if o.get("profile") == profile:
            return o
    if len(outs) == 1 and not profile:
        return outs[0]
    raise SystemExit(f"bench_transcode.py: result has no output for profile {profile!r} "
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


def measure_loudnorm(inp, prefix, args, audio_map):
    """Run ffmpeg's loudnorm measurement pass; return (command, measured dict)."""
    margs = [(k, v) for k, v in args
             if k is None or (k.lower() not in LOUDNORM_MEASURED and k.lower() not in ("linear", "print_format"))]
    margs.append(("print_format", "json"))
    chain = (prefix + "," if prefix and "[" not in prefix and ";" not in prefix else "") + loudnorm_string(margs)
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-v", "info", "-i", inp,
           "-map", audio_map, "-vn", "-sn", "-dn", "-af", chain, "-f", "null", "-"]
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr[-4000:])
        raise SystemExit(f"bench_transcode.py: loudness pass failed: {shlex.join(cmd)}")
    stats = last_json_block(p.stderr)
    if not stats or "input_i" not in stats:
        raise SystemExit("bench_transcode.py: no loudnorm JSON in the measurement pass output")
    return cmd, stats


def measure_ebur128(inp, audio_map):
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-v", "info", "-i", inp,
           "-map", audio_map, "-vn", "-sn", "-dn", "-af", "ebur128=peak=true", "-f", "null", "-"]
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr[-4000:])
        raise SystemExit(f"bench_transcode.py: loudness pass failed: {shlex.join(cmd)}")
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


# ----------------------------------------------------------------------------- encode command

def opt_args(opts, kind):
    args = []
    for k, v in (opts or {}).items():
        if isinstance(v, bool):
            v = int(v)
        args += [f"-{k}:{kind}", str(v)]
    return args


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


def ffmpeg_run(argv):
    dry = False
    sidecar = None
    audio_formats = {}
    while argv and argv[0].startswith("--"):
        opt = argv.pop(0)
        if opt == "--dry-run":
            dry = True
        elif opt == "--sidecar":
            sidecar = argv.pop(0)
        elif opt == "--audio-format":  # PROFILE=RATE:CHANNELS (from the product's output file)
            prof, _, fmt = argv.pop(0).partition("=")
            r, _, c = fmt.partition(":")
            if r and c:
                audio_formats[prof] = (r, c)
        else:
            raise SystemExit(f"bench_transcode.py: unknown option {opt}")
    if not argv or len(argv) % 4:
        raise SystemExit("usage: ffmpeg-run [--dry-run] [--sidecar F] RESULT PROFILE INPUT OUTPUT ...")
    jobs = [argv[i:i + 4] for i in range(0, len(argv), 4)]
    inputs = {j[2] for j in jobs}
    if len(inputs) != 1:
        raise SystemExit("bench_transcode.py: one input per ffmpeg-run")
    inp = jobs[0][2]
    commands, measured = [], {}
    enc = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", "-i", inp]
    for res_path, profile, _, output in jobs:
        out = find_output(load_result(res_path), profile)
        af = out.get("audioFilter") or ""
        if out.get("loudness") is not None and out.get("audioEncoder"):
            ln = split_loudnorm(af)
            if ln:
                if dry:
                    commands.append(f"# {profile}: ffmpeg loudnorm measurement pass (print_format=json), "
                                    "values put into the product's loudnorm arguments")
                    measured[profile] = None
                else:
                    cmd, stats = measure_loudnorm(inp, ln[0], ln[1], "0:a:0")
                    commands.append(shlex.join(cmd))
                    measured[profile] = {k: stats.get(k) for k in
                                         ("input_i", "input_tp", "input_lra", "input_thresh", "target_offset")}
                    af = with_measured(af, stats)
            else:
                # Not loudnorm (e.g. a volume gain from the product's own measurement): do ffmpeg's
                # measurement work too, and apply the product's filter unchanged.
                if not dry:
                    cmd, stats = measure_ebur128(inp, "0:a:0")
                    commands.append(shlex.join(cmd))
                    measured[profile] = stats
        enc += output_args(out, af, output, audio_formats.get(profile))
    commands.append(shlex.join(enc))
    if sidecar:
        with open(sidecar, "w") as f:
            json.dump({"commands": commands, "measured": measured}, f, indent=1)
    if dry:
        print("\n".join(commands))
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvp(enc[0], enc)  # this process becomes the encode: GNU time sees both passes as one run


# ----------------------------------------------------------------------------- emulation

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


def emulate(argv):
    if len(argv) < 3:
        raise SystemExit("usage: emulate PROFILE_YAML INPUT OUT_JSON [PROFILE_YAML ...]")
    ymls = [argv[0]] + argv[3:]
    inp, out_json = argv[1], argv[2]
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
            "loudness": loud, "notes": notes + ["emulated by scripts/bench_transcode.py, not reprise"]})
    with open(out_json, "w") as f:
        f.write(json.dumps({"event": "result", "input": inp, "seconds": None, "outputs": outputs}) + "\n")


# ----------------------------------------------------------------------------- probe

def probe(path):
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
    print(vs.get("width", "?"), vs.get("height", "?"), vs.get("nb_read_packets", "?"),
          "%.2f" % float(fm.get("duration", 0) or 0), fm.get("size", 0), vk,
          as_.get("codec_name", "-"), as_.get("sample_rate", "-"), as_.get("channels", "-"), lufs)


# ----------------------------------------------------------------------------- main

def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "result":
        print(json.dumps(load_result(args[0])))
    elif cmd == "output-field":
        v = find_output(load_result(args[0]), args[1]).get(args[2])
        print(v if isinstance(v, str) else json.dumps(v))
    elif cmd == "plan-key":
        print(plan_key(find_output(load_result(args[0]), args[1])))
    elif cmd == "ffmpeg-run":
        ffmpeg_run(list(args))
    elif cmd == "emulate":
        emulate(args)
    elif cmd == "probe":
        probe(args[0])
    elif cmd == "median":
        bench_helpers.median(args)
    else:
        raise SystemExit(f"bench_transcode.py: unknown command {cmd}")


if __name__ == "__main__":
    main()
