// @ts-check
/* D9 Contacts: the lists the agent may view, filtered by list, tags, search and "My contacts";
 * add, edit, merge, duplicate, the customer journey, CSV import and export. Every rule (who may see
 * or edit what, masking, validation) is the server's: this view shows what the API answers and the
 * API's refusals. */

import { api, listOf } from "../api.js";
import { $, h } from "../dom.js";
import { fmtDay, fmtTime } from "../format.js";
import { emit, notify, notifyError, on } from "../store.js";

/** More tags than this on one contact and their labels turn grey (as the manuals show). */
const MANY_TAGS = 3;

/**
 * @typedef {{id: number, name: string, color: string}} Tag
 * @typedef {{key: string, label: string, kind: string, choices: string[]}} CustomField
 * @typedef {{id: number, name: string, custom_fields: CustomField[], can_edit: boolean}} ContactList
 * @typedef {{id: number, list: number, first_name: string, last_name: string, phone: string, email: string,
 *   company: string, custom_fields: Record<string, any>, tags: number[], notes?: string, updated_at: string}} Contact
 */

const view = {
  /** @type {ContactList[]} */ lists: [],
  /** @type {Map<number, Tag>} */ tags: new Map(),
  /** @type {Contact[]} */ rows: [],
  /** @type {Set<number>} */ tagFilter: new Set(),
  loaded: false,
};

/** @type {HTMLDialogElement} */
let dialog;

/** @param {Contact} c */
export function contactName(c) {
  return `${c.first_name || ""} ${c.last_name || ""}`.trim() || c.phone || c.email || `Contact ${c.id}`;
}

/**
 * Tag chips; many tags turn grey.
 * @param {number[]} ids
 * @param {Map<number, Tag>} tags
 */
export function tagChips(ids, tags) {
  const many = ids.length > MANY_TAGS;
  return h(
    "span",
    { class: "ct-tags" },
    ids.map((id) => {
      const tag = tags.get(id);
      if (!tag) return null;
      const chip = h("span", { class: "ct-tag" + (many ? " ct-tag-grey" : ""), text: tag.name, "data-tag-id": id });
      if (!many) chip.style.background = tag.color;
      return chip;
    })
  );
}

/** @returns {Promise<Map<number, Tag>>} */
export async function loadTags() {
  const data = await api("GET", "tags/?page_size=500");
  view.tags = new Map(listOf(data).map((t) => [t.id, t]));
  return view.tags;
}

async function loadLists() {
  view.lists = listOf(await api("GET", "contact-lists/?page_size=500"));
  const select = /** @type {HTMLSelectElement} */ ($("#contacts-list-filter"));
  const current = select.value;
  select.replaceChildren(h("option", { value: "", text: "All my lists" }), ...view.lists.map((l) => h("option", { value: l.id, text: l.name })));
  select.value = current;
  $("#contacts-add").hidden = !view.lists.some((l) => l.can_edit);
}

function query() {
  const params = new URLSearchParams();
  const list = /** @type {HTMLSelectElement} */ ($("#contacts-list-filter")).value;
  if (list) params.set("list", list);
  for (const id of view.tagFilter) params.append("tags", String(id));
  const search = /** @type {HTMLInputElement} */ ($("#contacts-search")).value.trim();
  if (search) params.set("search", search);
  if (/** @type {HTMLInputElement} */ ($("#contacts-mine")).checked) params.set("mine", "true");
  const field = /** @type {HTMLInputElement} */ ($("#contacts-custom-key")).value.trim();
  const value = /** @type {HTMLInputElement} */ ($("#contacts-custom-value")).value.trim();
  if (field && value) params.set(`custom.${field}`, value);
  return params;
}

// Each refresh is numbered: an answer that comes back after a later refresh was asked for (the
// dialog's first load overtaken by a search typed meanwhile) is stale and is dropped.
let asked = 0;

export async function refresh() {
  const mine = ++asked;
  try {
    if (!view.loaded) {
      await Promise.all([loadLists(), loadTags()]);
      renderTagFilter();
      view.loaded = true;
    }
    const params = query();
    params.set("page_size", "200");
    const data = await api("GET", `contacts/?${params}`);
    if (mine !== asked) return;
    view.rows = listOf(data);
    /** @type {HTMLAnchorElement} */ ($("#contacts-export")).href = `/api/v1/contacts/export/?${query()}`;
    $("#contacts-count").textContent = String(data && data.count !== undefined ? data.count : view.rows.length);
    renderRows();
  } catch (err) {
    notifyError(err);
  }
}

function renderTagFilter() {
  $("#contacts-tag-filter").replaceChildren(
    ...Array.from(view.tags.values()).map((tag) =>
      h("label", { class: "ct-tag-toggle" }, h("input", {
        type: "checkbox",
        value: tag.id,
        onchange: (/** @type {Event} */ e) => {
          const box = /** @type {HTMLInputElement} */ (e.target);
          if (box.checked) view.tagFilter.add(tag.id);
          else view.tagFilter.delete(tag.id);
          refresh();
        },
      }), tag.name)
    )
  );
}

function listName(/** @type {number} */ id) {
  const list = view.lists.find((l) => l.id === id);
  return list ? list.name : `List ${id}`;
}

function canEdit(/** @type {number} */ listId) {
  const list = view.lists.find((l) => l.id === listId);
  return Boolean(list && list.can_edit);
}

function renderRows() {
  const body = $("#contacts-rows");
  body.replaceChildren(
    ...view.rows.map((c) =>
      h(
        "tr",
        { "data-contact-id": c.id },
        h("td", { class: "ct-name", text: contactName(c) }),
        h("td", { class: "ct-phone", text: c.phone }),
        h("td", { class: "ct-email", text: c.email }),
        h("td", { text: c.company }),
        h("td", { text: listName(c.list) }),
        h("td", null, tagChips(c.tags, view.tags)),
        h(
          "td",
          { class: "ct-actions" },
          h("button", { type: "button", class: "btn btn-light btn-sm ct-edit", text: canEdit(c.list) ? "Edit" : "View", onclick: () => showEditor(c) }),
          canEdit(c.list) && h("button", { type: "button", class: "btn btn-light btn-sm ct-merge", text: "Merge", onclick: () => showMerge(c) }),
          h("button", { type: "button", class: "btn btn-light btn-sm ct-duplicate", text: "Duplicate", onclick: () => showDuplicate(c) }),
          h("button", { type: "button", class: "btn btn-light btn-sm ct-journey", text: "Journey", onclick: () => showJourney(c) }),
          // The message shortcut opens D8's "+" (when the desktop has it) with the contact's number;
          // a masked number cannot be dialled, so the agent then types the one the customer gave.
          c.phone && document.getElementById("new-conversation-button") && h("button", {
            type: "button",
            class: "btn btn-light btn-sm ct-message",
            text: "Message",
            title: "Start a conversation with this contact",
            onclick: () => {
              dialog.close();
              /** @type {HTMLElement} */ (document.getElementById("new-conversation-button")).click();
              const input = /** @type {HTMLInputElement | null} */ (document.getElementById("nc-phone"));
              if (input && !c.phone.includes("\u2022")) input.value = c.phone;
              emit("new-conversation", { contact: c.id, phone: c.phone });
            },
          })
        )
      )
    )
  );
  $("#contacts-empty").hidden = view.rows.length > 0;
}

/** @param {HTMLElement} node */
function panel(node) {
  $("#contacts-panel").replaceChildren(node);
  $("#contacts-panel").hidden = false;
}

function closePanel() {
  $("#contacts-panel").hidden = true;
  $("#contacts-panel").replaceChildren();
}

/**
 * The editor of a contact (or a new one): fields, the list's custom fields, tags.
 * @param {Contact | null} contact
 */
export function editorForm(contact, { lists = view.lists, tags = view.tags, onSaved = (/** @type {Contact} */ c) => {}, onCancel = () => {} } = {}) {
  const editable = contact ? canEditIn(lists, contact.list) : lists.some((l) => l.can_edit);
  const listSelect = /** @type {HTMLSelectElement} */ (h("select", { name: "list", class: "input", disabled: Boolean(contact) },
    ...lists.filter((l) => contact ? l.id === contact.list : l.can_edit).map((l) => h("option", { value: l.id, text: l.name }))));
  const field = (/** @type {string} */ name, /** @type {string} */ label, /** @type {string} */ value, type = "text") =>
    h("label", { class: "field" }, h("span", { text: label }), h("input", { class: "input", name, type, value: value || "", disabled: !editable }));
  const customBox = h("div", { class: "ct-custom" });
  const renderCustom = () => {
    const list = lists.find((l) => String(l.id) === listSelect.value);
    const values = (contact && contact.custom_fields) || {};
    customBox.replaceChildren(
      ...((list && list.custom_fields) || []).map((f) =>
        h("label", { class: "field" }, h("span", { text: f.label }),
          f.kind === "choice"
            ? h("select", { class: "input", "data-custom": f.key, disabled: !editable },
              h("option", { value: "", text: "—" }),
              ...(f.choices || []).map((c) => h("option", { value: c, text: c, selected: String(values[f.key] ?? "") === c })))
            : h("input", {
              class: "input",
              "data-custom": f.key,
              type: f.kind === "number" ? "number" : f.kind === "date" ? "date" : "text",
              step: f.kind === "number" ? "any" : null,
              value: values[f.key] ?? "",
              disabled: !editable,
            }))
      )
    );
  };
  listSelect.addEventListener("change", renderCustom);
  const chosen = new Set((contact && contact.tags) || []);
  const tagBoxes = h("div", { class: "ct-tag-picker" },
    ...Array.from(tags.values()).map((t) =>
      h("label", { class: "ct-tag-toggle" }, h("input", { type: "checkbox", "data-tag": t.id, checked: chosen.has(t.id), disabled: !editable }), t.name)));
  const form = h("form", { class: "ct-editor", id: "contact-editor" },
    h("h3", { text: contact ? (editable ? "Edit contact" : "Contact") : "New contact" }),
    h("label", { class: "field" }, h("span", { text: "List" }), listSelect),
    field("first_name", "First name", contact ? contact.first_name : ""),
    field("last_name", "Last name", contact ? contact.last_name : ""),
    field("phone", "Phone (E.164)", contact ? contact.phone : "", "tel"),
    field("email", "Email", contact ? contact.email : "", "email"),
    field("company", "Company", contact ? contact.company : ""),
    customBox,
    h("div", { class: "field" }, h("span", { text: "Tags" }), tagBoxes),
    h("p", { class: "ct-error", role: "alert", hidden: true }),
    h("div", { class: "dk-dialog-buttons" },
      h("button", { type: "button", class: "btn btn-light", id: "contact-cancel", text: "Cancel", onclick: onCancel }),
      editable && h("button", { type: "submit", class: "btn", id: "contact-save", text: contact ? "Save" : "Add contact" }))
  );
  renderCustom();
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    /** @type {Record<string, any>} */
    const body = { custom_fields: {}, tags: [] };
    for (const input of /** @type {HTMLInputElement[]} */ (Array.from(form.querySelectorAll("input[name]")))) body[input.name] = input.value;
    for (const input of /** @type {HTMLInputElement[]} */ (Array.from(form.querySelectorAll("[data-custom]")))) {
      if (input.value !== "") body.custom_fields[/** @type {string} */ (input.dataset.custom)] = input.value;
    }
    for (const box of /** @type {HTMLInputElement[]} */ (Array.from(form.querySelectorAll("input[data-tag]")))) if (box.checked) body.tags.push(Number(box.dataset.tag));
    const error = /** @type {HTMLElement} */ (form.querySelector(".ct-error"));
    try {
      let saved;
      if (contact) saved = await api("PATCH", `contacts/${contact.id}/`, body);
      else saved = await api("POST", "contacts/", Object.assign(body, { list: Number(listSelect.value) }));
      error.hidden = true;
      onSaved(saved);
    } catch (/** @type {any} */ err) {
      error.textContent = err.message || "The contact could not be saved.";
      error.hidden = false;
    }
  });
  return form;
}

function canEditIn(/** @type {ContactList[]} */ lists, /** @type {number} */ listId) {
  const list = lists.find((l) => l.id === listId);
  return Boolean(list && list.can_edit);
}

/** @param {Contact | null} contact */
function showEditor(contact) {
  panel(editorForm(contact, {
    onSaved: (saved) => {
      notify(contact ? "Contact saved." : "Contact added.");
      closePanel();
      refresh();
      emit("contact", { contact: saved });
    },
    onCancel: closePanel,
  }));
}

/** Merge: pick the other contact (searched like the list), the one shown survives. @param {Contact} contact */
function showMerge(contact) {
  const results = h("ul", { class: "ct-merge-results", id: "merge-results" });
  const search = /** @type {HTMLInputElement} */ (h("input", { class: "input", id: "merge-search", type: "search", placeholder: "Find the contact to merge into this one…" }));
  let timer = 0;
  const find = async () => {
    const params = new URLSearchParams({ search: search.value.trim(), page_size: "20" });
    const rows = listOf(await api("GET", `contacts/?${params}`)).filter((c) => c.id !== contact.id);
    results.replaceChildren(...rows.map((c) => h("li", null, h("button", {
      type: "button",
      class: "btn btn-light btn-sm merge-pick",
      "data-contact-id": c.id,
      text: `${contactName(c)} · ${c.phone || c.email || ""} · ${listName(c.list)}`,
      onclick: async () => {
        try {
          await api("POST", `contacts/${contact.id}/merge/`, { other: c.id });
          notify(`${contactName(c)} merged into ${contactName(contact)}.`);
          closePanel();
          refresh();
        } catch (err) {
          notifyError(err);
        }
      },
    }))));
  };
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = window.setTimeout(find, 250);
  });
  panel(h("div", { class: "ct-merge", id: "contact-merge" },
    h("h3", { text: `Merge into ${contactName(contact)}` }),
    h("p", { class: "dk-dialog-sub", text: "The contact you pick gives its conversations, tags, notes and the details this one lacks, then it is deleted." }),
    search, results,
    h("div", { class: "dk-dialog-buttons" }, h("button", { type: "button", class: "btn btn-light", text: "Cancel", onclick: closePanel }))));
  find();
}

/** @param {Contact} contact */
function showDuplicate(contact) {
  const targets = view.lists.filter((l) => l.can_edit && l.id !== contact.list);
  const select = /** @type {HTMLSelectElement} */ (h("select", { class: "input", id: "duplicate-list" }, ...targets.map((l) => h("option", { value: l.id, text: l.name }))));
  panel(h("div", { class: "ct-duplicate" },
    h("h3", { text: `Copy ${contactName(contact)} into another list` }),
    targets.length ? select : h("p", { text: "There is no other list you may add contacts to." }),
    h("div", { class: "dk-dialog-buttons" },
      h("button", { type: "button", class: "btn btn-light", text: "Cancel", onclick: closePanel }),
      targets.length > 0 && h("button", {
        type: "button",
        class: "btn",
        id: "duplicate-confirm",
        text: "Add contact",
        onclick: async () => {
          try {
            await api("POST", `contacts/${contact.id}/duplicate/`, { list: Number(select.value) });
            notify("Contact copied.");
            closePanel();
            refresh();
          } catch (err) {
            notifyError(err);
          }
        },
      }))));
}

/**
 * The customer journey: every interaction of the contact, each opening read-only.
 * @param {number} contactId
 * @param {number | null} [except] an interaction to leave out (the one on screen)
 */
export async function journeyList(contactId, except) {
  const rows = listOf(await api("GET", `contacts/${contactId}/journey/?page_size=100`)).filter((i) => i.id !== except);
  const tags = view.tags.size ? view.tags : await loadTags();
  return h("ol", { class: "ct-journey-list" },
    ...rows.map((i) => {
      const messages = h("div", { class: "ct-journey-messages", hidden: true });
      const item = h("li", { class: "ct-journey-item", "data-interaction-id": i.id },
        h("button", {
          type: "button",
          class: "ct-journey-head",
          onclick: async () => {
            if (!messages.hidden) {
              messages.hidden = true;
              return;
            }
            try {
              const data = listOf(await api("GET", `contacts/${contactId}/journey/${i.id}/messages/?page_size=500`));
              messages.replaceChildren(...data.map((m) => h("div", { class: `ct-journey-msg ct-${m.direction}` },
                h("span", { class: "ct-journey-time", text: fmtTime(m.created_at) }),
                h("span", { text: m.text || `[${m.kind}]` }))));
              messages.hidden = false;
            } catch (err) {
              notifyError(err);
            }
          },
        },
        h("strong", { text: `${fmtDay(i.started_at)} ${fmtTime(i.started_at)}` }),
        ` · ${i.account_name} · ${i.owner_name || i.first_agent_name || "no agent"} · ${i.status}`,
        i.disposition_name ? ` · ${i.disposition_name}` : "",
        i.closed_at ? ` · closed ${fmtDay(i.closed_at)}` : ""),
        tagChips(i.tags || [], tags),
        messages);
      return item;
    }));
}

/** @param {Contact} contact */
async function showJourney(contact) {
  try {
    const list = await journeyList(contact.id);
    panel(h("div", { class: "ct-journey", id: "contact-journey" },
      h("h3", { text: `Customer journey · ${contactName(contact)}` }),
      list.childElementCount ? list : h("p", { text: "No conversations yet." }),
      h("div", { class: "dk-dialog-buttons" }, h("button", { type: "button", class: "btn btn-light", text: "Close", onclick: closePanel }))));
  } catch (err) {
    notifyError(err);
  }
}

async function importCsv(/** @type {File} */ file) {
  const list = /** @type {HTMLSelectElement} */ ($("#contacts-list-filter")).value || String((view.lists.find((l) => l.can_edit) || { id: "" }).id);
  const form = new FormData();
  form.append("file", file);
  form.append("list", list);
  try {
    const report = await api("POST", "contacts/import/", form);
    const rejected = report.rejected || [];
    panel(h("div", { class: "ct-import-report", id: "import-report" },
      h("h3", { text: `Imported ${report.created} contact(s) into ${listName(Number(list))}` }),
      rejected.length ? h("ul", null, ...rejected.map((/** @type {any} */ r) => h("li", { text: `Row ${r.row}: ${r.errors.join("; ")}` }))) : h("p", { text: "No row was rejected." }),
      h("div", { class: "dk-dialog-buttons" }, h("button", { type: "button", class: "btn btn-light", text: "Close", onclick: closePanel }))));
    refresh();
  } catch (err) {
    notifyError(err);
  }
}

function build() {
  dialog = /** @type {HTMLDialogElement} */ (h("dialog", { id: "contacts-dialog", class: "dk-dialog ct-dialog", "aria-labelledby": "contacts-title" },
    h("div", { class: "ct-head" },
      h("h2", { id: "contacts-title" }, "Contacts ", h("span", { class: "dk-count", id: "contacts-count", text: "0" })),
      h("button", { type: "button", class: "dk-icon-btn", id: "contacts-close", "aria-label": "Close", text: "×", onclick: () => dialog.close() })),
    h("div", { class: "ct-filters" },
      h("select", { class: "input", id: "contacts-list-filter", "aria-label": "List", onchange: refresh }),
      h("input", { class: "input", id: "contacts-search", type: "search", placeholder: "Search name, phone, email…", "aria-label": "Search" }),
      h("label", { class: "ct-mine" }, h("input", { type: "checkbox", id: "contacts-mine", onchange: refresh }), "My contacts"),
      h("details", { class: "ct-advanced" }, h("summary", { text: "Advanced" }),
        h("input", { class: "input", id: "contacts-custom-key", placeholder: "Custom field key", "aria-label": "Custom field key" }),
        h("input", { class: "input", id: "contacts-custom-value", placeholder: "Value", "aria-label": "Custom field value" })),
      h("button", { type: "button", class: "btn btn-light btn-sm", id: "contacts-refresh", text: "Refresh", onclick: refresh }),
      h("button", { type: "button", class: "btn btn-sm", id: "contacts-add", text: "+ Add", onclick: () => showEditor(null) }),
      h("a", { class: "btn btn-light btn-sm", id: "contacts-export", href: "/api/v1/contacts/export/", download: "contacts.csv", text: "Export CSV" }),
      h("label", { class: "btn btn-light btn-sm", for: "contacts-import" }, "Import CSV"),
      h("input", { type: "file", id: "contacts-import", accept: ".csv,text/csv", hidden: true, onchange: (/** @type {Event} */ e) => {
        const input = /** @type {HTMLInputElement} */ (e.target);
        if (input.files && input.files[0]) importCsv(input.files[0]);
        input.value = "";
      } })),
    h("div", { class: "ct-tag-filter", id: "contacts-tag-filter" }),
    h("div", { class: "ct-body" },
      h("div", { class: "ct-table-wrap" },
        h("table", { class: "ct-table", id: "contacts-table" },
          h("thead", null, h("tr", null, ...["Name", "Phone", "Email", "Company", "List", "Tags", ""].map((t) => h("th", { text: t })))),
          h("tbody", { id: "contacts-rows" })),
        h("p", { class: "dk-empty-line", id: "contacts-empty", text: "No contacts match.", hidden: true })),
      h("aside", { class: "ct-panel", id: "contacts-panel", hidden: true }))));
  document.body.appendChild(dialog);
  let timer = 0;
  $("#contacts-search").addEventListener("input", () => {
    clearTimeout(timer);
    timer = window.setTimeout(refresh, 250);
  });
  for (const id of ["#contacts-custom-key", "#contacts-custom-value"]) $(id).addEventListener("change", refresh);
}

export function openContacts() {
  if (!dialog.open) dialog.showModal();
  refresh();
}

export function initContacts() {
  build();
  const button = document.getElementById("contacts-button");
  if (button) button.addEventListener("click", openContacts);
  // Another desktop changed a contact, or the masking level changed: what is shown is stale.
  on("contact", () => {
    if (dialog.open) refresh();
  });
  on("masking", () => {
    view.loaded = false;
    if (dialog.open) refresh();
  });
}
