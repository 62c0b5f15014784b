// @ts-check
/* The contact card beside the conversation (D11): the customer's contact, editable during the
 * interaction, the interaction's tags, and the returning customer's earlier conversations shown
 * read-only above the new one (X5). The server decides what the agent may see (lists, masking). */

import { api, listOf } from "../api.js";
import { $, h } from "../dom.js";
import { notify, notifyError, on, state, upsertInteraction } from "../store.js";
import { contactName, editorForm, journeyList, loadTags, tagChips } from "./contacts.js";

/** @type {number | null} the interaction the card shows */
let shown = null;
/** @type {number | null | undefined} its contact when last drawn */
let shownContact;
/** @type {any[]} */
let lists = [];

const card = h("section", { class: "ct-card", id: "contact-card", "aria-label": "Contact card" });
const earlier = h("details", { class: "ct-earlier", id: "earlier-conversations", hidden: true });

async function interactionTags(/** @type {any} */ interaction, /** @type {Map<number, any>} */ tags) {
  const chosen = new Set(interaction.tags || []);
  return h("div", { class: "ct-card-tags", id: "interaction-tags" },
    h("span", { class: "ct-card-label", text: "Conversation tags" }),
    ...Array.from(tags.values()).map((t) =>
      h("label", { class: "ct-tag-toggle" }, h("input", {
        type: "checkbox",
        "data-tag": t.id,
        checked: chosen.has(t.id),
        onchange: async (/** @type {Event} */ e) => {
          const box = /** @type {HTMLInputElement} */ (e.target);
          if (box.checked) chosen.add(t.id);
          else chosen.delete(t.id);
          try {
            upsertInteraction(await api("PATCH", `interactions/${interaction.id}/`, { tags: Array.from(chosen) }));
          } catch (err) {
            box.checked = !box.checked;
            notifyError(err);
          }
        },
      }), t.name)));
}

function linker(/** @type {any} */ interaction) {
  const results = h("ul", { class: "ct-merge-results" });
  const search = /** @type {HTMLInputElement} */ (h("input", { class: "input", type: "search", id: "card-link-search", placeholder: "Find a contact to link…" }));
  let timer = 0;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = window.setTimeout(async () => {
      const rows = listOf(await api("GET", `contacts/?${new URLSearchParams({ search: search.value.trim(), page_size: "10" })}`));
      results.replaceChildren(...rows.map((c) => h("li", null, h("button", {
        type: "button",
        class: "btn btn-light btn-sm",
        text: `${contactName(c)} · ${c.phone || c.email || ""}`,
        onclick: async () => {
          try {
            upsertInteraction(await api("PATCH", `interactions/${interaction.id}/`, { contact: c.id }));
            notify("Contact linked.");
            render(true);
          } catch (err) {
            notifyError(err);
          }
        },
      }))));
    }, 250);
  });
  return h("div", { class: "ct-card-link" }, h("p", { text: "No contact is linked to this customer." }), search, results);
}

async function renderEarlier(/** @type {any} */ interaction) {
  earlier.hidden = true;
  earlier.replaceChildren();
  if (!interaction.contact) return;
  try {
    const list = await journeyList(interaction.contact, interaction.id);
    if (shown !== interaction.id || !list.childElementCount) return;
    earlier.replaceChildren(h("summary", { text: `Earlier conversations (${list.childElementCount}) · read-only` }), list);
    earlier.open = true;
    earlier.hidden = false;
  } catch (err) {
    /* no permission on the contact's list: the agent sees this conversation only */
  }
}

/** @param {boolean} [force] */
async function render(force) {
  const interaction = state.active === null ? undefined : state.interactions.get(state.active);
  if (!interaction) {
    card.replaceChildren();
    card.hidden = true;
    earlier.hidden = true;
    shown = null;
    return;
  }
  if (!force && shown === interaction.id && shownContact === interaction.contact) return;
  shown = interaction.id;
  shownContact = interaction.contact;
  card.hidden = false;
  try {
    const [tags, listData] = await Promise.all([loadTags(), api("GET", "contact-lists/?page_size=500")]);
    lists = listOf(listData);
    if (shown !== interaction.id) return;
    let body;
    if (interaction.contact) {
      let contact = null;
      try {
        contact = await api("GET", `contacts/${interaction.contact}/`);
      } catch (e) {
        contact = null;
      }
      body = contact
        ? h("details", { class: "ct-card-contact" },
          h("summary", null, h("strong", { id: "card-contact-name", text: contactName(contact) }), " ", tagChips(contact.tags, tags)),
          editorForm(contact, {
            lists,
            tags,
            onSaved: (saved) => {
              notify("Contact saved.");
              render(true);
              return saved;
            },
            onCancel: () => render(true),
          }))
        : h("p", { text: "The contact of this conversation is in a list you may not see." });
    } else {
      body = linker(interaction);
    }
    card.replaceChildren(body, await interactionTags(interaction, tags));
  } catch (err) {
    notifyError(err);
  }
  renderEarlier(interaction);
}

export function initContactCard() {
  const chat = $("#chat");
  const timeline = $(".dk-timeline-wrap", chat);
  chat.insertBefore(card, timeline);
  chat.insertBefore(earlier, timeline);
  card.hidden = true;
  on("tabs", () => render());
  on("chat", () => render());
  on("contact", (/** @type {any} */ d) => {
    const i = state.active === null ? undefined : state.interactions.get(state.active);
    if (i && d && d.contact && d.contact.id === i.contact) render(true);
  });
  on("masking", () => render(true));
}
