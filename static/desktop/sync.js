// @ts-check
/* REST reads that fill the store: the catch-up after every (re)connect, a conversation's timeline,
 * one interaction, and marking what the agent reads. After each (re)connect the page catches up
 * from REST and merges by id, so a dropped socket loses nothing and duplicates nothing. */

import { api, listOf } from "./api.js";
import { previewText } from "./format.js";
import {
  addOffer,
  applyTimeline,
  emit,
  idOf,
  notifyError,
  removeInteraction,
  removeOffer,
  ring,
  setOfferPreview,
  setPresence,
  setQueueStats,
  setSettings,
  state,
  transferIsForMe,
  upsertInteraction,
} from "./store.js";

/** @param {number} interactionId */
export async function loadOfferPreview(interactionId) {
  try {
    const data = await api("GET", `interactions/${interactionId}/messages/?page_size=5`);
    const inbound = listOf(data).filter((m) => m.direction === "in");
    if (!state.offers.has(interactionId) || !inbound.length) return;
    setOfferPreview(interactionId, previewText(inbound[0]));
  } catch (e) {
    /* a preview is a nicety: the card works without it */
  }
}

/**
 * An offer for me, live or from the catch-up; a live one rings.
 * @param {import("./types.js").InteractionOfferedData} data
 * @param {boolean} [silent]
 */
export function offerReceived(data, silent) {
  const added = addOffer(data);
  if (!added || !added.isNew) return;
  if (!silent) ring();
  if (added.needsPreview) loadOfferPreview(data.interaction.id);
}

/** @param {number} id */
export async function refreshInteraction(id) {
  try {
    upsertInteraction(await api("GET", `interactions/${id}/`));
  } catch (/** @type {any} */ err) {
    if (err.status === 404 && state.interactions.has(id)) removeInteraction(id);
  }
}

/** @param {number} id */
export async function loadTimeline(id) {
  try {
    const [messages, notes] = await Promise.all([
      api("GET", `interactions/${id}/messages/?page_size=500`),
      api("GET", `interactions/${id}/notes/?page_size=500`).catch(() => null),
    ]);
    applyTimeline(id, listOf(messages), notes ? listOf(notes) : []);
  } catch (/** @type {any} */ err) {
    if (err.status === 404) removeInteraction(id);
    else if (state.active === id) notifyError(err);
  }
}

/** @type {Map<number, ReturnType<typeof setTimeout>>} one debounced read per interaction */
const readTimers = new Map();

/** @param {boolean} [force] read even if the page thinks nothing is unread */
export function markReadIfViewing(force) {
  const i = state.active === null ? undefined : state.interactions.get(state.active);
  if (!i || state.pageHidden || (!i.unread_count && !force)) return;
  const id = i.id;
  clearTimeout(readTimers.get(id));
  readTimers.set(
    id,
    setTimeout(async () => {
      readTimers.delete(id);
      try {
        const updated = await api("POST", `interactions/${id}/read/`);
        const current = state.interactions.get(id);
        if (current) {
          current.unread_count = updated && typeof updated.unread_count === "number" ? updated.unread_count : 0;
          emit("tabs");
        }
      } catch (/** @type {any} */ err) {
        if (err.status === 404 || err.code === "not_owner" || err.code === "interaction_closed") refreshInteraction(id);
      }
    }, 250)
  );
}

// ----- catch-up after every (re)connect ------------------------------------------------------------
/** @param {number} seq */
async function loadInteractions(seq) {
  const started = Date.now();
  const data = await api("GET", `interactions/?status=open&owner=${state.me.id}&page_size=200`);
  if (seq !== state.catchUps) return;
  const list = listOf(data);
  const ids = new Set(list.map((i) => i.id));
  for (const i of list) upsertInteraction(i);
  for (const id of Array.from(state.interactions.keys())) {
    if (!ids.has(id) && (state.addedAt.get(id) || 0) < started) removeInteraction(id);
  }
}

/** @param {number} seq */
async function loadOffers(seq) {
  const started = Date.now();
  let data;
  try {
    data = await api("GET", "offers/?page_size=200");
  } catch (/** @type {any} */ err) {
    if (err.status === 404) return; // an older server without the endpoint
    throw err;
  }
  if (seq !== state.catchUps) return;
  const seen = new Set();
  for (const o of listOf(data)) {
    let interaction = o.interaction;
    if (interaction && typeof interaction !== "object") {
      try {
        interaction = await api("GET", `interactions/${interaction}/`);
      } catch (e) {
        continue;
      }
    }
    if (!interaction || interaction.status !== "waiting") continue;
    seen.add(interaction.id);
    offerReceived({ interaction, offer_id: o.id, expires_at: o.expires_at }, true);
  }
  for (const [id, offer] of Array.from(state.offers.entries())) {
    if (!seen.has(id) && offer.addedAt < started) removeOffer(id);
  }
}

/** @param {number} seq */
export async function loadTransfers(seq) {
  const started = Date.now();
  const data = await api("GET", "transfers/?status=pending&page_size=200");
  if (seq !== state.catchUps) return;
  const outIds = new Set();
  const inIds = new Set();
  for (const t of listOf(data)) {
    if (t.status !== "pending") continue;
    if (t.from_agent === state.me.id) {
      outIds.add(idOf(t.interaction));
      state.transfersOut.set(idOf(t.interaction), t);
    } else if (transferIsForMe(t)) {
      inIds.add(t.id);
      const known = state.transfersIn.get(t.id);
      state.transfersIn.set(t.id, Object.assign(t, { _at: known ? known._at : started - 1 }));
    }
  }
  for (const [id, t] of Array.from(state.transfersOut.entries())) if (!outIds.has(id) && (t._at || 0) < started) state.transfersOut.delete(id);
  for (const [id, t] of Array.from(state.transfersIn.entries())) if (!inIds.has(id) && (t._at || 0) < started) state.transfersIn.delete(id);
  emit("incoming");
  emit("tabs");
  if (state.active !== null) emit("transfer");
}

async function loadQueues() {
  const data = await api("GET", "queues/?page_size=200");
  for (const q of listOf(data)) {
    if (state.queues.has(q.id)) setQueueStats(q.id, { waiting: q.waiting, offered: q.offered, open: q.open });
  }
}

async function loadSettings() {
  const data = await api("GET", "settings/");
  if (data) setSettings(data);
}

async function loadPresence() {
  const data = await api("GET", "presence/");
  if (data && data.presence) setPresence(data.presence);
}

export async function catchUp() {
  const seq = ++state.catchUps;
  const results = await Promise.allSettled([loadInteractions(seq), loadOffers(seq), loadTransfers(seq), loadQueues(), loadSettings(), loadPresence()]);
  for (const r of results) if (r.status === "rejected" && r.reason && r.reason.status !== 404) console.warn("desktop catch-up:", r.reason);
  if (seq !== state.catchUps) return;
  const timelines = [];
  for (const id of state.interactions.keys()) if (state.loaded.has(id) || id === state.active) timelines.push(loadTimeline(id));
  await Promise.allSettled(timelines);
  emit("synced", seq);
}

