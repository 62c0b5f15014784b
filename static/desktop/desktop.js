/* Instant agent desktop: offers, conversations, chat, notes, close, transfers and the 24-hour window.
 *
 * One websocket brings every change live; the REST API does every action. After each (re)connect the
 * page catches up from REST and merges by id, so a dropped socket loses nothing and duplicates nothing.
 * Vanilla JS, no build step, no external requests.
 */
(function () {
  "use strict";

  const boot = JSON.parse(document.getElementById("desktop-bootstrap").textContent);
  const API = boot.api_base || "/api/v1/";
  const me = boot.user;

  // Provider error codes that mean "the 24-hour window is closed" (Meta, Twilio, Kaleyra/others).
  const WINDOW_ERROR_CODES = new Set(["131047", "63016", "470", "OUTSIDE_ALLOWED_SENDING_WINDOW"]);
  const STATUS_RANK = { received: 0, queued: 1, sent: 2, delivered: 3, read: 4 };
  const MEDIA_KINDS = new Set(["image", "audio", "voice", "video", "document", "sticker"]);

  const state = {
    me: me,
    settings: Object.assign({}, boot.settings),
    queues: new Map(boot.queues.map((q) => [q.id, q])),
    interactions: new Map(), // id -> interaction I own and is open
    messages: new Map(), // interaction id -> Map(message id -> message)
    notes: new Map(), // interaction id -> Map(note id -> note)
    loaded: new Set(), // interactions whose timeline came from REST at least once
    offers: new Map(), // interaction id -> {interaction, offer_id, expires_at, preview}
    transfersIn: new Map(), // transfer id -> transfer offered to me
    transfersOut: new Map(), // interaction id -> my pending transfer
    windowClosed: new Map(), // interaction id -> {recontact_available: true|false|null}
    flagged: new Set(), // interactions that came back after a declined or expired transfer
    drafts: new Map(),
    addedAt: new Map(), // interaction id -> time its tab was added (catch-up must not drop newer tabs)
    active: null,
    connection: "connecting",
    skew: Date.parse(boot.server_time) - Date.now() || 0,
    chimes: 0,
    catchUps: 0,
  };

  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const now = () => Date.now() + state.skew;

  const el = {
    connection: $("#connection"),
    presence: $("#presence"),
    incoming: $("#incoming"),
    incomingCount: $("#incoming-count"),
    offers: $("#offers"),
    tabs: $("#tabs"),
    tabsEmpty: $("#tabs-empty"),
    tabsCount: $("#tabs-count"),
    empty: $("#chat-empty"),
    chat: $("#chat"),
    chatName: $("#chat-name"),
    chatSub: $("#chat-sub"),
    chatAvatar: $("#chat-avatar"),
    timeline: $("#timeline"),
    jump: $("#jump-latest"),
    text: $("#composer-text"),
    send: $("#send"),
    composer: $("#composer"),
    emojiButton: $("#emoji-button"),
    emojiPanel: $("#emoji-panel"),
    cannedButton: $("#canned-button"),
    cannedPanel: $("#canned-panel"),
    attachLabel: $("#attach-label"),
    attachInput: $("#attach-input"),
    attachChip: $("#attachment-chip"),
    recordButton: $("#record-button"),
    recording: $("#recording-indicator"),
    recordingTimer: $("#recording-timer"),
    noteButton: $("#note-button"),
    noteForm: $("#note-form"),
    noteText: $("#note-text"),
    closeButton: $("#close-button"),
    closeDialog: $("#close-dialog"),
    closeDisposition: $("#close-disposition"),
    transferButton: $("#transfer-button"),
    transferDialog: $("#transfer-dialog"),
    transferPending: $("#transfer-pending"),
    windowBanner: $("#window-closed"),
    recontact: $("#recontact-button"),
    toasts: $("#toasts"),
  };

  // ----- small helpers ------------------------------------------------------------------------
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "html") node.innerHTML = value; // only ever our own static SVG strings
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function fmtBytes(n) {
    if (n === null || n === undefined) return "";
    const MB = 1024 * 1024;
    if (n >= MB) return `${+(n / MB).toFixed(n % MB === 0 ? 0 : 1)} MB`;
    if (n >= 1024) return `${+(n / 1024).toFixed(n % 1024 === 0 ? 0 : 1)} KB`;
    return `${n} bytes`;
  }

  function fmtTime(iso) {
    if (!iso) return "";
    return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function dayKey(iso) {
    const d = new Date(iso);
    return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
  }

  function fmtDay(iso) {
    const d = new Date(iso);
    const today = new Date();
    const yesterday = new Date(Date.now() - 86400000);
    if (dayKey(d) === dayKey(today)) return "Today";
    if (dayKey(d) === dayKey(yesterday)) return "Yesterday";
    return d.toLocaleDateString([], { weekday: "short", day: "numeric", month: "short", year: "numeric" });
  }

  function fmtCountdown(ms) {
    const s = Math.max(0, Math.ceil(ms / 1000));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  function customerLabel(obj) {
    return (obj && (obj.customer_name || obj.customer_phone)) || "Customer";
  }

  function initial(text) {
    const ch = (text || "?").replace(/^\+/, "").trim().charAt(0);
    return (ch || "?").toUpperCase();
  }

  function relativeUrl(url) {
    // Attachments are absolute on PUBLIC_BASE_URL; fetch them from this origin so the session applies.
    if (!url) return url;
    try {
      const u = new URL(url, location.href);
      return u.pathname + u.search;
    } catch (e) {
      return url;
    }
  }

  function listOf(data) {
    if (Array.isArray(data)) return data;
    return (data && data.results) || [];
  }

  function idOf(value) {
    return value && typeof value === "object" ? value.id : value;
  }

  // ----- toasts -------------------------------------------------------------------------------
  function toast(message, opts) {
    opts = opts || {};
    const kind = opts.kind || "info";
    const node = h(
      "div",
      { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" },
      h("div", { class: "toast-body" }, opts.title ? h("strong", { class: "toast-title", text: opts.title }) : null, h("span", { text: message })),
      h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss", text: "×", onclick: () => node.remove() })
    );
    el.toasts.appendChild(node);
    while (el.toasts.children.length > 5) el.toasts.firstElementChild.remove();
    setTimeout(() => node.classList.add("toast-leaving"), (opts.timeout || (kind === "error" ? 8000 : 5000)) - 300);
    setTimeout(() => node.remove(), opts.timeout || (kind === "error" ? 8000 : 5000));
    return node;
  }

  // ----- REST ---------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, code, detail, body) {
      super(detail);
      this.status = status;
      this.code = code;
      this.detail = detail;
      this.body = body;
    }
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function firstFieldError(errors) {
    if (!errors || typeof errors !== "object") return null;
    for (const [field, value] of Object.entries(errors)) {
      const text = Array.isArray(value) ? value[0] : value;
      if (typeof text === "string") return field === "non_field_errors" ? text : `${field}: ${text}`;
    }
    return null;
  }

  async function api(method, path, body) {
    const opts = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body instanceof FormData) opts.body = body;
    else if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    if (method !== "GET") opts.headers["X-CSRFToken"] = csrfToken();
    let res;
    try {
      res = await fetch(path.startsWith("/") ? path : API + path, opts);
    } catch (e) {
      throw new ApiError(0, "network", "The server cannot be reached: check your connection.");
    }
    let data = null;
    const text = await res.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (e) {
        data = null;
      }
    }
    if (!res.ok) {
      const code = (data && data.code) || "error";
      if (res.status === 401 || code === "not_authenticated") {
        location.href = "/login/?next=/desktop/";
      }
      let detail = data && data.detail;
      if (!detail || (code === "invalid" && data.errors)) detail = firstFieldError(data && data.errors) || detail;
      if (res.status === 413) detail = detail || "The file is too large for the server.";
      throw new ApiError(res.status, code, detail || `The request failed (${res.status}).`, data);
    }
    return data;
  }

  function showError(err) {
    if (err && err.detail) toast(err.detail, { kind: "error" });
    else {
      console.error(err);
      toast("Something went wrong.", { kind: "error" });
    }
  }

  // ----- audio alert --------------------------------------------------------------------------
  let audioCtx = null;
  function ensureAudio() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!audioCtx) {
      try {
        audioCtx = new Ctx();
      } catch (e) {
        return null;
      }
    }
    // Autoplay policy: a context starts suspended until the user interacts with the page.
    if (audioCtx.state === "suspended") audioCtx.resume().catch(() => {});
    return audioCtx;
  }
  ["pointerdown", "keydown"].forEach((type) => document.addEventListener(type, ensureAudio, { capture: true, passive: true }));

  function chime() {
    state.chimes += 1;
    const ctx = audioCtx;
    if (!ctx || ctx.state !== "running") return;
    const t = ctx.currentTime;
    [
      [880, 0],
      [1318.5, 0.14],
    ].forEach(([freq, delay]) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t + delay);
      gain.gain.exponentialRampToValueAtTime(0.22, t + delay + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + delay + 0.45);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t + delay);
      osc.stop(t + delay + 0.5);
    });
  }

  // ----- icons --------------------------------------------------------------------------------
  const ICON = {
    clock: '<svg viewBox="0 0 16 16" aria-hidden="true"><path d="M8 1.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13zm0 1.3a5.2 5.2 0 1 1 0 10.4A5.2 5.2 0 0 1 8 2.8zM7.4 4.5v4l3.1 1.9.6-1-2.5-1.5V4.5H7.4z"/></svg>',
    tick: '<svg viewBox="0 0 16 11" aria-hidden="true"><path d="M11.1.6 4.6 7.8 1.9 5.2.8 6.3l3.9 3.8L12.2 1.7z"/></svg>',
    ticks: '<svg viewBox="0 0 18 11" aria-hidden="true"><path d="M12.1.6 5.6 7.8 2.9 5.2 1.8 6.3l3.9 3.8L13.2 1.7zM16.1.6 9.6 7.8l-.9-.9-1.1 1.1 2.1 2.1L17.2 1.7z"/></svg>',
    doc: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8l-6-6zm4 18H6V4h7v5h5v11z"/></svg>',
    pin: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 2a7 7 0 0 0-7 7c0 5.3 7 13 7 13s7-7.7 7-13a7 7 0 0 0-7-7zm0 9.5A2.5 2.5 0 1 1 12 6.5a2.5 2.5 0 0 1 0 5z"/></svg>',
    mic: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5.3-3c0 3-2.5 5.1-5.3 5.1S6.7 14 6.7 11H5c0 3.4 2.7 6.2 6 6.7V21h2v-3.3c3.3-.5 6-3.3 6-6.7h-1.7z"/></svg>',
    stop: '<svg viewBox="0 0 24 24" aria-hidden="true"><rect x="6" y="6" width="12" height="12" rx="2"/></svg>',
  };

  // ----- connection indicator -----------------------------------------------------------------
  function setConnection(value) {
    state.connection = value;
    el.connection.dataset.state = value;
    const label = { open: "Live", connecting: "Connecting…", closed: "Offline — reconnecting" }[value] || value;
    $(".label", el.connection).textContent = label;
    el.connection.title = value === "open" ? "Connected: updates arrive live" : "Not connected: retrying";
  }

  // ----- presence -----------------------------------------------------------------------------
  function setPresenceUI(presence) {
    me.presence = presence;
    el.presence.value = presence;
    document.body.dataset.presence = presence;
    $(".dk-presence", document).dataset.presence = presence;
    $("#tabs-empty").textContent =
      presence === "online" ? "No open conversations. New offers appear above." : "No open conversations. Go online to receive offers.";
  }

  el.presence.addEventListener("change", async () => {
    const wanted = el.presence.value;
    const previous = me.presence;
    el.presence.disabled = true;
    try {
      const user = await api("POST", "presence/", { presence: wanted });
      setPresenceUI((user && user.presence) || wanted);
    } catch (err) {
      setPresenceUI(previous);
      showError(err);
    } finally {
      el.presence.disabled = false;
    }
  });

  // ----- queues (dashboard) -------------------------------------------------------------------
  function setQueueStats(queueId, stats) {
    const q = state.queues.get(queueId);
    if (q) Object.assign(q, stats);
    const row = $(`.queue-stat[data-queue-id="${queueId}"]`);
    if (!row) return;
    if (stats.waiting !== undefined) {
      const w = $(".waiting", row);
      w.textContent = String(stats.waiting);
      row.classList.toggle("has-waiting", stats.waiting > 0);
    }
    const parts = [];
    if (stats.waiting !== undefined) parts.push(`${stats.waiting} waiting`);
    if (stats.offered !== undefined) parts.push(`${stats.offered} offered`);
    if (stats.open !== undefined) parts.push(`${stats.open} open`);
    if (parts.length) row.title = parts.join(" · ");
  }
  for (const q of state.queues.values()) setQueueStats(q.id, q);

  // ----- incoming: offers and transfer offers ---------------------------------------------------
  function renderIncoming() {
    const wanted = [];
    for (const offer of state.offers.values()) wanted.push(["offer", offer.interaction.id, offer]);
    for (const t of state.transfersIn.values()) wanted.push(["transfer", t.id, t]);
    const keep = new Set(wanted.map(([kind, id]) => `${kind}:${id}`));
    for (const card of $$(".offer, .transfer-offer", el.offers)) {
      if (!keep.has(card.dataset.key)) card.remove();
    }
    for (const [kind, id, obj] of wanted) {
      const key = `${kind}:${id}`;
      let card = el.offers.querySelector(`[data-key="${key}"]`);
      if (!card) {
        card = kind === "offer" ? buildOfferCard(obj) : buildTransferCard(obj);
        card.dataset.key = key;
        card.classList.add("enter");
        card.addEventListener("animationend", () => card.classList.remove("enter"), { once: true });
        el.offers.appendChild(card);
      } else if (kind === "offer") {
        const preview = $(".offer-preview", card);
        if (obj.preview && preview.textContent !== obj.preview) {
          preview.textContent = obj.preview;
          preview.hidden = false;
        }
      }
    }
    const count = wanted.length;
    el.incoming.hidden = count === 0;
    el.incomingCount.textContent = String(count);
    updateTitle();
    tick();
  }

  function countdownEl(expiresAt, totalSeconds) {
    return h("span", { class: "countdown", "data-expires-at": expiresAt, "data-total": totalSeconds || "" });
  }

  function buildOfferCard(offer) {
    const i = offer.interaction;
    const queue = i.queue_name || (state.queues.get(i.queue) || {}).name || "";
    const total = Math.max(1, Math.round((Date.parse(offer.expires_at) - now()) / 1000));
    const card = h(
      "article",
      { class: "offer", "data-interaction-id": i.id, "aria-label": `Offer from ${customerLabel(i)}` },
      h(
        "div",
        { class: "offer-head" },
        h("span", { class: "dk-avatar", "aria-hidden": "true", text: initial(customerLabel(i)) }),
        h(
          "div",
          { class: "offer-who" },
          h("strong", { class: "offer-customer", text: customerLabel(i) }),
          h("span", { class: "offer-phone", text: i.customer_name ? i.customer_phone : "" })
        ),
        countdownEl(offer.expires_at, total)
      ),
      h("div", { class: "offer-meta", text: [queue, i.account_name].filter(Boolean).join(" · ") }),
      h("p", { class: "offer-preview", hidden: !offer.preview, text: offer.preview || "" }),
      h(
        "div",
        { class: "offer-buttons" },
        h("button", { type: "button", class: "btn btn-light offer-reject", text: "Reject", onclick: () => rejectOffer(i.id) }),
        h("button", { type: "button", class: "btn offer-accept", text: "Accept", onclick: () => acceptOffer(i.id) })
      ),
      h("div", { class: "offer-progress", "aria-hidden": "true" }, h("span", { "data-expires-at": offer.expires_at, "data-total": total }))
    );
    return card;
  }

  function buildTransferCard(t) {
    const total = Math.max(1, Math.round((Date.parse(t.expires_at) - now()) / 1000));
    const interaction = state.interactions.get(idOf(t.interaction));
    const who = t.customer_name || t.customer_phone ? customerLabel(t) : interaction ? customerLabel(interaction) : `Conversation #${idOf(t.interaction)}`;
    const target = t.to_queue ? `to queue ${t.to_queue_name || ""}` : "to you";
    return h(
      "article",
      { class: "transfer-offer", "data-transfer-id": t.id, "data-interaction-id": idOf(t.interaction), "aria-label": `Transfer of ${who}` },
      h(
        "div",
        { class: "offer-head" },
        h("span", { class: "dk-avatar dk-avatar-transfer", "aria-hidden": "true", text: "⇄" }),
        h(
          "div",
          { class: "offer-who" },
          h("strong", { class: "offer-customer", text: who }),
          h("span", { class: "offer-phone", text: t.customer_name && t.customer_phone ? t.customer_phone : "" })
        ),
        countdownEl(t.expires_at, total)
      ),
      h("div", { class: "offer-meta" }, "Transfer from ", h("strong", { class: "transfer-from", text: t.from_agent_name || "an agent" }), ` ${target}`),
      h(
        "div",
        { class: "offer-buttons" },
        h("button", { type: "button", class: "btn btn-light transfer-decline", text: "Decline", onclick: () => declineTransfer(t.id) }),
        h("button", { type: "button", class: "btn transfer-accept", text: "Accept", onclick: () => acceptTransfer(t.id) })
      ),
      h("div", { class: "offer-progress", "aria-hidden": "true" }, h("span", { "data-expires-at": t.expires_at, "data-total": total }))
    );
  }

  async function loadOfferPreview(interactionId) {
    try {
      const data = await api("GET", `interactions/${interactionId}/messages/?page_size=5`);
      const inbound = listOf(data).filter((m) => m.direction === "in");
      const offer = state.offers.get(interactionId);
      if (!offer || !inbound.length) return;
      offer.preview = previewText(inbound[0]);
      renderIncoming();
    } catch (e) {
      /* a preview is a nicety: the card works without it */
    }
  }

  function addOffer(data, silent) {
    const i = data.interaction;
    if (!i || state.interactions.has(i.id)) return;
    const known = state.offers.get(i.id);
    const preview = data.preview || (known && known.preview);
    state.offers.set(i.id, { interaction: i, offer_id: data.offer_id || data.id, expires_at: data.expires_at, preview, addedAt: Date.now() });
    renderIncoming();
    if (!known) {
      if (!silent) chime();
      if (!preview) loadOfferPreview(i.id);
    }
  }

  function removeOffer(interactionId) {
    if (state.offers.delete(interactionId)) renderIncoming();
  }

  async function acceptOffer(interactionId) {
    const card = el.offers.querySelector(`.offer[data-interaction-id="${interactionId}"]`);
    if (card) $$("button", card).forEach((b) => (b.disabled = true));
    try {
      const interaction = await api("POST", `interactions/${interactionId}/accept/`);
      removeOffer(interactionId);
      if (interaction && interaction.id) upsertInteraction(interaction);
      else await refreshInteraction(interactionId);
      activate(interactionId);
    } catch (err) {
      if (err.code === "already_taken" || err.status === 404) removeOffer(interactionId);
      else if (card) $$("button", card).forEach((b) => (b.disabled = false));
      showError(err);
    }
  }

  async function rejectOffer(interactionId) {
    removeOffer(interactionId);
    try {
      await api("POST", `interactions/${interactionId}/reject/`);
    } catch (err) {
      if (err.code !== "already_taken" && err.code !== "no_offer") showError(err);
    }
  }

  // ----- conversations (tabs) -----------------------------------------------------------------
  function upsertInteraction(i) {
    if (!i || !i.id) return;
    if (i.status !== "open" || i.owner !== me.id) {
      if (state.interactions.has(i.id)) removeTab(i.id);
      return;
    }
    const prev = state.interactions.get(i.id);
    state.interactions.set(i.id, Object.assign(prev || {}, i));
    if (!prev) state.addedAt.set(i.id, Date.now());
    if (i.window_open) state.windowClosed.delete(i.id);
    else if (!state.windowClosed.has(i.id)) state.windowClosed.set(i.id, { recontact_available: null });
    removeOffer(i.id);
    renderTabs();
    if (state.active === i.id) {
      renderChatHeader();
      markReadIfViewing();
    }
  }

  async function refreshInteraction(id) {
    try {
      upsertInteraction(await api("GET", `interactions/${id}/`));
    } catch (err) {
      if (err.status === 404 && state.interactions.has(id)) removeTab(id);
    }
  }

  function removeTab(id) {
    state.interactions.delete(id);
    state.transfersOut.delete(id);
    state.windowClosed.delete(id);
    state.flagged.delete(id);
    state.drafts.delete(id);
    state.addedAt.delete(id);
    state.messages.delete(id);
    state.notes.delete(id);
    state.loaded.delete(id);
    for (const key of Array.from(nodeCache.keys())) if (key.startsWith(`${id}:`)) nodeCache.delete(key);
    if (state.active === id) {
      state.active = null;
      const next = sortedInteractions()[0];
      if (next && window.matchMedia("(min-width: 800px)").matches) activate(next.id);
      else showChat(false);
    }
    renderTabs();
  }

  function sortedInteractions() {
    return Array.from(state.interactions.values()).sort((a, b) => {
      const ta = Date.parse(a.last_message_at || a.started_at || 0) || 0;
      const tb = Date.parse(b.last_message_at || b.started_at || 0) || 0;
      return tb - ta || b.id - a.id;
    });
  }

  function lastMessage(id) {
    const msgs = state.messages.get(id);
    if (!msgs || !msgs.size) return null;
    let last = null;
    for (const m of msgs.values()) if (!last || compareItems(m, last) > 0) last = m;
    return last;
  }

  function previewText(m) {
    if (!m) return "";
    const label = {
      image: "Photo",
      sticker: "Sticker",
      audio: "Audio",
      voice: "Voice message",
      video: "Video",
      document: "Document",
      location: "Location",
      template: "Template",
      unsupported: "Unsupported message",
    }[m.kind];
    if (m.text) return label && m.kind !== "text" && m.kind !== "template" ? `${label}: ${m.text}` : m.text;
    if (m.kind === "document" && m.attachment) return `Document: ${m.attachment.filename}`;
    return label || "";
  }

  function unreadShown(i) {
    // The conversation being read right now never shows a badge.
    if (i.id === state.active && !document.hidden) return 0;
    return i.unread_count || 0;
  }

  function renderTabs() {
    const list = sortedInteractions();
    const ids = new Set(list.map((i) => i.id));
    for (const tab of $$(".tab", el.tabs)) if (!ids.has(+tab.dataset.interactionId)) tab.remove();
    list.forEach((i, index) => {
      let tab = el.tabs.querySelector(`.tab[data-interaction-id="${i.id}"]`);
      if (!tab) {
        tab = h(
          "button",
          { type: "button", class: "tab", role: "tab", "data-interaction-id": i.id, onclick: () => activate(i.id) },
          h("span", { class: "dk-avatar", "aria-hidden": "true" }),
          h(
            "span",
            { class: "tab-body" },
            h("span", { class: "tab-top" }, h("span", { class: "tab-name" }), h("time", { class: "tab-time" })),
            h(
              "span",
              { class: "tab-bottom" },
              h("span", { class: "tab-preview" }),
              h("span", { class: "tab-flag", title: "Came back to you: the transfer was not accepted", text: "returned" }),
              h("span", { class: "badge", "aria-label": "unread messages" })
            )
          )
        );
      }
      const name = customerLabel(i);
      $(".dk-avatar", tab).textContent = initial(name);
      $(".tab-name", tab).textContent = name;
      $(".tab-time", tab).textContent = fmtTime(i.last_message_at || i.started_at);
      const last = lastMessage(i.id);
      const preview = last ? `${last.direction === "out" ? "↑ " : "↓ "}${previewText(last)}` : i.customer_name ? i.customer_phone : i.queue_name || "";
      $(".tab-preview", tab).textContent = preview;
      const unread = unreadShown(i);
      const badge = $(".badge", tab);
      badge.textContent = unread > 99 ? "99+" : String(unread);
      badge.hidden = unread === 0;
      $(".tab-flag", tab).hidden = !state.flagged.has(i.id);
      tab.classList.toggle("flagged", state.flagged.has(i.id));
      tab.classList.toggle("unread", unread > 0);
      tab.classList.toggle("window-closed", state.windowClosed.has(i.id));
      tab.classList.toggle("transferring", state.transfersOut.has(i.id));
      const active = i.id === state.active;
      tab.classList.toggle("active", active);
      tab.setAttribute("aria-selected", active ? "true" : "false");
      tab.tabIndex = active || (!state.active && index === 0) ? 0 : -1;
      tab.title = `${name}${i.customer_name ? " · " + i.customer_phone : ""} · ${i.queue_name || ""}`;
      if (el.tabs.children[index] !== tab) el.tabs.insertBefore(tab, el.tabs.children[index] || null);
    });
    el.tabsEmpty.hidden = list.length > 0;
    el.tabsCount.textContent = String(list.length);
    updateTitle();
  }

  function updateTitle() {
    let unread = 0;
    for (const i of state.interactions.values()) unread += unreadShown(i);
    const pending = state.offers.size + state.transfersIn.size;
    const total = unread + pending;
    document.title = `${total ? `(${total}) ` : ""}Desktop · Instant`;
  }

  // ----- the active conversation --------------------------------------------------------------
  function showChat(visible) {
    el.chat.hidden = !visible;
    el.empty.hidden = visible;
    document.body.classList.toggle("chat-open", visible);
  }

  function activate(id) {
    if (!state.interactions.has(id)) return;
    if (state.active !== null && state.active !== id) state.drafts.set(state.active, el.text.value);
    const switching = state.active !== id;
    state.active = id;
    try {
      sessionStorage.setItem("instant.desktop.active", String(id));
    } catch (e) {
      /* private mode */
    }
    state.flagged.delete(id);
    showChat(true);
    if (switching) {
      el.text.value = state.drafts.get(id) || "";
      autosize();
      clearAttachment();
      closePopovers();
      hideNoteForm();
      el.timeline.replaceChildren();
    }
    renderChatHeader();
    renderTimeline({ scroll: "bottom" });
    renderTabs();
    if (!state.loaded.has(id)) loadTimeline(id);
    markReadIfViewing();
    if (switching && window.matchMedia("(pointer: fine)").matches) el.text.focus();
  }

  function renderChatHeader() {
    const i = state.interactions.get(state.active);
    if (!i) return;
    const name = customerLabel(i);
    el.chatName.textContent = name;
    el.chatAvatar.textContent = initial(name);
    el.chatSub.textContent = [i.customer_name ? i.customer_phone : null, i.queue_name, i.account_name].filter(Boolean).join(" · ");
    el.transferButton.hidden = state.settings.transfers === "disabled";
    renderTransferPending();
    renderWindow();
  }

  function renderTransferPending() {
    const t = state.transfersOut.get(state.active);
    el.transferPending.hidden = !t;
    el.transferButton.disabled = !!t;
    if (!t) return;
    $("#transfer-pending-target").textContent = t.to_agent ? t.to_agent_name || "an agent" : `queue ${t.to_queue_name || ""}`;
    const countdown = $("#transfer-pending-countdown");
    countdown.dataset.expiresAt = t.expires_at;
    countdown.classList.add("countdown");
    $("#transfer-cancel").dataset.transferId = t.id;
    tick();
  }

  function renderWindow() {
    const id = state.active;
    const closed = state.windowClosed.get(id);
    const isClosed = !!closed;
    el.windowBanner.hidden = !isClosed;
    el.recontact.hidden = !isClosed || closed.recontact_available === false;
    if (isClosed && closed.recontact_available === false) {
      $("#window-closed-text").textContent =
        "The 24-hour window has closed and this account has no recontact template: wait for the customer to write again.";
    } else if (isClosed) {
      $("#window-closed-text").textContent = closed.recontactSent
        ? "Recontact template sent. Free text opens again as soon as the customer replies."
        : "The 24-hour window has closed: free text is no longer allowed. Send the recontact template to invite the customer back.";
    }
    el.text.disabled = isClosed;
    el.text.placeholder = isClosed ? "The 24-hour window is closed" : "Type a message";
    el.send.disabled = isClosed;
    el.emojiButton.disabled = isClosed;
    el.cannedButton.disabled = isClosed;
    el.recordButton.disabled = isClosed;
    el.attachInput.disabled = isClosed;
    el.attachLabel.hidden = !state.settings.attachments_enabled;
    el.recordButton.hidden = !state.settings.attachments_enabled;
    el.attachLabel.classList.toggle("disabled", isClosed);
    el.composer.classList.toggle("disabled", isClosed);
    if (isClosed) {
      clearAttachment();
      closePopovers();
    }
  }

  function setWindowClosed(id, info) {
    const prev = state.windowClosed.get(id) || {};
    const recontact = info && info.recontact_available !== undefined ? info.recontact_available : prev.recontact_available ?? null;
    state.windowClosed.set(id, Object.assign(prev, { recontact_available: recontact }));
    const i = state.interactions.get(id);
    if (i) i.window_open = false;
    renderTabs();
    if (state.active === id) renderWindow();
  }

  // ----- timeline -----------------------------------------------------------------------------
  const nodeCache = new Map(); // "<interaction>:<m|n|d>:<id>" -> {node, sig}
  // Media that loads after it was laid out must not push the latest message out of view.
  let stickToBottom = true;

  function compareItems(a, b) {
    const ta = Date.parse(a.created_at) || 0;
    const tb = Date.parse(b.created_at) || 0;
    if (ta !== tb) return ta - tb;
    return (a.id || 0) - (b.id || 0);
  }

  function mergeMessage(interactionId, m) {
    if (!state.messages.has(interactionId)) state.messages.set(interactionId, new Map());
    const map = state.messages.get(interactionId);
    const prev = map.get(m.id);
    if (prev) {
      // A snapshot older than a live status must not move a mark backwards.
      const status = pickStatus(prev.status, m.status);
      Object.assign(prev, m, { status });
      return { message: prev, isNew: false };
    }
    map.set(m.id, Object.assign({}, m));
    return { message: map.get(m.id), isNew: true };
  }

  function pickStatus(current, incoming) {
    if (!current) return incoming;
    if (!incoming) return current;
    if (current === "failed") return incoming === "delivered" || incoming === "read" ? incoming : "failed";
    if (incoming === "failed") return current === "delivered" || current === "read" ? current : "failed";
    return (STATUS_RANK[incoming] || 0) >= (STATUS_RANK[current] || 0) ? incoming : current;
  }

  function mergeNote(interactionId, n) {
    if (!state.notes.has(interactionId)) state.notes.set(interactionId, new Map());
    const map = state.notes.get(interactionId);
    const isNew = !map.has(n.id);
    map.set(n.id, Object.assign(map.get(n.id) || {}, n));
    return isNew;
  }

  async function loadTimeline(id) {
    try {
      const [messages, notes] = await Promise.all([
        api("GET", `interactions/${id}/messages/?page_size=500`),
        api("GET", `interactions/${id}/notes/?page_size=500`).catch(() => null),
      ]);
      if (!state.interactions.has(id)) return;
      for (const m of listOf(messages)) mergeMessage(id, m);
      if (notes) for (const n of listOf(notes)) mergeNote(id, n);
      const firstLoad = !state.loaded.has(id);
      state.loaded.add(id);
      for (const m of listOf(messages)) {
        if (m.direction === "out" && m.status === "failed" && WINDOW_ERROR_CODES.has(String(m.error_code))) {
          // Only the latest failure matters: a later inbound message reopened the window.
          const i = state.interactions.get(id);
          if (i && !i.window_open) setWindowClosed(id, {});
        }
      }
      if (state.active === id) renderTimeline({ scroll: firstLoad ? "bottom" : "auto" });
      renderTabs();
    } catch (err) {
      if (err.status === 404) removeTab(id);
      else if (state.active === id) showError(err);
    }
  }

  function timelineItems(id) {
    const items = [];
    for (const m of (state.messages.get(id) || new Map()).values()) items.push({ type: "m", obj: m });
    for (const n of (state.notes.get(id) || new Map()).values()) items.push({ type: "n", obj: n });
    items.sort((a, b) => compareItems(a.obj, b.obj) || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
    const out = [];
    let lastDay = null;
    for (const item of items) {
      const day = dayKey(item.obj.created_at);
      if (day !== lastDay) {
        out.push({ type: "d", key: day, obj: { created_at: item.obj.created_at } });
        lastDay = day;
      }
      out.push(item);
    }
    return out;
  }

  function nearBottom() {
    const t = el.timeline;
    return t.scrollHeight - t.scrollTop - t.clientHeight < 120;
  }

  function scrollToBottom() {
    el.timeline.scrollTop = el.timeline.scrollHeight;
    el.jump.hidden = true;
    stickToBottom = true;
  }

  function renderTimeline(opts) {
    opts = opts || {};
    const id = state.active;
    if (id === null) return;
    const wasNearBottom = nearBottom();
    const items = timelineItems(id);
    const wanted = [];
    for (const item of items) {
      const key = `${id}:${item.type}:${item.type === "d" ? item.key : item.obj.id}`;
      let cached = nodeCache.get(key);
      if (item.type === "m") {
        const sig = contentSig(item.obj);
        if (!cached || cached.sig !== sig) {
          const node = buildMessage(item.obj);
          if (cached && cached.node.parentNode) cached.node.replaceWith(node);
          cached = { node, sig };
          nodeCache.set(key, cached);
        }
        updateMessageStatus(cached.node, item.obj);
      } else if (item.type === "n") {
        if (!cached) {
          cached = { node: buildNote(item.obj), sig: "" };
          nodeCache.set(key, cached);
        }
      } else if (!cached) {
        cached = { node: h("div", { class: "day-separator" }, h("span", { text: fmtDay(item.obj.created_at) })), sig: "" };
        nodeCache.set(key, cached);
      }
      wanted.push(cached.node);
    }
    const keep = new Set(wanted);
    for (const child of Array.from(el.timeline.children)) if (!keep.has(child)) child.remove();
    // Move only what is out of place: re-inserting a playing <audio> would stop it.
    wanted.forEach((node, index) => {
      if (el.timeline.children[index] !== node) el.timeline.insertBefore(node, el.timeline.children[index] || null);
    });
    if (!items.length && state.loaded.has(id)) {
      el.timeline.appendChild(h("div", { class: "dk-timeline-empty", text: "No messages yet." }));
    }
    if (opts.scroll === "bottom" || (opts.scroll !== "keep" && wasNearBottom)) scrollToBottom();
    else if (opts.newItems) el.jump.hidden = false;
  }

  function contentSig(m) {
    const a = m.attachment;
    return [m.kind, m.text, a ? a.url : "", m.media_state || "", m.direction, m.template_name || ""].join("|");
  }

  function markNode(m) {
    const status = m.status;
    let cls = "mark";
    let icon = ICON.tick;
    let title = "Sent";
    if (status === "queued") {
      cls += " mark-queued";
      icon = ICON.clock;
      title = "Sending…";
    } else if (status === "sent") {
      cls += " mark-sent";
    } else if (status === "delivered") {
      cls += " mark-delivered";
      icon = ICON.ticks;
      title = "Delivered";
    } else if (status === "read") {
      cls += " mark-read";
      icon = ICON.ticks;
      title = "Read";
    } else if (status === "failed") {
      cls += " mark-failed";
      title = [m.error_code, m.error_message].filter(Boolean).join(": ") || "Not delivered";
    }
    return h("span", { class: cls, title, "aria-label": title, role: "img", html: icon });
  }

  function updateMessageStatus(node, m) {
    if (node.dataset.status === m.status && node.dataset.errorCode === String(m.error_code || "")) return;
    node.dataset.status = m.status;
    node.dataset.errorCode = String(m.error_code || "");
    if (m.direction !== "out") return;
    const meta = $(".msg-meta", node);
    const old = $(".mark", meta);
    const mark = markNode(m);
    if (old) old.replaceWith(mark);
    else meta.appendChild(mark);
    const failed = $(".msg-failed", node);
    if (m.status === "failed") {
      const reason = [m.error_code, m.error_message].filter(Boolean).join(": ");
      const text = `Not delivered${m.error_message ? ": " + m.error_message : ""}`;
      if (failed) {
        failed.textContent = text;
        failed.title = reason;
      } else $(".bubble", node).appendChild(h("div", { class: "msg-failed", title: reason, text }));
    } else if (failed) failed.remove();
  }

  function linkify(text) {
    const frag = document.createDocumentFragment();
    const re = /\bhttps?:\/\/[^\s<>"]+/g;
    let last = 0;
    let match;
    while ((match = re.exec(text))) {
      if (match.index > last) frag.appendChild(document.createTextNode(text.slice(last, match.index)));
      frag.appendChild(h("a", { href: match[0], target: "_blank", rel: "noopener noreferrer", text: match[0] }));
      last = match.index + match[0].length;
    }
    if (last < text.length) frag.appendChild(document.createTextNode(text.slice(last)));
    return frag;
  }

  function mediaNode(m) {
    const a = m.attachment;
    if (!a) {
      if (!MEDIA_KINDS.has(m.kind)) return null;
      if (m.media_state === "failed") return h("div", { class: "media-missing", text: "The media could not be downloaded." });
      return h("div", { class: "media-pending" }, h("span", { class: "spinner", "aria-hidden": "true" }), `Downloading ${m.kind}…`);
    }
    const url = relativeUrl(a.url);
    const type = a.content_type || "";
    const kind = m.kind;
    const onload = () => {
      if (stickToBottom) scrollToBottom();
    };
    if (kind === "image" || kind === "sticker" || (kind === "document" && /^image\/(png|jpe?g|gif|webp)/.test(type))) {
      return h(
        "a",
        { class: `media media-image${kind === "sticker" ? " media-sticker" : ""}`, href: url, target: "_blank", rel: "noopener" },
        h("img", { src: url, alt: a.filename || kind, loading: "lazy", onload })
      );
    }
    if (kind === "audio" || kind === "voice" || (kind === "document" && type.startsWith("audio/"))) {
      return h(
        "div",
        { class: `media media-audio${kind === "voice" ? " media-voice" : ""}` },
        kind === "voice" ? h("span", { class: "media-voice-icon", html: ICON.mic, title: "Voice message" }) : null,
        h("audio", { controls: true, preload: "metadata", src: url })
      );
    }
    if (kind === "video" || type.startsWith("video/")) {
      return h("div", { class: "media media-video" }, h("video", { controls: true, preload: "metadata", src: url }));
    }
    const sep = url.includes("?") ? "&" : "?";
    return h(
      "a",
      { class: "media media-doc", href: `${url}${sep}download=1`, download: a.filename || "", title: "Download" },
      h("span", { class: "media-doc-icon", html: ICON.doc }),
      h("span", { class: "media-doc-body" }, h("span", { class: "media-doc-name", text: a.filename || "Document" }), h("span", { class: "media-doc-size", text: [fmtBytes(a.size), type].filter(Boolean).join(" · ") }))
    );
  }

  function locationNode(m) {
    const loc = m.location || {};
    const lat = Number(loc.latitude);
    const lon = Number(loc.longitude);
    const has = Number.isFinite(lat) && Number.isFinite(lon);
    const label = [loc.name, loc.address].filter(Boolean).join(" · ") || "Location";
    const coords = has ? `${lat.toFixed(5)}, ${lon.toFixed(5)}` : "";
    const href = has ? `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}` : null;
    return h(
      href ? "a" : "div",
      { class: "media media-location", href, target: href ? "_blank" : null, rel: href ? "noopener noreferrer" : null },
      h("span", { class: "media-doc-icon", html: ICON.pin }),
      h("span", { class: "media-doc-body" }, h("span", { class: "media-doc-name", text: label }), h("span", { class: "media-doc-size", text: coords ? `${coords} · open map` : "" }))
    );
  }

  function buildMessage(m) {
    const out = m.direction === "out";
    const bubble = h("div", { class: "bubble" });
    if (out && m.sender && m.sender !== me.id && m.sender_name) bubble.appendChild(h("div", { class: "msg-sender", text: m.sender_name }));
    if (m.kind === "template") bubble.appendChild(h("div", { class: "msg-template", text: `Template${m.template_name ? " · " + m.template_name : ""}` }));
    if (m.kind === "location") bubble.appendChild(locationNode(m));
    else if (m.kind === "unsupported") bubble.appendChild(h("div", { class: "msg-unsupported", text: "Unsupported message" }));
    else {
      const media = mediaNode(m);
      if (media) bubble.appendChild(media);
    }
    if (m.text && m.kind !== "location") bubble.appendChild(h("div", { class: "msg-text" }, linkify(m.text)));
    const meta = h("div", { class: "msg-meta" }, h("time", { datetime: m.created_at, title: new Date(m.created_at).toLocaleString(), text: fmtTime(m.created_at) }));
    bubble.appendChild(meta);
    const node = h(
      "div",
      {
        class: `msg msg-${out ? "out" : "in"}`,
        "data-message-id": m.id,
        "data-direction": m.direction,
        "data-status": "",
        "data-kind": m.kind,
      },
      bubble
    );
    updateMessageStatus(node, m);
    return node;
  }

  function buildNote(n) {
    const supervisor = n.kind === "supervisor";
    return h(
      "div",
      { class: `note note-${supervisor ? "supervisor" : "agent"}`, "data-note-id": n.id, "data-kind": n.kind },
      h(
        "div",
        { class: "note-head" },
        h("span", { class: "note-label", text: supervisor ? "Supervisor note" : "Internal note" }),
        h("span", { class: "note-author", text: n.author_name || "" }),
        h("time", { datetime: n.created_at, text: fmtTime(n.created_at) })
      ),
      h("div", { class: "note-text" }, linkify(n.text || ""))
    );
  }

  el.timeline.addEventListener("scroll", () => {
    stickToBottom = nearBottom();
    if (stickToBottom) el.jump.hidden = true;
  });
  el.jump.addEventListener("click", scrollToBottom);

  // ----- reading ------------------------------------------------------------------------------
  const readTimers = new Map(); // one debounced read per interaction
  function markReadIfViewing(force) {
    const i = state.interactions.get(state.active);
    if (!i || document.hidden || (!i.unread_count && !force)) return;
    const id = i.id;
    clearTimeout(readTimers.get(id));
    readTimers.set(id, setTimeout(async () => {
      readTimers.delete(id);
      try {
        const updated = await api("POST", `interactions/${id}/read/`);
        const current = state.interactions.get(id);
        if (current) {
          current.unread_count = updated && typeof updated.unread_count === "number" ? updated.unread_count : 0;
          renderTabs();
        }
      } catch (err) {
        if (err.status === 404 || err.code === "not_owner" || err.code === "interaction_closed") refreshInteraction(id);
      }
    }, 250));
  }

  document.addEventListener("visibilitychange", () => {
    renderTabs();
    markReadIfViewing();
  });

  // ----- composer -----------------------------------------------------------------------------
  function autosize() {
    el.text.style.height = "auto";
    el.text.style.height = `${Math.min(el.text.scrollHeight, 160)}px`;
  }
  el.text.addEventListener("input", autosize);

  el.text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendCurrent();
    }
  });

  el.composer.addEventListener("submit", (e) => {
    e.preventDefault();
    sendCurrent();
  });

  function insertAtCursor(textarea, text) {
    textarea.focus();
    const start = textarea.selectionStart ?? textarea.value.length;
    const end = textarea.selectionEnd ?? textarea.value.length;
    textarea.setRangeText(text, start, end, "end");
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // Sends leave one after another so the customer sees them in the order typed.
  let outbox = Promise.resolve();

  function sendCurrent() {
    const id = state.active;
    if (id === null) return;
    if (state.windowClosed.has(id)) {
      toast("The 24-hour window has closed: send the recontact template instead.", { kind: "error" });
      return;
    }
    const text = el.text.value.trim();
    const file = pendingFile;
    if (!text && !file) return;
    if (state.flagged.delete(id)) renderTabs();
    el.text.value = "";
    state.drafts.delete(id);
    autosize();
    clearAttachment();
    closePopovers();
    let body;
    if (file) {
      body = new FormData();
      body.append("file", file, file.name);
      if (text) body.append("text", text);
    } else body = { text };
    queueSend(id, body, text);
  }

  function queueSend(id, body, restoreText) {
    el.send.classList.add("sending");
    const job = outbox.then(async () => {
      try {
        const message = await api("POST", `interactions/${id}/messages/`, body);
        if (message && message.id) onMessage(id, message, { fromSelf: true });
      } catch (err) {
        if (err.code === "window_closed") setWindowClosed(id, {});
        if (restoreText && state.active === id && !el.text.value) {
          el.text.value = restoreText;
          autosize();
        }
        showError(err);
      }
    });
    outbox = job;
    job.finally(() => {
      if (outbox === job) el.send.classList.remove("sending");
    });
    return job;
  }

  // ----- attachment ---------------------------------------------------------------------------
  let pendingFile = null;

  function clearAttachment() {
    pendingFile = null;
    el.attachChip.hidden = true;
    el.attachInput.value = "";
  }

  el.attachInput.addEventListener("change", () => {
    const file = el.attachInput.files && el.attachInput.files[0];
    if (!file) return;
    if (!state.settings.attachments_enabled) {
      toast("Attachments are disabled by the administrator.", { kind: "error" });
      clearAttachment();
      return;
    }
    const max = state.settings.attachment_max_bytes;
    if (max && file.size > max) {
      toast(`“${file.name}” is ${fmtBytes(file.size)}: that is larger than ${fmtBytes(max)}, the maximum for an attachment.`, {
        kind: "error",
        title: "File too large",
      });
      clearAttachment();
      return;
    }
    pendingFile = file;
    $("#attachment-name").textContent = file.name;
    $("#attachment-size").textContent = fmtBytes(file.size);
    el.attachChip.hidden = false;
    el.text.placeholder = "Add a caption (optional)";
    el.text.focus();
  });

  $("#attachment-remove").addEventListener("click", () => {
    clearAttachment();
    el.text.placeholder = "Type a message";
  });

  // ----- voice recording ----------------------------------------------------------------------
  let recorder = null;
  let recordChunks = [];
  let recordStarted = 0;
  let recordTimer = null;
  let recordDiscard = false;

  function recorderMime() {
    if (!window.MediaRecorder) return "";
    for (const type of ["audio/ogg;codecs=opus", "audio/webm;codecs=opus", "audio/webm", "audio/mp4"]) {
      if (MediaRecorder.isTypeSupported && MediaRecorder.isTypeSupported(type)) return type;
    }
    return "";
  }

  async function startRecording() {
    if (!navigator.mediaDevices || !window.MediaRecorder) {
      toast("Voice recording is not supported by this browser.", { kind: "error" });
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) {
      toast("The microphone is not available: allow it in the browser to record.", { kind: "error" });
      return;
    }
    const mime = recorderMime();
    recorder = mime ? new MediaRecorder(stream, { mimeType: mime }) : new MediaRecorder(stream);
    recordChunks = [];
    recordDiscard = false;
    const id = state.active;
    recorder.addEventListener("dataavailable", (e) => e.data && e.data.size && recordChunks.push(e.data));
    recorder.addEventListener("stop", () => {
      stream.getTracks().forEach((t) => t.stop());
      const type = (recorder.mimeType || mime || "audio/webm").split(";")[0];
      recorder = null;
      setRecordingUI(false);
      if (recordDiscard || !recordChunks.length) return;
      const ext = type.includes("ogg") ? "ogg" : type.includes("mp4") ? "m4a" : "webm";
      const blob = new Blob(recordChunks, { type });
      const max = state.settings.attachment_max_bytes;
      if (max && blob.size > max) {
        toast(`The recording is larger than ${fmtBytes(max)}: record a shorter message.`, { kind: "error" });
        return;
      }
      const file = new File([blob], `voice-${new Date().toISOString().replace(/[:.]/g, "-")}.${ext}`, { type });
      const body = new FormData();
      body.append("file", file, file.name);
      body.append("voice", "1");
      queueSend(id, body, "");
    });
    recorder.start();
    recordStarted = Date.now();
    setRecordingUI(true);
  }

  function setRecordingUI(on) {
    el.recording.hidden = !on;
    el.recordButton.setAttribute("aria-pressed", on ? "true" : "false");
    el.recordButton.classList.toggle("recording", on);
    el.recordButton.innerHTML = on ? ICON.stop : ICON.mic;
    el.recordButton.title = on ? "Stop and send the voice message" : "Record a voice message";
    el.recordButton.setAttribute("aria-label", el.recordButton.title);
    clearInterval(recordTimer);
    if (on) {
      el.recordingTimer.textContent = "0:00";
      recordTimer = setInterval(() => (el.recordingTimer.textContent = fmtCountdown(Date.now() - recordStarted)), 500);
    }
  }

  el.recordButton.addEventListener("click", () => {
    if (recorder) {
      recorder.stop();
    } else {
      if (state.active === null || state.windowClosed.has(state.active)) return;
      if (!state.settings.attachments_enabled) {
        toast("Attachments are disabled by the administrator, so voice messages are too.", { kind: "error" });
        return;
      }
      startRecording();
    }
  });
  $("#record-cancel").addEventListener("click", () => {
    if (!recorder) return;
    recordDiscard = true;
    recorder.stop();
  });

  // ----- emoji and canned answers -------------------------------------------------------------
  function closePopovers(except) {
    for (const [button, panel] of [
      [el.emojiButton, el.emojiPanel],
      [el.cannedButton, el.cannedPanel],
    ]) {
      if (panel === except) continue;
      panel.hidden = true;
      button.setAttribute("aria-expanded", "false");
    }
  }

  function togglePopover(button, panel, onOpen) {
    const open = panel.hidden;
    closePopovers(panel);
    panel.hidden = !open;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (open && onOpen) onOpen();
  }

  (function buildEmojiPanel() {
    const list = window.INSTANT_EMOJI || ["😀", "🙂", "😉", "👍", "🙏", "❤️", "🎉", "✅"];
    for (const emoji of list) {
      el.emojiPanel.appendChild(
        h("button", {
          type: "button",
          class: "emoji",
          text: emoji,
          "aria-label": emoji,
          onclick: () => insertAtCursor(el.text, emoji),
        })
      );
    }
  })();

  el.emojiButton.addEventListener("click", () => togglePopover(el.emojiButton, el.emojiPanel));
  el.emojiPanel.addEventListener("keydown", (e) => {
    const buttons = $$(".emoji", el.emojiPanel);
    const index = buttons.indexOf(document.activeElement);
    const cols = 10;
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols };
    if (moves[e.key] !== undefined && index >= 0) {
      e.preventDefault();
      const next = buttons[Math.max(0, Math.min(buttons.length - 1, index + moves[e.key]))];
      next.focus();
    }
  });

  function cannedAnswers() {
    const i = state.interactions.get(state.active);
    const own = i && state.queues.get(i.queue);
    const answers = own ? own.canned_answers || [] : [];
    if (answers.length) return answers;
    // An interaction transferred in from a queue I am not in: offer my queues' answers.
    const all = [];
    for (const q of state.queues.values()) all.push(...(q.canned_answers || []));
    return all;
  }

  const cannedSearch = $("input", el.cannedPanel);
  const cannedList = $("ul", el.cannedPanel);

  function renderCanned() {
    const query = cannedSearch.value.trim().toLowerCase();
    cannedList.replaceChildren();
    const answers = cannedAnswers().filter((c) => !query || c.title.toLowerCase().includes(query) || c.text.toLowerCase().includes(query));
    answers.forEach((c, index) => {
      cannedList.appendChild(
        h(
          "li",
          {
            class: `canned-item${index === 0 ? " selected" : ""}`,
            role: "option",
            tabindex: "-1",
            "data-canned-id": c.id,
            onclick: () => useCanned(c),
          },
          h("strong", { text: c.title }),
          h("span", { text: c.text })
        )
      );
    });
    if (!answers.length) cannedList.appendChild(h("li", { class: "canned-empty", text: query ? "No canned answer matches." : "This queue has no canned answers." }));
  }

  function useCanned(c) {
    closePopovers();
    insertAtCursor(el.text, c.text);
  }

  el.cannedButton.addEventListener("click", () =>
    togglePopover(el.cannedButton, el.cannedPanel, () => {
      cannedSearch.value = "";
      renderCanned();
      cannedSearch.focus();
    })
  );
  cannedSearch.addEventListener("input", renderCanned);
  cannedSearch.addEventListener("keydown", (e) => {
    const items = $$(".canned-item", cannedList);
    let index = items.findIndex((item) => item.classList.contains("selected"));
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!items.length) return;
      index = (index + (e.key === "ArrowDown" ? 1 : -1) + items.length) % items.length;
      items.forEach((item, n) => item.classList.toggle("selected", n === index));
      items[index].scrollIntoView({ block: "nearest" });
    } else if (e.key === "Enter") {
      e.preventDefault();
      if (index >= 0) items[index].click();
    }
  });

  document.addEventListener("click", (e) => {
    if (!e.target.closest("#emoji-panel, #emoji-button, #canned-panel, #canned-button")) closePopovers();
  });

  // ----- notes --------------------------------------------------------------------------------
  function hideNoteForm() {
    el.noteForm.hidden = true;
    el.noteButton.setAttribute("aria-expanded", "false");
  }

  el.noteButton.addEventListener("click", () => {
    const open = el.noteForm.hidden;
    el.noteForm.hidden = !open;
    el.noteButton.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) el.noteText.focus();
  });
  $("#note-cancel").addEventListener("click", hideNoteForm);
  el.noteText.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      el.noteForm.requestSubmit();
    }
  });
  el.noteForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const id = state.active;
    const text = el.noteText.value.trim();
    if (!text || id === null) return;
    const save = $("#note-save");
    save.disabled = true;
    try {
      const note = await api("POST", `interactions/${id}/notes/`, { text });
      el.noteText.value = "";
      hideNoteForm();
      if (note && note.id) onNote(id, note);
    } catch (err) {
      showError(err);
    } finally {
      save.disabled = false;
    }
  });

  // ----- close (D5) ---------------------------------------------------------------------------
  el.closeButton.addEventListener("click", () => {
    const i = state.interactions.get(state.active);
    if (!i) return;
    const queue = state.queues.get(i.queue);
    const dispositions = (queue && queue.dispositions) || [];
    el.closeDisposition.replaceChildren(h("option", { value: "", text: "No disposition" }), ...dispositions.map((d) => h("option", { value: d.id, text: d.name })));
    $("#close-sub").textContent = `${customerLabel(i)} can write again later: that starts a new conversation.`;
    $("#close-dispose").disabled = true;
    el.closeDialog.dataset.interactionId = i.id;
    el.closeDialog.showModal();
    el.closeDisposition.focus();
  });
  el.closeDisposition.addEventListener("change", () => {
    $("#close-dispose").disabled = !el.closeDisposition.value;
  });
  $("#close-cancel").addEventListener("click", () => el.closeDialog.close());

  async function closeInteraction(withDisposition) {
    const id = +el.closeDialog.dataset.interactionId;
    const disposition = el.closeDisposition.value ? +el.closeDisposition.value : null;
    if (withDisposition && !disposition) {
      toast("Pick a disposition first.", { kind: "error" });
      return;
    }
    const buttons = $$("button", el.closeDialog);
    buttons.forEach((b) => (b.disabled = true));
    try {
      await api("POST", `interactions/${id}/close/`, { disposition });
      el.closeDialog.close();
      const i = state.interactions.get(id);
      removeTab(id);
      toast(`Conversation with ${customerLabel(i)} closed${disposition ? ` · ${el.closeDisposition.selectedOptions[0].textContent}` : ""}.`);
    } catch (err) {
      if (err.code === "interaction_closed") {
        el.closeDialog.close();
        removeTab(id);
      }
      showError(err);
    } finally {
      buttons.forEach((b) => (b.disabled = false));
      $("#close-dispose").disabled = !el.closeDisposition.value;
    }
  }
  $("#close-confirm").addEventListener("click", () => closeInteraction(false));
  $("#close-dispose").addEventListener("click", () => closeInteraction(true));

  // ----- 24-hour window (D7) ------------------------------------------------------------------
  el.recontact.addEventListener("click", async () => {
    const id = state.active;
    if (id === null) return;
    el.recontact.disabled = true;
    try {
      const message = await api("POST", `interactions/${id}/recontact/`);
      if (message && message.id) onMessage(id, message, { fromSelf: true });
      const info = state.windowClosed.get(id);
      if (info) info.recontactSent = true;
      renderWindow();
      toast("Recontact template sent.");
    } catch (err) {
      if (err.code === "no_recontact_template") setWindowClosed(id, { recontact_available: false });
      showError(err);
    } finally {
      el.recontact.disabled = false;
    }
  });

  // ----- transfers (D6) -----------------------------------------------------------------------
  const transferType = $("#transfer-type");
  const transferAgent = $("#transfer-agent");
  const transferQueue = $("#transfer-queue");

  function allowedTransferTypes() {
    const mode = state.settings.transfers;
    if (mode === "agent") return ["agent"];
    if (mode === "queue") return ["queue"];
    if (mode === "both") return ["agent", "queue"];
    return [];
  }

  function syncTransferType() {
    const type = transferType.value;
    $("#transfer-agent-field").hidden = type !== "agent";
    $("#transfer-queue-field").hidden = type !== "queue";
    const select = type === "agent" ? transferAgent : transferQueue;
    $("#transfer-confirm").disabled = !select.value;
  }
  transferType.addEventListener("change", syncTransferType);
  transferAgent.addEventListener("change", syncTransferType);
  transferQueue.addEventListener("change", syncTransferType);

  el.transferButton.addEventListener("click", async () => {
    const i = state.interactions.get(state.active);
    if (!i) return;
    const types = allowedTransferTypes();
    if (!types.length) {
      toast("Transfers are disabled by the administrator.", { kind: "error" });
      return;
    }
    for (const option of transferType.options) option.hidden = option.disabled = !types.includes(option.value);
    transferType.value = types[0];
    $("#transfer-type-field").hidden = types.length < 2;
    transferAgent.replaceChildren(h("option", { value: "", text: "Loading…" }));
    transferQueue.replaceChildren(h("option", { value: "", text: "Loading…" }));
    el.transferDialog.dataset.interactionId = i.id;
    syncTransferType();
    el.transferDialog.showModal();
    const [agents, queues] = await Promise.all([
      types.includes("agent") ? api("GET", "users/?presence=online&role=agent&page_size=200").catch((e) => (showError(e), null)) : null,
      types.includes("queue") ? api("GET", "queues/?page_size=200").catch((e) => (showError(e), null)) : null,
    ]);
    const agentList = listOf(agents).filter((u) => u.id !== me.id);
    transferAgent.replaceChildren(
      ...(agentList.length
        ? agentList.map((u) => h("option", { value: u.id, text: u.display_name || [u.first_name, u.last_name].filter(Boolean).join(" ") || u.username }))
        : [h("option", { value: "", text: "No other agent is online" })])
    );
    const queueList = listOf(queues).length ? listOf(queues) : Array.from(state.queues.values());
    transferQueue.replaceChildren(
      ...(queueList.length ? queueList.map((q) => h("option", { value: q.id, text: q.name + (q.id === i.queue ? " (current)" : "") })) : [h("option", { value: "", text: "No queue" })])
    );
    syncTransferType();
    (transferType.value === "agent" ? transferAgent : transferQueue).focus();
  });
  $("#transfer-dismiss").addEventListener("click", () => el.transferDialog.close());

  $("#transfer-confirm").addEventListener("click", async () => {
    const id = +el.transferDialog.dataset.interactionId;
    const type = transferType.value;
    const target = type === "agent" ? transferAgent.value : transferQueue.value;
    if (!target) return;
    const button = $("#transfer-confirm");
    button.disabled = true;
    try {
      const transfer = await api("POST", `interactions/${id}/transfer/`, type === "agent" ? { to_agent: +target } : { to_queue: +target });
      el.transferDialog.close();
      if (transfer && transfer.id) setTransferOut(transfer);
      const label = type === "agent" ? transferAgent.selectedOptions[0].textContent : `queue ${transferQueue.selectedOptions[0].textContent}`;
      toast(`Transfer to ${label} requested.`);
    } catch (err) {
      showError(err);
    } finally {
      button.disabled = false;
    }
  });

  function setTransferOut(t) {
    const id = idOf(t.interaction);
    if (t.status === "pending") state.transfersOut.set(id, Object.assign(t, { _at: Date.now() }));
    else state.transfersOut.delete(id);
    renderTabs();
    if (state.active === id) renderTransferPending();
  }

  $("#transfer-cancel").addEventListener("click", async (e) => {
    const transferId = e.currentTarget.dataset.transferId;
    if (!transferId) return;
    try {
      const t = await api("POST", `transfers/${transferId}/cancel/`);
      if (t && t.id) setTransferOut(t);
      else {
        state.transfersOut.delete(state.active);
        renderTransferPending();
      }
      toast("Transfer cancelled.");
    } catch (err) {
      showError(err);
      loadTransfers(state.catchUps);
    }
  });

  async function acceptTransfer(transferId) {
    const t = state.transfersIn.get(transferId);
    try {
      await api("POST", `transfers/${transferId}/accept/`);
      state.transfersIn.delete(transferId);
      renderIncoming();
      if (t) {
        await refreshInteraction(idOf(t.interaction));
        if (state.interactions.has(idOf(t.interaction))) activate(idOf(t.interaction));
      }
    } catch (err) {
      if (err.status === 409 || err.status === 404) {
        state.transfersIn.delete(transferId);
        renderIncoming();
      }
      showError(err);
    }
  }

  async function declineTransfer(transferId) {
    state.transfersIn.delete(transferId);
    renderIncoming();
    try {
      await api("POST", `transfers/${transferId}/decline/`);
    } catch (err) {
      if (err.status !== 409) showError(err);
    }
  }

  function transferIsForMe(t) {
    if (t.from_agent === me.id) return false;
    if (t.to_agent) return t.to_agent === me.id;
    return !!(t.to_queue && state.queues.has(t.to_queue));
  }

  function transferReturned(t, verb) {
    const id = idOf(t.interaction);
    state.transfersOut.delete(id);
    if (state.interactions.has(id)) {
      // Back in the agent's unread list until they look at it again.
      state.flagged.add(id);
      const i = state.interactions.get(id);
      const target = t.to_agent ? t.to_agent_name || "the agent" : `queue ${t.to_queue_name || ""}`;
      toast(`Transfer ${verb}: ${customerLabel(i)} stays with you (${target}).`, { kind: "warning", title: `Transfer ${verb}` });
    } else {
      toast(`Transfer ${verb}.`, { kind: "warning" });
      refreshInteraction(id);
    }
    renderTabs();
    if (state.active === id) renderTransferPending();
  }

  // ----- incoming events ----------------------------------------------------------------------
  function onMessage(interactionId, m, opts) {
    opts = opts || {};
    const i = state.interactions.get(interactionId);
    if (!i) return;
    const { isNew } = mergeMessage(interactionId, m);
    if (isNew && m.direction === "in" && !opts.fromSelf) {
      const viewing = state.active === interactionId && !document.hidden;
      if (!viewing) i.unread_count = (i.unread_count || 0) + 1;
      i.last_message_at = m.created_at;
      i.last_message_direction = "in";
    } else if (isNew && m.direction === "out") {
      i.last_message_at = m.created_at;
      i.last_message_direction = "out";
    }
    if (m.direction === "out" && m.status === "failed" && WINDOW_ERROR_CODES.has(String(m.error_code))) setWindowClosed(interactionId, {});
    if (state.active === interactionId) {
      renderTimeline({ scroll: opts.fromSelf || m.direction === "out" ? "bottom" : "auto", newItems: isNew });
      // The server counts it unread until told otherwise, even while it is on screen.
      if (isNew && m.direction === "in") markReadIfViewing(true);
    }
    renderTabs();
  }

  function onNote(interactionId, n) {
    if (!state.interactions.has(interactionId)) return;
    const isNew = mergeNote(interactionId, n);
    if (state.active === interactionId) renderTimeline({ scroll: "auto", newItems: isNew });
  }

  const handlers = {
    "interaction.offered": (d) => addOffer(d),
    "interaction.taken": (d) => {
      const offer = state.offers.get(d.interaction_id);
      if (!offer || d.by === me.id) return removeOffer(d.interaction_id);
      removeOffer(d.interaction_id);
      toast(`${customerLabel(offer.interaction)} was taken by ${d.by_name || "another agent"} before you answered.`, {
        title: `Taken by ${d.by_name || "another agent"}`,
      });
    },
    "interaction.offer_withdrawn": (d) => {
      const offer = state.offers.get(d.interaction_id);
      removeOffer(d.interaction_id);
      if (!offer) return;
      if (d.reason === "expired") toast(`The offer for ${customerLabel(offer.interaction)} expired.`);
      else if (d.reason === "closed") toast(`${customerLabel(offer.interaction)}: the conversation was closed.`);
    },
    "interaction.assigned": (d) => {
      upsertInteraction(d.interaction);
      if (d.interaction && d.interaction.owner === me.id && state.active === null) activate(d.interaction.id);
    },
    "interaction.updated": (d) => {
      const i = d.interaction;
      if (!i) return;
      if (state.offers.has(i.id) && i.status !== "waiting") removeOffer(i.id);
      if (i.owner === me.id || state.interactions.has(i.id)) upsertInteraction(i);
    },
    "interaction.closed": (d) => {
      removeOffer(d.interaction_id);
      const i = state.interactions.get(d.interaction_id);
      if (!i) return;
      removeTab(d.interaction_id);
      const by = d.interaction && d.interaction.closed_by;
      if (by !== me.id) toast(`The conversation with ${customerLabel(i)} was closed.`);
    },
    "message.created": (d) => onMessage(d.interaction_id, d.message),
    "message.updated": (d) => onMessage(d.interaction_id, d.message),
    "message.status": (d) => {
      const map = state.messages.get(d.interaction_id);
      const m = map && map.get(d.message_id);
      if (!m) {
        if (state.interactions.has(d.interaction_id) && state.loaded.has(d.interaction_id)) loadTimeline(d.interaction_id);
        return;
      }
      onMessage(d.interaction_id, Object.assign({}, m, { status: d.status, error_code: d.error_code, error_message: d.error_message }));
    },
    "note.created": (d) => onNote(d.interaction_id, d.note),
    "queue.stats": (d) => setQueueStats(d.queue_id, d),
    "agent.presence": (d) => {
      if (d.user_id === me.id && d.presence !== me.presence) setPresenceUI(d.presence);
    },
    "window.expired": (d) => {
      if (state.interactions.has(d.interaction_id)) setWindowClosed(d.interaction_id, { recontact_available: d.recontact_available });
    },
    "transfer.offered": (d) => {
      const t = d.transfer;
      if (!t || t.status !== "pending" || t.from_agent === me.id) {
        if (t && t.from_agent === me.id) setTransferOut(t);
        return;
      }
      const known = state.transfersIn.has(t.id);
      state.transfersIn.set(t.id, t);
      renderIncoming();
      if (!known) chime();
    },
    "transfer.accepted": (d) => {
      const t = d.transfer;
      const i = d.interaction;
      const id = idOf(t.interaction);
      state.transfersIn.delete(t.id);
      renderIncoming();
      if (i && i.owner === me.id) {
        upsertInteraction(i);
        if (!state.loaded.has(id)) loadTimeline(id);
        if (state.active === null) activate(id);
      } else if (t.from_agent === me.id || state.interactions.has(id)) {
        const old = state.interactions.get(id);
        removeTab(id);
        const who = t.accepted_by_name || t.to_agent_name || (i && i.owner_name) || "another agent";
        toast(`${old ? customerLabel(old) : "The conversation"} now belongs to ${who}.`, { title: "Transfer accepted" });
      }
    },
    "transfer.declined": (d) => {
      const t = d.transfer;
      if (t.from_agent === me.id) transferReturned(t, "declined");
      else if (state.transfersIn.delete(t.id)) renderIncoming();
    },
    "transfer.expired": (d) => {
      const t = d.transfer;
      if (t.from_agent === me.id) transferReturned(t, "expired");
      else if (state.transfersIn.delete(t.id)) {
        renderIncoming();
        toast(`The transfer from ${t.from_agent_name || "an agent"} expired.`);
      }
    },
    "transfer.cancelled": (d) => {
      const t = d.transfer;
      if (t.from_agent === me.id) setTransferOut(t);
      else if (state.transfersIn.delete(t.id)) {
        renderIncoming();
        toast(`${t.from_agent_name || "The agent"} cancelled the transfer.`);
      }
    },
    "transfer.requested": (d) => {
      if (d.transfer && d.transfer.from_agent === me.id) setTransferOut(d.transfer);
    },
    "transfer.withdrawn": (d) => {
      // A queue transfer I declined: the others may still take it.
      if (d.transfer && state.transfersIn.delete(d.transfer.id)) renderIncoming();
    },
    "transfer.taken": (d) => {
      const t = d.transfer;
      if (state.transfersIn.delete(t.id)) {
        renderIncoming();
        const by = d.by_name || t.accepted_by_name || "another agent";
        toast(`The transfer from ${t.from_agent_name || "an agent"} was taken by ${by}.`, { title: `Taken by ${by}` });
      }
    },
  };

  function handle(msg) {
    if (!msg || typeof msg.type !== "string") return;
    const handler = handlers[msg.type];
    if (!handler) return;
    try {
      handler(msg.data || {});
    } catch (err) {
      console.error("desktop: could not handle", msg.type, err);
    }
  }

  // ----- catch-up after every (re)connect ------------------------------------------------------
  async function loadInteractions(seq) {
    const started = Date.now();
    const data = await api("GET", `interactions/?status=open&owner=${me.id}&page_size=200`);
    if (seq !== state.catchUps) return;
    const list = listOf(data);
    const ids = new Set(list.map((i) => i.id));
    for (const i of list) upsertInteraction(i);
    for (const id of Array.from(state.interactions.keys())) {
      if (!ids.has(id) && (state.addedAt.get(id) || 0) < started) removeTab(id);
    }
  }

  async function loadOffers(seq) {
    const started = Date.now();
    let data;
    try {
      data = await api("GET", "offers/?page_size=200");
    } catch (err) {
      if (err.status === 404) return; // an older server without the endpoint
      throw err;
    }
    if (seq !== state.catchUps) return;
    const list = listOf(data);
    const seen = new Set();
    for (const o of list) {
      let interaction = o.interaction;
      if (interaction && typeof interaction !== "object") {
        try {
          interaction = await api("GET", `interactions/${interaction}/`);
        } catch (e) {
          continue;
        }
      }
      if (!interaction || interaction.status !== "waiting") continue;
      seen.add(interaction.id);
      addOffer({ interaction, offer_id: o.id, expires_at: o.expires_at }, true);
    }
    for (const [id, offer] of Array.from(state.offers.entries())) {
      if (!seen.has(id) && offer.addedAt < started) removeOffer(id);
    }
  }

  async function loadTransfers(seq) {
    const started = Date.now();
    const data = await api("GET", "transfers/?status=pending&page_size=200");
    if (seq !== state.catchUps) return;
    const outIds = new Set();
    const inIds = new Set();
    for (const t of listOf(data)) {
      if (t.status !== "pending") continue;
      if (t.from_agent === me.id) {
        outIds.add(idOf(t.interaction));
        state.transfersOut.set(idOf(t.interaction), t);
      } else if (transferIsForMe(t)) {
        inIds.add(t.id);
        state.transfersIn.set(t.id, Object.assign(t, { _at: state.transfersIn.has(t.id) ? state.transfersIn.get(t.id)._at : started - 1 }));
      }
    }
    for (const [id, t] of Array.from(state.transfersOut.entries())) if (!outIds.has(id) && (t._at || 0) < started) state.transfersOut.delete(id);
    for (const [id, t] of Array.from(state.transfersIn.entries())) if (!inIds.has(id) && (t._at || 0) < started) state.transfersIn.delete(id);
    renderIncoming();
    renderTabs();
    if (state.active !== null) renderTransferPending();
  }

  async function loadQueues() {
    const data = await api("GET", "queues/?page_size=200");
    for (const q of listOf(data)) {
      if (state.queues.has(q.id)) setQueueStats(q.id, { waiting: q.waiting, offered: q.offered, open: q.open });
    }
  }

  async function loadSettings() {
    const data = await api("GET", "settings/");
    if (!data) return;
    for (const key of ["transfers", "transfer_timeout", "attachments_enabled", "attachment_max_bytes"]) {
      if (data[key] !== undefined) state.settings[key] = data[key];
    }
    if (state.active !== null) renderChatHeader();
  }

  async function loadPresence() {
    const data = await api("GET", "presence/");
    if (data && data.presence) setPresenceUI(data.presence);
  }

  async function catchUp() {
    const seq = ++state.catchUps;
    const results = await Promise.allSettled([loadInteractions(seq), loadOffers(seq), loadTransfers(seq), loadQueues(), loadSettings(), loadPresence()]);
    for (const r of results) if (r.status === "rejected" && r.reason && r.reason.status !== 404) console.warn("desktop catch-up:", r.reason);
    if (seq !== state.catchUps) return;
    const timelines = [];
    for (const id of state.interactions.keys()) if (state.loaded.has(id) || id === state.active) timelines.push(loadTimeline(id));
    await Promise.allSettled(timelines);
    if (state.active === null && seq === 1) {
      let wanted = null;
      try {
        wanted = +sessionStorage.getItem("instant.desktop.active");
      } catch (e) {
        /* private mode */
      }
      const first = state.interactions.has(wanted) ? wanted : (sortedInteractions()[0] || {}).id;
      if (first && window.matchMedia("(min-width: 800px)").matches) activate(first);
    }
    document.body.dataset.synced = String(seq);
  }

  // ----- the websocket ------------------------------------------------------------------------
  let socket = null;
  let attempt = 0;
  let retryTimer = null;
  let pingTimer = null;

  function wsUrl() {
    return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${boot.ws_url}`;
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    setConnection("connecting");
    let ws;
    try {
      ws = new WebSocket(wsUrl());
    } catch (e) {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.addEventListener("open", () => {
      if (socket !== ws) return;
      attempt = 0;
      setConnection("open");
      clearInterval(pingTimer);
      pingTimer = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ action: "ping" }));
      }, 25000);
      catchUp();
    });
    ws.addEventListener("message", (e) => {
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      handle(msg);
    });
    ws.addEventListener("close", (e) => {
      if (socket !== ws) return;
      socket = null;
      clearInterval(pingTimer);
      setConnection("closed");
      if (e.code === 4401) {
        location.href = "/login/?next=/desktop/";
        return;
      }
      scheduleReconnect();
    });
  }

  let holdUntil = 0; // tests: keep the socket down for a while (see simulateDrop)

  function scheduleReconnect() {
    if (retryTimer) return;
    const base = Math.min(15000, 500 * 2 ** attempt);
    attempt += 1;
    const delay = Math.max(base * (0.8 + Math.random() * 0.4), holdUntil - Date.now());
    retryTimer = setTimeout(connect, delay);
  }

  function simulateDrop(ms) {
    holdUntil = Date.now() + (ms || 0);
    if (socket) socket.close();
  }

  window.addEventListener("online", () => {
    if (!socket) connect();
  });

  // ----- timers: countdowns, progress bars, windows -------------------------------------------
  function tick() {
    const t = now();
    for (const node of $$("[data-expires-at]")) {
      const left = Date.parse(node.dataset.expiresAt) - t;
      if (node.classList.contains("countdown")) {
        node.textContent = left > 0 ? fmtCountdown(left) : "0:00";
        node.classList.toggle("urgent", left < 15000);
      } else if (node.dataset.total) {
        node.style.width = `${Math.max(0, Math.min(100, (left / 1000 / +node.dataset.total) * 100))}%`;
      }
    }
    // Our clock says the window ran out: act now; the server's sweep confirms within seconds.
    for (const i of state.interactions.values()) {
      if (i.window_expires_at && !state.windowClosed.has(i.id) && Date.parse(i.window_expires_at) <= t) setWindowClosed(i.id, {});
    }
  }
  setInterval(tick, 1000);

  // ----- keyboard -----------------------------------------------------------------------------
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      if (!el.emojiPanel.hidden || !el.cannedPanel.hidden) {
        closePopovers();
        el.text.focus();
      } else if (!el.noteForm.hidden) hideNoteForm();
    }
    if (e.altKey && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
      const list = sortedInteractions();
      if (!list.length) return;
      e.preventDefault();
      const index = list.findIndex((i) => i.id === state.active);
      const next = list[(index + (e.key === "ArrowDown" ? 1 : -1) + list.length) % list.length];
      activate(next.id);
    }
  });

  el.tabs.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    const tabs = $$(".tab", el.tabs);
    const index = tabs.indexOf(document.activeElement);
    if (index < 0) return;
    e.preventDefault();
    tabs[(index + (e.key === "ArrowDown" ? 1 : -1) + tabs.length) % tabs.length].focus();
  });

  $("#back-button").addEventListener("click", () => {
    if (state.active !== null) state.drafts.set(state.active, el.text.value);
    state.active = null;
    showChat(false);
    renderTabs();
  });

  // ----- start --------------------------------------------------------------------------------
  setPresenceUI(me.presence);
  el.attachLabel.hidden = !state.settings.attachments_enabled;
  el.transferButton.hidden = state.settings.transfers === "disabled";
  showChat(false);
  renderTabs();
  renderIncoming();
  connect();

  // Tests close the socket through this hook to check that nothing is lost on reconnect.
  window.__desktop = {
    state,
    get ws() {
      return socket;
    },
    connect,
    catchUp,
    simulateDrop,
  };
})();
