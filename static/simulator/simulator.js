/* Instant customer simulator (PRODUCT C1): plays a WhatsApp customer of a Sandbox account.
 *
 * The page talks to /simulator/api/… (session + CSRF) and follows the account's simulated phones
 * over /ws/simulator/. The socket reconnects with backoff and the conversation is fetched again
 * after every (re)connect, so nothing sent while it was down is missed.
 * Debug/test hook: window.__sim (ws, state, reload(), simulateDrop(ms)).
 */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var accounts = JSON.parse($("sim-accounts").textContent || "[]");
  var els = {
    account: $("sim-account"), phone: $("sim-phone"), name: $("sim-name"), text: $("sim-text"),
    file: $("sim-file"), send: $("sim-send"), form: $("sim-compose"), list: $("sim-messages"),
    empty: $("sim-empty"), error: $("sim-error"), connection: $("sim-connection"),
    markAll: $("sim-mark-all-read"), chatName: $("sim-chat-name"), chatSub: $("sim-chat-sub"),
    fileChip: $("sim-file-chip"), fileName: $("sim-file-name"), fileClear: $("sim-file-clear"),
  };
  var RANK = { failed: -1, sending: 0, sent: 1, delivered: 2, read: 3 };
  var STORE = "instant.simulator";

  var state = {
    accountId: null,   // the account being watched
    phone: null,       // the customer's number as the server normalised it (null when invalid)
    messages: new Map(),
    ws: null,
    attempts: 0,
    reconnectTimer: null,
    holdUntil: 0,      // simulateDrop(): no reconnect before this time
    loadSeq: 0,
    acking: new Set(),
    tmpSeq: 0,
  };

  // ----- helpers -------------------------------------------------------------------------------
  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function api(path, options) {
    options = options || {};
    var headers = options.headers || {};
    if (options.method && options.method !== "GET") headers["X-CSRFToken"] = csrfToken();
    options.headers = headers;
    options.credentials = "same-origin";
    return fetch("/simulator/api/accounts/" + state.accountId + path, options).then(function (response) {
      return response.text().then(function (body) {
        var data = null;
        try { data = body ? JSON.parse(body) : {}; } catch (e) { data = null; }
        if (response.status === 401) {
          location.href = "/login/?next=" + encodeURIComponent(location.pathname + location.search);
        }
        if (!response.ok || data === null) {
          var err = new Error((data && data.detail) || ("The server answered " + response.status + "."));
          err.code = (data && data.code) || "http_" + response.status;
          err.status = response.status;
          throw err;
        }
        return data;
      });
    });
  }

  function showError(text) {
    els.error.textContent = text || "";
    els.error.hidden = !text;
  }

  function remember() {
    try {
      localStorage.setItem(STORE, JSON.stringify({ account: els.account.value, phone: els.phone.value, name: els.name.value }));
    } catch (e) { /* private mode: nothing to remember */ }
  }

  function restore() {
    var params = new URLSearchParams(location.search);
    var saved = {};
    try { saved = JSON.parse(localStorage.getItem(STORE) || "{}") || {}; } catch (e) { saved = {}; }
    var account = params.get("account") || saved.account;
    if (account && accounts.some(function (a) { return String(a.id) === String(account); })) els.account.value = String(account);
    if (params.get("phone") || saved.phone) els.phone.value = params.get("phone") || saved.phone;
    if (params.get("name") || saved.name) els.name.value = params.get("name") || saved.name;
  }

  function timeLabel(iso) {
    var d = new Date(iso);
    if (isNaN(d)) return "";
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function nearBottom() {
    return els.list.scrollHeight - els.list.scrollTop - els.list.clientHeight < 80;
  }

  function scrollToBottom() { els.list.scrollTop = els.list.scrollHeight; }

  function kindFromType(type) {
    type = type || "";
    if (type === "image/webp") return "sticker";
    if (type.indexOf("image/") === 0) return "image";
    if (type.indexOf("video/") === 0) return "video";
    if (type.indexOf("audio/") === 0) return "audio";
    return "document";
  }

  // ----- rendering -----------------------------------------------------------------------------
  function mediaNode(m) {
    if (!m.media_url) return null;
    var kind = m.kind;
    if (kind === "image" || kind === "sticker") {
      var link = document.createElement("a");
      link.href = m.media_url; link.target = "_blank"; link.rel = "noopener";
      var img = document.createElement("img");
      img.className = "sim-media sim-image" + (kind === "sticker" ? " sim-sticker" : "");
      img.src = m.media_url; img.alt = m.filename || kind; img.loading = "lazy";
      img.addEventListener("load", function () { if (nearBottom()) scrollToBottom(); });
      link.appendChild(img);
      return link;
    }
    if (kind === "audio" || kind === "voice") {
      var audio = document.createElement("audio");
      audio.className = "sim-media sim-audio"; audio.controls = true; audio.preload = "metadata"; audio.src = m.media_url;
      return audio;
    }
    if (kind === "video") {
      var video = document.createElement("video");
      video.className = "sim-media sim-video"; video.controls = true; video.preload = "metadata"; video.src = m.media_url;
      return video;
    }
    var doc = document.createElement("a");
    doc.className = "sim-doc"; doc.href = m.media_url; doc.target = "_blank"; doc.rel = "noopener";
    doc.setAttribute("download", m.filename || "");
    var icon = document.createElement("span"); icon.className = "sim-doc-icon"; icon.setAttribute("aria-hidden", "true");
    icon.textContent = ((m.filename || "").split(".").pop() || "file").slice(0, 4).toUpperCase();
    var label = document.createElement("span"); label.className = "sim-doc-name"; label.textContent = m.filename || "Document";
    doc.appendChild(icon); doc.appendChild(label);
    return doc;
  }

  function statusText(m) {
    if (m.direction === "from_customer") {
      return { sending: "Sending…", sent: "Sent", failed: "Not sent" }[m.status] || m.status;
    }
    return { sent: "Received", delivered: "Delivered", read: "Read" }[m.status] || m.status;
  }

  function ticks(m) {
    if (m.status === "sending") return "◷";
    if (m.status === "failed") return "!";
    if (m.direction === "from_customer") return "✓";
    return m.status === "sent" ? "✓" : "✓✓";
  }

  function renderMessage(m) {
    var li = document.createElement("li");
    li.className = "sim-msg " + (m.direction === "from_customer" ? "sim-out" : "sim-in");
    li.dataset.id = m.id;
    li.dataset.direction = m.direction;
    li.dataset.kind = m.kind || "text";

    var bubble = document.createElement("div");
    bubble.className = "sim-bubble";
    if (m.kind === "template") {
      var tag = document.createElement("span"); tag.className = "sim-tag"; tag.textContent = "Template";
      bubble.appendChild(tag);
    }
    var media = mediaNode(m);
    if (media) bubble.appendChild(media);
    if (m.text) {
      var text = document.createElement("div"); text.className = "sim-text"; text.textContent = m.text;
      bubble.appendChild(text);
    } else if (!media) {
      var none = document.createElement("div"); none.className = "sim-text sim-muted";
      none.textContent = m.filename ? m.filename : "(" + (m.kind || "empty") + ")";
      bubble.appendChild(none);
    }
    var meta = document.createElement("div"); meta.className = "sim-meta";
    var time = document.createElement("time"); time.dateTime = m.created_at; time.textContent = timeLabel(m.created_at);
    var status = document.createElement("span"); status.className = "sim-status";
    meta.appendChild(time); meta.appendChild(status);
    bubble.appendChild(meta);
    li.appendChild(bubble);

    if (m.direction === "to_customer") {
      var button = document.createElement("button");
      button.type = "button"; button.className = "sim-mark-read"; button.textContent = "Mark read";
      button.addEventListener("click", function () { ack(m.id, "read"); });
      li.appendChild(button);
    }
    applyStatus(li, m);
    return li;
  }

  function applyStatus(li, m) {
    li.dataset.status = m.status;
    var status = li.querySelector(".sim-status");
    status.textContent = ticks(m);
    status.title = m.error || statusText(m);
    status.setAttribute("aria-label", statusText(m));
    var button = li.querySelector(".sim-mark-read");
    if (button) {
      button.disabled = m.status === "read";
      button.textContent = m.status === "read" ? "Read" : "Mark read";
    }
  }

  function findEl(id) {
    return els.list.querySelector('.sim-msg[data-id="' + (window.CSS && CSS.escape ? CSS.escape(id) : id) + '"]');
  }

  function refreshChrome() {
    els.empty.hidden = state.messages.size > 0;
    var unread = 0;
    state.messages.forEach(function (m) { if (m.direction === "to_customer" && m.status !== "read") unread += 1; });
    els.markAll.disabled = unread === 0;
    els.markAll.textContent = unread ? "Mark all read (" + unread + ")" : "Mark all read";
  }

  // Insert or update one message; the status only ever moves forward (read never goes back).
  function upsert(m) {
    var known = state.messages.get(m.id);
    var stick = nearBottom();
    if (known) {
      if ((RANK[m.status] || 0) < (RANK[known.status] || 0) && m.status !== "failed") m.status = known.status;
      state.messages.set(m.id, Object.assign(known, m));
      var el = findEl(m.id);
      if (el) applyStatus(el, known);
    } else {
      adoptPending(m);
      state.messages.set(m.id, m);
      var li = renderMessage(m);
      var after = null;
      var items = els.list.children;
      for (var i = items.length - 1; i >= 0; i--) {
        var other = state.messages.get(items[i].dataset.id);
        if (other && other.created_at > m.created_at) after = items[i]; else break;
      }
      els.list.insertBefore(li, after);
      if (stick || m.direction === "from_customer") scrollToBottom();
    }
    refreshChrome();
    autoDeliver(state.messages.get(m.id));
  }

  // The websocket often brings the customer's own message before the send request answers:
  // let it take the place of the matching "sending" bubble instead of showing it twice.
  function adoptPending(m) {
    if (m.direction !== "from_customer" || m.id.indexOf("tmp-") === 0) return;
    var match = null;
    state.messages.forEach(function (p) {
      if (!match && p.id.indexOf("tmp-") === 0 && p.status === "sending" && p.text === m.text &&
          (p.filename || "") === (m.filename || "")) match = p;
    });
    if (match) {
      match.adoptedBy = m.id;
      removeMessage(match.id);
    }
  }

  function removeMessage(id) {
    state.messages.delete(id);
    var el = findEl(id);
    if (el) el.remove();
    refreshChrome();
  }

  function clearMessages() {
    state.messages.clear();
    els.list.textContent = "";
    refreshChrome();
  }

  // ----- loading and acks --------------------------------------------------------------------
  function loadMessages() {
    if (!state.accountId) return Promise.resolve();
    var seq = ++state.loadSeq;
    var phone = els.phone.value;
    return api("/messages/?phone=" + encodeURIComponent(phone)).then(function (data) {
      if (seq !== state.loadSeq) return;
      showError("");
      var changed = state.phone !== data.phone;
      state.phone = data.phone;
      if (changed) clearMessages();
      // Keep messages still being sent; replace the rest with the server's view.
      var pending = [];
      state.messages.forEach(function (m) { if (m.id.indexOf("tmp-") === 0) pending.push(m); });
      var seen = new Set(data.results.map(function (m) { return m.id; }));
      Array.from(state.messages.keys()).forEach(function (id) {
        if (id.indexOf("tmp-") !== 0 && !seen.has(id)) removeMessage(id);
      });
      data.results.forEach(upsert);
      refreshChrome();
      scrollToBottom();
    }).catch(function (err) {
      if (seq !== state.loadSeq) return;
      if (err.code === "invalid_phone") { state.phone = null; clearMessages(); }
      showError(err.message);
    });
  }

  // The phone got an agent's message: tell Instant it was delivered, as a real handset would.
  function autoDeliver(m) {
    if (m && m.direction === "to_customer" && m.status === "sent") ack(m.id, "delivered");
  }

  function ack(id, status) {
    var key = id + ":" + status;
    if (state.acking.has(key)) return Promise.resolve();
    state.acking.add(key);
    return api("/ack/", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ message_id: id, status: status }),
    }).then(function (m) {
      upsert(m);
    }).catch(function (err) {
      showError("Could not mark the message " + status + ": " + err.message);
    }).finally(function () {
      state.acking.delete(key);
    });
  }

  function markAllRead() {
    var ids = [];
    state.messages.forEach(function (m) { if (m.direction === "to_customer" && m.status !== "read") ids.push(m.id); });
    return Promise.all(ids.map(function (id) { return ack(id, "read"); }));
  }

  // ----- sending -------------------------------------------------------------------------------
  function send(event) {
    if (event) event.preventDefault();
    var text = els.text.value;
    var file = els.file.files && els.file.files[0];
    if (!text.trim() && !file) { els.text.focus(); return; }
    if (!state.accountId) { showError("Pick a Sandbox account first."); return; }

    var tmp = {
      id: "tmp-" + (++state.tmpSeq),
      direction: "from_customer",
      customer_phone: state.phone,
      kind: file ? kindFromType(file.type) : "text",
      text: text,
      media_url: file ? URL.createObjectURL(file) : "",
      content_type: file ? file.type : "",
      filename: file ? file.name : "",
      status: "sending",
      created_at: new Date().toISOString(),
    };
    var form = new FormData();
    form.append("phone", els.phone.value);
    form.append("name", els.name.value);
    form.append("text", text);
    if (file) form.append("file", file, file.name);

    upsert(tmp);
    els.text.value = "";
    clearFile();
    autosize();
    remember();

    api("/send/", { method: "POST", body: form }).then(function (m) {
      showError("");
      removeMessage(tmp.id);
      if (tmp.media_url) URL.revokeObjectURL(tmp.media_url);
      if (state.phone !== m.customer_phone) { loadMessages(); return; }
      upsert(m);
    }).catch(function (err) {
      if (err.code === "invalid_phone" || err.code === "empty") {
        removeMessage(tmp.id);
        if (!els.text.value) els.text.value = text;
      } else {
        var failed = state.messages.get(tmp.id);
        if (failed) { failed.status = "failed"; failed.error = err.message; var el = findEl(tmp.id); if (el) applyStatus(el, failed); }
      }
      showError(err.message);
    });
  }

  function clearFile() {
    els.file.value = "";
    els.fileChip.hidden = true;
    els.fileName.textContent = "";
  }

  function autosize() {
    els.text.style.height = "auto";
    els.text.style.height = Math.min(els.text.scrollHeight, 140) + "px";
  }

  // ----- websocket -----------------------------------------------------------------------------
  function setConnection(open, label) {
    els.connection.dataset.state = open ? "open" : "closed";
    els.connection.querySelector(".sim-connection-label").textContent = label || (open ? "Live" : "Reconnecting…");
  }

  function connect() {
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    if (!state.accountId) { setConnection(false, "No account"); return; }
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var sock = new WebSocket(scheme + location.host + "/ws/simulator/");
    state.ws = sock;
    sock.onopen = function () {
      sock.send(JSON.stringify({ action: "watch", account_id: state.accountId }));
    };
    sock.onmessage = function (event) {
      if (state.ws !== sock) return;
      var msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      handleEvent(msg);
    };
    sock.onclose = function (event) {
      if (state.ws !== sock) return;  // replaced on purpose (account switch)
      state.ws = null;
      setConnection(false);
      if (event.code === 4401) {
        location.href = "/login/?next=" + encodeURIComponent(location.pathname + location.search);
        return;
      }
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    if (state.reconnectTimer) return;
    var delay = Math.min(10000, 500 * Math.pow(2, state.attempts)) * (0.8 + Math.random() * 0.4);
    state.attempts += 1;
    delay = Math.max(delay, state.holdUntil - Date.now());
    state.reconnectTimer = setTimeout(connect, delay);
  }

  function handleEvent(msg) {
    var data = msg.data || {};
    if (msg.type === "reply") {
      if (data.ok && data.watching === state.accountId) {
        state.attempts = 0;
        setConnection(true);
        loadMessages();  // catch up on whatever happened while we were away
      } else if (!data.ok) {
        setConnection(false, "Cannot follow this account");
      }
    } else if (msg.type === "sandbox.message") {
      if (data.customer_phone === state.phone) upsert(data);
    } else if (msg.type === "sandbox.status") {
      var known = state.messages.get(data.id);
      if (known) upsert({ id: data.id, status: data.status });
    }
  }

  function disconnect() {
    var sock = state.ws;
    state.ws = null;
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    if (sock) sock.close();
  }

  // ----- wiring --------------------------------------------------------------------------------
  function selectAccount() {
    var id = parseInt(els.account.value, 10);
    state.accountId = isNaN(id) ? null : id;
    var account = accounts.find(function (a) { return a.id === state.accountId; });
    els.chatName.textContent = account ? account.name : "No account";
    els.chatSub.textContent = account ? account.phone_number : "";
    state.phone = null;
    clearMessages();
    disconnect();
    state.attempts = 0;
    setConnection(false, "Connecting…");
    connect();
    loadMessages();
  }

  var phoneTimer = null;
  els.phone.addEventListener("input", function () {
    clearTimeout(phoneTimer);
    phoneTimer = setTimeout(function () { remember(); loadMessages(); }, 350);
  });
  els.name.addEventListener("change", remember);
  els.account.addEventListener("change", function () { remember(); selectAccount(); });
  els.form.addEventListener("submit", send);
  els.text.addEventListener("input", autosize);
  els.text.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) send(event);
  });
  els.file.addEventListener("change", function () {
    var file = els.file.files && els.file.files[0];
    els.fileChip.hidden = !file;
    els.fileName.textContent = file ? file.name + " · " + Math.max(1, Math.round(file.size / 1024)) + " KB" : "";
  });
  els.fileClear.addEventListener("click", clearFile);
  els.markAll.addEventListener("click", markAllRead);

  window.__sim = {
    get ws() { return state.ws; },
    state: state,
    reload: loadMessages,
    markAllRead: markAllRead,
    // Drop the socket as a flaky network would, and stay offline for at least `ms`.
    simulateDrop: function (ms) {
      state.holdUntil = Date.now() + (ms || 0);
      if (state.ws) state.ws.close();
    },
  };

  restore();
  refreshChrome();
  selectAccount();
})();
