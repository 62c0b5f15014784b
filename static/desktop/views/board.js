// @ts-check
/* B7/S3 the realtime board, for supervisors and admins: per queue waiting, offered and open
 * interactions, agents online, paused and busy, the waits and "waiting over the last hour"; per
 * agent presence, open interactions and last activity. The first board comes from REST, then every
 * ``board.updated`` (at most once a second) replaces it. An agent's open conversations can be
 * watched from here (S1). */

import { api, listOf } from "../api.js";
import { $, h } from "../dom.js";
import { customerLabel, fmtTime } from "../format.js";
import { notifyError, on, setBoard, state } from "../store.js";
import { openSpy } from "./spy.js";

/** @type {HTMLDialogElement} */
let dialog;
/** @type {Set<number>} agents whose open conversations are unfolded */
const unfolded = new Set();

/** @param {number | null | undefined} seconds */
function fmtWait(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${seconds}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m ${String(seconds % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

/**
 * A small line chart of the waiting history (oldest first).
 * @param {number[]} points
 */
function sparkline(points) {
  const w = 120;
  const ht = 28;
  const max = Math.max(1, ...points);
  const step = points.length > 1 ? w / (points.length - 1) : w;
  const coords = points.map((v, i) => `${(i * step).toFixed(1)},${(ht - 2 - (v / max) * (ht - 4)).toFixed(1)}`).join(" ");
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${ht}`);
  svg.setAttribute("class", "bd-spark");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `Waiting over the last hour: ${points.join(", ")}`);
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", coords);
  svg.appendChild(line);
  return svg;
}

function queueName(/** @type {number} */ id) {
  const board = state.board;
  const q = board && board.queues.find((/** @type {any} */ x) => x.id === id);
  return q ? q.name : `#${id}`;
}

/** @param {any} q */
function queueRow(q) {
  /** @param {string} key @param {string | number} value */
  const cell = (key, value) => h("td", { class: `bd-num bd-${key}`, "data-key": key, text: String(value) });
  return h(
    "tr",
    { "data-queue-id": q.id },
    h("th", { scope: "row", text: q.name }),
    cell("waiting", q.waiting),
    cell("offered", q.offered),
    cell("open", q.open),
    cell("agents_online", q.agents_online),
    cell("agents_paused", q.agents_paused),
    cell("agents_busy", q.agents_busy),
    h("td", { class: "bd-num", text: q.waiting ? fmtWait(q.longest_wait) : "—" }),
    h("td", { class: "bd-num", text: fmtWait(q.average_wait) }),
    h("td", null, sparkline(q.waiting_history || []))
  );
}

/** @param {any} a */
function agentRows(a) {
  const limit = a.max_open_interactions === null || a.max_open_interactions === undefined ? "" : ` / ${a.max_open_interactions}`;
  const open = unfolded.has(a.id);
  const row = h(
    "tr",
    { "data-agent-id": a.id },
    h("th", { scope: "row" }, h("span", { class: "bd-presence", "data-presence": a.presence, title: a.presence }), a.display_name || a.username),
    h("td", { text: a.presence }),
    h(
      "td",
      { class: "bd-num" },
      a.open_interactions
        ? h("button", {
            type: "button",
            class: "btn btn-light btn-sm bd-open",
            "aria-expanded": String(open),
            text: `${a.open_interactions}${limit}`,
            title: "Show this agent's open conversations",
            onclick: () => {
              if (unfolded.has(a.id)) unfolded.delete(a.id);
              else unfolded.add(a.id);
              render();
            },
          })
        : `0${limit}`
    ),
    h("td", { text: (a.queues || []).map(queueName).join(", ") || "—" }),
    h("td", { text: a.last_activity ? `${fmtTime(a.last_activity)}` : "—", title: a.last_activity ? new Date(a.last_activity).toLocaleString() : "" })
  );
  if (!open) return [row];
  const holder = h("td", { colspan: "5", class: "bd-agent-chats" }, "Loading…");
  loadAgentChats(a.id, holder);
  return [row, h("tr", { class: "bd-sub" }, holder)];
}

/**
 * @param {number} agentId
 * @param {HTMLElement} holder
 */
async function loadAgentChats(agentId, holder) {
  try {
    const rows = listOf(await api("GET", `interactions/?owner=${agentId}&status=open&page_size=50`));
    holder.replaceChildren(
      ...rows.map((/** @type {any} */ i) =>
        h(
          "span",
          { class: "bd-chat" },
          customerLabel(i),
          h("button", { type: "button", class: "btn btn-sm bd-watch", "data-interaction-id": i.id, text: "Watch", onclick: () => openSpy(i.id) })
        )
      )
    );
    if (!rows.length) holder.textContent = "No open conversations.";
  } catch (err) {
    holder.textContent = "Could not load the conversations.";
  }
}

function render() {
  const board = state.board;
  if (!dialog || !board) return;
  $("#board-queues tbody", dialog).replaceChildren(...board.queues.map(queueRow));
  $("#board-agents tbody", dialog).replaceChildren(...board.agents.flatMap(agentRows));
  const stamp = $("#board-updated", dialog);
  stamp.textContent = `Updated ${fmtTime(board.generated_at)}`;
  stamp.dataset.generatedAt = board.generated_at;
}

export async function openBoard() {
  dialog.showModal();
  try {
    setBoard(await api("GET", "board/"));
  } catch (err) {
    notifyError(err);
  }
}

export function initBoard() {
  dialog = /** @type {HTMLDialogElement} */ (document.getElementById("board-dialog"));
  const button = document.getElementById("board-button");
  if (!dialog || !button) return;
  button.addEventListener("click", openBoard);
  $("#board-close", dialog).addEventListener("click", () => dialog.close());
  on("board", render);
  // The admin links here (templates/admin/base_site.html).
  if (location.hash === "#board") openBoard();
}
