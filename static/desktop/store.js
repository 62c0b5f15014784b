// @ts-check
/* The desktop's state, and every change to it. No DOM and no requests: a change tells the views
 * through ``emit(topic)`` what to render again, and views subscribe with ``on(topic, fn)``. */

/**
 * @typedef {import("./types.js").Interaction} Interaction
 * @typedef {import("./types.js").Message} Message
 * @typedef {import("./types.js").Note} Note
 * @typedef {import("./types.js").Transfer} Transfer
 * @typedef {import("./types.js").Offer} Offer
 * @typedef {import("./types.js").QueueInfo} QueueInfo
 * @typedef {import("./types.js").Bootstrap} Bootstrap
 * @typedef {import("./types.js").Me} Me
 *
 * @typedef {{recontact_available: boolean | null, recontactSent?: boolean}} WindowClosedInfo
 * @typedef {{scroll?: "bottom" | "auto" | "keep", newItems?: boolean}} TimelineRender
 * @typedef {{kind?: "info" | "warning" | "error", title?: string, timeout?: number}} ToastOptions
 *
 * What views listen to:
 * @typedef {"tabs" | "incoming" | "chat" | "timeline" | "window" | "transfer" | "queue" | "presence"
 *   | "connection" | "toast" | "chime" | "removed" | "activate" | "viewing" | "synced"
 *   | "contact" | "masking" | "new-conversation" | "board" | "spy"} Topic
 */

/** @type {Map<Topic, Set<(payload?: any) => void>>} */
const listeners = new Map();

/**
 * @param {Topic} topic
 * @param {(payload?: any) => void} fn
 */
export function on(topic, fn) {
  if (!listeners.has(topic)) listeners.set(topic, new Set());
  /** @type {Set<(payload?: any) => void>} */ (listeners.get(topic)).add(fn);
}

/**
 * @param {Topic} topic
 * @param {any} [payload]
 */
export function emit(topic, payload) {
  for (const fn of listeners.get(topic) || []) fn(payload);
}

export const state = {
  me: /** @type {Me} */ ({}),
  /** B5: the masking level the server applies to what I see (``settings.masking`` keeps it current). */
  masking: "none",
  settings: /** @type {import("./types.js").Settings} */ ({}),
  rules: /** @type {import("./types.js").Rules} */ ({ message_status_rank: {}, text_max_length: 0 }),
  /** @type {Map<number, QueueInfo>} */
  queues: new Map(),
  /** @type {Map<number, Interaction>} open interactions I own */
  interactions: new Map(),
  /** @type {Map<number, Map<number, Message>>} interaction id -> message id -> message */
  messages: new Map(),
  /** @type {Map<number, Map<number, Note>>} */
  notes: new Map(),
  /** @type {Set<number>} interactions whose timeline came from REST at least once */
  loaded: new Set(),
  /** @type {Map<number, Offer>} interaction id -> offer to me */
  offers: new Map(),
  /** @type {Map<number, Transfer>} transfer id -> transfer offered to me */
  transfersIn: new Map(),
  /** @type {Map<number, Transfer>} interaction id -> my pending transfer */
  transfersOut: new Map(),
  /** @type {Map<number, WindowClosedInfo>} */
  windowClosed: new Map(),
  /** @type {Set<number>} interactions that came back after a declined or expired transfer */
  flagged: new Set(),
  /** @type {Map<number, string>} */
  drafts: new Map(),
  /** @type {Map<number, number>} when a tab was added: a catch-up must not drop newer tabs */
  addedAt: new Map(),
  /** @type {number | null} */
  active: null,
  /** @type {"open" | "connecting" | "closed"} */
  connection: "connecting",
  skew: 0,
  chimes: 0,
  catchUps: 0,
  pageHidden: false,
  /** @type {{id: number, name: string}[]} the accounts of my queues (all for supervisors) */
  accounts: [],
  /** @type {any} B7: the latest board/ object (supervisors) */
  board: null,
  /** @type {{id: number, interaction: any, messages: Map<number, Message>, notes: Map<number, Note>} | null} S1: the conversation watched read-only */
  spy: null,
};

/** @param {Bootstrap} boot */
export function initStore(boot) {
  state.me = boot.user;
  state.settings = Object.assign({}, boot.settings);
  state.rules = boot.rules;
  state.queues = new Map(boot.queues.map((q) => [q.id, q]));
  state.skew = Date.parse(boot.server_time) - Date.now() || 0;
  state.accounts = boot.accounts || [];
}

/** The server's time, as well as this page can tell. */
export const now = () => Date.now() + state.skew;

/**
 * @param {number | {id: number} | null | undefined} value
 * @returns {number}
 */
export function idOf(value) {
  return /** @type {number} */ (value && typeof value === "object" ? value.id : value);
}

// ----- toasts and the chime are state changes too: views decide how they look ---------------------
/**
 * @param {string} message
 * @param {ToastOptions} [opts]
 */
export function notify(message, opts) {
  emit("toast", { message, opts: opts || {} });
}

/** @param {any} err an ApiError, or anything thrown */
export function notifyError(err) {
  if (err && err.detail) notify(err.detail, { kind: "error" });
  else {
    console.error(err);
    notify("Something went wrong.", { kind: "error" });
  }
}

export function ring() {
  state.chimes += 1;
  emit("chime");
}

// ----- presence, connection, settings, queues -----------------------------------------------------
/** @param {Me["presence"]} presence */
export function setPresence(presence) {
  state.me.presence = presence;
  emit("presence");
}

/** @param {"open" | "connecting" | "closed"} value */
export function setConnection(value) {
  state.connection = value;
  emit("connection");
}

/** @param {Partial<import("./types.js").Settings>} data */
export function setSettings(data) {
  for (const key of /** @type {const} */ (["transfers", "transfer_timeout", "attachments_enabled", "attachment_max_bytes"])) {
    if (data[key] !== undefined) /** @type {any} */ (state.settings)[key] = data[key];
  }
  if (state.active !== null) emit("chat");
}

/**
 * @param {number} queueId
 * @param {{waiting?: number, offered?: number, open?: number}} stats
 */
export function setQueueStats(queueId, stats) {
  const q = state.queues.get(queueId);
  if (q) Object.assign(q, stats);
  emit("queue", { queueId, stats });
}

// ----- offers -------------------------------------------------------------------------------------
/**
 * @param {import("./types.js").InteractionOfferedData} data
 * @returns {{isNew: boolean, needsPreview: boolean} | null}
 */
export function addOffer(data) {
  const i = data.interaction;
  if (!i || state.interactions.has(i.id)) return null;
  const known = state.offers.get(i.id);
  const preview = data.preview || (known && known.preview);
  state.offers.set(i.id, { interaction: i, offer_id: data.offer_id || data.id, expires_at: data.expires_at, preview, addedAt: Date.now() });
  emit("incoming");
  return { isNew: !known, needsPreview: !known && !preview };
}

/**
 * @param {number} interactionId
 * @param {string} preview
 */
export function setOfferPreview(interactionId, preview) {
  const offer = state.offers.get(interactionId);
  if (!offer) return;
  offer.preview = preview;
  emit("incoming");
}

/** @param {number} interactionId */
export function removeOffer(interactionId) {
  if (state.offers.delete(interactionId)) emit("incoming");
}

// ----- conversations ------------------------------------------------------------------------------
/** @param {Interaction | null | undefined} i */
export function upsertInteraction(i) {
  if (!i || !i.id) return;
  if (i.status !== "open" || i.owner !== state.me.id) {
    if (state.interactions.has(i.id)) removeInteraction(i.id);
    return;
  }
  const prev = state.interactions.get(i.id);
  state.interactions.set(i.id, Object.assign(prev || {}, i));
  if (!prev) state.addedAt.set(i.id, Date.now());
  if (i.window_open) state.windowClosed.delete(i.id);
  else if (!state.windowClosed.has(i.id)) state.windowClosed.set(i.id, { recontact_available: null });
  removeOffer(i.id);
  emit("tabs");
  if (state.active === i.id) {
    emit("chat");
    emit("viewing", { force: false });
  }
}

/** @param {number} id */
export function removeInteraction(id) {
  state.interactions.delete(id);
  state.transfersOut.delete(id);
  state.windowClosed.delete(id);
  state.flagged.delete(id);
  state.drafts.delete(id);
  state.addedAt.delete(id);
  state.messages.delete(id);
  state.notes.delete(id);
  state.loaded.delete(id);
  const wasActive = state.active === id;
  if (wasActive) state.active = null;
  emit("removed", { id, wasActive });
  emit("tabs");
}

export function sortedInteractions() {
  return Array.from(state.interactions.values()).sort((a, b) => {
    const ta = Date.parse(a.last_message_at || a.started_at || "") || 0;
    const tb = Date.parse(b.last_message_at || b.started_at || "") || 0;
    return tb - ta || b.id - a.id;
  });
}

/** @param {Interaction} i */
export function unreadShown(i) {
  // The conversation being read right now never shows a badge.
  if (i.id === state.active && !state.pageHidden) return 0;
  return i.unread_count || 0;
}

// ----- the 24-hour window -------------------------------------------------------------------------
/**
 * @param {number} id
 * @param {{recontact_available?: boolean | null}} [info]
 */
export function setWindowClosed(id, info) {
  const prev = state.windowClosed.get(id) || { recontact_available: null };
  const recontact = info && info.recontact_available !== undefined ? info.recontact_available : prev.recontact_available ?? null;
  state.windowClosed.set(id, Object.assign(prev, { recontact_available: recontact }));
  const i = state.interactions.get(id);
  if (i) i.window_open = false;
  emit("tabs");
  if (state.active === id) emit("window");
}

/** @param {number} id */
export function setRecontactSent(id) {
  const info = state.windowClosed.get(id);
  if (info) info.recontactSent = true;
  if (state.active === id) emit("window");
}

/**
 * Our clock says a window ran out: act now; the server's sweep confirms within seconds.
 * @param {number} t
 */
export function expireWindowsByClock(t) {
  for (const i of state.interactions.values()) {
    if (i.window_expires_at && !state.windowClosed.has(i.id) && Date.parse(i.window_expires_at) <= t) setWindowClosed(i.id, {});
  }
}

// ----- messages and notes -------------------------------------------------------------------------
/**
 * @param {{created_at: string, id?: number}} a
 * @param {{created_at: string, id?: number}} b
 */
export function compareItems(a, b) {
  const ta = Date.parse(a.created_at) || 0;
  const tb = Date.parse(b.created_at) || 0;
  if (ta !== tb) return ta - tb;
  return (a.id || 0) - (b.id || 0);
}

/**
 * The server moves a status only up its rank (a failure never undoes a delivery), so of two
 * snapshots of one message the higher rank is the newer one.
 * @param {string | undefined} current
 * @param {string | undefined} incoming
 */
function pickStatus(current, incoming) {
  if (!current) return incoming;
  if (!incoming) return current;
  const rank = state.rules.message_status_rank;
  return (rank[incoming] || 0) >= (rank[current] || 0) ? incoming : current;
}

/**
 * @param {number} interactionId
 * @param {Message} m
 * @returns {{message: Message, isNew: boolean}}
 */
function mergeMessage(interactionId, m) {
  if (!state.messages.has(interactionId)) state.messages.set(interactionId, new Map());
  const map = /** @type {Map<number, Message>} */ (state.messages.get(interactionId));
  const prev = map.get(m.id);
  if (prev) {
    // A snapshot older than a live status must not move a mark backwards.
    const status = pickStatus(prev.status, m.status);
    Object.assign(prev, m, { status });
    return { message: prev, isNew: false };
  }
  const copy = Object.assign({}, m);
  map.set(m.id, copy);
  return { message: copy, isNew: true };
}

/**
 * @param {number} interactionId
 * @param {Note} n
 */
function mergeNote(interactionId, n) {
  if (!state.notes.has(interactionId)) state.notes.set(interactionId, new Map());
  const map = /** @type {Map<number, Note>} */ (state.notes.get(interactionId));
  const isNew = !map.has(n.id);
  map.set(n.id, Object.assign(map.get(n.id) || {}, n));
  return isNew;
}

/** @param {number} id */
export function lastMessage(id) {
  const msgs = state.messages.get(id);
  if (!msgs || !msgs.size) return null;
  /** @type {Message | null} */
  let last = null;
  for (const m of msgs.values()) if (!last || compareItems(m, last) > 0) last = m;
  return last;
}

/**
 * A message arrived or changed (live, or the answer to my own send).
 * @param {number} interactionId
 * @param {Message} m
 * @param {{fromSelf?: boolean}} [opts]
 */
export function applyMessage(interactionId, m, opts) {
  opts = opts || {};
  const i = state.interactions.get(interactionId);
  if (!i) return;
  const { message, isNew } = mergeMessage(interactionId, m);
  if (isNew && m.direction === "in" && !opts.fromSelf) {
    const viewing = state.active === interactionId && !state.pageHidden;
    if (!viewing) i.unread_count = (i.unread_count || 0) + 1;
    i.last_message_at = m.created_at;
    i.last_message_direction = "in";
  } else if (isNew && m.direction === "out") {
    i.last_message_at = m.created_at;
    i.last_message_direction = "out";
  }
  if (message.direction === "out" && message.status === "failed" && message.closes_window) setWindowClosed(interactionId, {});
  if (state.active === interactionId) {
    emit("timeline", { scroll: opts.fromSelf || m.direction === "out" ? "bottom" : "auto", newItems: isNew });
    // The server counts it unread until told otherwise, even while it is on screen.
    if (isNew && m.direction === "in") emit("viewing", { force: true });
  }
  emit("tabs");
}

/**
 * A live status for a message: merged into what the page has, or null if it has not got it.
 * @param {import("./types.js").MessageStatusData} d
 */
export function applyMessageStatus(d) {
  const map = state.messages.get(d.interaction_id);
  const m = map && map.get(d.message_id);
  if (!m) return false;
  applyMessage(d.interaction_id, Object.assign({}, m, { status: d.status, error_code: d.error_code, error_message: d.error_message }));
  return true;
}

/**
 * @param {number} interactionId
 * @param {Note} n
 */
export function applyNote(interactionId, n) {
  if (!state.interactions.has(interactionId)) return;
  const isNew = mergeNote(interactionId, n);
  if (state.active === interactionId) emit("timeline", { scroll: "auto", newItems: isNew });
}

/**
 * A conversation's timeline as REST gives it.
 * @param {number} id
 * @param {Message[]} messages
 * @param {Note[]} notes
 */
export function applyTimeline(id, messages, notes) {
  if (!state.interactions.has(id)) return;
  for (const m of messages) mergeMessage(id, m);
  for (const n of notes) mergeNote(id, n);
  const firstLoad = !state.loaded.has(id);
  state.loaded.add(id);
  for (const m of messages) {
    if (m.direction === "out" && m.status === "failed" && m.closes_window) {
      // Only the latest failure matters: a later inbound message reopened the window.
      const i = state.interactions.get(id);
      if (i && !i.window_open) setWindowClosed(id, {});
    }
  }
  if (state.active === id) emit("timeline", { scroll: firstLoad ? "bottom" : "auto" });
  emit("tabs");
}

// ----- transfers ----------------------------------------------------------------------------------
/** @param {Transfer} t */
export function transferIsForMe(t) {
  if (t.from_agent === state.me.id) return false;
  if (t.to_agent) return t.to_agent === state.me.id;
  return !!(t.to_queue && state.queues.has(t.to_queue));
}

/** @returns {("agent" | "queue")[]} */
export function allowedTransferTypes() {
  const mode = state.settings.transfers;
  if (mode === "agent") return ["agent"];
  if (mode === "queue") return ["queue"];
  if (mode === "both") return ["agent", "queue"];
  return [];
}

/** @param {Transfer} t my own transfer, in whatever state it now is */
export function setTransferOut(t) {
  const id = idOf(t.interaction);
  if (t.status === "pending") state.transfersOut.set(id, Object.assign(t, { _at: Date.now() }));
  else state.transfersOut.delete(id);
  emit("tabs");
  if (state.active === id) emit("transfer");
}

/** @param {number} interactionId */
export function clearTransferOut(interactionId) {
  state.transfersOut.delete(interactionId);
  emit("tabs");
  if (state.active === interactionId) emit("transfer");
}

/**
 * @param {Transfer} t offered to me
 * @returns {boolean} whether it was new
 */
export function addTransferIn(t) {
  const known = state.transfersIn.has(t.id);
  state.transfersIn.set(t.id, t);
  emit("incoming");
  return !known;
}

/** @param {number} transferId */
export function removeTransferIn(transferId) {
  const had = state.transfersIn.delete(transferId);
  if (had) emit("incoming");
  return had;
}

/**
 * My transfer was declined or expired: the conversation stays mine, flagged until I look again.
 * @param {Transfer} t
 */
export function transferReturned(t) {
  const id = idOf(t.interaction);
  state.transfersOut.delete(id);
  if (state.interactions.has(id)) state.flagged.add(id);
  emit("tabs");
  if (state.active === id) emit("transfer");
}

// ----- canned answers -----------------------------------------------------------------------------
export function cannedAnswers() {
  const i = state.active === null ? undefined : state.interactions.get(state.active);
  const own = i && state.queues.get(i.queue);
  const answers = own ? own.canned_answers || [] : [];
  if (answers.length) return answers;
  // An interaction transferred in from a queue I am not in: offer my queues' answers.
  const all = [];
  for (const q of state.queues.values()) all.push(...(q.canned_answers || []));
  return all;
}

// ----- supervision: the board (B7) and a conversation watched read-only (S1) ----------------------
/** @param {any} board the board/ object */
export function setBoard(board) {
  state.board = board;
  emit("board");
}

/**
 * Start (or stop, with null) following one conversation read-only.
 * @param {number | null} id
 * @param {any} [interaction]
 */
export function setSpy(id, interaction) {
  state.spy = id === null ? null : { id, interaction: interaction || null, messages: new Map(), notes: new Map() };
  emit("spy");
}

/**
 * What REST says the watched conversation holds.
 * @param {any} interaction
 * @param {Message[]} messages
 * @param {Note[]} notes
 */
export function setSpyTimeline(interaction, messages, notes) {
  const spy = state.spy;
  if (!spy || spy.id !== interaction.id) return;
  spy.interaction = interaction;
  for (const m of messages) spy.messages.set(m.id, Object.assign(spy.messages.get(m.id) || {}, m));
  for (const n of notes) spy.notes.set(n.id, n);
  emit("spy");
}

/**
 * A live event about the watched conversation (the server sends a watcher the owner's events).
 * @param {import("./types.js").ServerEvent} msg
 */
export function spyEvent(msg) {
  const spy = state.spy;
  const d = /** @type {any} */ (msg.data || {});
  if (!spy) return;
  const about = d.interaction_id ?? (d.interaction && d.interaction.id);
  if (about !== spy.id) return;
  if (msg.type === "message.created" || msg.type === "message.updated") {
    spy.messages.set(d.message.id, Object.assign(spy.messages.get(d.message.id) || {}, d.message));
  } else if (msg.type === "message.status") {
    const m = spy.messages.get(d.message_id);
    if (!m) return;
    Object.assign(m, { status: d.status, error_code: d.error_code, error_message: d.error_message });
  } else if (msg.type === "note.created") {
    spy.notes.set(d.note.id, d.note);
  } else if (msg.type.startsWith("interaction.") && d.interaction) {
    spy.interaction = d.interaction;
  } else return;
  emit("spy");
}
