// @ts-check
/* The composer: text with a character counter, send (in order), attachment, voice note, emoji and
 * canned answers. */

import { api } from "../api.js";
import { $, $$, h, ICON } from "../dom.js";
import { EMOJI } from "../emoji.js";
import { fmtBytes, fmtCount, fmtCountdown, textLength } from "../format.js";
import { applyMessage, cannedAnswers, emit, notify, notifyError, setWindowClosed, state } from "../store.js";

const text = /** @type {HTMLTextAreaElement} */ ($("#composer-text"));
const form = /** @type {HTMLFormElement} */ ($("#composer"));
const send = /** @type {HTMLButtonElement} */ ($("#send"));
const counter = $("#composer-counter");
const emojiButton = /** @type {HTMLButtonElement} */ ($("#emoji-button"));
const emojiPanel = $("#emoji-panel");
const cannedButton = /** @type {HTMLButtonElement} */ ($("#canned-button"));
const cannedPanel = $("#canned-panel");
const cannedSearch = /** @type {HTMLInputElement} */ ($("input", cannedPanel));
const cannedList = $("ul", cannedPanel);
const attachLabel = $("#attach-label");
const attachInput = /** @type {HTMLInputElement} */ ($("#attach-input"));
const attachChip = $("#attachment-chip");
const recordButton = /** @type {HTMLButtonElement} */ ($("#record-button"));
const recording = $("#recording-indicator");
const recordingTimer = $("#recording-timer");

// The counter shows once the text is this close to the server's limit (a share of it).
const COUNTER_FROM = 0.9;

export function getText() {
  return text.value;
}

export function focus() {
  text.focus();
}

/** Another conversation is on screen: its draft, nothing attached, no popover open. */
export function reset(/** @type {string} */ draft) {
  text.value = draft;
  autosize();
  renderCounter();
  clearAttachment();
  closePopovers();
}

/** @param {boolean} enabled false while the 24-hour window is closed */
export function setEnabled(enabled) {
  const closed = !enabled;
  text.disabled = closed;
  text.placeholder = closed ? "The 24-hour window is closed" : "Type a message";
  send.disabled = closed;
  emojiButton.disabled = closed;
  cannedButton.disabled = closed;
  recordButton.disabled = closed;
  attachInput.disabled = closed;
  attachLabel.hidden = !state.settings.attachments_enabled;
  recordButton.hidden = !state.settings.attachments_enabled;
  attachLabel.classList.toggle("disabled", closed);
  form.classList.toggle("disabled", closed);
  if (closed) {
    clearAttachment();
    closePopovers();
  }
}

function autosize() {
  text.style.height = "auto";
  text.style.height = `${Math.min(text.scrollHeight, 160)}px`;
}

// ----- the character counter ---------------------------------------------------------------------
function renderCounter() {
  const limit = state.rules.text_max_length;
  const length = textLength(text.value);
  const left = limit - length;
  counter.hidden = !limit || length < limit * COUNTER_FROM;
  counter.classList.toggle("over", left < 0);
  text.classList.toggle("too-long", left < 0);
  counter.textContent = left >= 0 ? `${fmtCount(left)} left` : `${fmtCount(-left)} too many`;
  counter.title =
    left >= 0
      ? `${fmtCount(left)} characters left: WhatsApp takes at most ${fmtCount(limit)}`
      : `${fmtCount(-left)} characters over WhatsApp's limit of ${fmtCount(limit)}: shorten the message to send it`;
}

/**
 * The server refuses a longer text (400 text_too_long); say so before sending and keep the text.
 * @param {string} value
 */
function refuseIfTooLong(value) {
  const limit = state.rules.text_max_length;
  const length = textLength(value);
  if (!limit || length <= limit) return false;
  notify(
    `This message has ${fmtCount(length)} characters and WhatsApp takes at most ${fmtCount(limit)}: ` +
      `remove ${fmtCount(length - limit)} to send it.`,
    { kind: "error", title: "Message too long" }
  );
  return true;
}

// ----- sending ------------------------------------------------------------------------------------
// Sends leave one after another so the customer sees them in the order typed.
let outbox = Promise.resolve();

function sendCurrent() {
  const id = state.active;
  if (id === null) return;
  if (state.windowClosed.has(id)) {
    notify("The 24-hour window has closed: send the recontact template instead.", { kind: "error" });
    return;
  }
  const value = text.value.trim();
  const file = pendingFile;
  if (!value && !file) return;
  if (refuseIfTooLong(value)) return;
  if (state.flagged.delete(id)) emit("tabs");
  text.value = "";
  state.drafts.delete(id);
  autosize();
  renderCounter();
  clearAttachment();
  closePopovers();
  let body;
  if (file) {
    body = new FormData();
    body.append("file", file, file.name);
    if (value) body.append("text", value);
  } else body = { text: value };
  queueSend(id, body, value);
}

/**
 * @param {number} id
 * @param {FormData | {text: string}} body
 * @param {string} restoreText put back in the composer if the send fails
 */
function queueSend(id, body, restoreText) {
  send.classList.add("sending");
  const job = outbox.then(async () => {
    try {
      const message = await api("POST", `interactions/${id}/messages/`, body);
      if (message && message.id) applyMessage(id, message, { fromSelf: true });
    } catch (/** @type {any} */ err) {
      if (err.code === "window_closed") setWindowClosed(id, {});
      if (restoreText && state.active === id && !text.value) {
        text.value = restoreText;
        autosize();
        renderCounter();
      }
      notifyError(err);
    }
  });
  outbox = job;
  job.finally(() => {
    if (outbox === job) send.classList.remove("sending");
  });
  return job;
}

/**
 * @param {HTMLTextAreaElement} textarea
 * @param {string} value
 */
function insertAtCursor(textarea, value) {
  textarea.focus();
  const start = textarea.selectionStart ?? textarea.value.length;
  const end = textarea.selectionEnd ?? textarea.value.length;
  textarea.setRangeText(value, start, end, "end");
  textarea.dispatchEvent(new Event("input", { bubbles: true }));
}

// ----- attachment ---------------------------------------------------------------------------------
/** @type {File | null} */
let pendingFile = null;

export function clearAttachment() {
  pendingFile = null;
  attachChip.hidden = true;
  attachInput.value = "";
}

function onFileChosen() {
  const file = attachInput.files && attachInput.files[0];
  if (!file) return;
  if (!state.settings.attachments_enabled) {
    notify("Attachments are disabled by the administrator.", { kind: "error" });
    clearAttachment();
    return;
  }
  const max = state.settings.attachment_max_bytes;
  if (max && file.size > max) {
    notify(`“${file.name}” is ${fmtBytes(file.size)}: that is larger than ${fmtBytes(max)}, the maximum for an attachment.`, {
      kind: "error",
      title: "File too large",
    });
    clearAttachment();
    return;
  }
  pendingFile = file;
  $("#attachment-name").textContent = file.name;
  $("#attachment-size").textContent = fmtBytes(file.size);
  attachChip.hidden = false;
  text.placeholder = "Add a caption (optional)";
  text.focus();
}

// ----- voice recording ----------------------------------------------------------------------------
/** @type {MediaRecorder | null} */
let recorder = null;
/** @type {Blob[]} */
let recordChunks = [];
let recordStarted = 0;
/** @type {ReturnType<typeof setInterval> | undefined} */
let recordTimer;
let recordDiscard = false;

function recorderMime() {
  if (!window.MediaRecorder) return "";
  for (const type of ["audio/ogg;codecs=opus", "audio/webm;codecs=opus", "audio/webm", "audio/mp4"]) {
    if (MediaRecorder.isTypeSupported && MediaRecorder.isTypeSupported(type)) return type;
  }
  return "";
}

async function startRecording() {
  if (!navigator.mediaDevices || !window.MediaRecorder) {
    notify("Voice recording is not supported by this browser.", { kind: "error" });
    return;
  }
  /** @type {MediaStream} */
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (e) {
    notify("The microphone is not available: allow it in the browser to record.", { kind: "error" });
    return;
  }
  const mime = recorderMime();
  const rec = mime ? new MediaRecorder(stream, { mimeType: mime }) : new MediaRecorder(stream);
  recorder = rec;
  recordChunks = [];
  recordDiscard = false;
  const id = /** @type {number} */ (state.active);
  rec.addEventListener("dataavailable", (e) => {
    if (e.data && e.data.size) recordChunks.push(e.data);
  });
  rec.addEventListener("stop", () => {
    stream.getTracks().forEach((t) => t.stop());
    const type = (rec.mimeType || mime || "audio/webm").split(";")[0];
    recorder = null;
    setRecordingUI(false);
    if (recordDiscard || !recordChunks.length) return;
    const ext = type.includes("ogg") ? "ogg" : type.includes("mp4") ? "m4a" : "webm";
    const blob = new Blob(recordChunks, { type });
    const max = state.settings.attachment_max_bytes;
    if (max && blob.size > max) {
      notify(`The recording is larger than ${fmtBytes(max)}: record a shorter message.`, { kind: "error" });
      return;
    }
    const file = new File([blob], `voice-${new Date().toISOString().replace(/[:.]/g, "-")}.${ext}`, { type });
    const body = new FormData();
    body.append("file", file, file.name);
    body.append("voice", "1");
    queueSend(id, body, "");
  });
  rec.start();
  recordStarted = Date.now();
  setRecordingUI(true);
}

/** @param {boolean} on */
function setRecordingUI(on) {
  recording.hidden = !on;
  recordButton.setAttribute("aria-pressed", on ? "true" : "false");
  recordButton.classList.toggle("recording", on);
  recordButton.innerHTML = on ? ICON.stop : ICON.mic;
  recordButton.title = on ? "Stop and send the voice message" : "Record a voice message";
  recordButton.setAttribute("aria-label", recordButton.title);
  clearInterval(recordTimer);
  if (on) {
    recordingTimer.textContent = "0:00";
    recordTimer = setInterval(() => (recordingTimer.textContent = fmtCountdown(Date.now() - recordStarted)), 500);
  }
}

// ----- emoji and canned answers -------------------------------------------------------------------
/** @param {HTMLElement} [except] */
export function closePopovers(except) {
  for (const [button, panel] of [
    [emojiButton, emojiPanel],
    [cannedButton, cannedPanel],
  ]) {
    if (panel === except) continue;
    panel.hidden = true;
    button.setAttribute("aria-expanded", "false");
  }
}

/** Escape closes an open popover first; true if there was one. */
export function closePopoversByKey() {
  if (emojiPanel.hidden && cannedPanel.hidden) return false;
  closePopovers();
  text.focus();
  return true;
}

/**
 * @param {HTMLElement} button
 * @param {HTMLElement} panel
 * @param {() => void} [onOpen]
 */
function togglePopover(button, panel, onOpen) {
  const open = panel.hidden;
  closePopovers(panel);
  panel.hidden = !open;
  button.setAttribute("aria-expanded", open ? "true" : "false");
  if (open && onOpen) onOpen();
}

function buildEmojiPanel() {
  for (const emoji of EMOJI) {
    emojiPanel.appendChild(
      h("button", { type: "button", class: "emoji", text: emoji, "aria-label": emoji, onclick: () => insertAtCursor(text, emoji) })
    );
  }
}

/** @param {{id: number, title: string, text: string}} c */
function useCanned(c) {
  closePopovers();
  insertAtCursor(text, c.text);
}

function renderCanned() {
  const query = cannedSearch.value.trim().toLowerCase();
  cannedList.replaceChildren();
  const answers = cannedAnswers().filter((c) => !query || c.title.toLowerCase().includes(query) || c.text.toLowerCase().includes(query));
  answers.forEach((c, index) => {
    cannedList.appendChild(
      h(
        "li",
        { class: `canned-item${index === 0 ? " selected" : ""}`, role: "option", tabindex: "-1", "data-canned-id": c.id, onclick: () => useCanned(c) },
        h("strong", { text: c.title }),
        h("span", { text: c.text })
      )
    );
  });
  if (!answers.length) cannedList.appendChild(h("li", { class: "canned-empty", text: query ? "No canned answer matches." : "This queue has no canned answers." }));
}

export function initComposer() {
  text.addEventListener("input", () => {
    autosize();
    renderCounter();
  });
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendCurrent();
    }
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    sendCurrent();
  });

  attachInput.addEventListener("change", onFileChosen);
  $("#attachment-remove").addEventListener("click", () => {
    clearAttachment();
    text.placeholder = "Type a message";
  });

  recordButton.addEventListener("click", () => {
    if (recorder) {
      recorder.stop();
      return;
    }
    if (state.active === null || state.windowClosed.has(state.active)) return;
    if (!state.settings.attachments_enabled) {
      notify("Attachments are disabled by the administrator, so voice messages are too.", { kind: "error" });
      return;
    }
    startRecording();
  });
  $("#record-cancel").addEventListener("click", () => {
    if (!recorder) return;
    recordDiscard = true;
    recorder.stop();
  });

  buildEmojiPanel();
  emojiButton.addEventListener("click", () => togglePopover(emojiButton, emojiPanel));
  emojiPanel.addEventListener("keydown", (e) => {
    const buttons = $$(".emoji", emojiPanel);
    const index = buttons.indexOf(/** @type {HTMLElement} */ (document.activeElement));
    const cols = 10;
    const moves = /** @type {Record<string, number>} */ ({ ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols });
    if (moves[e.key] !== undefined && index >= 0) {
      e.preventDefault();
      buttons[Math.max(0, Math.min(buttons.length - 1, index + moves[e.key]))].focus();
    }
  });

  cannedButton.addEventListener("click", () =>
    togglePopover(cannedButton, cannedPanel, () => {
      cannedSearch.value = "";
      renderCanned();
      cannedSearch.focus();
    })
  );
  cannedSearch.addEventListener("input", renderCanned);
  cannedSearch.addEventListener("keydown", (e) => {
    const items = $$(".canned-item", cannedList);
    let index = items.findIndex((item) => item.classList.contains("selected"));
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!items.length) return;
      index = (index + (e.key === "ArrowDown" ? 1 : -1) + items.length) % items.length;
      items.forEach((item, n) => item.classList.toggle("selected", n === index));
      items[index].scrollIntoView({ block: "nearest" });
    } else if (e.key === "Enter") {
      e.preventDefault();
      if (index >= 0) items[index].click();
    }
  });

  document.addEventListener("click", (e) => {
    const target = /** @type {Element} */ (e.target);
    if (!target.closest("#emoji-panel, #emoji-button, #canned-panel, #canned-button")) closePopovers();
  });

  attachLabel.hidden = !state.settings.attachments_enabled;
  renderCounter();
}

