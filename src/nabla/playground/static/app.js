// nabla playground page: settings <-> URL, one training run on the server, frames drawn on canvases.
// Plain JavaScript, no build step. The server validates everything; this file only shows and asks.
"use strict";

const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const USERNAME = document.querySelector('meta[name="username"]').content || null;
const EXTENT = 1.5;  // the input plane is [-EXTENT, EXTENT]^2 (network.py's grid)
const PALETTE = [[245, 147, 34], [8, 119, 189], [44, 160, 44], [214, 39, 40], [148, 103, 189], [140, 86, 75]];
const LOW = [245, 147, 34], MID = [232, 234, 235], HIGH = [8, 119, 189];

const state = {
  options: null, config: null, runId: null, source: null, playing: false, history: [], points: null,
  frame: null, starting: null, restartTimer: null, upload: null, experiment: null,
};
window.__playground = state;  // for tests and the curious

const $ = (id) => document.getElementById(id);

async function api(method, url, body, contentType) {
  const headers = {"X-CSRF-Token": CSRF};
  let payload = body;
  if (body !== undefined && contentType === undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  } else if (contentType) {
    headers["Content-Type"] = contentType;
  }
  const res = await fetch(url, {method, headers, body: payload, credentials: "same-origin"});
  let data = null;
  const text = await res.text();
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = {error: text}; }
  return {ok: res.ok, status: res.status, data};
}

function setStatus(text, kind) {
  const el = $("status");
  el.textContent = text || "";
  el.className = "status" + (kind ? " " + kind : "");
}

// ------------------------------------------------------------------------------ config <-> URL

const LIST_FIELDS = ["layers", "features"];

function fromQuery(search) {
  const params = new URLSearchParams(search);
  const out = {};
  for (const [key, value] of params) {
    if (key === "experiment" || !(key in state.options.defaults)) continue;
    const def = state.options.defaults[key];
    if (LIST_FIELDS.includes(key)) {
      const parts = value.split(",").filter((s) => s !== "");
      out[key] = key === "layers" ? parts.map(Number) : parts;
    } else if (typeof def === "boolean") out[key] = value === "true";
    else if (typeof def === "number") out[key] = Number(value);
    else out[key] = value;
  }
  return out;
}

function toQuery(config) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(config)) {
    if (value === null || value === undefined) continue;
    params.set(key, Array.isArray(value) ? value.join(",") : String(value));
  }
  return params.toString();
}

function writeURL() {
  history.replaceState(null, "", "?" + toQuery(state.config));
}

// ------------------------------------------------------------------------------ controls

function datasetsFor(problem) {
  const o = state.options;
  const sets = problem === "classification" ? o.classification_sets
    : problem === "multiclass" ? o.multiclass_sets : o.regression_sets;
  const out = [...sets];
  if (state.config.upload_id && state.upload && state.upload.problem === problem) out.push("upload");
  return out;
}

function buildControls() {
  document.querySelectorAll("select[id], input[data-kind]").forEach((el) => {
    if (!(el.id in state.config)) return;
    el.addEventListener(el.type === "range" ? "input" : "change", () => {
      const kind = el.dataset.kind;
      let value = el.value;
      if (kind === "float") value = parseFloat(value);
      else if (kind === "int") value = parseInt(value, 10);
      else if (kind === "bool") value = el.checked;
      state.config[el.id] = value;
      if (el.id === "problem") fixProblem();
      changed();
    });
  });
  $("features").innerHTML = "";
  for (const f of state.options.features) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = f;
    box.id = "feature-" + f;
    box.addEventListener("change", () => {
      const chosen = state.options.features.filter((g) => $("feature-" + g).checked);
      if (chosen.length === 0) { box.checked = true; return; }
      state.config.features = chosen;
      changed();
    });
    label.append(box, " " + f.replace("^2", "²").replace("*", "·"));
    $("features").append(label);
  }
  $("add-layer").addEventListener("click", () => {
    if (state.config.layers.length >= state.options.max_layers) return;
    state.config.layers = [...state.config.layers, 2];
    changed();
  });
  $("remove-layer").addEventListener("click", () => {
    if (state.config.layers.length === 0) return;
    state.config.layers = state.config.layers.slice(0, -1);
    changed();
  });
  $("play").addEventListener("click", () => control(state.playing ? "pause" : "play"));
  $("step").addEventListener("click", () => control("step"));
  $("reset").addEventListener("click", () => control("reset"));
  $("show-test").addEventListener("change", () => drawBoundary());
  $("upload-file").addEventListener("change", uploadFile);
  $("save").addEventListener("click", saveExperiment);
  $("new-token").addEventListener("click", newToken);
}

function fixProblem() {
  const c = state.config;
  const sets = datasetsFor(c.problem);
  if (!sets.includes(c.dataset)) { c.dataset = sets[0]; c.upload_id = null; }
  if (c.dataset !== "upload") c.classes = c.problem === "multiclass" ? Math.max(3, c.classes) : 2;
}

function syncControls() {
  const c = state.config;
  document.querySelectorAll("select[id], input[data-kind]").forEach((el) => {
    if (!(el.id in c)) return;
    if (el.dataset.kind === "bool") el.checked = !!c[el.id];
    else if (el.tagName === "SELECT") {
      const want = String(c[el.id]);
      let match = [...el.options].find((o) => o.value === want || parseFloat(o.value) === c[el.id]);
      if (!match) { match = new Option(want); el.add(match); }
      el.value = match.value;
    } else el.value = c[el.id];
  });
  document.querySelectorAll(".value[data-for]").forEach((span) => { span.textContent = c[span.dataset.for]; });
  for (const f of state.options.features) $("feature-" + f).checked = c.features.includes(f);
  $("classes-row").hidden = c.problem !== "multiclass" || c.dataset === "upload";
  const box = $("datasets");
  box.innerHTML = "";
  for (const name of datasetsFor(c.problem)) {
    const b = document.createElement("button");
    b.textContent = name;
    b.id = "dataset-" + name;
    b.className = name === c.dataset ? "dataset selected" : "dataset";
    b.addEventListener("click", () => {
      state.config.dataset = name;
      if (name !== "upload") state.config.upload_id = null;
      else state.config.upload_id = state.upload.id;
      fixProblem();
      changed();
    });
    box.append(b);
  }
  $("layer-count").textContent = c.layers.length;
  $("loss-name").textContent = c.problem === "regression" ? "loss: mean squared error" : "loss: cross-entropy";
  buildLayers();
}

function buildLayers() {
  const box = $("layers");
  box.innerHTML = "";
  state.config.layers.forEach((n, i) => {
    const col = document.createElement("div");
    col.className = "layer";
    const head = document.createElement("div");
    head.className = "layer-head";
    const minus = document.createElement("button");
    minus.textContent = "−";
    minus.title = "Remove a neuron";
    minus.addEventListener("click", () => { if (n > 1) { state.config.layers[i] = n - 1; changed(); } });
    const plus = document.createElement("button");
    plus.textContent = "+";
    plus.title = "Add a neuron";
    plus.addEventListener("click", () => {
      if (n < state.options.max_neurons) { state.config.layers[i] = n + 1; changed(); }
    });
    head.append(minus, ` ${n} neuron${n === 1 ? "" : "s"} `, plus);
    col.append(head);
    for (let j = 0; j < n; j++) {
      const cv = document.createElement("canvas");
      cv.width = cv.height = 16;
      cv.className = "neuron";
      cv.id = `neuron-${i}-${j}`;
      col.append(cv);
    }
    box.append(col);
  });
}

function changed() {
  state.config.layers = state.config.layers.map(Number);
  writeURL();
  syncControls();
  clearTimeout(state.restartTimer);
  state.restartTimer = setTimeout(() => startRun(state.playing), 150);
}

// ------------------------------------------------------------------------------ the run

async function startRun(play) {
  const old = state.runId;
  if (state.source) { state.source.close(); state.source = null; }
  state.runId = null;
  if (old) api("DELETE", `/api/runs/${old}`);
  state.history = [];
  state.frame = null;
  const res = await api("POST", "/api/runs", {config: state.config});
  if (!res.ok) {
    setPlaying(false);
    setStatus(res.data && res.data.error ? res.data.error : `error ${res.status}`, "error");
    return;
  }
  setStatus("");
  state.runId = res.data.run_id;
  state.points = res.data.points;
  $("export-weights").href = `/api/runs/${state.runId}/export/weights.safetensors`;
  $("export-code").href = `/api/runs/${state.runId}/export/code.py`;
  listen(state.runId);
  if (play) control("play");
  else setPlaying(false);
}

function listen(runId) {
  const es = new EventSource(`/api/runs/${runId}/events`);
  state.source = es;
  es.addEventListener("history", (e) => { if (state.runId === runId) state.history = JSON.parse(e.data); });
  es.addEventListener("frame", (e) => { if (state.runId === runId) onFrame(JSON.parse(e.data)); });
  es.addEventListener("closed", () => { es.close(); });
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED && state.runId === runId) {
      setStatus("The connection to the run was lost; starting again.", "error");
      startRun(false);
    }
  };
}

async function control(action) {
  if (!state.runId) return;
  if (action === "play") setPlaying(true);
  if (action === "pause" || action === "step" || action === "reset") setPlaying(false);
  if (action === "reset") state.history = [];
  const res = await api("POST", `/api/runs/${state.runId}/${action}`);
  if (!res.ok) setStatus(res.data ? res.data.error : `error ${res.status}`, "error");
}

function setPlaying(on) {
  state.playing = on;
  $("play").textContent = on ? "❚❚" : "▶";
  $("play").classList.toggle("playing", on);
}

function fmt(x) { return x === null || x === undefined ? "–" : x.toFixed(3); }

function onFrame(f) {
  state.frame = f.boundary ? f : {...(state.frame || {}), ...f, boundary: state.frame && state.frame.boundary,
                                   neurons: state.frame && state.frame.neurons};
  $("epoch").textContent = String(f.epoch).padStart(6, "0");
  if (f.status === "diverged" || f.status === "error") {
    setPlaying(false);
    setStatus(f.message, "error");
    return;
  }
  if (f.status === "paused" && state.playing && f.epoch > 0) setPlaying(false);
  if (f.status === "playing" && !state.playing) setPlaying(true);
  if (f.point) {
    if (f.epoch === 0) state.history = [];
    const last = state.history[state.history.length - 1];
    if (!last || last[0] !== f.point[0]) state.history.push(f.point);
  }
  $("test-loss").textContent = fmt(f.test_loss);
  $("train-loss").textContent = fmt(f.train_loss);
  $("test-acc").textContent = f.test_acc != null ? `accuracy ${(100 * f.test_acc).toFixed(1)}%` : "";
  $("train-acc").textContent = f.train_acc != null ? `accuracy ${(100 * f.train_acc).toFixed(1)}%` : "";
  if (f.grad_norms) drawGradients(f.grad_norms);
  drawLossChart();
  if (f.boundary) { drawBoundary(); drawNeurons(f.neurons || []); }
}

// ------------------------------------------------------------------------------ drawing

function bytes(b64) { return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)); }

function diverging(t) {
  const a = t < 0.5 ? LOW : MID, b = t < 0.5 ? MID : HIGH, u = t < 0.5 ? t * 2 : t * 2 - 1;
  return [0, 1, 2].map((k) => a[k] + (b[k] - a[k]) * u);
}

function mapImage(canvas, n, colour) {
  const off = document.createElement("canvas");
  off.width = off.height = n;
  const ctx = off.getContext("2d");
  const img = ctx.createImageData(n, n);
  for (let i = 0; i < n * n; i++) {
    const c = colour(i);
    img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2]; img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  const g = canvas.getContext("2d");
  g.imageSmoothingEnabled = true;
  g.drawImage(off, 0, 0, canvas.width, canvas.height);
}

function drawBoundary() {
  const cv = $("boundary");
  const g = cv.getContext("2d");
  const b = state.frame && state.frame.boundary;
  if (b) {
    const values = bytes(b.values);
    const n = Math.round(Math.sqrt(values.length));
    if (b.kind === "multiclass") {
      const labels = bytes(b.labels);
      mapImage(cv, n, (i) => {
        const conf = (values[i] / 255 - 1 / b.classes) / (1 - 1 / b.classes);
        const p = PALETTE[labels[i] % PALETTE.length];
        return p.map((v) => 255 + (v - 255) * Math.max(0.15, conf) * 0.8);
      });
    } else {
      mapImage(cv, n, (i) => diverging(values[i] / 255));
    }
  } else {
    g.fillStyle = "#e8eaeb";
    g.fillRect(0, 0, cv.width, cv.height);
  }
  if (!state.points) return;
  const px = (x) => ((x + EXTENT) / (2 * EXTENT)) * cv.width;
  const py = (y) => ((EXTENT - y) / (2 * EXTENT)) * cv.height;
  const lo = b && b.kind === "regression" ? b.lo : 0, hi = b && b.kind === "regression" ? b.hi : 1;
  const draw = (rows, test) => {
    for (const [x1, x2, y] of rows) {
      let c;
      if (state.config.problem === "regression") c = diverging(Math.min(1, Math.max(0, (y - lo) / (hi - lo))));
      else if (state.config.problem === "classification") c = y ? HIGH : LOW;
      else c = PALETTE[y % PALETTE.length];
      g.beginPath();
      g.arc(px(x1), py(x2), 3, 0, 2 * Math.PI);
      g.fillStyle = `rgb(${c[0]},${c[1]},${c[2]})`;
      g.fill();
      g.lineWidth = test ? 1.5 : 1;
      g.strokeStyle = test ? "#000" : "#fff";
      g.stroke();
    }
  };
  draw(state.points.train, false);
  if ($("show-test").checked) draw(state.points.test, true);
}

function drawNeurons(layers) {
  layers.forEach((maps, i) => maps.forEach((m, j) => {
    const cv = $(`neuron-${i}-${j}`);
    if (!cv) return;
    const values = bytes(m);
    mapImage(cv, Math.round(Math.sqrt(values.length)), (k) => diverging(values[k] / 255));
  }));
}

function drawLossChart() {
  const cv = $("loss-chart"), g = cv.getContext("2d");
  g.clearRect(0, 0, cv.width, cv.height);
  const h = state.history;
  if (h.length < 2) return;
  const maxE = h[h.length - 1][0] || 1;
  let maxL = 0;
  for (const p of h) maxL = Math.max(maxL, isFinite(p[1]) ? p[1] : 0, isFinite(p[2]) ? p[2] : 0);
  maxL = maxL || 1;
  const line = (k, colour) => {
    g.beginPath();
    h.forEach((p, i) => {
      const x = (p[0] / maxE) * (cv.width - 4) + 2, y = cv.height - 2 - (p[k] / maxL) * (cv.height - 4);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.strokeStyle = colour;
    g.lineWidth = 1.5;
    g.stroke();
  };
  line(1, "#999");
  line(2, "#111");
}

function drawGradients(norms) {
  const cv = $("grad-chart"), g = cv.getContext("2d");
  g.clearRect(0, 0, cv.width, cv.height);
  const lo = -6, hi = 2, n = norms.length, w = cv.width / Math.max(n, 1);
  g.font = "10px sans-serif";
  norms.forEach((v, i) => {
    const t = Math.min(1, Math.max(0, (Math.log10(Math.max(v, 1e-12)) - lo) / (hi - lo)));
    const bar = t * (cv.height - 24);
    g.fillStyle = v < 1e-4 ? "#d62728" : "#0877bd";
    g.fillRect(i * w + 6, cv.height - 14 - bar, w - 12, bar);
    g.fillStyle = "#333";
    g.fillText(i === n - 1 ? "out" : `L${i + 1}`, i * w + 6, cv.height - 2);
    g.fillText(v.toExponential(1), i * w + 6, cv.height - 16 - bar);
  });
}

// ------------------------------------------------------------------------------ data upload

async function uploadFile() {
  const file = $("upload-file").files[0];
  if (!file) return;
  if (file.size > state.options.max_upload_bytes) {
    $("upload-status").textContent = `The file is ${file.size} bytes; the limit is ${state.options.max_upload_bytes}.`;
    return;
  }
  const res = await api("POST", "/api/uploads", await file.arrayBuffer(), "text/csv");
  if (!res.ok) {
    $("upload-status").textContent = res.data ? res.data.error : `error ${res.status}`;
    return;
  }
  state.upload = {id: res.data.upload_id, problem: res.data.problem, classes: res.data.classes};
  $("upload-status").textContent = `${res.data.rows} points, ${res.data.problem}` +
    (res.data.problem === "regression" ? "" : ` (${res.data.classes} classes)`);
  Object.assign(state.config, {dataset: "upload", upload_id: res.data.upload_id, problem: res.data.problem,
                               classes: res.data.problem === "regression" ? 2 : res.data.classes});
  changed();
}

// ------------------------------------------------------------------------------ accounts, experiments

async function saveExperiment() {
  const name = $("save-name").value.trim() || `${state.config.dataset} ${state.config.layers.join("-")}`;
  const res = await api("POST", "/api/experiments", {name, run_id: state.runId, shared: $("save-shared").checked});
  if (!res.ok) { setStatus(res.data ? res.data.error : `error ${res.status}`, "error"); return; }
  setStatus(`Saved “${res.data.name}”.`);
  loadLibrary();
}

async function loadLibrary() {
  const res = await api("GET", "/api/experiments");
  if (!res.ok) return;
  const list = $("experiments");
  list.innerHTML = "";
  for (const e of res.data.experiments) {
    const li = document.createElement("li");
    li.className = "experiment";
    li.dataset.id = e.id;
    if (e.thumbnail) {
      const img = document.createElement("img");
      img.src = e.thumbnail;
      img.alt = "";
      li.append(img);
    }
    const a = document.createElement("a");
    a.href = e.link;
    a.textContent = e.name;
    a.className = "load";
    const m = e.metrics && e.metrics.test_loss != null ? ` · test loss ${e.metrics.test_loss.toFixed(3)}` : "";
    const info = document.createElement("span");
    info.className = "small";
    info.textContent = ` epoch ${e.epoch}${m}`;
    const share = document.createElement("button");
    share.textContent = e.shared ? "Unshare" : "Share";
    share.addEventListener("click", async () => {
      await api("PATCH", `/api/experiments/${e.id}`, {shared: !e.shared});
      loadLibrary();
    });
    const del = document.createElement("button");
    del.textContent = "Delete";
    del.className = "delete";
    del.addEventListener("click", async () => { await api("DELETE", `/api/experiments/${e.id}`); loadLibrary(); });
    li.append(a, info, share, del);
    list.append(li);
  }
}

async function loadTokens() {
  const res = await api("GET", "/api/tokens");
  if (!res.ok) return;
  const list = $("tokens");
  list.innerHTML = "";
  for (const t of res.data.tokens) {
    const li = document.createElement("li");
    const del = document.createElement("button");
    del.textContent = "Revoke";
    del.addEventListener("click", async () => { await api("DELETE", `/api/tokens/${t.id}`); loadTokens(); });
    li.append(`${t.name} (${t.prefix}…) `, del);
    list.append(li);
  }
}

async function newToken() {
  const name = $("token-name").value.trim() || "script";
  const res = await api("POST", "/api/tokens", {name});
  if (!res.ok) { setStatus(res.data ? res.data.error : `error ${res.status}`, "error"); return; }
  const p = $("new-token-value");
  p.hidden = false;
  p.textContent = `Your new token (copy it now, it is not shown again): ${res.data.token}`;
  loadTokens();
}

async function loadExperiment(id) {
  const res = await api("GET", `/api/experiments/${encodeURIComponent(id)}`);
  if (!res.ok) {
    setStatus("That experiment does not exist or is private.", "error");
    return false;
  }
  state.experiment = res.data;
  state.config = {...state.options.defaults, ...res.data.config};
  if (state.config.upload_id) state.upload = {id: state.config.upload_id, problem: state.config.problem};
  const banner = $("banner");
  banner.hidden = false;
  banner.textContent = res.data.owned ? `Loaded your experiment “${res.data.name}”.`
    : `Shared experiment “${res.data.name}” (read-only: your changes stay in this page).`;
  return true;
}

// ------------------------------------------------------------------------------ start

async function main() {
  state.options = await (await fetch("/api/options")).json();
  state.config = {...state.options.defaults, ...fromQuery(location.search)};
  const experiment = new URLSearchParams(location.search).get("experiment");
  if (experiment) await loadExperiment(experiment);
  if (state.config.upload_id) state.upload = {id: state.config.upload_id, problem: state.config.problem};
  $("logout-csrf").value = CSRF;
  if (USERNAME) {
    $("signed-out").hidden = true;
    $("signed-in").hidden = false;
    $("whoami").textContent = USERNAME;
    $("save-box").hidden = false;
    $("save-hint").hidden = true;
    $("library").hidden = false;
    loadLibrary();
    loadTokens();
  }
  buildControls();
  writeURL();
  const here = encodeURIComponent(location.pathname + location.search);
  $("login-link").href = "/login?next=" + here;
  $("register-link").href = "/register?next=" + here;
  syncControls();
  drawBoundary();
  await startRun(false);
}

main();
