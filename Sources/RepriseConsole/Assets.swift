import Hummingbird

/// The one stylesheet and the one script: small, served from the binary (no CDN, no build step).
enum Assets {
    static func add(to router: Router<ConsoleContext>) {
        router.get("assets/console.css") { _, _ in asset(css, type: "text/css; charset=utf-8") }
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
    h1{font-size:1.4rem;margin:.2rem 0 1rem}
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
    """
}
