#!/usr/bin/env python3
"""Reprise benchmarks: Reprise against the ffmpeg CLI (or on its own, for the daemon) on the same work.

  scripts/bench.py cut          reprise cut (smart, exact) vs ffmpeg's re-encode; 10-min and 3-h files
  scripts/bench.py transcode    reprise transcode vs the ffmpeg CLI with the same filters and options
  scripts/bench.py ladder       reprise ladder vs one ffmpeg process (split) and N+1 separate ones
  scripts/bench.py ladder-reuse reprise ladder with the source as its top rung vs one ffmpeg process
  scripts/bench.py highlights   reprise highlights planning a 3-h recording; its reel: cut vs ffmpeg
  scripts/bench.py chunked      a chunked transcode (chunks + audio + stitch) vs the whole encode
  scripts/bench.py claims       job store claims per second, 8 workers: PostgreSQL (throwaway server) vs SQLite
  scripts/bench.py daemon       the watch-folder daemon: latency, idle cost, throughput
                              (--package: the default package of a 20-minute recording)
  scripts/bench.py console      the review console on loopback with 10,000 jobs (wrk): pages, API, frame previews, RSS

Each builds .build/release/reprise first (unless --skip-build / --reprise-bin), caches its inputs in
bench-out/ (git-ignored; --bench-dir), times every run (wall, user+sys CPU, peak RSS of the child),
prints a summary and keeps it in bench-out/summary*.txt. Options default to the environment variables
the old shell scripts read (RUNS, BENCH_DIR, REPRISE_BIN, SKIP_BUILD=1, SECONDS, ...); see
`scripts/bench.py SUBCOMMAND --help`. Exit status: 0 even when a target is missed (this is a report);
1 on real errors (a command failed, a tool is missing).
"""
import argparse
import sys

sys.dont_write_bytecode = True  # no scripts/benchlib/__pycache__ in the work tree

from benchlib import chunked, claims, common, console, cut, daemon, highlights, ladder, ladder_reuse, transcode  # noqa: E402

BENCHMARKS = {
    "cut": (cut, "reprise cut (smart, exact) vs ffmpeg's re-encode, 10-min and 3-h files"),
    "transcode": (transcode, "reprise transcode vs the ffmpeg CLI with the same filters and options"),
    "ladder": (ladder, "reprise ladder vs one ffmpeg process (split) and N+1 separate ones"),
    "ladder-reuse": (ladder_reuse, "reprise ladder with the source as its top rung vs one ffmpeg process encoding every rung"),
    "highlights": (highlights, "reprise highlights planning a 3-h recording; its reel: cut vs ffmpeg"),
    "chunked": (chunked, "a chunked transcode (chunks + audio + stitch) vs the whole encode it reproduces"),
    "claims": (claims, "job store claims per second: PostgreSQL (a throwaway server) vs SQLite"),
    "daemon": (daemon, "the watch-folder daemon: latency, idle cost, throughput"),
    "console": (console, "the review console on loopback with 10,000 jobs: pages, API, frame previews (wrk), RSS"),
}


def main(argv=None):
    try:
        parser = argparse.ArgumentParser(prog="scripts/bench.py", description=__doc__,
                                         formatter_class=argparse.RawDescriptionHelpFormatter)
        sub = parser.add_subparsers(dest="benchmark", required=True, metavar="{" + ",".join(BENCHMARKS) + "}")
        for name, (module, summary) in BENCHMARKS.items():
            p = sub.add_parser(name, help=summary, description=module.__doc__,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
            module.add_arguments(p)  # option defaults come from the environment
        args = parser.parse_args(argv)
        BENCHMARKS[args.benchmark][0].run(args)
    except common.BenchError as e:
        common.log(f"error: {e}")
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
