// @ts-check
/* Every element with data-expires-at counts down: "m:ss" text for .countdown, a shrinking width
 * for a progress bar with data-total (seconds). */

import { $$ } from "../dom.js";
import { fmtCountdown } from "../format.js";
import { now } from "../store.js";

export function tick() {
  const t = now();
  for (const node of $$("[data-expires-at]")) {
    const left = Date.parse(node.dataset.expiresAt || "") - t;
    if (node.classList.contains("countdown")) {
      node.textContent = left > 0 ? fmtCountdown(left) : "0:00";
      node.classList.toggle("urgent", left < 15000);
    } else if (node.dataset.total) {
      node.style.width = `${Math.max(0, Math.min(100, (left / 1000 / +node.dataset.total) * 100))}%`;
    }
  }
}

/**
 * Whole seconds from now until a deadline, at least 1: the full length of a progress bar.
 * @param {string} expiresAt
 */
export function secondsUntil(expiresAt) {
  return Math.max(1, Math.round((Date.parse(expiresAt) - now()) / 1000));
}
