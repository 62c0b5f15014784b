// @ts-check
/* The few DOM helpers every view uses. */

/**
 * The element for a selector; the views only ask for elements the page always has.
 * @param {string} sel
 * @param {ParentNode} [root]
 * @returns {HTMLElement}
 */
export function $(sel, root) {
  return /** @type {HTMLElement} */ ((root || document).querySelector(sel));
}

/**
 * @param {string} sel
 * @param {ParentNode} [root]
 * @returns {HTMLElement[]}
 */
export function $$(sel, root) {
  return /** @type {HTMLElement[]} */ (Array.from((root || document).querySelectorAll(sel)));
}

/**
 * Build an element: attributes (``text``, ``class``, ``html`` for our own static SVG, ``on<event>``)
 * and children; null, undefined and false are skipped.
 * @param {string} tag
 * @param {Record<string, any> | null} [attrs]
 * @param {...(Node | string | null | undefined | false | (Node | string | null | undefined | false)[])} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
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

/** Wide enough to show the list and a conversation side by side. */
export function wideScreen() {
  return window.matchMedia("(min-width: 800px)").matches;
}

export const ICON = {
  clock: '<svg viewBox="0 0 16 16" aria-hidden="true"><path d="M8 1.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13zm0 1.3a5.2 5.2 0 1 1 0 10.4A5.2 5.2 0 0 1 8 2.8zM7.4 4.5v4l3.1 1.9.6-1-2.5-1.5V4.5H7.4z"/></svg>',
  tick: '<svg viewBox="0 0 16 11" aria-hidden="true"><path d="M11.1.6 4.6 7.8 1.9 5.2.8 6.3l3.9 3.8L12.2 1.7z"/></svg>',
  ticks: '<svg viewBox="0 0 18 11" aria-hidden="true"><path d="M12.1.6 5.6 7.8 2.9 5.2 1.8 6.3l3.9 3.8L13.2 1.7zM16.1.6 9.6 7.8l-.9-.9-1.1 1.1 2.1 2.1L17.2 1.7z"/></svg>',
  doc: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8l-6-6zm4 18H6V4h7v5h5v11z"/></svg>',
  pin: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 2a7 7 0 0 0-7 7c0 5.3 7 13 7 13s7-7.7 7-13a7 7 0 0 0-7-7zm0 9.5A2.5 2.5 0 1 1 12 6.5a2.5 2.5 0 0 1 0 5z"/></svg>',
  mic: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5.3-3c0 3-2.5 5.1-5.3 5.1S6.7 14 6.7 11H5c0 3.4 2.7 6.2 6 6.7V21h2v-3.3c3.3-.5 6-3.3 6-6.7h-1.7z"/></svg>',
  stop: '<svg viewBox="0 0 24 24" aria-hidden="true"><rect x="6" y="6" width="12" height="12" rx="2"/></svg>',
};
