// The Campaigns page. Everything it shows comes from ./api/v1 and is put into the DOM as text
// (textContent / attribute values, never innerHTML), so names, variables and search terms
// with HTML in them show as typed.
"use strict";

let STATUSES = [];  // lead statuses in display order, from the API (api/v1/vocabulary)
const app = document.getElementById("app");

// -- helpers -------------------------------------------------------------------------------
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "style") for (const [p, val] of Object.entries(v)) el.style.setProperty(p, val);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Replace an element's children, skipping the nulls that stand for "nothing to show here".
function fill(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

async function api(path, options = {}) {
  const r = await fetch("api/v1/" + path, { credentials: "same-origin", ...options });
  const body = r.headers.get("content-type")?.includes("json") ? await r.json() : await r.text();
  if (!r.ok) {
    const err = new Error(typeof body === "string" ? body : JSON.stringify(body.detail ?? body));
    err.status = r.status; err.detail = body.detail ?? body;
    throw err;
  }
  return body;
}

const enc = encodeURIComponent;
const fmtInt = (n) => Number(n || 0).toLocaleString("en-US");
const fmtPct = (x) => (x === null || x === undefined ? "—" : (100 * x).toFixed(1) + "%");
const fmtTime = (s) => (s ? new Date(s).toLocaleString() : "—");
const fmtMoney = (n, unit) => Number(n || 0).toFixed(2) + " " + (unit || "USD");

function errorBox(e) {
  const d = e.detail;
  if (d && typeof d === "object" && d.rejects) return rejectReport(d);
  return h("div", { class: "error", role: "alert" }, e.message);
}

function progressBar(byStatus, total) {
  return h("div", { class: "bar", title: STATUSES.map((s) => `${s}: ${fmtInt(byStatus[s])}`).join(", ") },
    STATUSES.filter((s) => byStatus[s]).map((s) =>
      h("span", { style: { width: (100 * byStatus[s] / total) + "%", background: `var(--s-${s})` } })));
}

function legend(byStatus) {
  return h("div", { class: "legend muted" },
    STATUSES.map((s) => h("span", { style: { "--c": `var(--s-${s})` } }, `${s} ${fmtInt(byStatus[s])}`)));
}

function windowText(c) {
  return c.window_open ? "open now" : fmtTime(c.window_next_open);
}

function toggleButton(c, after) {
  const running = c.status === "in_progress";
  return h("button", {
    class: running ? "" : "primary", "data-testid": "toggle", disabled: c.status === "completed" || !c.dag_loaded,
    title: c.dag_loaded ? "" : `DAG ${c.dag_id} is not loaded in Airflow`,
    onclick: async (ev) => {
      ev.target.disabled = true;
      try {
        await api(`campaigns/${enc(c.name)}/running`, {
          method: "PUT", headers: { "content-type": "application/json" },
          body: JSON.stringify({ running: !running }) });
      } catch (e) { app.prepend(errorBox(e)); }
      after();
    } }, running ? "Pause" : "Start");
}

// -- campaign list -------------------------------------------------------------------------
async function renderList() {
  const { campaigns } = await api("campaigns");
  fill(app, h("h1", {}, "Campaigns"),
    campaigns.length === 0 ? h("p", { class: "muted" }, "No campaign files yet.") :
    h("table", { "data-testid": "campaigns" },
      h("thead", {}, h("tr", {}, ["Campaign", "Status", "Leads", "Progress", "Goal conversion", "Calls today",
        "Cost so far", "Window opens", ""].map((t) => h("th", {}, t)))),
      h("tbody", {}, campaigns.map((c) => h("tr", { "data-campaign": c.name },
        h("td", {}, h("a", { href: `#/c/${enc(c.name)}` }, c.name), h("div", { class: "muted" }, c.assistant),
          c.store_error ? h("div", { class: "error", "data-testid": "store-error" },
            `store ${c.db_conn_id} cannot be read: ${c.store_error}`) : null),
        h("td", {}, h("span", { class: `badge ${c.status}`, "data-testid": "status" }, c.status)),
        h("td", { "data-testid": "leads" }, fmtInt(c.leads)),
        h("td", {}, progressBar(c.leads_by_status, c.leads || 1)),
        h("td", { "data-testid": "conversion" }, c.goal ? fmtPct(c.conversion) : "no goal"),
        h("td", { "data-testid": "calls-today" }, fmtInt(c.calls_today)),
        h("td", { "data-testid": "cost" }, fmtMoney(c.cost, c.cost_unit)),
        h("td", {}, windowText(c)),
        h("td", {}, toggleButton(c, renderList)))))));
}

// -- campaign detail -----------------------------------------------------------------------
function hbars(rows, testid) {
  const max = Math.max(1, ...rows.map((r) => r[1]));
  return h("div", { "data-testid": testid }, rows.map(([label, n]) => h("div", { class: "hbar" },
    h("span", {}, label), h("div", { class: "fill", style: { width: (100 * n / max) + "%" } }), h("span", {}, fmtInt(n)))));
}

function hourChart(hours) {
  const byHour = Object.fromEntries(hours.map((x) => [x.hour, x]));
  return h("div", {},
    h("div", { class: "cols", "data-testid": "answer-rate" }, [...Array(24).keys()].map((hr) => {
      const x = byHour[hr]; const rate = x && x.calls ? x.answered / x.calls : 0;
      return h("div", { style: { height: (100 * rate) + "%" },
        title: x ? `${hr}:00 — ${fmtPct(rate)} of ${x.calls} calls answered` : `${hr}:00 — no calls` });
    })),
    h("div", { class: "muted" }, "answer rate by hour of day, 0–23 (assistant's clock)"));
}

const leadState = { status: "", q: "", cursors: [] };

async function renderDetail(name) {
  const c = await api(`campaigns/${enc(name)}/stats`);
  const leadsBox = h("div", { id: "leads" });
  const callsBox = h("div", { id: "calls" });
  fill(app, 
    h("p", {}, h("a", { href: "#/" }, "← Campaigns")),
    h("h1", {}, c.name, " ", h("span", { class: `badge ${c.status}`, "data-testid": "status" }, c.status), " ",
      toggleButton(c, () => renderDetail(name))),
    h("div", { class: "cards" },
      h("div", { class: "card" }, h("b", {}, "Progress"), progressBar(c.leads_by_status, c.leads || 1), legend(c.leads_by_status),
        h("p", {}, `${fmtInt(c.leads)} leads · goal ${c.goal || "none"} ${fmtPct(c.conversion)} · `,
          `${fmtInt(c.calls_today)} calls today · ${fmtMoney(c.cost, c.cost_unit)} · window ${windowText(c)}`)),
      h("div", { class: "card" }, h("b", {}, "Lead funnel"), hbars(c.funnel.map((f) => [f.stage, f.leads]), "funnel")),
      h("div", { class: "card" }, h("b", {}, "Attempts by outcome"),
        hbars(Object.entries(c.attempts_by_outcome).sort((a, b) => b[1] - a[1]), "outcomes")),
      h("div", { class: "card" }, h("b", {}, "Answer rate"), hourChart(c.answer_rate_by_hour))),
    h("h2", {}, "Leads"), downloadLinks(name), leadsToolbar(name), leadsBox,
    h("h2", {}, "Add a lead"), addLeadForm(name),
    h("h2", {}, "Import a CSV"), uploadForm(name),
    h("h2", {}, "Calls"), callsBox);
  leadState.cursors = [];
  await Promise.all([renderLeads(name), renderCalls(name)]);
}

// The results as files (api/routes/exports.py): the same rows as the results table and
// `outcall export`, phone numbers in full. Plain links: the browser sends the login cookie.
function downloadLinks(name) {
  const link = (rows, label) => h("a", { href: `api/v1/campaigns/${enc(name)}/export?format=csv&rows=${rows}`,
    download: `${name}_${rows}.csv`, "data-testid": `download-${rows}` }, label);
  return h("div", { class: "toolbar" }, "Download results:", link("leads", "leads (CSV)"), link("attempts", "calls (CSV)"));
}

function leadsToolbar(name) {
  const status = h("select", { "data-testid": "status-filter", "aria-label": "status" },
    h("option", { value: "" }, "all statuses"), STATUSES.map((s) => h("option", { value: s }, s)));
  status.value = leadState.status;
  const q = h("input", { type: "search", "data-testid": "search", placeholder: "phone, external id or lead #",
    maxlength: 100, value: leadState.q });
  const go = () => { leadState.status = status.value; leadState.q = q.value; leadState.cursors = []; renderLeads(name); };
  status.addEventListener("change", go);
  q.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
  return h("div", { class: "toolbar" }, status, q, h("button", { onclick: go }, "Search"));
}

async function renderLeads(name) {
  const box = document.getElementById("leads");
  const before = leadState.cursors[leadState.cursors.length - 1];
  const params = new URLSearchParams({ limit: 50 });
  if (leadState.status) params.set("status", leadState.status);
  if (leadState.q) params.set("q", leadState.q);
  if (before) params.set("before", before);
  // A newer request (a filter changed while this one was on its way) wins: answers may arrive
  // out of order, and an older one must not overwrite the list the person asked for last.
  const seq = (leadState.seq = (leadState.seq || 0) + 1);
  let page;
  try { page = await api(`campaigns/${enc(name)}/leads?${params}`); } catch (e) {
    if (seq === leadState.seq) fill(box, errorBox(e));
    return;
  }
  if (seq !== leadState.seq) return;
  const shown = leadState.q ? h("p", { class: "muted", "data-testid": "search-echo" }, `Results for “${leadState.q}”`) : null;
  fill(box, shown,
    page.leads.length === 0 ? h("p", { class: "muted", "data-testid": "no-leads" }, "No leads.") :
    h("table", { "data-testid": "leads-table" },
      h("thead", {}, h("tr", {}, ["#", "Phone", "External id", "Contacts", "Status", "Attempts", "Last result",
        "Variables", "Change status"].map((t) => h("th", {}, t)))),
      h("tbody", {}, page.leads.map((l) => leadRow(name, l)))),
    h("div", { class: "toolbar" },
      h("button", { disabled: leadState.cursors.length === 0, onclick: () => { leadState.cursors.pop(); renderLeads(name); } }, "← Newer"),
      h("button", { "data-testid": "next-page", disabled: !page.next_before,
        onclick: () => { leadState.cursors.push(page.next_before); renderLeads(name); } }, "Older →")));
}

function leadRow(name, l) {
  const select = h("select", { "aria-label": "new status" },
    h("option", { value: "created" }, "created (call again)"), h("option", { value: "completed" }, "completed (stop)"));
  const last = l.last_call;
  return h("tr", { "data-lead": l.id },
    h("td", {}, l.id),
    h("td", { class: "mono" }, l.phone_number, l.phone_invalid_reason ? h("div", { class: "muted" }, l.phone_invalid_reason) : null),
    h("td", {}, l.external_id ?? "—"),
    h("td", { class: "mono" }, l.contacts.length ? l.contacts.map((c) => h("div", {}, `${c.position}. ${c.phone_number}`)) : "—"),
    h("td", {}, h("span", { class: "badge", "data-testid": "lead-status" }, l.status),
      h("div", { class: "muted" }, `round ${l.round}, cycle ${l.cycle}`)),
    h("td", {}, h("button", { class: "link", type: "button", onclick: () => renderCalls(name, l.id) }, fmtInt(l.attempts))),
    h("td", {}, last ? `${last.call_status}${last.answered_by ? " / " + last.answered_by : ""}` : "—",
      l.last_outcome ? h("div", { class: "muted" }, l.last_outcome) : null),
    h("td", { class: "mono" }, Object.entries(l.variables || {}).map(([k, v]) => h("div", {}, `${k}: ${v}`))),
    h("td", {}, h("form", { class: "inline", onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api(`campaigns/${enc(name)}/leads/${l.id}`, { method: "PATCH",
          headers: { "content-type": "application/json" }, body: JSON.stringify({ status: select.value }) });
        await renderLeads(name);
      } catch (err) { document.getElementById("leads").prepend(errorBox(err)); }
    } }, select, h("button", { type: "submit" }, "Set"))));
}

function rejectReport(r) {
  return h("div", { class: r.rejected || r.error ? "error" : "ok", "data-testid": "import-report", role: "status" },
    h("div", {}, r.message ? r.message + ": " : "",
      `${fmtInt(r.imported)} imported, ${fmtInt(r.updated)} updated, ${fmtInt(r.rejected)} rejected` +
      (r.warnings ? `, ${fmtInt(r.warnings)} warnings` : "")),
    r.error ? h("div", {}, r.error) : null,
    r.rejects && r.rejects.length ? h("table", { "data-testid": "rejects" },
      h("thead", {}, h("tr", {}, ["Line", "Field", "Value", "Reason", ""].map((t) => h("th", {}, t)))),
      h("tbody", {}, r.rejects.map((x) => h("tr", {}, h("td", {}, x.line), h("td", {}, x.field ?? ""),
        h("td", { class: "mono" }, x.value ?? ""), h("td", {}, x.reason),
        h("td", {}, x.skipped_row ? "row skipped" : "value dropped"))))) : null);
}

function addLeadForm(name) {
  const phone = h("input", { name: "phone_number", placeholder: "phone number", required: true, maxlength: 50 });
  const secondary = h("input", { name: "secondary_phone", placeholder: "secondary phone (optional)", maxlength: 50 });
  const ext = h("input", { name: "external_id", placeholder: "external id (optional)", maxlength: 200 });
  const vars = h("input", { name: "variables", placeholder: "variables: first_name=Ana; plan=pro", size: 30 });
  const result = h("div", { "data-testid": "add-lead-result" });
  return h("div", {}, h("form", { class: "inline", "data-testid": "add-lead", onsubmit: async (e) => {
    e.preventDefault();
    const variables = Object.fromEntries(vars.value.split(";").map((p) => p.split("="))
      .filter((kv) => kv.length === 2 && kv[0].trim()).map(([k, v]) => [k.trim(), v.trim()]));
    try {
      const r = await api(`campaigns/${enc(name)}/leads`, { method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ phone_number: phone.value, secondary_phones: secondary.value ? [secondary.value] : [],
          external_id: ext.value || null, variables }) });
      fill(result, rejectReport(r));
      await renderLeads(name);
    } catch (err) { fill(result, errorBox(err)); }
  } }, phone, secondary, ext, vars, h("button", { type: "submit", class: "primary" }, "Add lead")), result);
}

function uploadForm(name) {
  const file = h("input", { type: "file", accept: ".csv,text/csv", "data-testid": "csv-file", required: true });
  const result = h("div", { "data-testid": "upload-result" });
  return h("div", {}, h("form", { class: "inline", onsubmit: async (e) => {
    e.preventDefault();
    const f = file.files[0];
    if (!f) return;
    fill(result, h("p", { class: "muted" }, `Importing ${f.name}…`));
    try {
      const r = await api(`campaigns/${enc(name)}/imports?filename=${enc(f.name)}`,
        { method: "POST", headers: { "content-type": "text/csv" }, body: f });
      fill(result, rejectReport(r));
      await renderLeads(name);
    } catch (err) { fill(result, errorBox(err)); }
  } }, file, h("button", { type: "submit", class: "primary" }, "Upload")), result,
  h("p", { class: "muted" }, "Columns: phone_number, secondary_phone_1…10, external_id, any other column is a lead variable."));
}

async function renderCalls(name, leadId) {
  const box = document.getElementById("calls");
  const params = new URLSearchParams({ limit: 50 });
  if (leadId) params.set("lead_id", leadId);
  const page = await api(`campaigns/${enc(name)}/calls?${params}`);
  fill(box, 
    leadId ? h("p", {}, `Calls of lead ${leadId} `, h("button", { class: "link", type: "button", onclick: () => renderCalls(name) }, "(all calls)")) : null,
    page.calls.length === 0 ? h("p", { class: "muted" }, "No calls yet.") :
    h("table", { "data-testid": "calls-table" },
      h("thead", {}, h("tr", {}, CALL_COLUMNS.map((t) => h("th", {}, t)))),
      h("tbody", {}, page.calls.flatMap((a) => [h("tr", { "data-call": a.id },
        h("td", {}, fmtTime(a.started_at)), h("td", {}, a.lead_id), h("td", { class: "mono" }, a.to_number),
        h("td", {}, a.call_status), h("td", {}, a.answered_by ?? "—"),
        h("td", {}, a.duration_s === null ? "—" : `${a.duration_s} s`),
        h("td", {}, a.price === null ? "—" : fmtMoney(-a.price, a.price_unit)),
        h("td", { class: "mono", "data-testid": "call-variables" }, variablesCell(a)),
        h("td", {}, a.outcome_reason ?? "—", a.outcome_note ? h("div", { class: "muted" }, a.outcome_note) : null),
        h("td", {}, recordingLink(a))), transcriptRow(a)]))));
}

const CALL_COLUMNS = ["Started", "Lead", "To", "Result", "Answered by", "Duration", "Price", "Post-call variables",
  "Outcome", "Recording"];

// The webhook only stores http(s) URLs; checked again here because a javascript: link would run in the page.
function recordingLink(a) {
  if (!a.recording_url || !/^https?:\/\//i.test(a.recording_url)) return "—";
  return h("a", { href: a.recording_url, target: "_blank", rel: "noopener noreferrer", "data-testid": "recording" },
    "recording");
}

// The transcript under its call, folded: a row of its own spanning the table. Text only, never HTML.
function transcriptRow(a) {
  if (!a.transcript) return null;
  return h("tr", { class: "transcript", "data-testid": "call-transcript", "data-call": a.id },
    h("td", { colspan: CALL_COLUMNS.length },
      h("details", {}, h("summary", {}, `Transcript of call ${a.id}`), h("pre", {}, a.transcript))));
}

// The values the attempt was judged on, then any that came after it was judged (kept, not used).
function variablesCell(a) {
  const lines = (vars) => Object.entries(vars).map(([k, v]) => h("div", {}, `${k}: ${JSON.stringify(v)}`));
  if (!a.variables && !a.late_variables) return "—";
  return [...(a.variables ? lines(a.variables) : []),
    a.late_variables ? h("div", { class: "muted", "data-testid": "late-variables" },
      `after judging (${fmtTime(a.late_variables_at)}):`, lines(a.late_variables)) : null];
}

// -- theme and routing ---------------------------------------------------------------------
function syncTheme() {
  let dark = window.matchMedia("(prefers-color-scheme: dark)").matches;
  try {  // inside Airflow's iframe (same origin): follow Airflow's own light/dark switch
    const root = window.parent !== window ? window.parent.document.documentElement : null;
    if (root && (root.classList.contains("dark") || root.classList.contains("light"))) dark = root.classList.contains("dark");
  } catch (e) { /* not same origin: keep the system preference */ }
  document.documentElement.classList.toggle("dark", dark);
}

async function route() {
  const m = location.hash.match(/^#\/c\/(.+)$/);
  try {
    if (m) await renderDetail(decodeURIComponent(m[1])); else await renderList();
  } catch (e) { fill(app, errorBox(e)); }
}

syncTheme();
try {
  if (window.parent !== window) new MutationObserver(syncTheme).observe(window.parent.document.documentElement, { attributes: true });
} catch (e) { /* not same origin */ }
window.addEventListener("hashchange", () => { leadState.cursors = []; route(); });
api("vocabulary").then((v) => { STATUSES = v.lead_statuses; route(); }, (e) => fill(app, errorBox(e)));
