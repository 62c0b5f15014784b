// @ts-check
/* The active conversation's timeline: messages, notes and day separators, rendered from the store.
 * Nodes are kept per item and only moved when out of place, so a playing <audio> keeps playing. */

import { $, h, ICON } from "../dom.js";
import { dayKey, fmtBytes, fmtDay, fmtTime, relativeUrl } from "../format.js";
import { compareItems, on, state } from "../store.js";

/**
 * @typedef {import("../types.js").Message} Message
 * @typedef {import("../types.js").Note} Note
 * @typedef {{type: "m", obj: Message} | {type: "n", obj: Note} | {type: "d", key: string, obj: {created_at: string}}} Item
 */

const MEDIA_KINDS = new Set(["image", "audio", "voice", "video", "document", "sticker"]);

const timeline = $("#timeline");
const jump = $("#jump-latest");

/** @type {Map<string, {node: HTMLElement, sig: string}>} "<interaction>:<m|n|d>:<id>" -> node */
const nodeCache = new Map();
// Media that loads after it was laid out must not push the latest message out of view.
let stickToBottom = true;

/** @param {number} id */
function timelineItems(id) {
  /** @type {Item[]} */
  const items = [];
  for (const m of (state.messages.get(id) || new Map()).values()) items.push({ type: "m", obj: m });
  for (const n of (state.notes.get(id) || new Map()).values()) items.push({ type: "n", obj: n });
  items.sort((a, b) => compareItems(a.obj, b.obj) || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  /** @type {Item[]} */
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
  return timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < 120;
}

function scrollToBottom() {
  timeline.scrollTop = timeline.scrollHeight;
  jump.hidden = true;
  stickToBottom = true;
}

export function clearTimeline() {
  timeline.replaceChildren();
}

/** @param {import("../store.js").TimelineRender} [opts] */
function renderTimeline(opts) {
  opts = opts || {};
  const id = state.active;
  if (id === null) return;
  const wasNearBottom = nearBottom();
  const items = timelineItems(id);
  /** @type {HTMLElement[]} */
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
  for (const child of Array.from(timeline.children)) if (!keep.has(/** @type {HTMLElement} */ (child))) child.remove();
  // Move only what is out of place: re-inserting a playing <audio> would stop it.
  wanted.forEach((node, index) => {
    if (timeline.children[index] !== node) timeline.insertBefore(node, timeline.children[index] || null);
  });
  if (!items.length && state.loaded.has(id)) {
    timeline.appendChild(h("div", { class: "dk-timeline-empty", text: "No messages yet." }));
  }
  if (opts.scroll === "bottom" || (opts.scroll !== "keep" && wasNearBottom)) scrollToBottom();
  else if (opts.newItems) jump.hidden = false;
}

/** @param {Message} m what, if it changes, needs the bubble built again */
function contentSig(m) {
  const a = m.attachment;
  return [m.kind, m.text, a ? a.url : "", m.media_state || "", m.direction, m.template_name || ""].join("|");
}

/** @param {Message} m */
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

/**
 * @param {HTMLElement} node
 * @param {Message} m
 */
function updateMessageStatus(node, m) {
  if (node.dataset.status === m.status && node.dataset.errorCode === String(m.error_code || "")) return;
  node.dataset.status = m.status;
  node.dataset.errorCode = String(m.error_code || "");
  if (m.direction !== "out") return;
  const meta = $(".msg-meta", node);
  const old = meta.querySelector(".mark");
  const mark = markNode(m);
  if (old) old.replaceWith(mark);
  else meta.appendChild(mark);
  const failed = node.querySelector(".msg-failed");
  if (m.status === "failed") {
    const reason = [m.error_code, m.error_message].filter(Boolean).join(": ");
    const text = `Not delivered${m.error_message ? ": " + m.error_message : ""}`;
    if (failed instanceof HTMLElement) {
      failed.textContent = text;
      failed.title = reason;
    } else $(".bubble", node).appendChild(h("div", { class: "msg-failed", title: reason, text }));
  } else if (failed) failed.remove();
}

/** @param {string} text */
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

/** @param {Message} m */
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
    h(
      "span",
      { class: "media-doc-body" },
      h("span", { class: "media-doc-name", text: a.filename || "Document" }),
      h("span", { class: "media-doc-size", text: [fmtBytes(a.size), type].filter(Boolean).join(" · ") })
    )
  );
}

/** @param {Message} m */
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
    h(
      "span",
      { class: "media-doc-body" },
      h("span", { class: "media-doc-name", text: label }),
      h("span", { class: "media-doc-size", text: coords ? `${coords} · open map` : "" })
    )
  );
}

/** @param {Message} m */
function buildMessage(m) {
  const out = m.direction === "out";
  const bubble = h("div", { class: "bubble" });
  if (out && m.sender && m.sender !== state.me.id && m.sender_name) bubble.appendChild(h("div", { class: "msg-sender", text: m.sender_name }));
  if (m.kind === "template") bubble.appendChild(h("div", { class: "msg-template", text: `Template${m.template_name ? " · " + m.template_name : ""}` }));
  if (m.kind === "location") bubble.appendChild(locationNode(m));
  else if (m.kind === "unsupported") bubble.appendChild(h("div", { class: "msg-unsupported", text: "Unsupported message" }));
  else {
    const media = mediaNode(m);
    if (media) bubble.appendChild(media);
  }
  if (m.text && m.kind !== "location") bubble.appendChild(h("div", { class: "msg-text" }, linkify(m.text)));
  const meta = h(
    "div",
    { class: "msg-meta" },
    h("time", { datetime: m.created_at, title: new Date(m.created_at).toLocaleString(), text: fmtTime(m.created_at) })
  );
  bubble.appendChild(meta);
  const node = h(
    "div",
    { class: `msg msg-${out ? "out" : "in"}`, "data-message-id": m.id, "data-direction": m.direction, "data-status": "", "data-kind": m.kind },
    bubble
  );
  updateMessageStatus(node, m);
  return node;
}

/** A note in a timeline (the chat's and the supervisor's read-only view alike). @param {Note} n */
export function buildNote(n) {
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

/** @param {{id: number}} removed */
function dropCached({ id }) {
  for (const key of Array.from(nodeCache.keys())) if (key.startsWith(`${id}:`)) nodeCache.delete(key);
}

export function initTimeline() {
  on("timeline", renderTimeline);
  on("removed", dropCached);
  timeline.addEventListener("scroll", () => {
    stickToBottom = nearBottom();
    if (stickToBottom) jump.hidden = true;
  });
  jump.addEventListener("click", scrollToBottom);
}
