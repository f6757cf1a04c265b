/// `openapi.yaml` at the repository's root, served at `/openapi.yaml` (the binary is installed
/// alone, so the document travels inside it). `OpenAPIDocumentTests` fails when the two differ:
/// after editing the file, run `scripts/embed-openapi.py`.
enum OpenAPIDocument {
    static let yaml = #"""
openapi: 3.0.3
info:
  title: Reprise console API
  version: "1.0"
  description: |
    The review console of the Reprise daemon: jobs, recordings, outputs, live events and metrics.
    Writes (POST) need `Authorization: Bearer TOKEN` (the daemon's `http.token_file`); when the
    console listens beyond loopback, every request does. Errors are JSON `{"error": {"status", "message"}}`.
servers:
  - url: http://127.0.0.1:8470
security:
  - {}
  - bearer: []
paths:
  /api/jobs:
    get:
      summary: Jobs, newest first
      operationId: listJobs
      parameters:
        - {name: state, in: query, required: false, description: "comma-separated states", schema: {type: string, pattern: "^((queued|running|waiting|done|failed|quarantined|cancelled)(,(queued|running|waiting|done|failed|quarantined|cancelled))*)?$"}}
        - {name: form, in: query, required: false, schema: {type: string}}
        - {name: recording, in: query, required: false, description: "part of the recording's path", schema: {type: string}}
        - {name: limit, in: query, required: false, schema: {type: integer, minimum: 1, maximum: 10000}}
        - {name: parts, in: query, required: false, description: "include the parts of split jobs", schema: {type: string, enum: ["0", "1", "true", "false"]}}
      responses:
        "200": {description: the jobs and the count in every state, content: {application/json: {schema: {$ref: "#/components/schemas/JobList"}}}}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
  /api/jobs/{id}:
    get:
      summary: One job and its parts
      operationId: getJob
      parameters: [{$ref: "#/components/parameters/JobID"}]
      responses:
        "200": {description: the job, content: {application/json: {schema: {$ref: "#/components/schemas/JobDetail"}}}}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
  /api/jobs/{id}/retry:
    post:
      summary: Queue a failed, quarantined or cancelled job again
      operationId: retryJob
      security: [{bearer: []}]
      parameters: [{$ref: "#/components/parameters/JobID"}]
      responses:
        "200": {description: the job, queued, content: {application/json: {schema: {$ref: "#/components/schemas/Job"}}}}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "409": {$ref: "#/components/responses/Error"}
        "413": {$ref: "#/components/responses/Error"}
  /api/jobs/{id}/cancel:
    post:
      summary: Cancel a queued, running, waiting or failed job
      operationId: cancelJob
      security: [{bearer: []}]
      parameters: [{$ref: "#/components/parameters/JobID"}]
      responses:
        "200": {description: the job, cancelled, content: {application/json: {schema: {$ref: "#/components/schemas/Job"}}}}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "409": {$ref: "#/components/responses/Error"}
        "413": {$ref: "#/components/responses/Error"}
  /api/nodes:
    get:
      summary: Nodes heard from lately
      operationId: listNodes
      responses:
        "200": {description: the nodes, content: {application/json: {schema: {type: object, required: [nodes], properties: {nodes: {type: array, items: {$ref: "#/components/schemas/Node"}}}}}}}
        "401": {$ref: "#/components/responses/Error"}
  /api/recordings:
    get:
      summary: Recordings, newest first, with their forms
      operationId: listRecordings
      parameters:
        - {name: limit, in: query, required: false, description: "recordings (default 200)", schema: {type: integer, minimum: 1, maximum: 10000}}
      responses:
        "200": {description: the recordings, content: {application/json: {schema: {type: object, required: [recordings], properties: {recordings: {type: array, items: {$ref: "#/components/schemas/Recording"}}}}}}}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
  /api/recording:
    get:
      summary: One recording, its outputs and signal files
      operationId: getRecording
      parameters:
        - {name: path, in: query, required: true, description: "the recording's absolute path (inside the console's folders)", schema: {type: string, pattern: "^/"}}
      responses:
        "200": {description: the recording, content: {application/json: {schema: {$ref: "#/components/schemas/RecordingDetail"}}}}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "403": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
  /api/recording/edits:
    post:
      summary: Edit a recording's reel windows, products' spans or outputs' details (merged into a new plan override version); redo only what the edit touches
      description: >-
        The edit is merged over the recording's newest override (windows replace, products merge by id, outputs by file) and stored as
        the next version. Windows or products queue the highlights job again (409 while it renders); outputs' titles, tags and
        descriptions are written into their sidecars (FILE.json) at once, with no job (404 for an output with no sidecar).
      operationId: editRecording
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [path]
              minProperties: 2
              properties:
                path: {type: string, pattern: "^/"}
                windows: {type: array, minItems: 1, maxItems: 1000, items: {type: array, minItems: 2, maxItems: 2, items: {type: number, minimum: 0}}}
                products:
                  type: array
                  minItems: 1
                  maxItems: 1000
                  items:
                    type: object
                    required: [id, start, end]
                    properties:
                      id: {type: string, minLength: 1, description: "an id from the recording's product list"}
                      start: {type: number, minimum: 0, description: seconds on the recording's timeline}
                      end: {type: number, minimum: 0, description: "seconds on the recording's timeline; after start"}
                outputs:
                  type: array
                  minItems: 1
                  maxItems: 1000
                  items:
                    type: object
                    required: [file]
                    minProperties: 2
                    properties:
                      file: {type: string, minLength: 1, pattern: "^[^/]+$", description: "the output's file name, e.g. rec.reel.mp4"}
                      title: {type: string, maxLength: 200}
                      tags: {type: array, maxItems: 50, items: {type: string, minLength: 1, maxLength: 100}}
                      description: {type: string, maxLength: 5000}
      responses:
        "202": {description: "saved; the jobs queued (none for outputs' details only)", content: {application/json: {schema: {type: object, required: [version, jobs], properties: {version: {type: integer}, jobs: {type: array, items: {$ref: "#/components/schemas/Job"}}}}}}}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "403": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "409": {$ref: "#/components/responses/Error"}
        "413": {$ref: "#/components/responses/Error"}
  /api/frame:
    get:
      summary: The exact frame at a time (or index) of a recording, as JPEG
      operationId: getFrame
      parameters:
        - {name: path, in: query, required: true, description: "the recording's absolute path", schema: {type: string, pattern: "^/"}}
        - {name: t, in: query, required: false, description: "seconds on the recording's timeline (as a cut reads it)", schema: {type: number, minimum: 0}}
        - {name: frame, in: query, required: false, description: "frame index; wins over t when both are given", schema: {type: integer, minimum: 0}}
        - {name: width, in: query, required: false, schema: {type: integer, minimum: 16, maximum: 3840}}
      responses:
        "200": {description: the frame; X-Frame-Index and X-Frame-Time name it, content: {image/jpeg: {schema: {type: string, format: binary}}}}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
        "403": {$ref: "#/components/responses/Error"}
        "404": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
  /events:
    get:
      summary: Live job list (Server-Sent Events; event `jobs` with a JobList, or `table` with the jobs page's rows)
      operationId: events
      parameters:
        - {name: view, in: query, required: false, schema: {type: string, enum: [json, table]}}
        - {name: state, in: query, required: false, schema: {type: string}}
        - {name: form, in: query, required: false, schema: {type: string}}
        - {name: recording, in: query, required: false, schema: {type: string}}
      responses:
        "200": {description: an endless event stream, content: {text/event-stream: {schema: {type: string}}}}
        "400": {$ref: "#/components/responses/Error"}
        "401": {$ref: "#/components/responses/Error"}
  /metrics:
    get:
      summary: Prometheus metrics (jobs by state, job and queue-wait durations, frames, bytes, failures by reason)
      operationId: metrics
      responses:
        "200": {description: Prometheus text format, content: {text/plain: {schema: {type: string}}}}
        "401": {$ref: "#/components/responses/Error"}
  /openapi.yaml:
    get:
      summary: This document
      operationId: openapi
      responses:
        "200": {description: OpenAPI 3, content: {application/yaml: {schema: {type: object}}}}
        "401": {$ref: "#/components/responses/Error"}
  /healthz:
    get:
      summary: The console answers
      operationId: health
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [ok], properties: {ok: {type: boolean}}}}}}
        "401": {$ref: "#/components/responses/Error"}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
  parameters:
    JobID: {name: id, in: path, required: true, schema: {type: integer, format: int64, minimum: 1}}
  responses:
    Error:
      description: what was wrong with the request
      content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
  schemas:
    Error:
      type: object
      required: [error]
      properties:
        error:
          type: object
          required: [status, message]
          properties: {status: {type: integer}, message: {type: string}}
    State: {type: string, enum: [queued, running, waiting, done, failed, quarantined, cancelled]}
    Job:
      type: object
      required: [id, form, state, recording, recordingName, attempts, outputs, createdAt]
      properties:
        id: {type: integer, format: int64}
        form: {type: string, description: "e.g. transcode:long-form-720p, ladder:default, shorts; parts: chunk:…, audio:…, stitch:…"}
        state: {$ref: "#/components/schemas/State"}
        recording: {type: string}
        recordingName: {type: string}
        attempts: {type: integer}
        error: {type: string}
        outputs: {type: array, items: {type: string}}
        createdAt: {type: string, format: date-time}
        startedAt: {type: string, format: date-time}
        finishedAt: {type: string, format: date-time}
        node: {type: string}
        parent: {type: integer, format: int64}
        progress:
          type: object
          required: [stage, fraction]
          properties: {stage: {type: string}, fraction: {type: number, minimum: 0, maximum: 1}, etaSeconds: {type: number}}
    JobList:
      type: object
      required: [jobs, counts]
      properties:
        jobs: {type: array, items: {$ref: "#/components/schemas/Job"}}
        counts: {type: object, additionalProperties: {type: integer}}
    JobDetail:
      type: object
      required: [job, parts]
      properties:
        job: {$ref: "#/components/schemas/Job"}
        parts: {type: array, items: {$ref: "#/components/schemas/Job"}}
    Node:
      type: object
      required: [name, host, pid, role, load, running, watching, seenAt]
      properties:
        name: {type: string}
        host: {type: string}
        pid: {type: integer}
        role: {type: string}
        load: {type: number}
        running: {type: array, items: {type: integer, format: int64}}
        watching: {type: array, items: {type: string}}
        startedAt: {type: string, format: date-time}
        seenAt: {type: string, format: date-time}
        progress:
          description: Its running jobs' progress as of this heartbeat.
          type: array
          items:
            type: object
            required: [job, stage, fraction, startedAt, stageStartedAt]
            properties:
              job: {type: integer, format: int64}
              stage: {type: string}
              fraction: {type: number, minimum: 0, maximum: 1}
              startedAt: {type: string, format: date-time}
              stageStartedAt: {type: string, format: date-time}
    Recording:
      type: object
      required: [path, name, hash, size, forms, state]
      properties:
        path: {type: string}
        name: {type: string}
        hash: {type: string}
        size: {type: integer, format: int64}
        cover: {type: string}
        state: {$ref: "#/components/schemas/State"}
        forms:
          type: array
          items:
            type: object
            required: [job, form, state, outputs]
            properties:
              job: {type: integer, format: int64}
              form: {type: string}
              state: {$ref: "#/components/schemas/State"}
              outputs: {type: array, items: {type: string}}
    RecordingDetail:
      type: object
      required: [recording, outputs, signals]
      properties:
        recording: {$ref: "#/components/schemas/Recording"}
        review: {$ref: "#/components/schemas/Review"}
        outputs:
          type: array
          items:
            type: object
            required: [path, url, type, form]
            properties:
              path: {type: string}
              url: {type: string}
              type: {type: string, enum: [video, playlist, ladder, image, metadata, other]}
              bytes: {type: integer, format: int64}
              form: {type: string}
              details:
                type: object
                description: "a video's title, tags and description from its sidecar (FILE.json), when it has one"
                required: [title, tags, description]
                properties: {title: {type: string}, tags: {type: array, items: {type: string}}, description: {type: string}}
        signals:
          type: array
          items:
            type: object
            required: [kind, path]
            properties: {kind: {type: string, enum: [chat, orders, products]}, path: {type: string}}
    Review:
      type: object
      description: the highlights run's lanes (one value a second), scene cuts, windows, products and outputs
      required: [version, input, duration, lanes, sceneCuts, windows, products, outputs]
      properties:
        version: {type: integer}
        input: {type: string}
        duration: {type: number}
        frameRate: {type: number}
        lanes:
          type: array
          items: {type: object, required: [name, values], properties: {name: {type: string}, values: {type: array, items: {type: number}}}}
        sceneCuts: {type: array, items: {type: number}}
        windows:
          type: array
          items:
            type: object
            required: [start, end, peak, score, reasons]
            properties:
              start: {type: number}
              end: {type: number}
              peak: {type: number}
              score: {type: number}
              reasons: {type: array, items: {type: string}}
              product: {type: string}
              reel: {type: array, items: {type: number}}
        products:
          type: array
          items: {type: object, required: [id, title, start, end], properties: {id: {type: string}, title: {type: string}, start: {type: number}, end: {type: number}}}
        outputs:
          type: array
          items:
            type: object
            required: [form, path, title, ranges]
            properties:
              form: {type: string}
              path: {type: string}
              title: {type: string}
              ranges: {type: array, items: {type: array, items: {type: number}}}

"""#
}
