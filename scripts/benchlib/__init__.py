"""Reprise's benchmarks: `scripts/bench.py {cut,transcode,ladder,highlights,daemon}`.

common.py holds what they share (build, tools, samples, timed runs, ffprobe, barcode, summary); each
other module is one benchmark with add_arguments(parser) and run(args).
"""
