#!/usr/bin/env python3
"""The review console in a real browser: headless Chromium driven by Selenium.

    console_browser.py BASE_URL WATCH_FOLDER RECORDING SHOTS_FOLDER
    console_browser.py RECORDING_PAGE_URL TOKEN SHOTS_FOLDER      (edit mode)

Opens BASE_URL/jobs with an empty queue, copies RECORDING into WATCH_FOLDER and, without
reloading, waits for job 1's row to turn done (the page's Server-Sent Events); follows the row's
recording link, plays the output's <video> (muted) and checks that it advances and was decoded;
then at 1280 and 390 px wide takes a screenshot of /jobs, /recordings and the recording page
into SHOTS_FOLDER and checks each is laid out (no sideways overflow, text on the page, a picture
of more than one colour). Where the recording's page has a highlights review, it first opens the
edge editor on window 1 and reports its two edge frames ("editorFrames"). Prints one JSON line of results; exits 1 with one line naming what
failed, or 2 when Selenium or the browser can't be started.

Edit mode: on a recording's page with a real highlights review, moves window 1's start one second
later with the editor's button, saves and renders, and waits until the page shows the rendered
window; then saves a new title for the reel with its "Save details" form (written at once, no job)
and adds a window by clicking an empty spot on the chart at 2 s (not saved); prints {"before",
"after", "version", "details", "added"}.

Every wait is a WebDriverWait with a deadline; nothing sleeps a fixed time.
"""
import json
import os
import shutil
import struct
import sys
import time
import zlib

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError as e:
    print(f"console_browser: selenium is not installed ({e}); apt-get install python3-selenium or pip install selenium", file=sys.stderr)
    sys.exit(2)

CHROMIUM = os.environ.get("REPRISE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("REPRISE_CHROMEDRIVER", "/usr/bin/chromedriver")
JOB_DONE_TIMEOUT = 90
WIDTHS = [1280, 390]


class Failure(Exception):
    pass


def start_browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--autoplay-policy=no-user-gesture-required", "--hide-scrollbars",
                "--window-size=1280,900", "--mute-audio"]:
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def wait(driver, seconds, what, condition):
    """condition(driver) until it is truthy, at most `seconds`; a Failure naming `what` after."""
    try:
        return WebDriverWait(driver, seconds, poll_frequency=0.1).until(condition)
    except TimeoutException:
        raise Failure(f"timed out after {seconds} s waiting for {what} (at {driver.current_url})")


def watch_job_finish(driver, base, watch, recording):
    driver.get(base + "/jobs")
    wait(driver, 15, "the jobs page's live stream ('live' in #status)",
         lambda d: d.find_element(By.ID, "status").text == "live")
    empty = driver.find_element(By.ID, "jobs-body").text
    if "No jobs." not in empty:
        raise Failure(f"/jobs: the queue is not empty at the start: {empty!r}")
    # Every state job 1's row shows ('none' while there is no row), recorded by the page itself
    # each time the live stream rewrites the table. The list lives in this document: a reload would
    # lose it, so it also proves the row changed live. The stream reads the store once a second, so
    # a short job may go from no row straight to done; states in between are reported when seen.
    driver.execute_script("""
        window.__rowStates = ['none'];
        const body = document.getElementById('jobs-body');
        const look = () => {
          const row = document.getElementById('job-1');
          const state = row ? row.dataset.state : 'none';
          if (window.__rowStates[window.__rowStates.length - 1] !== state) window.__rowStates.push(state);
        };
        new MutationObserver(look).observe(body, {childList: true, subtree: true});""")

    name = os.path.basename(recording)
    shutil.copyfile(recording, os.path.join(watch, name))

    def states(d):
        return d.execute_script("return window.__rowStates === undefined ? null : window.__rowStates;")

    def finished(d):
        seen = states(d)
        if seen and seen[-1] in ("failed", "quarantined"):
            raise Failure(f"job 1 ended {seen[-1]}: {d.find_element(By.CSS_SELECTOR, '#job-1 td.error').text!r}")
        return seen is None or seen[-1] == "done"

    wait(driver, JOB_DONE_TIMEOUT, "job 1's row to show done", finished)
    seen = states(driver)
    if seen is None:
        raise Failure("/jobs reloaded while the job ran; the row must change live")
    cell = driver.find_element(By.CSS_SELECTOR, "#job-1 td.state").text
    if cell != "done":
        raise Failure(f"job 1's state cell says {cell!r}, not 'done'")
    return seen


def play_output(driver):
    link = driver.find_element(By.CSS_SELECTOR, "#job-1 a[href^='/recording?path=']")
    link.click()
    wait(driver, 15, "the recording page", lambda d: "/recording?path=" in d.current_url
         and d.find_elements(By.CSS_SELECTOR, ".outputs video"))
    recording_url = driver.current_url
    video = driver.find_element(By.CSS_SELECTOR, ".outputs video")
    src = video.get_attribute("src")
    if "/media/" not in src:
        raise Failure(f"the output's <video> plays {src!r}, not a /media/ URL")
    driver.execute_script(
        "const v = arguments[0]; v.muted = true; window.__playError = null;"
        "v.play().catch(e => { window.__playError = String(e); });", video)

    def advanced(d):
        error = d.execute_script("return window.__playError || (arguments[0].error && "
                                 "('media error ' + arguments[0].error.code + ': ' + arguments[0].error.message));", video)
        if error:
            raise Failure(f"the output does not play: {error}")
        return d.execute_script("return arguments[0].currentTime;", video) > 0.5

    wait(driver, 20, "the output's currentTime to pass 0.5 s", advanced)
    facts = driver.execute_script(
        "const v = arguments[0]; return {currentTime: v.currentTime, duration: v.duration,"
        " videoWidth: v.videoWidth, videoHeight: v.videoHeight, readyState: v.readyState,"
        " decodedFrames: v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : null};", video)
    if not facts["videoWidth"] > 0 or not facts["videoHeight"] > 0:
        raise Failure(f"the browser decoded no picture: {facts}")
    return recording_url, src, facts


def png_colours(path, top, bottom, limit):
    """How many distinct pixel values rows top..<bottom of the PNG at `path` hold, counting up to
    `limit` (a blank area is one colour; text adds its colour and its anti-aliased edges). Reads
    8-bit RGB/RGBA non-interlaced PNGs, which is what Chromium writes."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise Failure(f"{path}: not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    channels = {2: 3, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise Failure(f"{path}: PNG of depth {depth}, colour type {colour}, interlace {interlace}; expected 8-bit RGB(A)")
    raw = zlib.decompress(idat)
    stride = width * channels
    previous = bytearray(stride)
    seen = set()
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):  # undo the PNG row filter
            a = line[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        previous = line
        if y < top:
            continue
        if y >= bottom:
            break
        for x in range(0, stride, channels):
            seen.add(bytes(line[x:x + channels]))
        if len(seen) >= limit:
            break
    return len(seen)


def open_editor(driver, name, width):
    """On a page with a highlights review (a window list), picks the first window and waits until
    the edge editor is shown and both edges' frames have loaded or failed; returns each edge's
    [src, naturalWidth, naturalHeight] (width 0: not decoded), or None on a page without a review."""
    picks = driver.find_elements(By.CSS_SELECTOR, "button.pick[data-window]")
    if not picks:
        return None
    picks[0].click()
    frames = ("return [...document.querySelectorAll('#editor .edge img')]"
              ".map(i => [i.getAttribute('src'), i.naturalWidth, i.naturalHeight, i.complete]);")

    def shown(d):
        if d.execute_script("return document.getElementById('editor').hidden;"):
            return False
        edges = d.execute_script(frames)
        return len(edges) == 2 and all(e[0] and e[3] for e in edges) and edges

    edges = wait(driver, 30, f"{name} at {width} px: the edge editor's two frames", shown)
    return [e[:3] for e in edges]


def check_layout(driver, url, name, width, shots):
    driver.set_window_size(width, 900)
    driver.get(url)
    wait(driver, 15, f"{name} to load", lambda d: d.execute_script("return document.readyState") == "complete")
    editor = open_editor(driver, name, width)
    inner = driver.execute_script("return window.innerWidth;")
    if abs(inner - width) > 20:
        raise Failure(f"{name}: the window is {inner} px wide, asked for {width}")
    layout = driver.execute_script(
        "const root = document.documentElement, main = document.querySelector('main');"
        "const wide = [...document.querySelectorAll('main *, header *')].filter(e => !e.closest('.scroll') &&"
        "  (e.getBoundingClientRect().right > window.innerWidth + 1 ||"
        "   (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible')))"
        "  .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''));"
        "return {scrollWidth: root.scrollWidth, innerWidth: window.innerWidth,"
        " text: (main ? main.innerText : '').trim().length, elements: main ? main.querySelectorAll('*').length : 0,"
        " mainTop: main ? main.getBoundingClientRect().top : 0, mainHeight: main ? main.getBoundingClientRect().height : 0,"
        " innerHeight: window.innerHeight, ratio: window.devicePixelRatio, wide: wide,"
        # A job's state and its buttons are read without scrolling sideways, even in a .scroll box.
        " offscreen: [...document.querySelectorAll('td.state, td button')]"
        "   .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).length,"
        " states: document.querySelectorAll('td.state').length};")
    if layout["scrollWidth"] > layout["innerWidth"]:
        raise Failure(f"{name} at {width} px overflows sideways: scrollWidth {layout['scrollWidth']} > "
                      f"innerWidth {layout['innerWidth']}; too wide: {layout['wide']}")
    if layout["offscreen"]:
        raise Failure(f"{name} at {width} px: {layout['offscreen']} job state cell(s) or button(s) off the right edge")
    if name == "jobs" and layout["states"] == 0:
        raise Failure(f"jobs at {width} px: no job rows to lay out")
    if layout["text"] == 0 or layout["elements"] < 3 or layout["mainHeight"] < 50:
        raise Failure(f"{name} at {width} px looks blank: {layout}")
    path = os.path.join(shots, f"{name}-{width}.png")
    if not driver.save_screenshot(path):
        raise Failure(f"{name} at {width} px: no screenshot")
    # The page's own part (below the header bar, within the window) is more than its background.
    top = int(layout["mainTop"] * layout["ratio"])
    bottom = int(min(layout["mainTop"] + layout["mainHeight"], layout["innerHeight"]) * layout["ratio"])
    colours = png_colours(path, top, bottom, limit=3)
    if colours < 3:
        raise Failure(f"{path}: the page's main part is blank in the screenshot ({colours} colour(s) in rows {top}..<{bottom})")
    return {"page": name, "width": width, "editorFrames": editor, "scrollWidth": layout["scrollWidth"], "textChars": layout["text"],
            "elements": layout["elements"], "colours": colours, "screenshot": path, "bytes": os.path.getsize(path)}


def edit_and_render(driver, page_url, token):
    """On a recording's page: picks window 1, moves its start one second later with the editor's
    "+1 s" button, saves and renders (the token given as the page would keep it), then reloads the
    page until the window list shows the new start (the daemon rendered the reel again). Returns
    {"before", "after"}: the start edge's text before and after the move, and the saved version."""
    driver.get(page_url)
    wait(driver, 15, "the recording page", lambda d: d.execute_script("return document.readyState") == "complete")
    picks = driver.find_elements(By.CSS_SELECTOR, "button.pick[data-window]")
    if not picks:
        raise Failure("the recording page lists no windows")
    picks[0].click()
    wait(driver, 15, "the edge editor", lambda d: not d.execute_script("return document.getElementById('editor').hidden;"))
    start = lambda d: d.find_element(By.CSS_SELECTOR, "#editor .edge[data-edge=start] output").text
    before = start(driver)
    driver.find_element(By.CSS_SELECTOR, "#editor .edge[data-edge=start] button[data-step='+1s']").click()
    after = wait(driver, 5, "the start edge to move", lambda d: start(d) != before and start(d))
    # The token as the page keeps it after asking once (sessionStorage; never a cookie).
    driver.execute_script("sessionStorage.setItem('reprise-token', arguments[0]);", token)
    driver.find_element(By.ID, "render").click()
    status = wait(driver, 15, "the save's answer", lambda d: d.find_element(By.ID, "render-status").text)
    version = driver.find_element(By.ID, "render-status").get_attribute("data-version")
    if not version:
        raise Failure(f"save and render refused: {status!r}")
    moved = "#1 " + after

    def rendered(d):
        d.get(page_url)
        return moved in d.find_element(By.CSS_SELECTOR, "ol.windows").text

    wait(driver, 120, f"the page to show the rendered window ({moved})", rendered)
    return {"before": before, "after": after, "version": int(version), "status": status}


def edit_details_and_add_window(driver, page_url, title, shots):
    """On a recording's page (after its reel was rendered): the reel's details form gets `title` and
    is saved; then a click on the chart at 2 s adds a window there. Returns {"details": the save's
    answer, "added": the editor's title for the new window, "addedRects": windows added on the chart}."""
    driver.get(page_url)
    wait(driver, 15, "the recording page", lambda d: d.execute_script("return document.readyState") == "complete")
    boxes = driver.find_elements(By.CSS_SELECTOR, "fieldset.details[data-file$='.reel.mp4']")
    if not boxes:
        raise Failure("the reel has no details form")
    field = boxes[0].find_element(By.CSS_SELECTOR, "input[name=title]")
    field.clear()
    field.send_keys(title)
    boxes[0].find_element(By.CSS_SELECTOR, "button[data-save=details]").click()
    details = wait(driver, 15, "the details' save answer",
                   lambda d: (lambda t: t != "saving…" and t)(boxes[0].find_element(By.CSS_SELECTOR, ".edit-status").text))
    # A click on the chart where no window is: 2 s into the recording.
    driver.execute_script(
        "const svg = document.querySelector('svg.lanes'), b = svg.getBoundingClientRect();"
        "const d = JSON.parse(document.getElementById('review-data').textContent);"
        "svg.dispatchEvent(new MouseEvent('click', {bubbles: true, clientX: b.left + 2 / Math.max(d.duration, 1) * b.width,"
        " clientY: b.top + b.height / 2}));")
    added = wait(driver, 5, "the new window in the editor",
                 lambda d: not d.execute_script("return document.getElementById('editor').hidden;")
                 and d.find_element(By.ID, "editor-title").text)
    rects = driver.execute_script("return document.querySelectorAll('svg.lanes rect.window.added').length;")
    # For a person to look at: the chart with the new window, and the reel's details form.
    driver.execute_script("document.querySelector('svg.lanes').scrollIntoView();")
    driver.save_screenshot(os.path.join(shots, "edit-added-window.png"))
    driver.execute_script("arguments[0].scrollIntoView();", boxes[0])
    driver.save_screenshot(os.path.join(shots, "edit-details.png"))
    return {"details": details, "added": added, "addedRects": rects}


def run_in_browser(shots, failure_shot, work):
    """Starts Chromium, runs work(driver) and prints its results as one JSON line. Exits 2 when the
    browser can't start, 1 with one line (and a screenshot) when work fails."""
    os.makedirs(shots, exist_ok=True)
    try:
        driver = start_browser()
    except WebDriverException as e:
        print(f"console_browser: can't start {CHROMIUM} through {CHROMEDRIVER}: {e.msg}", file=sys.stderr)
        sys.exit(2)
    try:
        results = work(driver)
    except (Failure, WebDriverException) as e:
        print(f"console_browser: {e.msg.splitlines()[0] if isinstance(e, WebDriverException) else e}", file=sys.stderr)
        try:
            driver.save_screenshot(os.path.join(shots, failure_shot))
        except WebDriverException:
            pass
        sys.exit(1)
    finally:
        driver.quit()
    print(json.dumps(results))


def watch_play_and_lay_out(driver, base, watch, recording, shots):
    started = time.monotonic()
    results = {"browser": driver.capabilities.get("browserVersion")}
    results["rowStates"] = watch_job_finish(driver, base, watch, recording)
    results["liveSeconds"] = round(time.monotonic() - started, 2)
    recording_url, src, facts = play_output(driver)
    results["video"] = dict(facts, src=src)
    pages = [("jobs", base + "/jobs"), ("recordings", base + "/recordings"), ("recording", recording_url)]
    results["layouts"] = [check_layout(driver, url, name, width, shots)
                          for width in WIDTHS for name, url in pages]
    # The console serves no favicon (the browser's own request for one 404s); any other error counts.
    logs = [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"
            and "/favicon.ico" not in entry.get("message", "")]
    if logs:
        raise Failure(f"the browser console logged errors: {[e.get('message') for e in logs][:5]}")
    results["seconds"] = round(time.monotonic() - started, 2)
    return results


def main():
    if len(sys.argv) == 4 and sys.argv[1].startswith("http"):
        # Edit mode: console_browser.py RECORDING_PAGE_URL TOKEN SHOTS_FOLDER
        page_url, token, shots = sys.argv[1], sys.argv[2], sys.argv[3]
        run_in_browser(shots, "edit-failure.png", lambda driver: {**edit_and_render(driver, page_url, token),
                                                                  **edit_details_and_add_window(driver, page_url, "Browser title", shots)})
        return
    if len(sys.argv) != 5:
        print("usage: " + __doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        sys.exit(2)
    base, watch, recording, shots = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3], sys.argv[4]
    run_in_browser(shots, "failure.png", lambda driver: watch_play_and_lay_out(driver, base, watch, recording, shots))


if __name__ == "__main__":
    main()
