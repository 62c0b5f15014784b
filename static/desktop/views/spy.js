// @ts-check
/* S1 spy and S2 supervisor notes: one conversation opened read-only, from the list or the board.
 * A supervisor's socket ``watch``es it, so every message, status, note and change arrives live as
 * the owner sees it; an agent opening a row of the list sees what REST gives, without the watch.
 * Nothing here can act on the chat: the only write is a supervisor's note, which the server shows
 * to the owner agent and supervisors only. The sidebar shows the interaction, its contact and the
 * customer's journey (the other interactions of the same customer). */

import { api, listOf } from "../api.js";
import { $, h } from "../dom.js";
import { customerLabel, fmtDay, fmtTime } from "../format.js";
import { compareItems, notify, notifyError, on, setSpy, setSpyTimeline, state } from "../store.js";
import { buildNote } from "./timeline.js";

/** @type {HTMLDialogElement} */
let dialog;
/** @type {(msg: any) => boolean} */
let send = () => false;

/** @param {any} m */
function messageNode(m) {
  const out = m.direction === "out";
  const a = m.attachment;
  return h(
    "div",
    { class: `msg msg-${out ? "out" : "in"}`, "data-message-id": m.id, "data-direction": m.direction },
    h(
      "div",
      { class: "bubble" },
      out && m.sender_name ? h("div", { class: "spy-sender", text: m.sender_name }) : null,
      m.kind !== "text" ? h("div", { class: "msg-template", text: m.template_name ? `Template · ${m.template_name}` : `[${m.kind}]` }) : null,
      a ? h("a", { class: "spy-attachment", href: a.url, target: "_blank", rel: "noopener", text: a.filename || "attachment" }) : null,
      m.text ? h("div", { class: "msg-text", text: m.text }) : null,
      h(
        "div",
        { class: "meta" },
        h("time", { datetime: m.created_at, text: fmtTime(m.created_at) }),
        out ? h("span", { class: "spy-status", "data-status": m.status, title: m.error_message || "", text: m.status + (m.error_code ? ` ${m.error_code}` : "") }) : null
      )
    )
  );
}

function render() {
  const spy = state.spy;
  if (!dialog || !spy) return;
  const i = spy.interaction;
  $("#spy-title", dialog).textContent = i ? customerLabel(i) : "…";
  $("#spy-sub", dialog).textContent = i
    ? `${i.status}${i.owner_name ? ` · ${i.owner_name}` : ""} · ${i.queue_name || ""} · ${i.account_name || ""}`
    : "";
  /** @type {{at: any, node: HTMLElement}[]} */
  const items = [];
  for (const m of spy.messages.values()) items.push({ at: m, node: messageNode(m) });
  for (const n of spy.notes.values()) items.push({ at: n, node: buildNote(n) });
  items.sort((a, b) => compareItems(a.at, b.at));
  const timeline = $("#spy-timeline", dialog);
  const stick = timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < 60;
  timeline.replaceChildren(...items.map((x) => x.node));
  if (stick) timeline.scrollTop = timeline.scrollHeight;
  if (i) renderSide(i);
  $("#spy-pdf", dialog).hidden = !state.me.can_download_transcripts;
  $("#spy-pdf", dialog).setAttribute("href", `/api/v1/interactions/${spy.id}/transcript.pdf`);
  $("#spy-live", dialog).hidden = !state.me.is_supervisor;
  $("#spy-note-form", dialog).hidden = !state.me.is_supervisor || !i || i.status === "closed";
}

/** @param {any} i */
function renderSide(i) {
  /** @param {string} label @param {string} value */
  const row = (label, value) => h("div", { class: "spy-row" }, h("dt", { text: label }), h("dd", { text: value || "—" }));
  $("#spy-details", dialog).replaceChildren(
    row("Customer", customerLabel(i)),
    row("Phone", i.customer_phone),
    row("Account", i.account_name),
    row("Queue", i.queue_name),
    row("Agent", i.owner_name),
    row("First agent", i.first_agent_name),
    row("Started", i.started_at ? `${fmtDay(i.started_at)} ${fmtTime(i.started_at)}` : ""),
    row("Status", i.status + (i.disposition_name ? ` · ${i.disposition_name}` : ""))
  );
}

/** @param {any} i */
async function loadSide(i) {
  const contactBox = $("#spy-contact", dialog);
  const journeyBox = $("#spy-journey", dialog);
  contactBox.textContent = i.contact ? "Loading…" : "No contact linked.";
  journeyBox.textContent = "Loading…";
  if (i.contact) {
    try {
      const c = await api("GET", `contacts/${i.contact}/`);
      contactBox.replaceChildren(
        h("strong", { text: `${c.first_name || ""} ${c.last_name || ""}`.trim() || c.phone }),
        h("div", { text: [c.phone, c.email, c.company].filter(Boolean).join(" · ") })
      );
    } catch (err) {
      contactBox.textContent = "The contact is not in a list you may view.";
    }
  }
  try {
    const path = i.contact ? `contacts/${i.contact}/journey/` : `interactions/?account=${i.account}&customer_phone=${encodeURIComponent(i.customer_phone)}&page_size=20`;
    const rows = listOf(await api("GET", path));
    journeyBox.replaceChildren(
      ...rows.map((/** @type {any} */ j) =>
        h(
          "li",
          { class: j.id === i.id ? "spy-journey-current" : "" },
          h("button", {
            type: "button",
            class: "spy-journey-link",
            text: `${fmtDay(j.started_at)} · ${j.status}${j.owner_name ? ` · ${j.owner_name}` : ""}`,
            onclick: () => (j.id === i.id ? null : openSpy(j.id)),
          })
        )
      )
    );
    if (!rows.length) journeyBox.textContent = "No other interactions.";
  } catch (err) {
    journeyBox.textContent = "—";
  }
}

/** @param {number} id */
async function load(id) {
  try {
    const [interaction, messages, notes] = await Promise.all([
      api("GET", `interactions/${id}/`),
      api("GET", `interactions/${id}/messages/?page_size=500`),
      api("GET", `interactions/${id}/notes/?page_size=500`),
    ]);
    setSpyTimeline(interaction, listOf(messages), listOf(notes));
    loadSide(interaction);
  } catch (err) {
    notifyError(err);
  }
}

function watch() {
  const spy = state.spy;
  if (!spy || !state.me.is_supervisor) return;
  send({ action: "watch", interaction_id: spy.id });
}

/** @param {number} id */
export async function openSpy(id) {
  const previous = state.spy;
  if (previous && previous.id !== id) send({ action: "unwatch", interaction_id: previous.id });
  setSpy(id);
  if (!dialog.open) dialog.showModal();
  dialog.dataset.interactionId = String(id);
  // Watch first, then read: an event between the two is merged, never lost.
  watch();
  await load(id);
}

function closeSpy() {
  const spy = state.spy;
  if (spy) send({ action: "unwatch", interaction_id: spy.id });
  setSpy(null);
  if (dialog.open) dialog.close();
}

/** @param {(msg: any) => boolean} sender sends one JSON message on the desktop's socket */
export function initSpy(sender) {
  send = sender;
  dialog = /** @type {HTMLDialogElement} */ (document.getElementById("spy-dialog"));
  if (!dialog) return;
  $("#spy-close", dialog).addEventListener("click", closeSpy);
  dialog.addEventListener("cancel", (e) => {
    e.preventDefault();
    closeSpy();
  });
  on("spy", render);
  // A reconnect loses the watch: watch again and read what was missed.
  on("connection", () => {
    if (state.connection === "open" && state.spy) {
      watch();
      load(state.spy.id);
    }
  });
  const form = /** @type {HTMLFormElement} */ ($("#spy-note-form", dialog));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const spy = state.spy;
    const input = /** @type {HTMLTextAreaElement} */ ($("#spy-note-text", dialog));
    const text = input.value.trim();
    if (!spy || !text) return;
    try {
      const note = await api("POST", `interactions/${spy.id}/notes/`, { text });
      spy.notes.set(note.id, note);
      input.value = "";
      render();
      notify("Note saved: only the agent and supervisors see it.");
    } catch (err) {
      notifyError(err);
    }
  });
}
