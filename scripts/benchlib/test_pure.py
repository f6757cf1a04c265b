"""The pure helpers: `cd scripts && python3 -B -m unittest benchlib.test_pure` (not part of CI)."""
import sys
import unittest

sys.dont_write_bytecode = True

from . import common as c  # noqa: E402
from .console import frame_lines, percentile  # noqa: E402
from .cut import expect_first, hm  # noqa: E402


def cells(value, spoil=None):
    """48 gray cells (8x6) encoding value as `reprise sample` draws it: bit b at row b // 8, column
    b % 8, its complement three rows below."""
    out = bytearray(48)
    for b in range(24):
        r, col = b // 8, b % 8
        bit = (value >> b) & 1
        out[r * 8 + col] = 235 if bit else 16
        out[(r + 3) * 8 + col] = 16 if bit else 235
    if spoil is not None:  # a cell equal to its complement: unreadable
        out[(spoil // 8 + 3) * 8 + spoil % 8] = out[(spoil // 8) * 8 + spoil % 8]
    return bytes(out)


class BarcodeTests(unittest.TestCase):
    def test_reads_back_values(self):
        values = [0, 1, 3703, 18000 - 1, (1 << 24) - 1]
        self.assertEqual(c.read_barcodes(b"".join(cells(v) for v in values)), values)

    def test_unreadable_frame_is_none(self):
        self.assertEqual(c.read_barcodes(cells(5) + cells(6, spoil=3)), [5, None])

    def test_summary_contiguous_run(self):
        s = c.barcode_summary(list(range(3690, 5490)))
        self.assertEqual((s["frames"], s["first"], s["last"], s["contiguous"], s["jumps"]), (1800, 3690, 5489, True, []))

    def test_summary_reports_a_jump_and_unreadable(self):
        s = c.barcode_summary([10, 11, None, 13, 20])
        self.assertFalse(s["contiguous"])
        # measured against the last readable frame, as the old bench_helpers.py did
        self.assertEqual((s["unreadable"], s["jumps"]), (1, [[3, 11, 13], [4, 13, 20]]))

    def test_summary_of_nothing_is_not_contiguous(self):
        self.assertFalse(c.barcode_summary([])["contiguous"])

    def test_geometry_of_720p(self):
        self.assertEqual(c.barcode_geometry(1280, 720), (336, 472, 192))


class NumberTests(unittest.TestCase):
    def test_median(self):
        self.assertEqual(c.median([3, 1, 2]), 2)
        self.assertEqual(c.median(["0.5", "1.5"]), 1.0)
        self.assertNotEqual(c.median([]), c.median([]))  # nan

    def test_fdiv_and_mb(self):
        self.assertEqual((c.fdiv(8.67, 0.55), c.fdiv(1, 0), c.mb(182272)), ("15.76", "nan", "178"))

    def test_times_as_the_report_writes_them(self):
        self.assertEqual((c.hms(120.4), c.hms(10200.4)), ("0:02:00.4", "2:50:00.4"))
        self.assertEqual((hm(120.4), hm(10200.4)), ("2min", "2h50"))
        self.assertEqual((c.span(600), c.span(10800), c.span(140)), ("10-min", "3-h", "140-s"))

    def test_expected_first_frame(self):
        self.assertEqual(expect_first(123.4, 0, 18000), 3702)  # 3702.0 exactly: that frame
        self.assertEqual(expect_first(10200.4, 0.01, 18000), 12)  # 306011.7 -> 306012, barcode restarted 17 times


class ConsoleTests(unittest.TestCase):
    def test_nearest_rank_percentile(self):
        xs = [i / 1000 for i in range(200, 0, -1)]  # 0.001 .. 0.200, unsorted
        self.assertEqual((percentile(xs, 50), percentile(xs, 99), percentile(xs, 100)), (0.1, 0.198, 0.2))
        self.assertEqual(percentile([0.3], 99), 0.3)

    def test_frame_targets_pass_and_miss(self):
        class Args:
            frame_width = 0
        frame = {"available": True, "requests": 200, "length_s": 10800.0, "had_index": False, "cold_s": 1.2,
                 "p50_s": 0.150, "p90_s": 0.3, "p99_s": 0.401, "max_s": 0.5, "mean_s": 0.16, "jpeg_kb": 40,
                 "recording": "/x.mp4", "made": "cached"}
        lines = "\n".join(frame_lines(frame, Args()))
        self.assertIn("3:00:00.0 recording", lines)
        self.assertIn("p50 <= 150 ms: PASS; p99 <= 400 ms: MISS", lines)
        self.assertIn("not measured", frame_lines({"available": False, "probe": "HTTP 404"}, Args())[0])


if __name__ == "__main__":
    unittest.main()
