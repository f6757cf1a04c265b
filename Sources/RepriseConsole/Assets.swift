import Hummingbird

/// The one stylesheet and the one script: small, served from the binary (no CDN, no build step).
enum Assets {
    static func add(to router: Router<ConsoleContext>) {
        router.get("assets/console.css") { _, _ in asset(css + editCSS, type: "text/css; charset=utf-8") }
        router.get("assets/console.js") { _, _ in asset(js, type: "text/javascript; charset=utf-8") }
    }

    static func asset(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "max-age=300"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static let css = """
    *{box-sizing:border-box}
    body{margin:0;font:15px/1.45 system-ui,sans-serif;color:#1d1d1f;background:#f6f6f4}
    header{display:flex;flex-wrap:wrap;gap:.5rem 1.2rem;align-items:center;padding:.6rem 1rem;background:#23262b;color:#fff}
    header a{color:#fff;text-decoration:none}
    .brand{font-weight:700;letter-spacing:.02em}
    nav{display:flex;gap:1rem;flex-wrap:wrap}
    nav a[aria-current]{border-bottom:2px solid #f0a040}
    #status{margin-left:auto;font-size:.85rem;color:#f0c080}
    main{padding:1rem;max-width:1200px;margin:0 auto}
    h1{font-size:1.4rem;margin:.2rem 0 1rem;overflow-wrap:anywhere}
    h2{font-size:1.1rem;margin:1.2rem 0 .5rem}
    .filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end;margin-bottom:1rem}
    .filters label{display:flex;flex-direction:column;font-size:.8rem;color:#555}
    input,select,button{font:inherit;padding:.3rem .5rem;max-width:100%}
    button{cursor:pointer;border:1px solid #888;border-radius:4px;background:#fff}
    .scroll{overflow-x:auto;max-width:100%}
    table{border-collapse:collapse;width:100%;background:#fff}
    th,td{padding:.35rem .5rem;border-bottom:1px solid #e3e3e0;text-align:left;vertical-align:top}
    td.error{color:#a02020;max-width:24rem;overflow-wrap:anywhere}
    .state-done .state{color:#1f7a35}.state-failed .state,.state-quarantined .state{color:#a02020}
    .state-running .state{color:#1f5fa0;font-weight:600}
    progress{width:6rem;vertical-align:middle}
    .empty{color:#777;font-style:italic}
    .recordings{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:1rem}
    .recordings li{background:#fff;padding:.6rem;border-radius:6px;overflow-wrap:anywhere}
    .recordings img,.nocover{display:block;width:100%;aspect-ratio:16/9;object-fit:cover;background:#ddd;margin-bottom:.4rem}
    .form{display:inline-block;font-size:.8rem;background:#eee;border-radius:3px;padding:0 .3rem;margin:.1rem 0}
    .outputs{display:grid;grid-template-columns:repeat(auto-fill,minmax(18rem,1fr));gap:1rem}
    figure{margin:0;background:#fff;padding:.5rem;border-radius:6px;overflow-wrap:anywhere}
    video,figure img{display:block;width:100%;max-height:24rem;background:#000}
    ul.forms{padding-left:1.2rem}
    .chart{background:#fff;padding:.4rem;border-radius:6px}
    svg.lanes{display:block;width:100%;height:auto;max-height:22rem}
    svg.lanes .lane-bg{fill:#fafaf8}
    svg.lanes polyline{fill:none;stroke:#2a6fb0;stroke-width:1.2;vector-effect:non-scaling-stroke}
    svg.lanes .lane-score polyline{stroke:#d05028}
    svg.lanes text{font-size:11px;fill:#555}
    svg.lanes .product{fill:#c9e6c9;stroke:#5a9a5a;stroke-width:.5}
    svg.lanes .cut{stroke:#bbb;stroke-width:.5;vector-effect:non-scaling-stroke}
    svg.lanes .window{fill:rgba(240,160,64,.22);stroke:#e08a20;stroke-width:1;vector-effect:non-scaling-stroke;cursor:pointer}
    svg.lanes .window.out-of-reel{fill:rgba(150,150,150,.15);stroke:#999}
    svg.lanes .window.selected{fill:rgba(240,120,20,.45);stroke:#b05000;stroke-width:2}
    ol.windows li{margin:.3rem 0}
    .reasons{font-size:.85rem;color:#555}
    .edges{display:flex;flex-wrap:wrap;gap:1rem}
    .edge{flex:1 1 18rem;max-width:30rem}
    .edge.active{outline:3px solid #e08a20}
    .edge img{width:100%;height:auto;aspect-ratio:16/9;object-fit:contain}
    .edge button{margin:.15rem .1rem;padding:.2rem .4rem}
    .hint{font-size:.85rem;color:#555}
    /* A phone: each job is a card of labelled lines, so state and buttons stay on screen. */
    @media (max-width:640px){
      table.jobs thead{display:none}
      table.jobs,table.jobs tbody,table.jobs tr{display:block}
      table.jobs tr{padding:.4rem 0;border-bottom:1px solid #d0d0cc}
      table.jobs td{display:flex;gap:.6rem;border:0;padding:.1rem .6rem;max-width:none;overflow-wrap:anywhere}
      table.jobs td>*{min-width:0}
      table.jobs td::before{content:attr(data-label);flex:0 0 5.5rem;color:#666;font-size:.85rem}
      table.jobs td:empty{display:none}
      table.jobs td.empty::before{content:none}
    }
    """

    /// The editing forms' rules (products' spans, outputs' details), kept apart from the main sheet.
    static let editCSS = """
    .products-edit{list-style:none;padding:0}
    .products-edit li{background:#fff;border-radius:6px;padding:.4rem .6rem;margin:.3rem 0;display:flex;flex-wrap:wrap;gap:.3rem .8rem;align-items:center}
    .products-edit input{width:8rem}
    fieldset.details{border:1px solid #ddd;border-radius:4px;margin:.4rem 0 0;padding:.3rem .5rem}
    fieldset.details label{display:block;font-size:.85rem;color:#555;margin:.2rem 0}
    fieldset.details input,fieldset.details textarea{display:block;width:100%;font:inherit}
    .edit-status{font-size:.85rem}

    """

    static let js = """
    // Live rows over Server-Sent Events; retry and cancel with the bearer token, kept for this tab
    // only (sessionStorage, never a cookie).
    (function () {
      const status = document.getElementById('status');
      const say = (text) => { if (status) status.textContent = text; };
      const body = document.querySelector('[data-events]');
      if (body && window.EventSource) {
        const events = new EventSource(body.dataset.events);
        events.addEventListener('table', (e) => { body.innerHTML = e.data; say('live'); });
        events.onerror = () => say('reconnecting…');
      }
      document.addEventListener('click', async (e) => {
        const button = e.target.closest('button[data-act]');
        if (!button) return;
        let token = sessionStorage.getItem('reprise-token');
        if (!token) { token = prompt('Console token (from http.token_file):'); if (!token) return; sessionStorage.setItem('reprise-token', token); }
        button.disabled = true;
        const r = await fetch('/api/jobs/' + button.dataset.id + '/' + button.dataset.act,
                              { method: 'POST', headers: { Authorization: 'Bearer ' + token } });
        if (r.status === 401) sessionStorage.removeItem('reprise-token');
        if (!r.ok) { const j = await r.json().catch(() => ({})); say((j.error && j.error.message) || r.statusText); }
        else say(button.dataset.act + ' #' + button.dataset.id + ': done');
        button.disabled = false;
      });
    })();

    // The window editor: pick a window (list or chart), move either edge by a frame, a second or to
    // the next scene cut, and see the exact frame at each edge (/api/frame decodes it).
    (function () {
      const source = document.getElementById('review-data');
      const editor = document.getElementById('editor');
      if (!source || !editor) return;
      const d = JSON.parse(source.textContent);
      const frame = 1 / d.frameRate;
      let selected = null, edge = 'start', t = { start: 0, end: 0 };
      const onGrid = (x) => Math.round(x * d.frameRate) / d.frameRate;
      const clock = (x) => { const ms = Math.round(x * 1000), s = Math.floor(ms / 1000);
        return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0') + '.' + String(ms % 1000).padStart(3, '0'); };
      function show() {
        for (const fig of editor.querySelectorAll('.edge')) {
          const name = fig.dataset.edge;
          // The end edge shows the last frame the window holds, one frame before its end.
          const at = name === 'start' ? t.start : Math.max(t.start, t.end - frame);
          fig.querySelector('img').src = '/api/frame?path=' + encodeURIComponent(d.path) + '&t=' + at.toFixed(4) + '&width=320';
          fig.querySelector('output').textContent = clock(t[name]);
          fig.classList.toggle('active', name === edge);
        }
        document.querySelectorAll('rect.window').forEach((r) => r.classList.toggle('selected', Number(r.dataset.window) === selected));
        const rect = document.querySelector('rect.window[data-window="' + selected + '"]');
        if (rect) place(rect, [t.start, t.end]);
        document.getElementById('editor-title').textContent = '#' + (selected + 1) + ' ' + clock(t.start) + '–' + clock(t.end);
      }
      function select(i) { selected = i; t = { start: d.windows[i][0], end: d.windows[i][1] }; edge = 'start'; editor.hidden = false; show(); }
      // A window drawn on the chart the way the page draws them (for one added here).
      function drawWindow(i) {
        const svg = document.querySelector('svg.lanes');
        if (!svg) return;
        const r = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
        r.setAttribute('class', 'window added');
        r.dataset.window = i;
        r.setAttribute('y', 0);
        r.setAttribute('height', svg.viewBox.baseVal.height);
        svg.appendChild(r);
        place(r, d.windows[i]);
      }
      function place(r, w) {
        const width = document.querySelector('svg.lanes').viewBox.baseVal.width, span = Math.max(d.duration, 1);
        r.setAttribute('x', (w[0] / span * width).toFixed(1));
        r.setAttribute('width', Math.max((w[1] - w[0]) / span * width, 2).toFixed(1));
      }
      // A new 10-s window at time x, clamped to the recording and to the gap between the reel's
      // windows that holds x (after the window x falls in), selected so its edges can be moved.
      function addWindow(x) {
        const status = document.getElementById('render-status');
        if (selected !== null) d.windows[selected] = [t.start, t.end];
        const taken = d.windows.filter((w, i) => d.inReel[i]);
        for (let w; (w = taken.find((w) => w[0] <= x && x < w[1])); ) x = w[1];
        const lo = Math.max(0, ...taken.filter((w) => w[1] <= x).map((w) => w[1]));
        const hi = Math.min(d.duration, ...taken.filter((w) => w[0] > x).map((w) => w[0]));
        let start = Math.max(lo, Math.min(x - 5, hi - 10)), end = Math.min(hi, start + 10);
        start = Math.ceil(start * d.frameRate - 1e-6) / d.frameRate;
        end = Math.floor(end * d.frameRate + 1e-6) / d.frameRate;
        if (end - start < frame) { status.textContent = 'no room for a new window there'; return; }
        d.windows.push([start, end]);
        d.inReel.push(true);
        drawWindow(d.windows.length - 1);
        select(d.windows.length - 1);
        status.textContent = 'new window ' + clock(start) + '–' + clock(end) + ': move its edges, then save';
      }
      document.getElementById('add-window').addEventListener('click', () => addWindow(selected === null ? 0 : t[edge]));
      function step(name, how) {
        let v = t[name];
        if (how === '+1f') v += frame; else if (how === '-1f') v -= frame;
        else if (how === '+1s') v += 1; else if (how === '-1s') v -= 1;
        else if (how === '+cut') v = d.sceneCuts.find((c) => c > v + frame / 2) ?? v;
        else if (how === '-cut') v = [...d.sceneCuts].reverse().find((c) => c < v - frame / 2) ?? v;
        v = Math.min(Math.max(onGrid(v), 0), d.duration);
        v = name === 'start' ? Math.min(v, t.end - frame) : Math.max(v, t.start + frame);
        t[name] = v; show();
      }
      document.addEventListener('click', (e) => {
        const pick = e.target.closest('[data-window]');
        if (pick) { select(Number(pick.dataset.window)); return; }
        const button = e.target.closest('[data-step]');
        if (button) { edge = button.closest('.edge').dataset.edge; step(edge, button.dataset.step); return; }
        // An empty spot on the chart: a new window there.
        const chart = e.target.closest('svg.lanes');
        if (chart) { const b = chart.getBoundingClientRect(); addWindow((e.clientX - b.left) / b.width * Math.max(d.duration, 1)); }
      });
      // Save: the reel's windows, the selected one with its new edges (added to the reel if it was
      // left out, or left out with "Leave out"), as the recording's next plan override; the daemon
      // renders the reel again (only that form) and replaces it.
      async function save(keepSelected) {
        const status = document.getElementById('render-status');
        let token = sessionStorage.getItem('reprise-token');
        if (!token) { token = prompt('Console token (from http.token_file):'); if (!token) return; sessionStorage.setItem('reprise-token', token); }
        const windows = d.windows.map((w, i) => (i === selected ? [t.start, t.end] : w))
          .filter((w, i) => (i === selected ? keepSelected : d.inReel[i]))
          .sort((a, b) => a[0] - b[0]);
        if (!windows.length) { status.textContent = 'a reel needs at least one window'; return; }
        const r = await fetch('/api/recording/edits', { method: 'POST',
          headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
          body: JSON.stringify({ path: d.path, windows }) });
        const j = await r.json().catch(() => ({}));
        if (r.status === 401) sessionStorage.removeItem('reprise-token');
        if (!r.ok) { status.textContent = (j.error && j.error.message) || r.statusText; return; }
        status.textContent = 'saved as version ' + j.version + '; rendering (job #' + j.jobs[0].id + ')';
        status.dataset.version = j.version;
      }
      document.getElementById('render').addEventListener('click', () => save(true));
      document.getElementById('drop').addEventListener('click', () => save(false));
      document.addEventListener('keydown', (e) => {
        if (editor.hidden || e.target.matches('input, select, textarea')) return;
        if (e.key === 'Tab') { e.preventDefault(); edge = edge === 'start' ? 'end' : 'start'; show(); return; }
        if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
        e.preventDefault();
        const sign = e.key === 'ArrowLeft' ? '-' : '+';
        step(edge, sign + (e.altKey ? 'cut' : e.shiftKey ? '1s' : '1f'));
      });
    })();

    // Products' spans and outputs' details, each saved on its own as the recording's next plan
    // override: a span renders the highlights again; details are written into the sidecar at once.
    (function () {
      // One save at a time per button (a double click would otherwise save twice).
      async function send(body, status, button) {
        let token = sessionStorage.getItem('reprise-token');
        if (!token) { token = prompt('Console token (from http.token_file):'); if (!token) return; sessionStorage.setItem('reprise-token', token); }
        status.textContent = 'saving…';
        button.disabled = true;
        let r;
        try {
          r = await fetch('/api/recording/edits', { method: 'POST',
            headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
        } catch (err) { status.textContent = 'not saved: ' + err.message; return; } finally { button.disabled = false; }
        const j = await r.json().catch(() => ({}));
        if (r.status === 401) sessionStorage.removeItem('reprise-token');
        if (!r.ok) { status.textContent = (j.error && j.error.message) || r.statusText; return; }
        status.textContent = 'saved as version ' + j.version + (j.jobs.length ? '; rendering (job #' + j.jobs[0].id + ')' : '; details written');
        status.dataset.version = j.version;
      }
      document.addEventListener('click', (e) => {
        const button = e.target.closest('button[data-save]');
        if (!button) return;
        const status = button.parentElement.querySelector('.edit-status');
        if (button.dataset.save === 'span') {
          const row = button.closest('[data-product]');
          const value = (name) => Number(row.querySelector('input[name=' + name + ']').value);
          send({ path: row.closest('[data-path]').dataset.path,
                 products: [{ id: row.dataset.product, start: value('start'), end: value('end') }] }, status, button);
        } else {
          // Only the fields changed here: a generated value the person left alone is not made theirs.
          const box = button.closest('.details');
          const edit = { file: box.dataset.file };
          for (const el of box.querySelectorAll('[name]')) {
            if (el.value === el.defaultValue) continue;
            edit[el.name] = el.name === 'tags' ? el.value.split(',').map((s) => s.trim()).filter(Boolean) : el.value;
          }
          if (Object.keys(edit).length === 1) { status.textContent = 'nothing changed'; return; }
          send({ path: box.dataset.path, outputs: [edit] }, status, button);
        }
      });
    })();
    """
}
