// @ts-check
/* The conversation on screen: which one it is, its header, switching between conversations. */

import { $, wideScreen } from "../dom.js";
import { customerLabel, initial } from "../format.js";
import { emit, on, sortedInteractions, state } from "../store.js";
import { loadTimeline, markReadIfViewing } from "../sync.js";
import * as composer from "./composer.js";
import { hideNoteForm } from "./notes.js";
import { clearTimeline } from "./timeline.js";

const ACTIVE_KEY = "instant.desktop.active";

const chat = $("#chat");
const empty = $("#chat-empty");
const chatName = $("#chat-name");
const chatSub = $("#chat-sub");
const chatAvatar = $("#chat-avatar");
const transferButton = $("#transfer-button");

/** @param {boolean} visible */
function showChat(visible) {
  chat.hidden = !visible;
  empty.hidden = visible;
  document.body.classList.toggle("chat-open", visible);
}

/** @param {number} id */
export function activate(id) {
  if (!state.interactions.has(id)) return;
  if (state.active !== null && state.active !== id) state.drafts.set(state.active, composer.getText());
  const switching = state.active !== id;
  state.active = id;
  try {
    sessionStorage.setItem(ACTIVE_KEY, String(id));
  } catch (e) {
    /* private mode */
  }
  state.flagged.delete(id);
  showChat(true);
  if (switching) {
    composer.reset(state.drafts.get(id) || "");
    hideNoteForm();
    clearTimeline();
  }
  renderChatHeader();
  emit("timeline", { scroll: "bottom" });
  emit("tabs");
  if (!state.loaded.has(id)) loadTimeline(id);
  markReadIfViewing();
  if (switching && window.matchMedia("(pointer: fine)").matches) composer.focus();
}

function renderChatHeader() {
  const i = state.active === null ? undefined : state.interactions.get(state.active);
  if (!i) return;
  const name = customerLabel(i);
  chatName.textContent = name;
  chatAvatar.textContent = initial(name);
  chatSub.textContent = [i.customer_name ? i.customer_phone : null, i.queue_name, i.account_name].filter(Boolean).join(" · ");
  transferButton.hidden = state.settings.transfers === "disabled";
  emit("transfer");
  emit("window");
}

/** @param {{id: number, wasActive: boolean}} removed */
function afterRemoved({ wasActive }) {
  if (!wasActive) return;
  const next = sortedInteractions()[0];
  if (next && wideScreen()) activate(next.id);
  else showChat(false);
}

/** After the first catch-up: back to the conversation this tab showed before a reload. */
function restoreActive() {
  if (state.active !== null) return;
  let wanted = null;
  try {
    wanted = +(sessionStorage.getItem(ACTIVE_KEY) || "");
  } catch (e) {
    /* private mode */
  }
  const first = wanted && state.interactions.has(wanted) ? wanted : (sortedInteractions()[0] || { id: null }).id;
  if (first && wideScreen()) activate(first);
}

/** @param {number} step +1 for the next conversation, -1 for the previous */
export function activateNext(step) {
  const list = sortedInteractions();
  if (!list.length) return false;
  const index = list.findIndex((i) => i.id === state.active);
  activate(list[(index + step + list.length) % list.length].id);
  return true;
}

export function initChat() {
  on("chat", renderChatHeader);
  on("removed", afterRemoved);
  on("activate", activate);
  on("synced", (seq) => {
    if (seq === 1) restoreActive();
  });
  $("#back-button").addEventListener("click", () => {
    if (state.active !== null) state.drafts.set(state.active, composer.getText());
    state.active = null;
    showChat(false);
    emit("tabs");
  });
  transferButton.hidden = state.settings.transfers === "disabled";
  showChat(false);
}
