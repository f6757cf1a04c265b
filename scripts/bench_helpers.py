#!/usr/bin/env python3
"""Small helpers for scripts/bench.sh (stdlib only).

  stamp START_NS OUT.json     read `reprise cut --json` lines on stdin, note when each arrives;
                              write {"index_s": seconds until indexing ended (null if no indexing),
                                     "result": the final result object}
  barcode WIDTH HEIGHT        read 8x6 gray cells per frame (48 bytes each) on stdin, as made by
                              ffmpeg -vf crop=<barcode square>,scale=8:6:flags=area -pix_fmt gray;
                              print JSON {frames, first, last, contiguous, unreadable, jumps}
  barcode-crop WIDTH HEIGHT   print the crop filter for the barcode square of a WxH sample
  median V...                 print the median of the numbers
  index-paths FILE            print where reprise caches FILE's packet index (beside it, then the
                              user cache folder), one a line, as PacketIndexer.cacheLocations does
"""
import json
import sys
import time


def stamp(start_ns, out_path):
    start = int(start_ns) / 1e9
    saw_indexing = False
    index_end = None  # arrival of the first event after the last "indexing" one
    result = None
    for line in sys.stdin:
        now = time.time() - start
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        ev, stage = obj.get("event"), obj.get("stage")
        if ev == "progress" and stage == "indexing":
            saw_indexing = True
            index_end = None
        elif saw_indexing and index_end is None:
            index_end = now
        if ev == "result":
            result = obj
    with open(out_path, "w") as f:
        json.dump({"index_s": index_end if saw_indexing else None, "result": result}, f)


def geometry(width, height):
    side = (height // 2) // 48 * 48
    return side, (width - side) // 2, (height - side) // 2


def barcode_crop(width, height):
    side, x0, y0 = geometry(int(width), int(height))
    print(f"crop={side}:{side}:{x0}:{y0},scale=8:6:flags=area")


def barcode(width, height):
    data = sys.stdin.buffer.read()
    n = len(data) // 48
    indices = []
    unreadable = 0
    for k in range(n):
        cells = data[k * 48:(k + 1) * 48]
        value = 0
        ok = True
        for b in range(24):
            r, c = b // 8, b % 8
            top = cells[r * 8 + c]
            bottom = cells[(r + 3) * 8 + c]
            bit = 1 if top >= 128 else 0
            if (bottom >= 128) == (top >= 128) or abs(top - bottom) < 100:
                ok = False
            value |= bit << b
        if not ok:
            unreadable += 1
            indices.append(None)
        else:
            indices.append(value)
    jumps = []
    prev = None
    for pos, v in enumerate(indices):
        if v is not None and prev is not None and v != prev + 1:
            jumps.append([pos, prev, v])
        if v is not None:
            prev = v
    readable = [v for v in indices if v is not None]
    print(json.dumps({
        "frames": n,
        "first": indices[0] if indices else None,
        "last": indices[-1] if indices else None,
        "contiguous": unreadable == 0 and not jumps and n > 0,
        "unreadable": unreadable,
        "jumps": jumps[:5],
        "distinct": len(set(readable)),
    }))


def median(values):
    xs = sorted(float(v) for v in values)
    if not xs:
        print("nan")
        return
    m = len(xs) // 2
    print(f"{(xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2):.3f}")


def index_paths(path):
    """Where reprise caches the packet index of `path`: keyed by the file's device and inode, under
    $REPRISE_CACHE_DIR, $XDG_CACHE_HOME/reprise, ~/.cache/reprise or the temp folder (first found wins)."""
    import os, tempfile
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
    for b in bases:
        print(f"{b}/{name}")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "stamp":
        stamp(*args)
    elif cmd == "barcode":
        barcode(*args)
    elif cmd == "barcode-crop":
        barcode_crop(*args)
    elif cmd == "index-paths":
        index_paths(*args)
    elif cmd == "median":
        median(args)
    else:
        sys.exit(f"bench_helpers.py: unknown command {cmd}")


if __name__ == "__main__":
    main()
