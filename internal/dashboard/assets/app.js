// custos's dashboard: one event stream (/admin/events) feeds the status
// and the charts; actions are the admin routes; the log view, the audit
// log and the playground each use their own route.

import { request, signIn, signOut, Stream, Unauthorized } from "/ui/api.js";
import { LineChart, palette } from "/ui/chart.js";

const $ = (id) => document.getElementById(id);
const historySeconds = 600; // what /admin/events keeps and sends at connect

const page = {
  status: null,
  models: [],           // model ids, in configuration order
  series: new Map(),    // model id → [{t, rps, ttfb, tps}]
  events: null,         // the /admin/events stream
  logs: null,           // the open log stream
  logsModel: "",
  auditOffset: 0,
  auditLimit: 20,
  control: "",          // the last control state shown, to know when the audit log grew
  retryAfterSignIn: [], // actions refused for want of a session, sent again once signed in
  view: "overview",
};

// el builds an element: el("td", {class: "x", dataset: {label: "y"}}, child, "text").
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c != null && c !== false) node.append(c.nodeType ? c : String(c));
  return node;
}

function pill(text, tone) {
  return el("span", { class: "pill", dataset: tone ? { tone } : {} }, text);
}

function setPill(node, text, tone) {
  node.textContent = text;
  if (tone) node.dataset.tone = tone; else delete node.dataset.tone;
}

// ---- formatting

function bytes(n) {
  if (!(n > 0)) return "0 B";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

function duration(seconds) {
  seconds = Math.max(0, Math.round(seconds));
  if (seconds < 60) return `${seconds}s`;
  const m = Math.floor(seconds / 60), s = seconds % 60;
  if (m < 60) return s ? `${m}m ${s}s` : `${m}m`;
  const h = Math.floor(m / 60), mm = m % 60;
  if (h < 48) return mm ? `${h}h ${mm}m` : `${h}h`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

function clock(date) {
  const d = new Date(date);
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay ? d.toLocaleTimeString() : d.toLocaleString();
}

const zeroTime = (t) => !t || t.startsWith("0001-");

// A relative time kept current by the ticker: "ago" and "for" count up
// from at, "in" counts down to it.
function rel(at, mode) {
  const node = el("span", { class: "rel", dataset: { at: String(new Date(at).getTime()), mode }, title: clock(at) });
  updateRel(node);
  return node;
}

function updateRel(node) {
  const at = Number(node.dataset.at), now = Date.now();
  const mode = node.dataset.mode;
  if (mode === "in") node.textContent = `in ${duration((at - now) / 1000)}`;
  else if (mode === "for") node.textContent = duration((now - at) / 1000);
  else node.textContent = `${duration((now - at) / 1000)} ago`;
}

setInterval(() => document.querySelectorAll(".rel").forEach(updateRel), 1000);

// ---- toasts and dialogs

function toast(message, bad = false) {
  const node = el("div", { class: bad ? "toast bad" : "toast", role: bad ? "alert" : "status" }, message);
  $("toasts").append(node);
  setTimeout(() => node.remove(), bad ? 8000 : 4000);
}

// ask shows the confirmation dialog; it resolves to {reason, state}, or
// null when cancelled.
function ask({ title, text = "", ok = "OK", tone = "primary", reason = false, reasonRequired = false, state = false }) {
  const dialog = $("confirm");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-reason-label").hidden = !reason;
  $("confirm-reason").required = reason && reasonRequired;
  $("confirm-reason").value = "";
  $("confirm-state-label").hidden = !state;
  const okButton = $("confirm-ok");
  okButton.textContent = ok;
  okButton.className = tone;
  dialog.returnValue = "";
  dialog.showModal();
  (reason ? $("confirm-reason") : state ? $("confirm-state") : okButton).focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok" ? { reason: $("confirm-reason").value.trim(), state: $("confirm-state").value } : null);
    }, { once: true });
  });
}

// ---- session

function promptSignIn() {
  const dialog = $("login");
  setConn("signed out");
  $("signout").hidden = false;
  $("signout").textContent = "Sign in";
  if (dialog.open) return;
  $("login-error").textContent = "";
  dialog.showModal();
  $("login-token").focus();
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const input = $("login-token");
  $("login-submit").disabled = true;
  try {
    await signIn(input.value);
    input.value = "";
    $("login").close();
    $("signout").textContent = "Sign out";
    $("signout").hidden = false;
    request("GET", "/status").then(renderStatus, () => {});
    connect();
    const retries = page.retryAfterSignIn.splice(0);
    for (const retry of retries) retry();
  } catch (err) {
    $("login-error").textContent = err.message;
    input.select();
  } finally {
    $("login-submit").disabled = false;
  }
});

$("signout").addEventListener("click", async () => {
  if ($("signout").textContent === "Sign in") { promptSignIn(); return; }
  await signOut();
  if (page.events) page.events.close();
  if (page.logs) page.logs.close();
  promptSignIn();
});

// act sends an admin action and reports how it went; an action refused
// for want of a session asks for the token and is sent again after it.
async function act(description, method, path, body) {
  try {
    const result = await request(method, path, body);
    const unchanged = result && result.changed === false;
    toast(unchanged ? `${description}: nothing to change` : `${description}: done`);
    return result;
  } catch (err) {
    if (err instanceof Unauthorized) {
      page.retryAfterSignIn.push(() => act(description, method, path, body));
      promptSignIn();
      return null;
    }
    toast(`${description} failed: ${err.message}`, true);
    return null;
  }
}

// ---- connection

function setConn(state) {
  const tone = state === "live" ? "ok" : state === "signed out" ? "bad" : "warn";
  setPill($("conn"), state, tone);
}

function connect() {
  if (page.events) page.events.close();
  page.events = new Stream("/admin/events", {
    status: renderStatus,
    history: (h) => { page.series.clear(); for (const p of h.points || []) addStats(p, false); drawCharts(); },
    stats: (p) => addStats(p, true),
  }, { onState: setConn, onUnauthorized: promptSignIn, onRefused: (message) => toast(`Live view: ${message}`, true) });
  if (page.view === "logs") openLogs();
  if (page.view === "audit") loadAudit(page.auditOffset);
}

// ---- status

function tone(state) {
  switch (state) {
    case "ready": case "Ready": case "healthy": return "ok";
    case "loading": case "backoff": case "Warming": case "Degraded": case "cautious": case "concerned": return "warn";
    case "unhealthy": case "stopped": case "Failed": case "distressed": return "bad";
    case "unloading": case "stopping": return "info";
    default: return "";
  }
}

function renderStatus(st) {
  // The moment the page first shows custos's state, on the page's own
  // clock (the browser tests report it).
  if (!page.status) performance.mark("custos:first-status");
  page.status = st;
  $("version").textContent = /^\d/.test(st.version || "") ? `v${st.version}` : st.version || "";
  const gate = st.gate || {};
  if (gate.draining) setPill($("gate-state"), "draining", "warn");
  else setPill($("gate-state"), gate.open ? "open" : "closed", gate.open ? "ok" : "bad");
  $("uptime").replaceChildren("up ", rel(st.started_at, "for"));
  $("subsystems").replaceChildren(...(gate.subsystems || []).map((s) =>
    el("li", {}, el("span", { class: "name" }, s.name), pill(s.state, tone(s.state)), el("span", { class: "muted small" }, s.detail || ""))));
  $("store-kind").textContent = (st.store && st.store.kind) || "?";
  renderIntervention(st);
  renderMemory(st);
  renderModels(st);
  // A change of the control state is a new audit event: show it on the
  // first page (traffic alone changes the status too, and adds none).
  const control = JSON.stringify((st.intervention && st.intervention.state) || null);
  if (control !== page.control) {
    page.control = control;
    if (page.view === "audit" && page.auditOffset === 0) loadAudit(0);
  }
}

// pauseEnd says when max_pause ends a pause: at the deadline stored with
// it (until), which custos enforces — fixed when the pause began, so a
// max_pause changed since, or another replica's, does not move it. Only a
// pause stored without one ends at since plus this custos's max_pause.
function pauseEnd(pause, iv) {
  if (pause.policy) return el("span", {}, "ends when wellbeing improves");
  const until = zeroTime(pause.until) ? 0 : new Date(pause.until).getTime();
  if (!until && !(iv.max_pause_secs > 0)) return el("span", {}, "no max_pause: ends on resume");
  const end = until || new Date(pause.since).getTime() + iv.max_pause_secs * 1000;
  return el("span", {}, "max_pause ends it ", rel(end, "in"), ` (${clock(end)})`);
}

function renderIntervention(st) {
  const iv = st.intervention;
  const banner = $("banner");
  if (!iv) {
    setPill($("pause-state"), "no controller", "");
    banner.hidden = true;
    return;
  }
  const state = iv.state || {};
  const c = iv.counters || {};
  if (iv.restoring) setPill($("pause-state"), "restoring", "warn");
  else if (state.global) setPill($("pause-state"), "paused", "warn");
  else if (state.models && Object.keys(state.models).length) setPill($("pause-state"), "partly paused", "warn");
  else setPill($("pause-state"), "serving", "ok");
  $("pause-detail").textContent = `${c.requests_waiting || 0} held now · ${c.pauses_total || 0} pauses, ${c.requests_timed_out || 0} held requests timed out`;
  setPill($("wellbeing"), state.wellbeing || "?", tone(state.wellbeing));
  $("wellbeing-reason").textContent = state.wellbeing_reason || "";

  const lines = [];
  const line = (scope, model, p) => el("div", { class: "line" },
    el("strong", {}, scope),
    el("span", {}, p.reason ? `“${p.reason}”` : "no reason given"),
    el("span", { class: "muted" }, `by ${p.by || "?"}, since `, rel(p.since, "ago")),
    el("span", { class: "muted" }, pauseEnd(p, iv)),
    el("button", { class: "small", onclick: () => resume(model) }, model ? `Resume ${model}` : "Resume all"));
  if (state.global) lines.push(line("Inference paused for every model", "", state.global));
  for (const [model, p] of Object.entries(state.models || {})) lines.push(line(`${model} paused`, model, p));
  banner.replaceChildren(...lines);
  banner.hidden = lines.length === 0;
}

function renderMemory(st) {
  const mem = st.memory;
  if (!mem) {
    $("memory-used").textContent = "no budget";
    return;
  }
  $("memory-used").textContent = bytes(mem.resident);
  $("memory-budget").textContent = bytes(mem.budget);
  const segments = [], legend = [];
  st.models.forEach((m, i) => {
    const p = m.placement;
    if (!p || !p.loaded || !(p.memory > 0)) return;
    const color = palette[i % palette.length];
    const share = mem.budget > 0 ? Math.min(100, (p.memory / mem.budget) * 100) : 0;
    const seg = el("span", { title: `${m.model}: ${bytes(p.memory)}` });
    seg.style.width = `${share}%`;
    seg.style.background = color;
    segments.push(seg);
    const swatch = el("i");
    swatch.style.background = color;
    legend.push(el("li", {}, swatch, `${m.model} ${bytes(p.memory)}${p.measured ? "" : " (est.)"}`));
  });
  $("memory-bar").replaceChildren(...segments);
  $("memory-bar").setAttribute("aria-label", `${bytes(mem.resident)} of ${bytes(mem.budget)} in use`);
  $("memory-legend").replaceChildren(...legend);
}

function modelPaused(st, id) {
  const state = (st.intervention && st.intervention.state) || {};
  return state.models && state.models[id];
}

function renderModels(st) {
  const ids = st.models.map((m) => m.model);
  if (ids.join("\n") !== page.models.join("\n")) {
    page.models = ids;
    fillSelect($("logs-model"), st.models.filter((m) => !isRemote(m)).map((m) => m.model));
    fillSelect($("play-model"), ids);
    renderLegend();
  }
  // Rows stay, and so do their action buttons unless what they offer
  // changed: a status arrives several times a second under traffic, and a
  // button replaced between a press and its release loses the click.
  const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key : "";
  const tbody = $("models").tBodies[0];
  const existing = new Map([...tbody.rows].map((r) => [r.dataset.model, r]));
  const rows = st.models.map((m) => {
    const view = modelRow(st, m);
    let tr = existing.get(m.model);
    if (!tr) {
      tr = el("tr", { dataset: { model: m.model } }, ...view.cells, view.actions);
    } else {
      view.cells.forEach((td, i) => tr.cells[i].replaceWith(td));
      if (tr.dataset.actions !== view.offer) tr.cells[view.cells.length].replaceWith(view.actions);
    }
    tr.dataset.actions = view.offer;
    tr.dataset.state = m.state;
    return tr;
  });
  if (rows.length !== tbody.rows.length || rows.some((tr, i) => tbody.rows[i] !== tr)) tbody.replaceChildren(...rows);
  if (focused && !(document.activeElement && document.activeElement.dataset && document.activeElement.dataset.key === focused)) {
    const again = $("models").querySelector(`[data-key="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }
}

// currentModel is the model's latest status, for an action that reads it
// when it is clicked rather than when its button was drawn.
function currentModel(id) {
  return ((page.status && page.status.models) || []).find((m) => m.model === id);
}

function modelRow(st, m) {
  const p = m.placement || {};
  const paused = modelPaused(st, m.model);
  const stateCell = el("td", { dataset: { label: "State" } });
  const stateBox = el("div", {}, pill(m.state, tone(m.state)), paused ? [" ", pill("paused", "warn")] : null);
  const inner = el("div", {}, stateBox);
  if (m.state === "loading" && m.progress >= 0) {
    const bar = el("div", { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(Math.round(m.progress * 100)) });
    const fill = el("span");
    fill.style.width = `${Math.round(m.progress * 100)}%`;
    bar.append(fill);
    inner.append(bar);
  }
  if (m.reason) inner.append(el("div", { class: "reason" }, m.reason, " · ", rel(m.since, "ago")));
  stateCell.append(inner);

  let idle = "—";
  if (isRemote(m)) idle = "—"; // placed nowhere here: it takes no memory of this machine
  else if (p.pinned) idle = "pinned";
  else if (p.loaded) {
    const parts = [];
    if (p.requests > 0) parts.push("busy");
    else if (!zeroTime(p.last_used)) parts.push(el("span", {}, "idle ", rel(p.last_used, "ago")));
    if (p.ttl) parts.push(` · ttl ${duration(p.ttl / 1e9)}`);
    if (!zeroTime(p.unloads_at)) parts.push(el("span", {}, " · unloads ", rel(p.unloads_at, "in")));
    idle = el("span", {}, ...parts);
  } else if (p.ttl) idle = `ttl ${duration(p.ttl / 1e9)}`;

  const key = (what) => `${m.model}/${what}`;
  const loaded = !["unloaded", "unloading"].includes(m.state);
  // A remote model runs no process here: it is never loaded or unloaded,
  // prints nothing custos holds, and a restart ends its ejections.
  const remote = isRemote(m);
  const actions = el("div", { class: "actions" },
    paused
      ? el("button", { dataset: { key: key("resume") }, onclick: () => resume(m.model) }, "Resume")
      : el("button", { class: "warn", dataset: { key: key("pause") }, onclick: () => pause(m.model) }, "Pause"),
    el("button", { dataset: { key: key("restart") }, onclick: () => restart(currentModel(m.model) || m), disabled: !loaded }, remote ? "Re-probe" : "Restart"),
    remote ? null : loaded
      ? el("button", { dataset: { key: key("unload") }, onclick: () => unload(currentModel(m.model) || m) }, "Unload")
      : el("button", { dataset: { key: key("load") }, onclick: () => load(m.model) }, "Load"),
    remote ? null : el("button", { class: "ghost", dataset: { key: key("logs") }, onclick: () => showLogs(m.model) }, "Logs"));
  const backendCell = el("td", { dataset: { label: "Backend" } }, m.backend, m.pid ? el("div", { class: "muted small" }, `pid ${m.pid}`) : null);
  for (const r of m.replicas || []) {
    const detail = r.state === "ejected" && !zeroTime(r.ejected_until) ? ["cool-down ends ", rel(r.ejected_until, "in")] : [`${r.in_flight || 0} in flight`];
    backendCell.append(el("div", { class: "replica", title: r.reason || r.last_probe_error || "" },
      pill(r.state, replicaTone(r.state)), " ", el("span", { class: "host" }, hostOf(r.url)), " ", el("span", { class: "muted small" }, ...detail)));
  }

  return {
    cells: [
      el("td", { dataset: { label: "Model" } }, m.model, m.aliases && m.aliases.length ? el("div", { class: "aliases" }, m.aliases.join(", ")) : null),
      stateCell,
      backendCell,
      el("td", { class: "num", dataset: { label: "Memory" } }, p.memory > 0 ? `${bytes(p.memory)}${p.measured ? "" : " est."}` : p.estimate > 0 ? `${bytes(p.estimate)} est.` : "—"),
      el("td", { class: "num", dataset: { label: "In flight / queued" } }, `${m.in_flight || 0} / ${m.queued || 0}`),
      el("td", { class: "num", dataset: { label: "Restarts" } }, String(m.restarts || 0), m.consecutive_failures ? el("div", { class: "muted small" }, `${m.consecutive_failures} failing`) : null),
      el("td", { class: "exit", dataset: { label: "Last exit" } }, m.last_exit || "—"),
      el("td", { dataset: { label: "Idle / TTL" } }, idle),
    ],
    actions: el("td", { dataset: { label: "Actions" } }, actions),
    offer: `${paused ? "paused" : "running"} ${loaded ? "loaded" : "unloaded"} ${remote ? "remote" : "local"}`,
  };
}

const isRemote = (m) => m.backend === "remote";

function replicaTone(state) {
  return { ready: "ok", loading: "warn", ejected: "bad", retiring: "info" }[state] || "";
}

function hostOf(url) {
  try { return new URL(url).host; } catch { return url; }
}

function fillSelect(select, ids) {
  const keep = select.value;
  select.replaceChildren(...ids.map((id) => el("option", { value: id }, id)));
  if (ids.includes(keep)) select.value = keep;
}

// ---- actions

async function pause(model) {
  const answer = await ask({
    title: model ? `Pause ${model}?` : "Pause inference for every model?",
    text: "Requests are held, not dropped, until you resume (or max_pause ends the pause); those held past wait_timeout get 503.",
    ok: "Pause", tone: "warn", reason: true, reasonRequired: true,
  });
  if (!answer) return;
  const body = { reason: answer.reason };
  if (model) body.model = model;
  await act(model ? `Pause ${model}` : "Pause all", "POST", "/admin/pause", body);
}

function resume(model) {
  return act(model ? `Resume ${model}` : "Resume all", "POST", "/admin/resume", model ? { model } : {});
}

async function restart(m) {
  if (isRemote(m)) {
    const answer = await ask({ title: `Re-probe ${m.model}?`, text: "Every ejected replica is let back in at once and every replica is probed now.", ok: "Re-probe" });
    if (answer) await act(`Re-probe ${m.model}`, "POST", `/admin/models/${encodeURIComponent(m.model)}/restart`, {});
    return;
  }
  const answer = await ask({
    title: `Restart ${m.model}?`,
    text: m.in_flight ? `The backend is stopped and started again: its ${m.in_flight} request(s) in flight are cut off.` : "The backend is stopped and started again; requests that arrive meanwhile wait.",
    ok: "Restart", tone: "danger",
  });
  if (answer) await act(`Restart ${m.model}`, "POST", `/admin/models/${encodeURIComponent(m.model)}/restart`, {});
}

async function unload(m) {
  const answer = await ask({
    title: `Unload ${m.model}?`,
    text: "Requests in flight finish first; new ones wait for the model to load again.",
    ok: "Unload", tone: "warn",
  });
  if (answer) await act(`Unload ${m.model}`, "POST", `/admin/models/${encodeURIComponent(m.model)}/unload`, {});
}

function load(model) {
  return act(`Load ${model}`, "POST", `/admin/models/${encodeURIComponent(model)}/load`, {});
}

$("pause-all").addEventListener("click", () => pause(""));
$("resume-all").addEventListener("click", () => resume(""));
$("wellbeing-report").addEventListener("click", async () => {
  const answer = await ask({ title: "Report wellbeing", text: "A report may pause inference, as the intervention policy says.", ok: "Report", reason: true, reasonRequired: true, state: true });
  if (answer) await act(`Wellbeing ${answer.state}`, "POST", "/admin/wellbeing", { state: answer.state, reason: answer.reason });
});

// ---- charts

const charts = {
  rps: new LineChart($("chart-rps")),
  ttfb: new LineChart($("chart-ttfb")),
  tps: new LineChart($("chart-tps")),
};

function setChartWindow() {
  const seconds = Number($("chart-window").value) || 300;
  for (const chart of Object.values(charts)) chart.windowSeconds = seconds;
  $("h-charts").textContent = `Last ${seconds >= 60 ? `${seconds / 60} minute${seconds === 60 ? "" : "s"}` : `${seconds} s`}`;
  drawCharts();
}
$("chart-window").addEventListener("change", setChartWindow);
let lastStatsTime = 0;

function addStats(point, redraw) {
  lastStatsTime = Math.max(lastStatsTime, point.t);
  for (const [id, s] of Object.entries(point.models || {})) {
    let list = page.series.get(id);
    if (!list) page.series.set(id, (list = []));
    list.push({ t: point.t, rps: s.requests, ttfb: s.ttfb_ms, tps: s.tokens_per_s });
    while (list.length && list[0].t < point.t - historySeconds) list.shift();
  }
  if (redraw) drawCharts();
}

let drawPending = false;
function drawCharts() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => {
    drawPending = false;
    if (page.view !== "overview") return;
    const now = lastStatsTime || Date.now() / 1000;
    for (const [name, chart] of Object.entries(charts)) {
      const series = page.models.map((id, i) => ({
        name: id, color: palette[i % palette.length],
        points: (page.series.get(id) || []).map((p) => [p.t, p[name]]),
      }));
      chart.draw(series, now);
    }
  });
}

function renderLegend() {
  $("chart-legend").replaceChildren(...page.models.map((id, i) => {
    const swatch = el("i");
    swatch.style.background = palette[i % palette.length];
    return el("li", {}, swatch, id);
  }));
}

new ResizeObserver(drawCharts).observe(document.querySelector(".charts"));

setChartWindow();

// ---- logs

function showLogs(model) {
  $("logs-model").value = model;
  selectView("logs");
}

function openLogs() {
  const model = $("logs-model").value;
  if (page.logs) page.logs.close();
  page.logs = null;
  $("logs").replaceChildren();
  if (!model) return;
  page.logsModel = model;
  $("logs-status").textContent = `connecting to ${model}'s output…`;
  page.logs = new Stream(`/admin/models/${encodeURIComponent(model)}/logs`, {
    line: appendLogLine,
    dropped: (d) => appendLogNote(`… ${d.lines} line(s) dropped: the view fell behind the backend`),
  }, {
    onState: (s) => { $("logs-status").textContent = `${model}: ${s}`; },
    onUnauthorized: promptSignIn,
    onRefused: (message) => { $("logs-status").textContent = `${model}: ${message}`; },
  });
}

const maxLogLines = 5000;
function appendLogLine(l) {
  const node = el("div", { class: l.stream === "stderr" ? "stderr" : "" }, el("span", { class: "seq" }, String(l.seq)), l.line);
  appendLog(node);
}
function appendLogNote(text) { appendLog(el("div", { class: "note" }, text)); }
function appendLog(node) {
  const view = $("logs");
  const atBottom = view.scrollTop + view.clientHeight >= view.scrollHeight - 4;
  view.append(node);
  while (view.childElementCount > maxLogLines) view.firstElementChild.remove();
  if ($("logs-follow").checked && atBottom) view.scrollTop = view.scrollHeight;
}

$("logs-model").addEventListener("change", openLogs);
$("logs-clear").addEventListener("click", () => $("logs").replaceChildren());
$("logs-follow").addEventListener("change", () => { if ($("logs-follow").checked) $("logs").scrollTop = $("logs").scrollHeight; });

// ---- audit

async function loadAudit(offset) {
  try {
    const answer = await request("GET", `/admin/audit?limit=${page.auditLimit}&offset=${offset}`);
    page.auditOffset = answer.offset || 0;
    const rows = (answer.events || []).map((e) => el("tr", {},
      el("td", { class: "num", title: e.at }, clock(e.at)),
      el("td", {}, e.action),
      el("td", {}, e.scope),
      el("td", {}, `${e.old} → ${e.new}`),
      el("td", {}, e.reason || ""),
      el("td", {}, e.actor)));
    if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: "6", class: "muted" }, "no events")));
    $("audit").tBodies[0].replaceChildren(...rows);
    const shown = (answer.events || []).length;
    $("audit-page").textContent = shown ? `${page.auditOffset + 1}–${page.auditOffset + shown}` : "";
    $("audit-newer").disabled = page.auditOffset === 0;
    $("audit-older").disabled = answer.next_offset == null;
    $("audit-older").dataset.next = answer.next_offset == null ? "" : String(answer.next_offset);
  } catch (err) {
    if (err instanceof Unauthorized) promptSignIn();
    else toast(`Audit log: ${err.message}`, true);
  }
}

$("audit-newer").addEventListener("click", () => loadAudit(Math.max(0, page.auditOffset - page.auditLimit)));
$("audit-older").addEventListener("click", () => loadAudit(Number($("audit-older").dataset.next || 0)));

// ---- playground

let playAbort = null;

$("play-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if (playAbort) return;
  const output = $("play-output");
  const timings = $("play-timings");
  const cursor = el("span", { class: "cursor" });
  const text = document.createTextNode("");
  output.classList.remove("error");
  output.replaceChildren(text, cursor);
  playAbort = new AbortController();
  $("play-send").disabled = true;
  $("play-stop").disabled = false;

  const started = performance.now();
  let firstToken = 0, chunks = 0, usageTokens = 0;
  const show = (done) => {
    const now = performance.now();
    const parts = [];
    if (firstToken) parts.push(`first token ${Math.round(firstToken - started)} ms`);
    parts.push(`${done ? "total" : "elapsed"} ${Math.round(now - started)} ms`);
    const tokens = usageTokens || chunks;
    if (tokens) {
      parts.push(`${tokens} ${usageTokens ? "tokens" : "chunks"}`);
      if (firstToken && now > firstToken) parts.push(`${(tokens / ((now - firstToken) / 1000)).toFixed(1)}/s`);
    }
    timings.textContent = parts.join(" · ");
  };
  const headers = { "Content-Type": "application/json" };
  const key = $("play-key").value.trim();
  if (key) headers.Authorization = `Bearer ${key}`;
  try {
    const resp = await fetch("/v1/chat/completions", {
      method: "POST", headers, signal: playAbort.signal,
      body: JSON.stringify({
        model: $("play-model").value,
        stream: true,
        max_tokens: Number($("play-max").value) || 64,
        messages: [{ role: "user", content: $("play-input").value }],
      }),
    });
    if (!resp.ok) {
      let message = `${resp.status} ${resp.statusText}`;
      try { const body = await resp.json(); message = `${resp.status}: ${body.error.message}`; } catch { /* keep the status */ }
      throw new Error(message);
    }
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        for (const line of event.split("\n")) {
          if (!line.startsWith("data:")) continue;
          const data = line.slice(5).trim();
          if (data === "[DONE]") continue;
          let chunk;
          try { chunk = JSON.parse(data); } catch { continue; }
          if (chunk.error) throw new Error(chunk.error.message || "the stream ended with an error");
          if (chunk.usage && chunk.usage.completion_tokens) usageTokens = chunk.usage.completion_tokens;
          const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
          if (delta && delta.content) {
            if (!firstToken) firstToken = performance.now();
            chunks++;
            text.data += delta.content;
          }
        }
      }
      show(false);
    }
    show(true);
  } catch (err) {
    if (err.name !== "AbortError") {
      output.classList.add("error");
      text.data += (text.data ? "\n" : "") + err.message;
    }
    show(true);
  } finally {
    cursor.remove();
    playAbort = null;
    $("play-send").disabled = false;
    $("play-stop").disabled = true;
  }
});

$("play-stop").addEventListener("click", () => { if (playAbort) playAbort.abort(); });
$("play-input").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) $("play-form").requestSubmit();
});

// ---- views

const views = ["overview", "logs", "audit", "playground"];

function selectView(view) {
  if (!views.includes(view)) view = "overview";
  const previous = page.view;
  page.view = view;
  for (const v of views) {
    const tab = $(`tab-${v}`);
    tab.setAttribute("aria-selected", String(v === view));
    tab.tabIndex = v === view ? 0 : -1;
    $(`view-${v}`).hidden = v !== view;
  }
  if (location.hash !== `#${view}`) history.replaceState(null, "", `#${view}`);
  if (view === "logs" && (previous !== "logs" || !page.logs || page.logsModel !== $("logs-model").value)) openLogs();
  if (view !== "logs" && page.logs) { page.logs.close(); page.logs = null; }
  if (view === "audit") loadAudit(page.auditOffset);
  if (view === "overview") drawCharts();
}

for (const v of views) $(`tab-${v}`).addEventListener("click", () => selectView(v));
document.querySelector(".tabs").addEventListener("keydown", (ev) => {
  const i = views.indexOf(page.view);
  let next = -1;
  if (ev.key === "ArrowRight") next = (i + 1) % views.length;
  else if (ev.key === "ArrowLeft") next = (i + views.length - 1) % views.length;
  else if (ev.key === "Home") next = 0;
  else if (ev.key === "End") next = views.length - 1;
  if (next < 0) return;
  ev.preventDefault();
  selectView(views[next]);
  $(`tab-${views[next]}`).focus();
});
window.addEventListener("hashchange", () => selectView(location.hash.slice(1)));

// ---- start: the status at once (it also tells whether a session is
// needed), then the live stream.

async function start() {
  selectView(location.hash.slice(1) || "overview");
  try {
    renderStatus(await request("GET", "/status"));
  } catch (err) {
    if (err instanceof Unauthorized) { promptSignIn(); return; }
    toast(`Status: ${err.message}`, true);
  }
  connect();
}

start();
