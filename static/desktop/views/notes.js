// @ts-check
/* Internal notes: written here, shown in the timeline, never sent to the customer. */

import { api } from "../api.js";
import { $ } from "../dom.js";
import { applyNote, notifyError, state } from "../store.js";

const button = $("#note-button");
const form = /** @type {HTMLFormElement} */ ($("#note-form"));
const text = /** @type {HTMLTextAreaElement} */ ($("#note-text"));
const save = /** @type {HTMLButtonElement} */ ($("#note-save"));

export function hideNoteForm() {
  form.hidden = true;
  button.setAttribute("aria-expanded", "false");
}

/** Escape closes the note form; true if it was open. */
export function hideNoteFormByKey() {
  if (form.hidden) return false;
  hideNoteForm();
  return true;
}

export function initNotes() {
  button.addEventListener("click", () => {
    const open = form.hidden;
    form.hidden = !open;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) text.focus();
  });
  $("#note-cancel").addEventListener("click", hideNoteForm);
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const id = state.active;
    const value = text.value.trim();
    if (!value || id === null) return;
    save.disabled = true;
    try {
      const note = await api("POST", `interactions/${id}/notes/`, { text: value });
      text.value = "";
      hideNoteForm();
      if (note && note.id) applyNote(id, note);
    } catch (/** @type {any} */ err) {
      notifyError(err);
    } finally {
      save.disabled = false;
    }
  });
}
