// @ts-check
/* The list of my open conversations, newest activity first. */

import { $, $$, h } from "../dom.js";
import { customerLabel, fmtTime, initial, previewText } from "../format.js";
import { lastMessage, on, sortedInteractions, state, unreadShown } from "../store.js";
import { activate } from "./chat.js";

const tabs = $("#tabs");
const tabsEmpty = $("#tabs-empty");
const tabsCount = $("#tabs-count");

/** @param {number} id */
function buildTab(id) {
  return h(
    "button",
    { type: "button", class: "tab", role: "tab", "data-interaction-id": id, onclick: () => activate(id) },
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

function renderTabs() {
  const list = sortedInteractions();
  const ids = new Set(list.map((i) => i.id));
  for (const tab of $$(".tab", tabs)) if (!ids.has(+(tab.dataset.interactionId || 0))) tab.remove();
  list.forEach((i, index) => {
    const tab = /** @type {HTMLElement} */ (tabs.querySelector(`.tab[data-interaction-id="${i.id}"]`) || buildTab(i.id));
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
    if (tabs.children[index] !== tab) tabs.insertBefore(tab, tabs.children[index] || null);
  });
  tabsEmpty.hidden = list.length > 0;
  tabsCount.textContent = String(list.length);
}

export function initConversations() {
  on("tabs", renderTabs);
  tabs.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    const all = $$(".tab", tabs);
    const index = all.indexOf(/** @type {HTMLElement} */ (document.activeElement));
    if (index < 0) return;
    e.preventDefault();
    all[(index + (e.key === "ArrowDown" ? 1 : -1) + all.length) % all.length].focus();
  });
  renderTabs();
}
