// @ts-check
/* D10/S3 the interactions list: agents see their queues', supervisors every queue (the server
 * decides). Filters: start date range, read or unread, open or closed, account, first agent, tags
 * (all must match), one search box (name, number, message text) and an advanced search. Each row
 * shows the last message's direction and the count of later interactions of the same customer no
 * agent has taken yet. Row menu: show (read-only, live for supervisors), PDF transcript (with the
 * permission), close and dispose. */

import { api, listOf } from "../api.js";
import { $, h } from "../dom.js";
import { customerLabel, fmtDay, fmtTime } from "../format.js";
import { emit, notify, notifyError, state } from "../store.js";
import { openSpy } from "./spy.js";

/** @type {HTMLDialogElement} */
let dialog;
/** @type {HTMLFormElement} */
let form;
let page = 1;
let optionsLoaded = false;

/** @param {string} sel */
const field = (sel) => /** @type {HTMLInputElement & HTMLSelectElement} */ ($(sel, dialog));

function query() {
  const p = new URLSearchParams();
  const from = field("#list-from").value;
  const to = field("#list-to").value;
  if (from) p.set("started_after", new Date(`${from}T00:00:00`).toISOString());
  if (to) p.set("started_before", new Date(new Date(`${to}T00:00:00`).getTime() + 86400000).toISOString());
  const read = field("#list-read").value;
  if (read) p.set("unread", read === "unread" ? "true" : "false");
  const open = field("#list-open").value;
  if (open) p.set("closed", open === "closed" ? "true" : "false");
  for (const [name, sel] of [["account", "#list-account"], ["first_agent", "#list-agent"]]) {
    const value = field(sel).value;
    if (value) p.set(name, value);
  }
  for (const option of Array.from(field("#list-tags").selectedOptions)) p.append("tags", option.value);
  const q = field("#list-q").value.trim();
  if (q) p.set("q", q);
  for (const [name, sel] of [["text", "#list-text"], ["customer_name", "#list-name"], ["customer_phone", "#list-phone"]]) {
    const value = field(sel).value.trim();
    if (value) p.set(name, value);
  }
  p.set("page", String(page));
  p.set("page_size", "25");
  p.set("ordering", "-started_at");
  return p;
}

/**
 * @param {HTMLSelectElement} select
 * @param {{value: string | number, label: string}[]} options
 */
function fill(select, options) {
  const keep = Array.from(select.options).filter((o) => o.value === "");
  select.replaceChildren(...keep, ...options.map((o) => h("option", { value: o.value, text: o.label })));
}

async function loadOptions() {
  if (optionsLoaded) return;
  optionsLoaded = true;
  const [users, tags] = await Promise.all([
    api("GET", "users/?page_size=500").catch(() => null),
    api("GET", "tags/?page_size=500").catch(() => null),
  ]);
  fill(field("#list-account"), state.accounts.map((a) => ({ value: a.id, label: a.name })));
  fill(
    field("#list-agent"),
    listOf(users).map((/** @type {any} */ u) => ({ value: u.id, label: u.display_name || u.username }))
  );
  fill(field("#list-tags"), listOf(tags).map((/** @type {any} */ t) => ({ value: t.id, label: t.name })));
}

/**
 * My own open conversation opens in its tab, where I can answer; anything else read-only.
 * @param {any} i
 */
function show(i) {
  if (i.status === "open" && i.owner === state.me.id && state.interactions.has(i.id)) {
    dialog.close();
    emit("activate", i.id);
    return;
  }
  openSpy(i.id);
}

/** @param {any} i */
function rowMenu(i) {
  const canClose = i.status !== "closed" && (i.owner === state.me.id || state.me.is_supervisor);
  return h(
    "td",
    { class: "ls-actions" },
    h("button", { type: "button", class: "btn btn-light btn-sm ls-show", text: "Show", onclick: () => show(i) }),
    state.me.can_download_transcripts
      ? h("a", { class: "btn btn-light btn-sm ls-pdf", href: `/api/v1/interactions/${i.id}/transcript.pdf`, text: "PDF" })
      : null,
    canClose ? h("button", { type: "button", class: "btn btn-light btn-sm ls-close", text: "Close…", onclick: () => askClose(i) }) : null
  );
}

/** @param {any} i */
function row(i) {
  const arrow = i.last_message_direction === "out" ? "↑" : i.last_message_direction === "in" ? "↓" : "";
  return h(
    "tr",
    { "data-interaction-id": i.id, "data-status": i.status },
    h("td", { class: `ls-dir ls-dir-${i.last_message_direction || "none"}`, title: i.last_message_direction === "out" ? "Last message sent" : "Last message received", text: arrow }),
    h(
      "td",
      { class: "ls-customer" },
      customerLabel(i),
      i.unread_count ? h("span", { class: "dk-badge ls-unread", title: "Unread", text: String(i.unread_count) }) : null,
      i.unmanaged_count ? h("span", { class: "ls-unmanaged", title: "Later interactions not yet managed", text: `+${i.unmanaged_count}` }) : null
    ),
    h("td", { text: i.account_name || "" }),
    h("td", { text: i.first_agent_name || "—" }),
    h("td", { text: i.started_at ? `${fmtDay(i.started_at)} ${fmtTime(i.started_at)}` : "" }),
    h("td", { class: "ls-status", text: i.status + (i.disposition_name ? ` · ${i.disposition_name}` : "") }),
    rowMenu(i)
  );
}

async function load() {
  const body = $("#list-rows", dialog);
  try {
    const data = await api("GET", `interactions/?${query()}`);
    const rows = listOf(data);
    body.replaceChildren(...rows.map(row));
    if (!rows.length) body.replaceChildren(h("tr", null, h("td", { colspan: "7", class: "dk-empty-line", text: "No interactions match." })));
    $("#list-count", dialog).textContent = `${data.count} interaction${data.count === 1 ? "" : "s"}`;
    /** @type {HTMLButtonElement} */ ($("#list-prev", dialog)).disabled = !data.previous;
    /** @type {HTMLButtonElement} */ ($("#list-next", dialog)).disabled = !data.next;
    dialog.dataset.loaded = String(Date.now());
  } catch (err) {
    notifyError(err);
  }
}

/** @param {any} i */
function askClose(i) {
  const box = /** @type {HTMLDialogElement} */ (document.getElementById("list-close-dialog"));
  const queue = state.queues.get(i.queue);
  const select = /** @type {HTMLSelectElement} */ ($("#list-close-disposition", box));
  select.replaceChildren(
    h("option", { value: "", text: "No disposition" }),
    ...((queue && queue.dispositions) || []).map((d) => h("option", { value: d.id, text: d.name }))
  );
  $("#list-close-name", box).textContent = customerLabel(i);
  box.showModal();
  $("#list-close-confirm", box).onclick = async () => {
    box.close();
    try {
      await api("POST", `interactions/${i.id}/close/`, select.value ? { disposition: Number(select.value) } : {});
      notify(`Closed ${customerLabel(i)}.`);
      load();
    } catch (err) {
      notifyError(err);
    }
  };
  $("#list-close-cancel", box).onclick = () => box.close();
}

export async function openList() {
  if (!dialog.open) dialog.showModal();
  await loadOptions();
  page = 1;
  await load();
}

export function initList() {
  dialog = /** @type {HTMLDialogElement} */ (document.getElementById("list-dialog"));
  const button = document.getElementById("list-button");
  if (!dialog || !button) return;
  form = /** @type {HTMLFormElement} */ ($("#list-filters", dialog));
  button.addEventListener("click", openList);
  $("#list-dismiss", dialog).addEventListener("click", () => dialog.close());
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    page = 1;
    load();
  });
  form.addEventListener("change", (e) => {
    if (e.target instanceof HTMLInputElement && e.target.type === "search") return;
    page = 1;
    load();
  });
  $("#list-advanced-toggle", dialog).addEventListener("click", () => {
    const box = $("#list-advanced", dialog);
    box.hidden = !box.hidden;
  });
  $("#list-prev", dialog).addEventListener("click", () => {
    page = Math.max(1, page - 1);
    load();
  });
  $("#list-next", dialog).addEventListener("click", () => {
    page += 1;
    load();
  });
}
