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
// Times are shown on the campaign's clock (its assistant's timezone), never the browser's:
// "2026-03-12 14:05" under a header naming the clock, or "2026-03-12 14:05 America/New_York".
function fmtTime(s, tz) {
  if (!s) return "—";
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", { timeZone: tz || "UTC", year: "numeric",
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
    .formatToParts(new Date(s)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}
const fmtTimeTz = (s, tz) => (s ? `${fmtTime(s, tz)} ${tz || "UTC"}` : "—");
// Twilio's price_unit; no unit before the first priced call.
const fmtMoney = (n, unit) => (unit ? `${Number(n || 0).toFixed(2)} ${unit}` : "0 (no priced call yet)");
const INVALID = "invalid_file";
const statusLabel = (s) => (s === INVALID ? "invalid campaign file" : s);

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
  if (c.window_open === null) return "—";
  return c.window_open ? "open now" : fmtTimeTz(c.window_next_open, c.timezone);
}

function statusBadge(c) {
  return h("span", { class: `badge ${c.status}`, "data-testid": "status" }, statusLabel(c.status));
}

// Why the campaign file is invalid: every error, each naming the file, the key and what is allowed.
function fileErrors(c) {
  if (!c.file_errors || !c.file_errors.length) return null;
  return h("div", { class: "error", role: "alert", "data-testid": "file-errors" },
    h("b", {}, "Invalid campaign file: its DAG is gone until the file is fixed. Leads and calls are kept, read only."),
    h("ul", {}, c.file_errors.map((e) => h("li", { class: "mono" }, e))));
}

// No Start or Pause for a campaign whose file is broken: there is no DAG to act on.
function toggleButton(c, after) {
  if (c.status === INVALID) return null;
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
      } catch (e) { app.prepend(errorBox(e)); ev.target.disabled = false; }  // nothing changed: try again
      after();
    } }, running ? "Pause" : "Start");
}

// -- campaign list -------------------------------------------------------------------------
async function renderList() {
  fill(app, h("h1", {}, "Campaigns"), h("div", { id: "list" }), h("div", { id: "held-legend" }),
    h("div", { id: "dnc" }));
  await refreshList();
  renderDnc();  // once: counting the lists reads them all, so it is not polled
}

async function refreshList() {
  const box = document.getElementById("list");
  const { campaigns } = await api("campaigns");
  if (!box.isConnected || busy(box)) return;
  dncState.stores = [...new Set(["outcall_db", ...campaigns.map((c) => c.db_conn_id)])];
  if (!unchanged(box, campaigns)) {
    fill(box, campaigns.length === 0 ? h("p", { class: "muted" }, "No campaign files yet.") :
      h("table", { "data-testid": "campaigns" },
        h("thead", {}, h("tr", {}, ["Campaign", "Status", "Leads", "Progress", "Held back now", "Calls now",
          "Goal conversion", "Calls today", "Cost so far", "Window opens", ""].map((t) => h("th", {}, t)))),
        h("tbody", {}, campaigns.map((c) => h("tr", { "data-campaign": c.name },
          h("td", {}, h("a", { href: `#/c/${enc(c.name)}` }, c.name), h("div", { class: "muted" }, c.assistant ?? ""),
            c.store_error ? h("div", { class: "error", "data-testid": "store-error" },
              `store ${c.db_conn_id} cannot be read: ${c.store_error}`) : null, fileErrors(c)),
          h("td", {}, statusBadge(c)),
          h("td", { "data-testid": "leads" }, fmtInt(c.leads)),
          h("td", {}, progressBar(c.leads_by_status, c.leads || 1)),
          h("td", { "data-testid": "held" }, heldShown.get(c.name) ?? h("span", { class: "muted" }, "…")),
          h("td", { "data-testid": "calls-now" }, liveText(c)),
          h("td", { "data-testid": "conversion" }, c.goal ? fmtPct(c.conversion) : "no goal"),
          h("td", { "data-testid": "calls-today" }, fmtInt(c.calls_today)),
          h("td", { "data-testid": "cost" }, fmtMoney(c.cost, c.cost_unit)),
          h("td", {}, windowText(c)),
          h("td", {}, toggleButton(c, refreshList)))))));
    for (const c of campaigns) {  // a new row shows the last counts until the new ones come
      const cell = heldCell(c.name);
      if (cell && heldShown.has(c.name)) fill(cell, heldShown.get(c.name).cloneNode(true));
    }
  }
  await Promise.all(campaigns.map((c) => refreshHeld(c)));
}

// -- held back now (compliance) ------------------------------------------------------------
// Per campaign, how many leads each reason holds back right now (api/v1/campaigns/{name}/held,
// cached ~30 s by the server). Labels and meanings come from the API; the page keeps no copy.
const heldShown = new Map();  // campaign name -> the last content of its cell

function heldCell(name) {
  const row = [...document.querySelectorAll("#list tr[data-campaign]")].find((r) => r.dataset.campaign === name);
  return row ? row.querySelector("[data-testid=held]") : null;
}

async function refreshHeld(c) {
  if (c.status === INVALID && !c.assistant) return;  // no rules to judge its leads by
  let held;
  try { held = await api(`campaigns/${enc(c.name)}/held`); } catch (e) {
    const cell = heldCell(c.name);
    if (cell) fill(cell, h("span", { class: "muted", title: e.message }, "—"));
    return;
  }
  const content = heldSummary(held);
  heldShown.set(c.name, content.cloneNode(true));
  const cell = heldCell(c.name);
  if (cell && !unchanged(cell, [held.held, held.dialable])) fill(cell, content);
  const legendBox = document.getElementById("held-legend");
  if (legendBox && !unchanged(legendBox, held.reasons)) fill(legendBox, heldLegend(held.reasons));
}

function heldSummary(held) {
  const info = Object.fromEntries(held.reasons.map((r) => [r.code, r]));
  const shown = held.reasons.filter((r) => held.held[r.code]);
  return h("div", { class: "held" },
    h("div", { "data-testid": "dialable", title: "leads a dialer could call right now" },
      `${fmtInt(held.dialable)} dialable`),
    shown.length === 0 ? h("div", { class: "muted" }, "none held back") :
      shown.map((r) => h("div", { class: "held-reason", "data-reason": r.code, title: `${r.code}: ${info[r.code].meaning}` },
        h("span", { class: "n" }, fmtInt(held.held[r.code])), " ", r.label)));
}

function heldLegend(reasons) {
  return h("details", { class: "held-legend", "data-testid": "held-legend" },
    h("summary", {}, "What “held back now” means"),
    h("p", { class: "muted" }, "Leads not dialable at this moment, per reason; a lead counts under each of its reasons. " +
      "Counted from every lead of the campaign, refreshed about every 30 seconds."),
    h("dl", {}, reasons.flatMap((r) => [h("dt", {}, r.label, " ", h("span", { class: "mono muted" }, r.code)),
      h("dd", {}, r.meaning)])));
}

// -- do-not-call lists ---------------------------------------------------------------------
// The store's lists (api/v1/dnc): how many numbers on which list, add a number by hand (list
// `hand`), check a number. Numbers come back masked to their last 4 digits.
const dncState = { stores: ["outcall_db"], store: "outcall_db" };

async function renderDnc() {
  const box = document.getElementById("dnc");
  if (!box) return;
  const q = dncState.store === "outcall_db" ? "" : `?store=${enc(dncState.store)}`;
  let lists;
  try { lists = await api(`dnc${q}`); } catch (e) {
    fill(box, h("h2", {}, "Do-not-call"), e.status === 404 && dncState.store === "outcall_db"
      ? h("p", { class: "muted" }, "Do-not-call lists are not served by this API server.") : errorBox(e));
    return;
  }
  const result = h("div", { "data-testid": "dnc-result", role: "status" });
  const phone = h("input", { name: "dnc_phone", placeholder: "phone number (E.164)", required: true, maxlength: 50,
    "aria-label": "phone number" });
  const region = h("input", { name: "dnc_region", placeholder: "region, e.g. US", maxlength: 2, size: 10,
    "aria-label": "region of a national number" });
  const note = h("input", { name: "dnc_note", placeholder: "why (optional)", maxlength: 500, size: 28, "aria-label": "note" });
  const regionQuery = () => (region.value ? { default_region: region.value.toUpperCase() } : {});
  const storeQuery = () => (dncState.store === "outcall_db" ? {} : { store: dncState.store });
  const check = async () => {
    if (!phone.reportValidity()) return;
    try {
      const params = new URLSearchParams({ ...storeQuery(), ...regionQuery() });
      fill(result, dncNumber(await api(`dnc/${enc(phone.value.trim())}?${params}`)));
    } catch (err) { fill(result, errorBox(err)); }
  };
  const storeSelect = dncState.stores.length > 1 ? h("select", { "aria-label": "campaign store", "data-testid": "dnc-store",
    onchange: (e) => { dncState.store = e.target.value; renderDnc(); } },
    dncState.stores.map((s) => h("option", { value: s, selected: s === dncState.store }, `store ${s}`))) : null;
  fill(box, h("h2", {}, "Do-not-call"),
    h("div", { class: "card dnc", "data-testid": "dnc-panel" },
      h("p", {}, storeSelect, " ", h("span", { "data-testid": "dnc-total" }, `${fmtInt(lists.suppressed_numbers)} numbers suppressed`),
        h("span", { class: "muted" }, ` · no campaign of this store dials them · lists version ${lists.version}`)),
      lists.lists.length === 0 ? h("p", { class: "muted" }, "No list yet.") :
        h("table", { "data-testid": "dnc-lists" },
          h("thead", {}, h("tr", {}, ["List", "Numbers", "Last added"].map((t) => h("th", {}, t)))),
          h("tbody", {}, lists.lists.map((l) => h("tr", { "data-list": l.list },
            h("td", {}, l.list), h("td", { "data-testid": "n" }, fmtInt(l.numbers)), h("td", {}, fmtTimeTz(l.last_added_at, "UTC")))))),
      h("form", { class: "inline", "data-testid": "dnc-form", onsubmit: async (e) => {
        e.preventDefault();
        try {
          const r = await api(`dnc?${new URLSearchParams(storeQuery())}`, { method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ phone_number: phone.value.trim(), note: note.value || null, ...regionQuery() }) });
          await renderDnc();
          fill(document.querySelector("[data-testid=dnc-result]"),
            h("div", { class: "ok" }, r.added ? `${r.phone_number} added to list hand.` : `${r.phone_number} was on list hand already.`),
            dncNumber(r));
        } catch (err) { fill(result, errorBox(err)); }
      } }, phone, region, note,
      h("button", { type: "submit", class: "primary", "data-testid": "dnc-add" }, "Add to do-not-call"),
      h("button", { type: "button", "data-testid": "dnc-check", onclick: check }, "Check number")),
      result));
}

function dncNumber(n) {
  return h("div", { "data-testid": "dnc-number" },
    h("b", { class: "mono" }, n.phone_number), n.suppressed ? " is on a do-not-call list: never dialed" : " is on no do-not-call list",
    n.lists.length ? h("ul", {}, n.lists.map((e) => h("li", {}, `${e.list} · added ${fmtTimeTz(e.added_at, "UTC")}`,
      e.source ? h("span", { class: "muted" }, ` · ${e.source}`) : null))) : null);
}

// Calls in flight (Twilio still works on them) apart from calls that ended and await their result.
function liveText(c) {
  return `${fmtInt(c.calls_in_flight)} in flight · ${fmtInt(c.calls_awaiting_result)} awaiting result`;
}

// -- campaign detail -----------------------------------------------------------------------
// rows: [label, n, title?]
function hbars(rows, testid) {
  const max = Math.max(1, ...rows.map((r) => r[1]));
  return h("div", { "data-testid": testid }, rows.map(([label, n, title]) => h("div", { class: "hbar", title, "data-stage": label },
    h("span", {}, label), h("div", { class: "fill", style: { width: (100 * n / max) + "%" } }),
    h("span", { "data-testid": "n" }, fmtInt(n)))));
}

function hourChart(hours, tz) {
  const byHour = Object.fromEntries(hours.map((x) => [x.hour, x]));
  return h("figure", { class: "hours" },
    h("div", { class: "yaxis muted", "aria-hidden": "true" }, h("span", {}, "100%"), h("span", {}, "50%"), h("span", {}, "0%")),
    h("div", { class: "cols", "data-testid": "answer-rate" }, [...Array(24).keys()].map((hr) => {
      const x = byHour[hr]; const rate = x && x.calls ? x.answered / x.calls : 0;
      return h("div", { style: { height: (100 * rate) + "%" },
        title: x ? `${hr}:00 — ${fmtPct(rate)} of ${x.calls} calls answered` : `${hr}:00 — no calls` });
    })),
    h("div", { class: "xaxis muted", "aria-hidden": "true" }, [0, 6, 12, 18, 23].map((hr) =>
      h("span", { style: { left: (100 * (hr + 0.5) / 24) + "%" } }, String(hr)))),
    h("figcaption", { class: "muted", "data-testid": "answer-rate-caption" },
      `y: share of calls a person answered · x: hour the call started, 0–23, ${tz || "UTC"}`));
}

const leadState = { status: "", q: "", sort: "activity", cursors: [] };
const callState = { leadId: null };
const detailState = { name: null, readOnly: null, tz: null };

async function renderDetail(name) {
  detailState.name = name; detailState.readOnly = null;
  fill(app,
    h("p", {}, h("a", { href: "#/" }, "← Campaigns")),
    h("div", { id: "head" }), h("div", { id: "cards", class: "cards" }),
    h("h2", {}, "Leads"), downloadLinks(name), leadsToolbar(name), h("div", { id: "leads" }),
    h("div", { id: "forms" }),
    h("h2", {}, "Calls"), h("div", { id: "calls" }));
  leadState.cursors = []; callState.leadId = null;
  await refreshDetail(name);
}

// Fills the parts of the detail page from the API; called on opening and every few seconds.
// Only what changed is replaced, and never the toolbar, the forms or a part the person is using.
async function refreshDetail(name) {
  const c = await api(`campaigns/${enc(name)}/stats`);
  if (detailState.name !== name || !document.getElementById("head")) return;
  detailState.tz = c.timezone || "UTC";  // UTC only for a broken file no store kept the spec of
  const head = document.getElementById("head");
  if (!busy(head) && !unchanged(head, c)) {
    fill(head, h("h1", {}, c.name, " ", statusBadge(c), " ", toggleButton(c, () => refreshDetail(name))), fileErrors(c));
  }
  const cards = document.getElementById("cards");
  if (!unchanged(cards, c)) fill(cards, summaryCards(c));
  const readOnly = c.status === INVALID;
  if (readOnly !== detailState.readOnly) {  // the file broke or was fixed: forms go or come back
    detailState.readOnly = readOnly;
    fill(document.getElementById("forms"), readOnly ? null : [
      h("h2", {}, "Add a lead"), addLeadForm(name), h("h2", {}, "Import a CSV"), uploadForm(name)]);
  }
  await Promise.all([renderLeads(name), renderCalls(name, callState.leadId)]);
}

function summaryCards(c) {
  const live = Object.entries(c.live_calls).sort((a, b) => b[1] - a[1]);
  return [
    h("div", { class: "card" }, h("b", {}, "Progress"), progressBar(c.leads_by_status, c.leads || 1), legend(c.leads_by_status),
      h("p", {}, `${fmtInt(c.leads)} leads · goal ${c.goal || "none"} ${fmtPct(c.conversion)} · `,
        `${fmtInt(c.calls_today)} calls today · `, h("span", { "data-testid": "cost" }, fmtMoney(c.cost, c.cost_unit)),
        ` · window ${windowText(c)}`)),
    h("div", { class: "card", "data-testid": "live" }, h("b", {}, "Calls now"),
      h("p", {}, h("span", { "data-testid": "in-flight", title: "calls Twilio still works on: dialing, queued, ringing, in progress" },
        `${fmtInt(c.calls_in_flight)} in flight`), " · ",
        h("span", { "data-testid": "awaiting-result", title: "calls that ended and wait to be judged (post-call variables, the next reconcile)" },
          `${fmtInt(c.calls_awaiting_result)} awaiting result`)),
      live.length ? hbars(live, "live-calls") : h("p", { class: "muted" }, "No call is live.")),
    h("div", { class: "card" }, h("b", {}, "Lead funnel"),
      hbars(c.funnel.map((f) => [f.stage, f.leads, f.title]), "funnel"),
      h("p", { class: "muted" }, "Each step is a subset of the one before, per lead over all its calls (resets included).")),
    h("div", { class: "card" }, h("b", {}, "Attempts by outcome"),
      hbars(Object.entries(c.attempts_by_outcome).sort((a, b) => b[1] - a[1]), "outcomes"),
      h("p", { class: "muted" }, "Judged calls only; live calls are under Calls now.")),
    h("div", { class: "card" }, h("b", {}, "Answer rate by hour"), hourChart(c.answer_rate_by_hour, c.timezone)),
  ];
}

// -- live refresh --------------------------------------------------------------------------
// Every few seconds while the tab is visible, as Airflow's own views do; a hidden tab does
// not poll and catches up as soon as it is shown again.
const REFRESH_MS = 5000;
let refreshing = false;

async function refresh() {
  if (document.visibilityState !== "visible" || refreshing) return;
  refreshing = true;
  try {
    const m = location.hash.match(/^#\/c\/(.+)$/);
    if (m) await refreshDetail(decodeURIComponent(m[1])); else if (document.getElementById("list")) await refreshList();
  } catch (e) { /* the next tick tries again; what is shown stays */ } finally { refreshing = false; }
}

// A part the person is using (a select open or chosen in, a field typed in) is not replaced
// by a refresh; it catches up once they leave it.
function busy(el) {
  const active = document.activeElement;
  return !!active && el.contains(active) && active.matches("select, input, textarea");
}

// The last data a part was filled from: unchanged data leaves the DOM (and text selections) alone.
const shownData = new WeakMap();
function unchanged(el, data) {
  const json = JSON.stringify(data);
  if (shownData.get(el) === json) return true;
  shownData.set(el, json);
  return false;
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
  const sort = h("select", { "data-testid": "sort", "aria-label": "sort" },
    h("option", { value: "activity" }, "last activity first"), h("option", { value: "newest" }, "newest lead first"));
  sort.value = leadState.sort;
  const go = () => {
    Object.assign(leadState, { status: status.value, q: q.value, sort: sort.value, cursors: [] });
    renderLeads(name);
  };
  status.addEventListener("change", go);
  sort.addEventListener("change", go);
  q.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
  return h("div", { class: "toolbar" }, status, sort, q, h("button", { onclick: go }, "Search"));
}

async function renderLeads(name) {
  const box = document.getElementById("leads");
  const cursor = leadState.cursors[leadState.cursors.length - 1];
  const params = new URLSearchParams({ limit: 50, sort: leadState.sort });
  if (leadState.status) params.set("status", leadState.status);
  if (leadState.q) params.set("q", leadState.q);
  if (cursor) params.set("before", cursor.before);
  if (cursor && cursor.before_at) params.set("before_at", cursor.before_at);
  // A newer request (a filter changed while this one was on its way) wins: answers may arrive
  // out of order, and an older one must not overwrite the list the person asked for last.
  const seq = (leadState.seq = (leadState.seq || 0) + 1);
  let page;
  try { page = await api(`campaigns/${enc(name)}/leads?${params}`); } catch (e) {
    if (seq === leadState.seq) fill(box, errorBox(e));
    return;
  }
  if (seq !== leadState.seq || !box.isConnected) return;
  if (busy(box) || unchanged(box, [leadState.q, page, detailState.readOnly])) return;
  const chosen = Object.fromEntries([...box.querySelectorAll("tr[data-lead] select")].map((s) => [s.closest("tr").dataset.lead, s.value]));
  const tz = detailState.tz;
  const readOnly = detailState.readOnly;
  const shown = leadState.q ? h("p", { class: "muted", "data-testid": "search-echo" }, `Results for “${leadState.q}”`) : null;
  fill(box, shown,
    page.leads.length === 0 ? h("p", { class: "muted", "data-testid": "no-leads" }, "No leads.") :
    h("table", { "data-testid": "leads-table" },
      h("thead", {}, h("tr", {}, ["#", "Phone", "External id", "Contacts", "Status", `Next call (${tz})`, "Attempts",
        "Last result", `Last activity (${tz})`, "Variables", readOnly ? null : "Change status"]
        .filter((t) => t).map((t) => h("th", {}, t)))),
      h("tbody", {}, page.leads.map((l) => leadRow(name, l, tz, readOnly)))),
    h("div", { class: "toolbar" },
      h("button", { disabled: leadState.cursors.length === 0, onclick: () => { leadState.cursors.pop(); renderLeads(name); } }, "← Previous"),
      h("button", { "data-testid": "next-page", disabled: !page.next_before,
        onclick: () => { leadState.cursors.push({ before: page.next_before, before_at: page.next_before_at }); renderLeads(name); } },
        "Next →")));
  for (const s of box.querySelectorAll("tr[data-lead] select")) {  // a choice not yet Set survives a refresh
    const was = chosen[s.closest("tr").dataset.lead];
    if (was) s.value = was;
  }
}

// When the lead will be called: its due time for a lead waiting for its call.
function nextCall(l, tz) {
  if (l.next_due_at) {
    const when = fmtTime(l.next_due_at, tz);
    return new Date(l.next_due_at) <= new Date() ? `due since ${when}` : when;
  }
  if (l.status === "scheduled" || l.status === "processing") return "now (being called)";
  return "—";
}

function leadRow(name, l, tz, readOnly) {
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
    h("td", { "data-testid": "next-call" }, nextCall(l, tz)),
    h("td", {}, h("button", { class: "link", type: "button", onclick: () => renderCalls(name, l.id) }, fmtInt(l.attempts))),
    h("td", {}, last ? `${last.call_status}${last.answered_by ? " / " + last.answered_by : ""}` : "—",
      l.last_outcome ? h("div", { class: "muted" }, l.last_outcome) : null),
    h("td", { "data-testid": "last-activity" }, fmtTime(l.updated_at, tz)),
    h("td", { class: "mono" }, Object.entries(l.variables || {}).map(([k, v]) => h("div", {}, `${k}: ${v}`))),
    readOnly ? null : h("td", {}, h("form", { class: "inline", onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api(`campaigns/${enc(name)}/leads/${l.id}`, { method: "PATCH",
          headers: { "content-type": "application/json" }, body: JSON.stringify({ status: select.value }) });
        await renderLeads(name);
      } catch (err) { document.getElementById("leads").prepend(errorBox(err)); }
    } }, select, h("button", { type: "submit" }, "Set"))));
}

function rejectReport(r) {
  const lines = (r.rejects || []).some((x) => x.line != null);  // a lead added by hand has none
  return h("div", { class: r.rejected || r.error ? "error" : "ok", "data-testid": "import-report", role: "status" },
    h("div", {}, r.message ? r.message + ": " : "",
      `${fmtInt(r.imported)} imported, ${fmtInt(r.updated)} updated, ${fmtInt(r.rejected)} rejected` +
      (r.warnings ? `, ${fmtInt(r.warnings)} warnings` : "")),
    r.error ? h("div", {}, r.error) : null,
    r.rejects && r.rejects.length ? h("table", { "data-testid": "rejects" },
      h("thead", {}, h("tr", {}, [lines ? "Line" : null, "Field", "Value", "Reason", ""]
        .filter((t) => t !== null).map((t) => h("th", {}, t)))),
      h("tbody", {}, r.rejects.map((x) => h("tr", {}, lines ? h("td", {}, x.line) : null, h("td", {}, x.field ?? ""),
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
  callState.leadId = leadId || null;
  const params = new URLSearchParams({ limit: 50 });
  if (leadId) params.set("lead_id", leadId);
  const seq = (callState.seq = (callState.seq || 0) + 1);
  const page = await api(`campaigns/${enc(name)}/calls?${params}`);
  if (seq !== callState.seq || !box.isConnected || busy(box) || unchanged(box, [leadId, page])) return;
  const open = new Set([...box.querySelectorAll("tr.folded details[open]")].map((d) => d.dataset.fold));
  const tz = detailState.tz;
  fill(box,
    leadId ? h("p", {}, `Calls of lead ${leadId} `, h("button", { class: "link", type: "button", onclick: () => renderCalls(name) }, "(all calls)")) : null,
    page.calls.length === 0 ? h("p", { class: "muted" }, "No calls yet.") :
    h("table", { "data-testid": "calls-table" },
      h("thead", {}, h("tr", {}, CALL_COLUMNS.map((t) => h("th", {}, t === "Started" ? `Started (${tz})` : t)))),
      h("tbody", {}, page.calls.flatMap((a) => [h("tr", { "data-call": a.id },
        h("td", {}, fmtTime(a.started_at, tz)), h("td", {}, a.lead_id), h("td", { class: "mono" }, a.to_number),
        h("td", {}, a.call_status), h("td", {}, a.answered_by ?? "—"),
        h("td", {}, a.duration_s === null ? "—" : `${a.duration_s} s`),
        h("td", {}, a.price === null ? "—" : fmtMoney(-a.price, a.price_unit)),
        h("td", { class: "mono", "data-testid": "call-variables" }, variablesCell(a)),
        h("td", {}, a.outcome_reason ?? "—", a.outcome_note ? h("div", { class: "muted" }, a.outcome_note) : null),
        h("td", {}, recordingLink(a))), auditRow(a, tz), transcriptRow(a)]))));
  for (const d of box.querySelectorAll("tr.folded details")) {  // an audit or transcript opened stays open
    if (open.has(d.dataset.fold)) d.open = true;
  }
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
  return h("tr", { class: "transcript folded", "data-testid": "call-transcript", "data-call": a.id },
    h("td", { colspan: CALL_COLUMNS.length },
      h("details", { "data-fold": `transcript-${a.id}` }, h("summary", {}, `Transcript of call ${a.id}`), h("pre", {}, a.transcript))));
}

// What allowed the call (its compliance audit), folded under its row: the callee's local time
// in each zone it may be in and where those zones came from, then every rule checked. The
// caller ID comes masked from the API, as every number in an audit.
function auditRow(a, tz) {
  const x = a.audit;
  if (!x) return null;
  const line = (label, testid, ...value) => [h("dt", {}, label), h("dd", { "data-testid": testid }, ...value)];
  const zones = Object.entries(x.local_times || {});
  const consent = x.consent_at ? fmtTimeTz(x.consent_at, tz) : "none recorded";
  const caps = Array.isArray(x.frequency) ? x.frequency : (x.frequency ? [x.frequency] : []);
  const caller = x.caller_id;
  return h("tr", { class: "audit folded", "data-testid": "call-audit", "data-audit-of": a.id },
    h("td", { colspan: CALL_COLUMNS.length },
      h("details", { "data-fold": `audit-${a.id}` }, h("summary", {}, `What allowed call ${a.id}`),
        h("dl", { class: "audit" },
          x.checked_at ? line("Checked at", "audit-checked-at", fmtTimeTz(x.checked_at, tz)) : null,
          line("Callee's local time", "audit-local-times", zones.length
            ? zones.map(([zone, t]) => h("div", { class: "mono" }, `${t} (${zone})`))
            : (x.zones && x.zones.length ? x.zones.join(", ") : "no time zone known")),
          line("Zones from", "audit-zone-source", x.zone_source || "—",
            x.states && x.states.length ? h("div", { class: "muted" }, `states: ${x.states.join(", ")}`) : null),
          x.campaign_window ? line("Campaign window", "audit-window", x.campaign_window) : null,
          line("Recipient hours", "audit-recipient-hours", x.recipient_hours
            ? `${x.recipient_hours} in every zone of the callee`
            : (x.recipient_hours_off ? `off: ${x.recipient_hours_off}` : "—")),
          line("State rules", "audit-state-rules", x.state_rules && x.state_rules.length
            ? x.state_rules.map((r) => h("div", {}, r)) : "no US state known for the callee"),
          line("Do-not-call", "audit-dnc", x.dnc
            ? `${x.dnc.suppressed ? "on a list" : "on no list"} (lists version ${x.dnc.list_version})` : "—"),
          line("Frequency", "audit-frequency", caps.length
            ? caps.map((c) => h("div", {}, `${fmtInt(c.calls_before)} calls to the number before this one; cap ${c.cap}`))
            : "no cap for this number"),
          line("Consent", "audit-consent", consent, x.consent_required ? " (required)" : " (not required)"),
          caller ? line("Caller ID", "audit-caller-id", h("span", { class: "mono" }, caller.number ?? "—"),
            ` · ${caller.strategy ?? ""}${caller.why ? " · " + caller.why : ""}`) : null))));
}

// The values the attempt was judged on, then any that came after it was judged (kept, not used).
function variablesCell(a) {
  const lines = (vars) => Object.entries(vars).map(([k, v]) => h("div", {}, `${k}: ${JSON.stringify(v)}`));
  if (!a.variables && !a.late_variables) return "—";
  return [...(a.variables ? lines(a.variables) : []),
    a.late_variables ? h("div", { class: "muted", "data-testid": "late-variables" },
      `after judging (${fmtTimeTz(a.late_variables_at, detailState.tz)}):`, lines(a.late_variables)) : null];
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
window.addEventListener("hashchange", () => { leadState.cursors = []; detailState.name = null; route(); });
document.addEventListener("visibilitychange", refresh);  // shown again: catch up at once
api("vocabulary").then((v) => {
  STATUSES = v.lead_statuses;
  route();
  setInterval(refresh, REFRESH_MS);
}, (e) => fill(app, errorBox(e)));
