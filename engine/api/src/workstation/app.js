// The Hotline agent workstation: log in, set a status, take chat offers and answer chats over the agent
// WebSocket (the protocol is in docs/chat.md). No framework: the page is small and must stay fast all day.
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = {
  token: sessionStorage.getItem("hotline.token"),
  agent: sessionStorage.getItem("hotline.agent"),
  ws: null,
  status: "offline",
  statusSince: Date.now(),
  chats: new Map(), // chat id -> { customer, queue, unread, ended }
  active: null,
  retry: 0,
  closing: false,
  call: null, // { id, phase: "ringing" | "in call" | "ended", offer }
};

function banner(text, kind) {
  const b = $("#banner");
  if (!text) {
    b.hidden = true;
    b.textContent = "";
    return;
  }
  b.hidden = false;
  b.dataset.kind = kind || "info";
  b.textContent = text;
}

function showLogin(message) {
  $("#main").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = message || "";
}

function showMain() {
  $("#login").hidden = true;
  $("#main").hidden = false;
  $("#agent-name").textContent = state.agent;
}

async function login(event) {
  event.preventDefault();
  const agent = $("#login-agent").value.trim();
  const password = $("#login-password").value;
  $("#login-error").textContent = "";
  let resp;
  try {
    resp = await fetch("/api/v1/agent/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ agent, password }),
    });
  } catch (e) {
    showLogin("The engine cannot be reached. Check your network and try again.");
    return;
  }
  if (resp.status === 401) {
    showLogin("Wrong agent or password.");
    return;
  }
  if (resp.status === 429) {
    showLogin("Too many failed logins from this computer. Wait ten minutes, or ask a supervisor.");
    return;
  }
  if (!resp.ok) {
    showLogin(`Login failed (HTTP ${resp.status}). Try again in a moment.`);
    return;
  }
  const session = await resp.json();
  state.token = session.token;
  state.agent = session.agent;
  sessionStorage.setItem("hotline.token", state.token);
  sessionStorage.setItem("hotline.agent", state.agent);
  $("#login-password").value = "";
  showMain();
  connect();
}

function connect() {
  state.closing = false;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/api/v1/agent/ws?token=${encodeURIComponent(state.token)}`);
  state.ws = ws;
  let opened = false;
  ws.onopen = () => {
    opened = true;
    state.retry = 0;
    banner(null);
  };
  ws.onmessage = (ev) => {
    let frame;
    try {
      frame = JSON.parse(ev.data);
    } catch (e) {
      return;
    }
    onFrame(frame);
  };
  ws.onclose = async () => {
    if (state.closing) return;
    if (!opened && (await sessionEnded())) {
      expired();
      return;
    }
    // The network or the engine is away: keep the session and try again, backing off to 5 s.
    state.retry = Math.min(state.retry + 1, 5);
    const wait = 1000 * state.retry;
    banner(`Connection to the engine lost. Reconnecting in ${wait / 1000} s… Your chats are kept.`, "error");
    setTimeout(connect, wait);
  };
}

// True only when the engine says the session is over (401); a network error or another answer is not
// a reason to send the agent back to the login.
async function sessionEnded() {
  try {
    const resp = await fetch("/api/v1/agent/session", { headers: { Authorization: `Bearer ${state.token}` } });
    return resp.status === 401;
  } catch (e) {
    return false;
  }
}

function expired() {
  sessionStorage.removeItem("hotline.token");
  state.token = null;
  showLogin("Your session has ended. Log in again.");
}

function send(frame) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) {
    state.ws.send(JSON.stringify(frame));
    return true;
  }
  banner("Not connected: the message was not sent. Wait for the connection to come back.", "error");
  return false;
}

function onFrame(f) {
  switch (f.type) {
    case "welcome": {
      // Chats the engine no longer lists ended while the page was away.
      const listed = new Set((f.chats || []).map((c) => c.chat));
      for (const [id, chat] of state.chats) {
        if (!chat.ended && !listed.has(id)) endChat(id, "ended while disconnected");
      }
      for (const c of f.chats || []) openChat(c.chat, c.customer, c.queue, c.messages || []);
      $("#offers").textContent = "";
      for (const o of f.offers || []) showOffer(o);
      loadRecent();
      break;
    }
    case "status":
      setStatus(f.status);
      break;
    case "state":
      $("#agent-state").textContent = STATE_NAMES[f.state] || f.state;
      if (f.status !== state.status) setStatus(f.status);
      if (f.reason && f.reason.startsWith("MaxNoAnswer")) {
        banner("You missed several offers in a row and were set to break. Choose Idle when you are back.");
      }
      break;
    case "chat_offered":
      showOffer(f);
      break;
    case "offer_withdrawn":
      removeOffer(f.offer);
      break;
    case "chat_started":
      removeOfferOfChat(f.chat);
      openChat(f.chat, f.customer, f.queue, f.messages || []);
      select(f.chat);
      break;
    case "message":
      addMessage(f.chat, f);
      break;
    case "ended":
      removeOfferOfChat(f.chat);
      endChat(f.chat, f.reason);
      break;
    case "call_offered":
      showCall({ id: f.call, phase: "ringing", offer: f.offer });
      $("#call-queue").textContent = `${f.queue}, waited ${Math.round(f.waited_ms / 1000)} s`;
      break;
    case "call_panel":
      if (state.call && state.call.id === f.call) fillPanel(f);
      break;
    case "call_offer_ended":
      if (state.call && state.call.id === f.call && state.call.phase === "ringing") hideCall();
      break;
    case "call_started":
      if (!state.call || state.call.id !== f.call) showCall({ id: f.call, phase: "in call" });
      state.call.phase = "in call";
      state.call.held = false;
      $("#call-phase").textContent = "In call with";
      $("#call-bar").hidden = false;
      renderHold();
      break;
    case "call_ended":
      if (state.call && state.call.id === f.call) {
        state.call.phase = "ended";
        $("#call-phase").textContent = "Call ended:";
        $("#call-close").hidden = false;
        $("#call-bar").hidden = true;
      }
      loadRecent();
      break;
    case "error":
      if (f.code === "session_expired") {
        state.closing = true;
        expired();
      } else {
        banner(errorText(f), "error");
      }
      break;
    default:
      break;
  }
}

const STATE_NAMES = {
  waiting: "waiting",
  offered: "ringing",
  in_call: "in a call or chat",
  wrap_up: "wrap-up",
};

function errorText(f) {
  switch (f.code) {
    case "rate_limited":
      return "You are sending messages too fast; wait a moment.";
    case "too_large":
      return "That message is too long (at most 4096 bytes).";
    case "offer_gone":
      return "That offer is no longer open.";
    default:
      return f.message || f.code;
  }
}

function setStatus(status) {
  if (status !== state.status) {
    state.status = status;
    state.statusSince = Date.now();
  }
  for (const b of document.querySelectorAll("#status button")) {
    b.setAttribute("aria-pressed", String(b.dataset.status === status));
  }
  tick();
}

function tick() {
  const s = Math.floor((Date.now() - state.statusSince) / 1000);
  const mm = String(Math.floor(s / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  $("#status-timer").textContent = `${mm}:${ss}`;
}

function customerName(c) {
  if (!c) return "Customer";
  return c.name || c.number || c.customer_id || "Customer";
}

function showOffer(o) {
  removeOffer(o.offer);
  const div = document.createElement("div");
  div.className = "offer";
  div.dataset.offer = o.offer;
  div.dataset.chat = o.chat;
  const who = document.createElement("strong");
  who.className = "offer-customer";
  who.textContent = `${customerName(o.customer)} (${o.queue})`;
  const preview = document.createElement("span");
  preview.className = "offer-preview";
  preview.textContent = o.preview || "";
  const accept = document.createElement("button");
  accept.className = "offer-accept";
  accept.textContent = "Accept";
  accept.onclick = () => send({ type: "accept", offer: Number(o.offer) });
  const decline = document.createElement("button");
  decline.className = "offer-decline";
  decline.textContent = "Decline";
  decline.onclick = () => {
    send({ type: "decline", offer: Number(o.offer) });
    removeOffer(o.offer);
  };
  div.append(who, preview, accept, decline);
  $("#offers").append(div);
}

function removeOffer(offer) {
  const el = document.querySelector(`.offer[data-offer="${offer}"]`);
  if (el) el.remove();
}

function removeOfferOfChat(chat) {
  for (const el of document.querySelectorAll(`.offer[data-chat="${chat}"]`)) el.remove();
}

function openChat(id, customer, queue, messages) {
  if (!state.chats.has(id)) {
    state.chats.set(id, { customer, queue, unread: 0, ended: false, seen: new Set() });
    const tab = document.createElement("button");
    tab.className = "chat-tab";
    tab.type = "button";
    tab.dataset.chat = id;
    tab.setAttribute("role", "tab");
    const name = document.createElement("span");
    name.textContent = customerName(customer);
    const unread = document.createElement("span");
    unread.className = "unread";
    unread.hidden = true;
    unread.textContent = "0";
    tab.append(name, unread);
    tab.onclick = () => select(id);
    $("#chat-tabs").append(tab);
    const log = document.createElement("div");
    log.className = "chat-log";
    log.dataset.chat = id;
    log.hidden = true;
    $("#chat-logs").append(log);
  }
  for (const m of messages) addMessage(id, m, true);
}

function addMessage(id, m, history) {
  const chat = state.chats.get(id);
  if (!chat || chat.seen.has(m.seq)) return;
  chat.seen.add(m.seq);
  const log = document.querySelector(`.chat-log[data-chat="${id}"]`);
  const div = document.createElement("div");
  div.className = "msg";
  div.dataset.from = m.from;
  div.dataset.seq = m.seq;
  div.textContent = m.text;
  log.append(div);
  log.scrollTop = log.scrollHeight;
  if (!history && id !== state.active && m.from === "customer") {
    chat.unread += 1;
    renderUnread(id);
  }
}

function renderUnread(id) {
  const chat = state.chats.get(id);
  const badge = document.querySelector(`.chat-tab[data-chat="${id}"] .unread`);
  if (!chat || !badge) return;
  badge.textContent = String(chat.unread);
  badge.hidden = chat.unread === 0;
}

function select(id) {
  state.active = id;
  for (const tab of document.querySelectorAll(".chat-tab")) {
    tab.setAttribute("aria-selected", String(tab.dataset.chat === id));
  }
  for (const log of document.querySelectorAll(".chat-log")) log.hidden = log.dataset.chat !== id;
  const chat = state.chats.get(id);
  if (chat) {
    chat.unread = 0;
    renderUnread(id);
  }
  $("#chat-empty").hidden = true;
  $("#chat-form").hidden = !chat || chat.ended;
  $("#chat-input").focus();
}

function endChat(id, reason) {
  const chat = state.chats.get(id);
  if (!chat) return;
  chat.ended = true;
  const log = document.querySelector(`.chat-log[data-chat="${id}"]`);
  const div = document.createElement("div");
  div.className = "msg ended";
  div.textContent = `Chat ended (${reason}).`;
  log.append(div);
  if (id === state.active) $("#chat-form").hidden = true;
}

$("#login-form").addEventListener("submit", login);
for (const b of document.querySelectorAll("#status button")) {
  b.addEventListener("click", () => send({ type: "status", status: b.dataset.status }));
}
$("#chat-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = $("#chat-input");
  const text = input.value.trim();
  if (!text || !state.active) return;
  if (send({ type: "message", chat: state.active, text })) input.value = "";
});
$("#chat-end").addEventListener("click", () => {
  if (state.active) send({ type: "end", chat: state.active });
});
$("#logout").addEventListener("click", async () => {
  state.closing = true;
  try {
    await fetch("/api/v1/agent/logout", { method: "POST", headers: { Authorization: `Bearer ${state.token}` } });
  } catch (e) {
    // Logged out locally either way.
  }
  if (state.ws) state.ws.close();
  sessionStorage.removeItem("hotline.token");
  state.token = null;
  showLogin("Logged out.");
});
setInterval(tick, 1000);

if (state.token) {
  showMain();
  connect();
} else {
  showLogin();
}

// ---- Calls: the caller panel while the agent's phone rings and during the call, and the last calls.

const PHASES = { ringing: "Ringing:", "in call": "In call with", ended: "Call ended:" };

function showCall(call) {
  state.call = call;
  $("#call").hidden = false;
  $("#call-phase").textContent = PHASES[call.phase];
  $("#call-number").textContent = "…";
  for (const id of ["#call-region", "#call-verification", "#call-trail", "#call-queue"]) $(id).textContent = "…";
  $("#call-previous").textContent = "";
  $("#call-notes").value = "";
  $("#notes-status").textContent = "";
  $("#call-close").hidden = true;
  $("#call-bar").hidden = true;
  $("#call-bar-status").textContent = "";
}

function hideCall() {
  state.call = null;
  $("#call").hidden = true;
}

function regionText(r) {
  if (!r) return "unknown";
  const parts = [r.region, r.country_name].filter(Boolean);
  return parts.length ? parts.join(", ") : "unknown";
}

function trailText(keys) {
  return keys ? keys.split("").join(" ") : "none";
}

function fillPanel(p) {
  $("#call-number").textContent = p.number || "unknown number";
  $("#call-region").textContent = regionText(p.region);
  const v = p.verification;
  $("#call-verification").textContent = v
    ? `${v.verified ? "verified" : "not verified"} (${(v.method || "").replace("_", " ")})${v.customer_id ? `, customer ${v.customer_id}` : ""}`
    : "not asked";
  $("#call-trail").textContent = trailText(p.keypresses);
  if (p.queue && $("#call-queue").textContent === "…") $("#call-queue").textContent = p.queue;
  const list = $("#call-previous");
  list.textContent = "";
  for (const i of p.previous || []) {
    const li = document.createElement("li");
    const when = new Date(i.started_at_ms).toLocaleString();
    li.textContent = `${i.kind} ${when}${i.queue ? `, ${i.queue}` : ""}${i.agent ? `, ${i.agent}` : ""}${i.outcome ? `, ${i.outcome.replace("_", " ")}` : ""}`;
    list.appendChild(li);
  }
  if (!list.children.length) {
    const li = document.createElement("li");
    li.textContent = "first contact";
    list.appendChild(li);
  }
  if (p.notes && !$("#call-notes").value) $("#call-notes").value = p.notes;
}

async function desk(path, options) {
  const opts = options || {};
  opts.headers = Object.assign({ Authorization: `Bearer ${state.token}` }, opts.headers || {});
  let resp;
  try {
    resp = await fetch(path, opts);
  } catch (e) {
    banner("The engine cannot be reached. Check your network; your work on this page is kept.", "error");
    return null;
  }
  if (resp.status === 401) {
    expired();
    return null;
  }
  return resp;
}

async function saveNotes(event) {
  event.preventDefault();
  if (!state.call) return;
  const notes = $("#call-notes").value;
  $("#notes-status").textContent = "Saving…";
  const resp = await desk(`/api/v1/agent/calls/${encodeURIComponent(state.call.id)}/notes`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ notes }),
  });
  if (!resp) {
    $("#notes-status").textContent = "Not saved.";
    return;
  }
  if (resp.status === 204) {
    $("#notes-status").textContent = "Saved.";
    loadRecent();
  } else if (resp.status === 403) {
    $("#notes-status").textContent = "Not saved: notes go on calls you answered.";
  } else {
    $("#notes-status").textContent = `Not saved (HTTP ${resp.status}).`;
  }
}

async function loadRecent() {
  const resp = await desk("/api/v1/agent/calls?limit=10");
  if (!resp || !resp.ok) return;
  const calls = await resp.json();
  const body = $("#recent-calls");
  body.textContent = "";
  for (const c of calls) {
    const tr = document.createElement("tr");
    tr.dataset.call = c.id;
    const cells = [
      c.number,
      new Date(c.started_at_ms).toLocaleString(),
      regionText(c.region),
      c.queue || "",
      trailText(c.keypresses),
      c.notes,
    ];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    const td = document.createElement("td");
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove-call";
    remove.textContent = "Remove";
    remove.title = "Remove from this list (the call record stays)";
    remove.onclick = async () => {
      const r = await desk(`/api/v1/agent/calls/${encodeURIComponent(c.id)}`, { method: "DELETE" });
      if (r && (r.status === 204 || r.status === 404)) loadRecent();
    };
    td.appendChild(remove);
    tr.appendChild(td);
    body.appendChild(tr);
  }
  $("#recent-empty").hidden = calls.length > 0;
}

$("#notes-form").addEventListener("submit", saveNotes);
$("#call-close").addEventListener("click", hideCall);

function renderHold() {
  const held = !!(state.call && state.call.held);
  const b = $("#call-hold");
  b.setAttribute("aria-pressed", String(held));
  b.textContent = held ? "Resume" : "Hold";
  $("#call-phase").textContent = held ? "On hold:" : "In call with";
}

async function toggleHold() {
  if (!state.call || state.call.phase !== "in call") return;
  const want = !state.call.held;
  const resp = await desk(`/api/v1/agent/calls/${encodeURIComponent(state.call.id)}/${want ? "hold" : "resume"}`, {
    method: "POST",
  });
  if (!resp) return;
  if (resp.status === 204) {
    state.call.held = want;
    $("#call-bar-status").textContent = want ? "The caller hears the music on hold." : "";
    renderHold();
  } else if (resp.status === 409) {
    $("#call-bar-status").textContent = "The call is not connected to you any more.";
  } else {
    $("#call-bar-status").textContent = `Not done (HTTP ${resp.status}).`;
  }
}

$("#call-hold").addEventListener("click", toggleHold);

// ---- Outbound calls: the engine rings the agent's phone first, then the number.

async function dial(event) {
  event.preventDefault();
  const number = $("#dial-number").value.trim();
  if (!number) return;
  $("#dial-status").textContent = "Placing the call…";
  const resp = await desk("/api/v1/agent/dial", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ number }),
  });
  if (!resp) {
    $("#dial-status").textContent = "Not placed.";
    return;
  }
  if (resp.status === 202) {
    $("#dial-status").textContent = `Your phone rings: answer it to call ${number}.`;
    $("#dial-number").value = "";
  } else if (resp.status === 403) {
    $("#dial-status").textContent = "You may not place outbound calls. Ask a supervisor.";
  } else if (resp.status === 400) {
    $("#dial-status").textContent = "Enter a phone number (digits, optionally starting with +) or an agent id.";
  } else {
    let why = `HTTP ${resp.status}`;
    try {
      why = (await resp.json()).message || why;
    } catch (e) {
      // keep the status
    }
    $("#dial-status").textContent = `Not placed: ${why}.`;
  }
}

$("#dial-form").addEventListener("submit", dial);
