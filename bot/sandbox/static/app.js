// The sandbox's web chat: plain JavaScript, no build step. The server's API is bot/sandbox/web.py.
"use strict";

const S = {};
let state = { people: [], places: [], bot: "" };
let current = null;   // the person chatted as (their Telegram id)
let lang = "zh";      // the page's language: the current person's
const unread = {};
let fileMode = "document";
let refreshing = null;

const $ = (id) => document.getElementById(id);
const ROLES = ["admin", "leader", "cadre", "inspector", "assessor", "public"];
const ALLOWED = new Set(["B", "STRONG", "I", "EM", "U", "INS", "S", "STRIKE", "DEL", "CODE", "PRE", "A",
                         "BLOCKQUOTE", "TG-SPOILER", "SPAN", "BR"]);

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    toast((body && body.error) || S.error + response.status);
    throw new Error(body.error || String(response.status));
  }
  return body;
}
const post = (path, body) => api(path, { method: "POST", headers: { "Content-Type": "application/json" },
                                         body: JSON.stringify(body) });

async function setLanguage(next) {
  lang = next;
  document.documentElement.lang = next;
  Object.assign(S, await api(`/api/strings/${next}`));
  for (const el of document.querySelectorAll("[data-s]")) el.textContent = S[el.dataset.s] || el.textContent;
  $("text").placeholder = S.placeholder;
  renderPeople();
  renderPlaces();
}

function toast(text) {
  if (!text) return;
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 4000);
}

function showTime(iso) {
  const at = new Date(iso);
  $("now").textContent = at.toLocaleString(lang === "zh" ? "zh-CN" : "en-GB",
    { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit", weekday: "short",
      hour: "2-digit", minute: "2-digit" });
  $("now").dateTime = iso;
}

async function loadState() {
  state = await api("/api/state");
  showTime(state.now);
  $("building").hidden = state.demo === "done";
  renderPeople();
  renderPlaces();
}

function renderPeople() {
  const nav = $("people");
  nav.replaceChildren();
  for (const role of ROLES) {
    const people = state.people.filter((p) => p.role === role);
    if (!people.length && role !== "public") continue;
    const title = document.createElement("h3");
    title.textContent = S[`role_${role}`] || role;
    nav.append(title);
    for (const p of people) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "person" + (p.id === current ? " current" : "");
      button.dataset.id = p.id;
      const label = document.createElement("span");
      label.textContent = p.name;
      const unit = document.createElement("small");
      unit.textContent = p.unit || "";
      label.append(unit);
      button.append(label);
      if (unread[p.id]) {
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = unread[p.id];
        button.append(badge);
      }
      button.addEventListener("click", () => openChat(p.id));
      nav.append(button);
    }
    if (role === "public") {
      const add = document.createElement("button");
      add.type = "button";
      add.className = "new-public";
      add.id = "new-public";
      add.textContent = S.new_public;
      add.addEventListener("click", async () => {
        const p = await post("/api/people", { lang });
        await loadState();
        openChat(p.id);
      });
      nav.append(add);
    }
  }
}

function renderPlaces() {
  const select = $("place");
  select.replaceChildren(new Option(S.place_none || "—", ""));
  for (const place of state.places) {
    select.append(new Option(`${place.code} ${place.name}`, `${place.latitude},${place.longitude}`));
  }
}

async function openChat(id) {
  current = Number(id);
  unread[current] = 0;
  history.replaceState(null, "", `#${current}`);
  const person = state.people.find((p) => p.id === current);
  if (person && person.lang !== lang) await setLanguage(person.lang);
  $("empty").hidden = true;
  $("conversation").hidden = false;
  if ($("conversation").dataset.person !== String(current)) {  // nothing of the previous person stays clickable
    $("messages").replaceChildren();
    $("keyboard").replaceChildren();
    $("location").hidden = true;
  }
  renderPeople();
  await refreshChat();
  $("text").focus();
}

async function refreshChat() {
  if (current === null) return;
  if (refreshing) { refreshing.again = true; return; }
  refreshing = { again: false };
  try {
    const chat = await api(`/api/chat/${current}`);
    if (chat.person.id !== current) return;
    $("who-name").textContent = chat.person.name;
    $("who-role").textContent = `${S[`role_${chat.person.role}`] || chat.person.role} · ${chat.person.unit || ""}`;
    $("who-lang").value = chat.person.lang;
    renderHint(chat.person);
    const stick = renderMessages(chat.messages);
    renderKeyboard(chat.messages);
    if (stick) $("messages").scrollTop = $("messages").scrollHeight;  // after the keyboard took its room
    $("conversation").dataset.person = String(chat.person.id);
  } finally {
    const again = refreshing.again;
    refreshing = null;
    if (again) refreshChat();
  }
}

function renderHint(person) {
  // a member of the public comes in by a unit's survey link (the office prints them: duban survey links)
  const links = (state.notes && state.notes.survey_links) || [];
  $("hint").hidden = person.role !== "public" || !links.length;
  const box = $("survey-links");
  box.replaceChildren();
  for (const item of links) {
    const a = document.createElement("a");
    a.textContent = item.unit;
    linkTo(a, item.url);
    box.append(a);
  }
}

function sanitized(html, into) {
  const doc = new DOMParser().parseFromString(`<div>${html}</div>`, "text/html");
  const copy = (from, to) => {
    for (const node of from.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) { to.append(node.textContent); continue; }
      if (node.nodeType !== Node.ELEMENT_NODE) continue;
      if (!ALLOWED.has(node.tagName)) { copy(node, to); continue; }
      const el = document.createElement(node.tagName === "TG-SPOILER" ? "span" : node.tagName);
      if (node.tagName === "A") linkTo(el, node.getAttribute("href") || "");
      copy(node, el);
      to.append(el);
    }
  };
  copy(doc.body.firstChild, into);
}

function deepLink(href) {
  // https://t.me/<bot>?start=<payload>: opened by sending /start <payload> as the current person
  try {
    const url = new URL(href);
    if ((url.host === "t.me" || url.host === "telegram.me") && url.pathname.slice(1) === state.bot) {
      return url.searchParams.get("start");
    }
  } catch (e) { /* not a URL */ }
  return null;
}

function linkTo(el, href) {
  const payload = deepLink(href);
  if (payload !== null) {
    el.href = "#";
    el.dataset.start = payload;
    el.addEventListener("click", (event) => { event.preventDefault(); sendText(`/start ${payload}`); });
  } else if (/^https?:\/\//.test(href)) {
    el.href = href;
    el.target = "_blank";
    el.rel = "noopener";
  }
}

function fileLink(file, photo) {
  const wrap = document.createElement("a");
  wrap.href = `/api/files/${encodeURIComponent(file.file_id)}`;
  wrap.download = file.name;
  wrap.className = "file";
  if (photo) {
    const img = document.createElement("img");
    img.src = `${wrap.href}?inline=1`;
    img.alt = file.name;
    wrap.append(img);
  } else {
    wrap.textContent = `📎 ${file.name} (${Math.max(1, Math.round(file.size / 1024))} KB) · ${S.download}`;
  }
  return wrap;
}

function renderMessages(messages) {
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.replaceChildren();
  for (const m of messages) {
    const div = document.createElement("div");
    div.className = `msg ${m.from}` + (m.deleted ? " deleted" : "");
    div.dataset.key = m.key;
    if (m.deleted) { div.textContent = S.deleted; box.append(div); continue; }
    if (m.photo) div.append(fileLink(m.photo, true));
    if (m.document) div.append(fileLink(m.document, false));
    if (m.location) div.append(`📍 ${m.location.latitude}, ${m.location.longitude}`);
    const body = document.createElement("span");
    body.className = "text";
    sanitized(m.html || "", body);
    div.append(body);
    if (m.inline) div.append(inlineKeyboard(m));
    const meta = document.createElement("span");
    meta.className = "meta";
    const at = m.date ? new Date(m.date * 1000).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB",
      { timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }) : "";
    meta.textContent = (m.edited ? `${S.edited} · ` : "") + at;
    div.append(meta);
    box.append(div);
  }
  const stick = atBottom || box.dataset.seen !== String(current);
  box.dataset.seen = String(current);
  return stick;
}

function inlineKeyboard(m) {
  const grid = document.createElement("div");
  grid.className = "inline";
  for (const row of m.inline) {
    const line = document.createElement("div");
    line.className = "row";
    for (const b of row) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = b.text;
      if (b.url) {
        button.addEventListener("click", () => {
          const payload = deepLink(b.url);
          if (payload !== null) sendText(`/start ${payload}`); else window.open(b.url, "_blank", "noopener");
        });
      } else {
        button.addEventListener("click", () => post(`/api/chat/${current}/press`,
          { message_id: m.message_id, data: b.data }).catch(() => refreshChat()));
      }
      line.append(button);
    }
    grid.append(line);
  }
  return grid;
}

function renderKeyboard(messages) {
  // the reply keyboard in force: the newest bot message that set or removed one, unless a one-time keyboard
  // was used by a later message of the person
  const box = $("keyboard");
  box.replaceChildren();
  let found = null;
  for (let i = messages.length - 1; i >= 0 && !found; i--) {
    const m = messages[i];
    if (m.from === "bot" && (m.keyboard || m.remove_keyboard)) found = { m, i };
  }
  const used = found && found.m.keyboard && found.m.keyboard.one_time &&
    messages.slice(found.i + 1).some((m) => m.from === "me");
  if (!found || !found.m.keyboard || used) { box.hidden = true; return; }
  for (const row of found.m.keyboard.rows) {
    const line = document.createElement("div");
    line.className = "row";
    for (const b of row) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = b.text;
      button.addEventListener("click", () => {
        if (b.request_location) openLocation(); else sendText(b.text);
      });
      line.append(button);
    }
    box.append(line);
  }
  box.hidden = false;
}

async function sendText(text) {
  if (current === null || !text.trim()) return;
  await post(`/api/chat/${current}/text`, { text });
}

function openLocation() {
  $("location").hidden = false;
  $("lat").focus();
}

async function sendFile(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  form.append("as", fileMode);
  await api(`/api/chat/${current}/file`, { method: "POST", body: form });
}

function listen() {
  const events = new EventSource("/api/events");
  events.onmessage = async (event) => {
    const note = JSON.parse(event.data);
    if (note.type === "answer") { toast(note.text); return; }
    if (note.type === "clock") { showTime(note.now); return; }
    if (note.chat === current) { refreshChat(); return; }
    if (note.type === "sent" && note.chat) {
      unread[note.chat] = (unread[note.chat] || 0) + 1;
      renderPeople();
    }
  };
}

function wire() {
  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("text").value;
    if (!text.trim()) return;
    await sendText(text);
    $("text").value = "";
  });
  $("attach-file").addEventListener("click", () => { fileMode = "document"; $("file").click(); });
  $("attach-photo").addEventListener("click", () => { fileMode = "photo"; $("file").click(); });
  $("file").addEventListener("change", async () => {
    for (const file of $("file").files) await sendFile(file);
    $("file").value = "";
  });
  $("open-location").addEventListener("click", openLocation);
  $("cancel-location").addEventListener("click", () => { $("location").hidden = true; });
  $("place").addEventListener("change", () => {
    const [lat, lon] = $("place").value.split(",");
    $("lat").value = lat || "";
    $("lon").value = lon || "";
  });
  $("location").addEventListener("submit", async (event) => {
    event.preventDefault();
    await post(`/api/chat/${current}/location`, { latitude: $("lat").value, longitude: $("lon").value });
    $("location").hidden = true;
  });
  $("who-lang").addEventListener("change", async () => {
    // the person's Telegram language, and for a registered person the bot's own setting, as they would do it
    const person = await post(`/api/people/${current}/lang`, { lang: $("who-lang").value });
    if (person.role !== "public") await sendText(`/lang ${person.lang}`);
    await loadState();
    await setLanguage($("who-lang").value);
    refreshChat();
  });
  for (const button of document.querySelectorAll("[data-step]")) {
    button.addEventListener("click", async () => {
      const buttons = document.querySelectorAll("[data-step]");
      buttons.forEach((b) => { b.disabled = true; });
      $("moving").hidden = false;
      try {
        const moved = await post("/api/clock", { step: button.dataset.step, lang });
        showTime(moved.now);
      } finally {
        buttons.forEach((b) => { b.disabled = false; });
        $("moving").hidden = true;
      }
    });
  }
}

async function main() {
  wire();
  await setLanguage("zh");
  await loadState();
  listen();
  const wanted = Number(location.hash.slice(1));
  if (wanted && state.people.some((p) => p.id === wanted)) await openChat(wanted);
  if (state.demo !== "done") setTimeout(function poll() {
    loadState().then(() => { if (state.demo !== "done") setTimeout(poll, 2000); });
  }, 2000);
}

main();
