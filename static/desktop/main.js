// @ts-check
/* Instant agent desktop: offers, conversations, chat, notes, close, transfers and the 24-hour window.
 *
 * One websocket brings every change live (socket.js → events.js → store.js); the REST API does
 * every action (api.js). Views render from the store. Native ES modules, no build step, no
 * external requests. */

import { setApiBase } from "./api.js";
import { dispatch } from "./events.js";
import { createSocket } from "./socket.js";
import { emit, expireWindowsByClock, initStore, now, on, setConnection, state } from "./store.js";
import { catchUp, markReadIfViewing } from "./sync.js";
import { initAudio } from "./views/audio.js";
import { initBoard } from "./views/board.js";
import { activateNext, initChat } from "./views/chat.js";
import { initClose } from "./views/close.js";
import { closePopoversByKey, initComposer } from "./views/composer.js";
import { initContactCard } from "./views/contact_card.js";
import { initContacts } from "./views/contacts.js";
import { initConversations } from "./views/conversations.js";
import { tick } from "./views/countdowns.js";
import { initDashboard } from "./views/dashboard.js";
import { initList } from "./views/list.js";
import { hideNoteFormByKey, initNotes } from "./views/notes.js";
import { initNewConversation } from "./views/new_conversation.js";
import { initOffers } from "./views/offers.js";
import { initSpy } from "./views/spy.js";
import { initTimeline } from "./views/timeline.js";
import { initToasts } from "./views/toasts.js";
import { initTransfer } from "./views/transfer.js";
import { initWaiting } from "./views/waiting.js";
import { initWindow } from "./views/window.js";

/** @type {import("./types.js").Bootstrap} */
const boot = JSON.parse(/** @type {HTMLElement} */ (document.getElementById("desktop-bootstrap")).textContent || "{}");
setApiBase(boot.api_base);
initStore(boot);
state.pageHidden = document.hidden;

initToasts();
initAudio();
initDashboard();
initTimeline();
initComposer();
initNotes();
initWindow();
initTransfer();
initClose();
initChat();
initConversations();
initOffers();
initContacts();
initContactCard();
initNewConversation();

on("viewing", (opts) => markReadIfViewing(opts && opts.force));
// After the chat view has restored the conversation on screen: tests wait for this mark.
on("synced", (seq) => {
  document.body.dataset.synced = String(seq);
});

document.addEventListener("visibilitychange", () => {
  state.pageHidden = document.hidden;
  emit("tabs");
  markReadIfViewing();
});

document.addEventListener("keydown", (e) => {
  if (e.key === "Escape") {
    if (!closePopoversByKey()) hideNoteFormByKey();
  }
  if (e.altKey && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
    if (activateNext(e.key === "ArrowDown" ? 1 : -1)) e.preventDefault();
  }
});

setInterval(() => {
  tick();
  expireWindowsByClock(now());
}, 1000);

const socket = createSocket(boot.ws_url, { onOpen: catchUp, onEvent: dispatch, onState: setConnection });
// Supervision (D10, S1-S3, B7, X2): the list, the board, the read-only spy and the waiting list.
initSpy((msg) => {
  const ws = socket.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return false;
  ws.send(JSON.stringify(msg));
  return true;
});
initList();
initBoard();
initWaiting();
socket.connect();

// Tests close the socket through this hook to check that nothing is lost on reconnect.
Object.assign(window, {
  __desktop: {
    state,
    get ws() {
      return socket.ws;
    },
    connect: socket.connect,
    catchUp,
    simulateDrop: socket.simulateDrop,
  },
});
