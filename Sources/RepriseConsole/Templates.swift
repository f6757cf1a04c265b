/// The pages' swift-mustache templates. `{{x}}` is HTML-escaped; nothing here uses `{{{x}}}`
/// except `rows`, which is the jobrows template's own output.
enum Templates {
    static let all: [String: String] = [
        "top": top, "bottom": bottom, "jobs": jobs, "jobrows": jobRows, "recordings": recordings, "recording": recording,
    ]

    static let top = """
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{{title}} · Reprise</title>
    <link rel="stylesheet" href="/assets/console.css">
    <script src="/assets/console.js" defer></script>
    </head><body>
    <header><a class="brand" href="/jobs">Reprise</a>
    <nav><a href="/jobs"{{#onJobs}} aria-current="page"{{/onJobs}}>Jobs</a><a href="/recordings"{{#onRecordings}} aria-current="page"{{/onRecordings}}>Recordings</a><a href="/metrics">Metrics</a><a href="/openapi.yaml">API</a></nav>
    <span id="status" role="status"></span></header>
    <main>
    """

    static let bottom = """
    </main></body></html>
    """

    static let jobs = """
    {{> top}}
    <h1>Jobs</h1>
    <form class="filters" method="get" action="/jobs">
    <label>State <select name="state"><option value="">any</option>{{#states}}<option value="{{name}}"{{#selected}} selected{{/selected}}>{{name}} ({{count}})</option>{{/states}}</select></label>
    <label>Form <input name="form" value="{{form}}" placeholder="e.g. ladder:default"></label>
    <label>Recording <input name="recording" value="{{recording}}" placeholder="part of the name"></label>
    <button type="submit">Filter</button>
    </form>
    {{#hasNodes}}<section class="nodes"><h2>Nodes</h2><ul>{{#nodes}}<li><b>{{name}}</b> {{role}}, load {{load}}, running {{runningText}}</li>{{/nodes}}</ul></section>{{/hasNodes}}
    <div class="scroll"><table class="jobs"><thead><tr><th>#</th><th>Recording</th><th>Form</th><th>State</th><th>Progress</th><th>ETA</th><th>Tries</th><th>Error</th><th></th></tr></thead>
    <tbody id="jobs-body" data-events="/events?view=table{{queryAmp}}">{{{rows}}}</tbody></table></div>
    {{> bottom}}
    """

    static let jobRows = """
    {{#jobs}}<tr id="job-{{id}}" class="state-{{state}}" data-state="{{state}}"><td data-label="#">{{id}}</td><td data-label="Recording"><a href="/recording?path={{recordingQuery}}">{{recordingName}}</a></td><td data-label="Form">{{form}}</td><td class="state" data-label="State">{{state}}</td><td data-label="Progress">{{#progress}}<progress max="1" value="{{fraction}}"></progress> {{percent}} % {{stage}}{{/progress}}</td><td data-label="ETA">{{eta}}</td><td data-label="Tries">{{attempts}}</td><td class="error" data-label="Error">{{error}}</td><td class="actions">{{#canRetry}}<button type="button" data-act="retry" data-id="{{id}}">Retry</button>{{/canRetry}}{{#canCancel}}<button type="button" data-act="cancel" data-id="{{id}}">Cancel</button>{{/canCancel}}</td></tr>
    {{/jobs}}{{^jobs}}<tr><td colspan="9" class="empty">No jobs.</td></tr>{{/jobs}}
    """

    static let recordings = """
    {{> top}}
    <h1>Recordings</h1>
    <ul class="recordings">{{#recordings}}<li class="state-{{state}}"><a href="/recording?path={{pathQuery}}">{{#coverURL}}<img src="{{coverURL}}" alt="" loading="lazy">{{/coverURL}}{{^coverURL}}<span class="nocover"></span>{{/coverURL}}<b>{{name}}</b></a>
    <span class="state">{{state}}</span> <span class="size">{{sizeText}}</span>
    <span class="forms">{{#forms}}<span class="form state-{{state}}">{{form}}: {{state}}</span> {{/forms}}</span></li>
    {{/recordings}}{{^recordings}}<li class="empty">No recordings yet.</li>{{/recordings}}</ul>
    {{> bottom}}
    """

    static let recording = """
    {{> top}}
    <h1>{{name}}</h1>
    <p class="meta">{{sizeText}} · {{state}}{{#signalsText}} · signals: {{signalsText}}{{/signalsText}}{{^signalsText}} · no chat, order or product files{{/signalsText}}</p>
    {{#hasReview}}<h2>Signals and windows</h2>
    <div class="chart">{{{lanesSVG}}}</div>
    <h2>Windows</h2>
    <p class="hint">Click an empty spot on the chart, or use the button, to add a 10-s window to the reel. <button type="button" id="add-window">Add window</button></p>
    <ol class="windows">{{#windows}}<li><button type="button" class="pick" data-window="{{index}}">#{{number}} {{startText}}–{{endText}}</button> score {{score}}{{#product}} · {{product}}{{/product}}{{^inReel}} · not in the reel{{/inReel}}<br><span class="reasons">{{reasons}}</span></li>{{/windows}}</ol>
    <section id="editor" hidden aria-label="window edges">
    <h2>Edges of <span id="editor-title"></span></h2>
    <p class="hint">Keys: ← → one frame, Shift+← → one second, Alt+← → scene cut, Tab the other edge.</p>
    <div class="edges">{{#edges}}<figure class="edge" data-edge="{{name}}"><img alt="{{name}} frame" width="320" height="180">
    <figcaption><b>{{name}}</b> <output></output><br>
    <button type="button" data-step="-cut" title="previous scene cut">⏮ cut</button><button type="button" data-step="-1s">−1 s</button><button type="button" data-step="-1f">−1 f</button><button type="button" data-step="+1f">+1 f</button><button type="button" data-step="+1s">+1 s</button><button type="button" data-step="+cut" title="next scene cut">cut ⏭</button>
    </figcaption></figure>{{/edges}}</div>
    <p><button type="button" id="render">Save and render the reel</button> <button type="button" id="drop">Leave out of the reel</button> <span id="render-status" role="status"></span></p>
    </section>
    <script type="application/json" id="review-data">{{{reviewJSON}}}</script>
    {{#hasProducts}}<h2>Products</h2>
    <ul class="products-edit" data-path="{{path}}">{{#products}}<li data-product="{{id}}"><b>{{title}}</b> <span class="hint">{{id}}</span>
    <label>start <input type="number" name="start" min="0" max="{{duration}}" step="{{frameStep}}" value="{{start}}"></label>
    <label>end <input type="number" name="end" min="0" max="{{duration}}" step="{{frameStep}}" value="{{end}}"></label>
    <button type="button" data-save="span">Save span</button> <span class="edit-status" role="status"></span></li>{{/products}}</ul>{{/hasProducts}}{{/hasReview}}
    <h2>Forms</h2>
    <ul class="forms">{{#forms}}<li class="form state-{{state}}"><a href="/jobs?recording={{nameQuery}}">#{{job}} {{form}}</a>: {{state}}</li>{{/forms}}</ul>
    <h2>Outputs</h2>
    <div class="outputs">{{#outputs}}<figure class="output {{type}}">
    {{#isVideo}}<video controls preload="metadata" src="{{url}}"></video>{{/isVideo}}{{#isImage}}<img src="{{url}}" alt="{{fileName}}" loading="lazy">{{/isImage}}
    <figcaption><a href="{{url}}">{{fileName}}</a> <span class="form">{{form}}</span> <span class="size">{{sizeText}}</span>
    {{#details}}<fieldset class="details" data-file="{{fileName}}" data-path="{{path}}"><legend>Details</legend>
    <label>Title <input name="title" maxlength="200" value="{{title}}"></label>
    <label>Tags (comma-separated) <input name="tags" value="{{tagsText}}"></label>
    <label>Description <textarea name="description" maxlength="5000" rows="3">{{description}}</textarea></label>
    <button type="button" data-save="details">Save details</button> <span class="edit-status" role="status"></span></fieldset>{{/details}}</figcaption></figure>
    {{/outputs}}{{^outputs}}<p class="empty">Nothing made yet.</p>{{/outputs}}</div>
    {{> bottom}}
    """
}
