// The dashboard page: plain JavaScript modules, no build step. Data from /api/v1/ (README: JSON API);
// every text from the catalogue the server sends in /api/v1/me (the person's language).
import { renderChart } from "./chart.js";
import { showMap } from "./map.js";

const state = { me: null, by: "category", board: null, sort: null, tab: "board" };
const $ = (id) => document.getElementById(id);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return node;
}

// A photo through the API: with a bearer token (the Mini App in Telegram Web's frame) an <img> cannot send
// it, so the photo is fetched and shown from memory.
export function photo(img, url) {
  if (!state.bearer) {
    img.src = url;
    return img;
  }
  fetch(url, { headers: { Authorization: `Bearer ${state.bearer}` } })
    .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(r.statusText))))
    .then((blob) => { img.src = URL.createObjectURL(blob); })
    .catch(() => {});
  return img;
}

export function tr(key, params = {}) {
  const text = (state.me && state.me.strings[key]) || key;
  return text.replace(/\{(\w+)\}/g, (_, k) => String(params[k] ?? ""));
}

export async function api(path, options = {}) {
  const headers = { ...(options.headers || {}), ...(state.bearer ? { Authorization: `Bearer ${state.bearer}` } : {}) };
  const response = await fetch(path, { credentials: "same-origin", ...options, headers });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.message || response.statusText);
    error.status = response.status;
    throw error;
  }
  return body;
}

function say(text) {
  $("status").textContent = text || "";
  $("status").hidden = !text;
}

async function signInFromTelegram() {
  // Inside Telegram the Mini App's initData arrives in the URL's fragment (tgWebAppData).
  const hash = new URLSearchParams(location.hash.slice(1));
  const initData = hash.get("tgWebAppData");
  if (!initData) return;
  const county = new URLSearchParams(location.search).get("c");
  const signed = await api("/api/v1/session/telegram", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ initData, county }),
  });
  state.bearer = signed.token;  // Telegram Web shows the Mini App in a frame where the cookie is not sent
  history.replaceState(null, "", location.pathname + location.search);
}

function setTab(tab, asked) {
  state.tab = tab;
  for (const b of document.querySelectorAll("nav button")) b.classList.toggle("active", b.dataset.tab === tab);
  for (const s of document.querySelectorAll("section.tab")) s.hidden = s.id !== tab;
  const load = { board: loadBoard, map: loadMap, alerts: loadAlerts, items: loadItems, ranking: loadRanking }[tab];
  load(asked).catch(fail);
}

// ------------------------------------------------------------------ the board
function askBoard() {
  performance.mark("board-asked");
  return api(`/api/v1/board?by=${encodeURIComponent(state.by)}`);
}

async function loadBoard(asked) {
  state.board = await (asked || askBoard());
  performance.mark("board-data");
  renderBoard();
  performance.mark("board-rendered");
}

function sortRows(rows) {
  if (!state.sort) return rows;
  const { key, dir } = state.sort;
  const value = (r) => key === "unit" ? r.code : key.startsWith("count:") ? r.counts[key.slice(6)] ?? r.items
    : ({ red: 0, yellow: 1, green: 2, grey: 3 }[r.cells[key]?.light] ?? 4);
  return [...rows].sort((a, b) => (value(a) > value(b) ? 1 : value(a) < value(b) ? -1 : 0) * dir);
}

function sortBy(key) {
  state.sort = state.sort && state.sort.key === key ? { key, dir: -state.sort.dir } : { key, dir: key === "unit" ? 1 : -1 };
  renderBoard();
}

function renderBoard() {
  const b = state.board;
  $("asof").textContent = tr("dash.as_of", { date: b.as_of });
  $("totals").textContent = tr("dash.counts", b.totals);
  const grid = $("grid");
  grid.replaceChildren();
  const counts = ["red", "yellow", "green"];
  grid.append(el("thead", {}, el("tr", {},
    el("th", { class: "unit", onclick: () => sortBy("unit") }, tr("dash.unit")),
    b.columns.map((c) => el("th", { title: c.label, onclick: () => sortBy(c.key) }, c.label)),
    counts.map((k) => el("th", { onclick: () => sortBy(`count:${k}`) }, el("span", { class: `dot light-${k}` }), " ", tr(`dash.light.${k}`))),
    el("th", { onclick: () => sortBy("count:items") }, tr("dash.items_open")))));
  const body = el("tbody");
  for (const g of b.groups) {
    body.append(el("tr", { class: "group" }, el("td", { colspan: b.columns.length + 5 }, g.label)));
    for (const r of sortRows(g.rows)) {
      body.append(el("tr", { class: `depth${r.depth}`, "data-unit": r.code },
        el("td", { class: "unit", title: r.parent || "" }, r.name),
        b.columns.map((c) => {
          const cell = r.cells[c.key];
          if (!cell) return el("td");
          return el("td", { class: `cell light-${cell.light}`, "data-light": cell.light, "data-status": cell.status,
                            "data-assignment": cell.assignment, title: tr(`dash.status.${cell.status}`) },
                    cell.n > 1 ? String(cell.n) : "");
        }),
        counts.map((k) => el("td", {}, String(r.counts[k]))), el("td", {}, String(r.items))));
    }
  }
  grid.append(body);
}

// ------------------------------------------------------------------ the drill-down
async function openAssignment(id) {
  const d = await api(`/api/v1/assignments/${id}`);
  const detail = $("detail");
  const fact = (k, v) => [el("dt", {}, tr(k)), el("dd", {}, v ?? "—")];
  detail.replaceChildren(
    el("h2", {}, `${d.target} ${d.title}`),
    el("p", {}, d.unit_name, " · ", el("span", { class: `dot light-${d.light}` }), " ", tr(`dash.status.${d.status}`)),
    el("dl", { class: "facts" }, fact("dash.claimed", d.claimed), fact("dash.effective", d.effective),
      fact("dash.expected", d.expected), fact("dash.planned", `${d.planned} ${d.measure}`),
      fact("dash.baseline", d.baseline), fact("dash.deadline", d.deadline)),
    el("div", { id: "chart" }),
    el("h3", {}, tr("dash.photos")),
    d.photos.length ? el("div", { class: "photos" }, d.photos.map((p) => el("figure", {},
      el("a", { href: `/api/v1/evidence/${p.id}`, target: "_blank", rel: "noopener" },
        photo(el("img", { alt: tr("dash.photos"), "data-evidence": p.id }), `/api/v1/evidence/${p.id}?thumb=1`)),
      el("figcaption", {}, p.flags.map((f) => el("span", { class: "flag" }, tr(`dash.flag.${f}`)))))))
      : el("p", {}, tr("dash.no_photos")),
    el("h3", {}, tr("dash.inspections")),
    el("ul", {}, d.inspections.map((v) => el("li", {}, `${v.at.slice(0, 10)} ${v.by} ${v.verified ?? ""} `,
      v.flags.map((f) => el("span", { class: "flag" }, tr(`dash.flag.${f}`)))))),
  );
  $("drawer").hidden = false;
  await renderChart($("chart"), d, tr);
}

// ------------------------------------------------------------------ the map, alerts and items
async function loadMap() {
  const points = await api("/api/v1/map");
  await showMap($("mapview"), $("mapnote"), points, state.me, tr);
}

async function loadAlerts() {
  const list = await api("/api/v1/alerts");
  const ul = $("alertlist");
  ul.replaceChildren(...(list.length ? list.map((a) => {
    const button = el("button", { type: "button", "data-alert": a.id, disabled: a.acknowledged_at ? true : null },
      a.acknowledged_at ? tr("dash.acked") : tr("dash.ack"));
    button.addEventListener("click", async () => {
      await api(`/api/v1/alerts/${a.id}/ack`, { method: "POST" });
      button.textContent = tr("dash.acked");
      button.disabled = true;
    });
    return el("li", { "data-alert-row": a.id }, el("span", { class: `dot light-${a.level === "info" ? "grey" : a.level === "yellow" ? "yellow" : "red"}` }),
      el("span", { class: "grow" }, `${tr(`dash.level.${a.level}`)} · ${a.title} · ${a.unit} · ${a.created_at.slice(0, 10)}`), button);
  }) : [el("li", {}, tr("dash.no_alerts"))]));
}

async function loadItems() {
  const list = await api("/api/v1/items");
  const ul = $("itemlist");
  ul.replaceChildren(...(list.length ? list.map((item) => el("li", {},
    el("span", { class: `dot light-${item.light === "waiting" ? "grey" : item.light}` }),
    el("span", { class: "grow" }, `#${item.id} ${item.task} · ${tr("dash.deadline")} ${item.deadline}`),
    item.parts.map((p) => {
      const button = p.verify ? el("button", { type: "button" }, tr("dash.verify")) : null;
      if (button) button.addEventListener("click", async () => {
        await api(`/api/v1/items/parts/${p.id}/verify`, { method: "POST" });
        button.textContent = tr("dash.verified");
        button.disabled = true;
      });
      return el("span", {}, `${p.unit} `, button);
    }))) : [el("li", {}, tr("dash.no_items"))]));
}

async function loadRanking() {
  const node = $("rankview");
  const r = await api("/api/v1/ranking");
  if (r.refused) {
    node.replaceChildren(el("p", { class: "refused" }, r.message));
    return;
  }
  node.replaceChildren(el("h2", {}, tr("dash.ranking_head", { year: r.year })),
    r.live ? el("p", {}, tr("dash.ranking_live")) : "",
    r.classes.map((c) => {
      const top = Math.max(1, ...c.units.map((u) => Number(u.total)));
      return el("div", {}, el("h3", {}, c.class), el("table", { class: "ranking" },
        el("tbody", {}, c.units.map((u) => el("tr", { class: u.bottom ? "bottom" : "" },
          el("td", {}, String(u.rank)), el("td", { class: "unit" }, u.name), el("td", {}, u.total),
          el("td", { class: "barcell" }, el("span", { class: `bar${u.vetoed ? " vetoed" : ""}`,
            style: `width:${(100 * Number(u.total)) / top}%` })))))));
    }));
}

// ------------------------------------------------------------------ start
async function start() {
  let board;
  try {
    await signInFromTelegram();
    board = askBoard();  // asked at once, beside /api/v1/me
    board.catch(() => {});  // (its failure is the same as /me's, reported below)
    state.me = await api("/api/v1/me");
  } catch (error) {
    say(error.message);
    return;
  }
  document.documentElement.lang = state.me.lang === "en" ? "en" : "zh";
  document.title = tr("dash.title");
  $("title").textContent = tr("dash.title");
  $("who").textContent = state.me.name;
  for (const tab of ["board", "map", "alerts", "items", "ranking"]) $(`tab-${tab}`).textContent = tr(`dash.tab.${tab}`);
  $("tab-ranking").hidden = !state.me.roles.some((r) => r === "admin" || r === "leader");
  $("by").options[0].textContent = tr("dash.by_category");
  $("by").options[1].textContent = tr("dash.by_target");
  $("close").textContent = tr("dash.close");
  $("close").addEventListener("click", () => { $("drawer").hidden = true; });
  $("by").addEventListener("change", (e) => { state.by = e.target.value; state.sort = null; loadBoard(); });
  for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => setTab(b.dataset.tab));
  $("tabs").hidden = false;
  say("");
  $("grid").addEventListener("click", (event) => {
    const cell = event.target.closest("td.cell[data-assignment]");
    if (cell) openAssignment(cell.dataset.assignment).catch(fail);
  });
  setTab("board", board);
}

function fail(error) {
  say(error.message || tr("dash.error"));
}

window.addEventListener("unhandledrejection", (event) => { event.preventDefault(); fail(event.reason || {}); });
start();
