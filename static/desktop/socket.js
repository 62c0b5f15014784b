// @ts-check
/* The websocket: connect, keep alive, reconnect with backoff. It parses each server message and
 * hands it on; what a message means is events.js's business. */

/**
 * @typedef {object} SocketHooks
 * @property {() => void} onOpen after every (re)connect: the page catches up from REST
 * @property {(msg: import("./types.js").ServerEvent) => void} onEvent
 * @property {(state: "open" | "connecting" | "closed") => void} onState
 */

/**
 * @param {string} path e.g. "/ws/desktop/"
 * @param {SocketHooks} hooks
 */
export function createSocket(path, hooks) {
  /** @type {WebSocket | null} */
  let socket = null;
  let attempt = 0;
  /** @type {ReturnType<typeof setTimeout> | null} */
  let retryTimer = null;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let pingTimer;
  let holdUntil = 0; // tests: keep the socket down for a while (see simulateDrop)

  function url() {
    return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${path}`;
  }

  function connect() {
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = null;
    hooks.onState("connecting");
    let ws;
    try {
      ws = new WebSocket(url());
    } catch (e) {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.addEventListener("open", () => {
      if (socket !== ws) return;
      attempt = 0;
      hooks.onState("open");
      clearInterval(pingTimer);
      // Proxies close a socket that says nothing for a minute or so.
      pingTimer = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ action: "ping" }));
      }, 25000);
      hooks.onOpen();
    });
    ws.addEventListener("message", (e) => {
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch (/** @type {any} */ err) {
        return;
      }
      if (msg && typeof msg.type === "string") hooks.onEvent(msg);
    });
    ws.addEventListener("close", (e) => {
      if (socket !== ws) return;
      socket = null;
      clearInterval(pingTimer);
      hooks.onState("closed");
      if (e.code === 4401) {
        location.href = "/login/?next=/desktop/";
        return;
      }
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    if (retryTimer) return;
    const base = Math.min(15000, 500 * 2 ** attempt);
    attempt += 1;
    const delay = Math.max(base * (0.8 + Math.random() * 0.4), holdUntil - Date.now());
    retryTimer = setTimeout(connect, delay);
  }

  /** @param {number} [ms] */
  function simulateDrop(ms) {
    holdUntil = Date.now() + (ms || 0);
    if (socket) socket.close();
  }

  window.addEventListener("online", () => {
    if (!socket) connect();
  });

  return {
    connect,
    simulateDrop,
    get ws() {
      return socket;
    },
  };
}
