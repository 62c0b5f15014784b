// @ts-check
/* A template as the customer will read it, rendered by the server (templates/{id}/render/: it owns
 * the template and the parameter rules). The "+" new conversation previews the agent's parameters;
 * the recontact confirmation previews the parameters filled from the contact. */

import { api } from "../api.js";
import { h } from "../dom.js";

/**
 * @typedef {{text: string, header: string, footer: string, params?: string[], missing?: number[]}} RenderedTemplate
 */

/**
 * Render into ``box``; ``isCurrent()`` false means a newer preview was asked for meanwhile (typing),
 * so this answer is dropped. Errors are shown in the box and given back as null.
 * @param {HTMLElement} box
 * @param {number} templateId
 * @param {{params?: string[], interaction?: number}} body
 * @param {{idPrefix: string, isCurrent?: () => boolean}} opts
 * @returns {Promise<RenderedTemplate | null>}
 */
export async function showTemplatePreview(box, templateId, body, opts) {
  const isCurrent = opts.isCurrent || (() => true);
  try {
    /** @type {RenderedTemplate} */
    const rendered = await api("POST", `templates/${templateId}/render/`, body);
    if (!isCurrent()) return null;
    box.replaceChildren(
      rendered.header ? h("strong", { class: "nc-preview-header", text: rendered.header }) : "",
      h("div", { class: "nc-preview-body", id: `${opts.idPrefix}-preview-body`, text: rendered.text }),
      rendered.footer ? h("small", { class: "nc-preview-footer", text: rendered.footer }) : ""
    );
    return rendered;
  } catch (/** @type {any} */ err) {
    if (isCurrent()) box.textContent = err.detail;
    return null;
  }
}
