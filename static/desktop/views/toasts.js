// @ts-check
/* Toasts: short notices at the top right. They sit below the conversation's header and any
 * banner under it (a pending transfer's Cancel button), never over them. */

import { $, h } from "../dom.js";
import { on } from "../store.js";

const container = $("#toasts");
const MAX_SHOWN = 5;

/**
 * @param {string} message
 * @param {import("../store.js").ToastOptions} opts
 */
function show(message, opts) {
  const kind = opts.kind || "info";
  const timeout = opts.timeout || (kind === "error" ? 8000 : 5000);
  const node = h(
    "div",
    { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" },
    h("div", { class: "toast-body" }, opts.title ? h("strong", { class: "toast-title", text: opts.title }) : null, h("span", { text: message })),
    h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss", text: "×", onclick: () => node.remove() })
  );
  container.appendChild(node);
  while (container.children.length > MAX_SHOWN) /** @type {Element} */ (container.firstElementChild).remove();
  setTimeout(() => node.classList.add("toast-leaving"), timeout - 300);
  setTimeout(() => node.remove(), timeout);
}

/** What the toasts must stay below, top to bottom; hidden ones measure 0 and do not count. */
const above = [$(".dk-header"), $(".dk-chat-head"), $("#transfer-pending")];

function place() {
  let top = 0;
  for (const node of above) {
    const box = node.getBoundingClientRect();
    if (box.height) top = Math.max(top, box.bottom);
  }
  container.style.setProperty("--dk-toasts-top", `${Math.round(top + 12)}px`);
}

export function initToasts() {
  on("toast", ({ message, opts }) => show(message, opts));
  // A banner appearing, wrapping onto two lines or going away changes its size: follow it.
  const observer = new ResizeObserver(place);
  for (const node of above) observer.observe(node);
  window.addEventListener("resize", place);
  place();
}
