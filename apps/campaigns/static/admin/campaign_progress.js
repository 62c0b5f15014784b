// Keeps the admin's campaign progress bars and funnels live: campaign.progress events on the
// desktop socket (admins and supervisors receive them), with a slow poll of the API as a fallback.
(function () {
  "use strict";
  const FUNNEL = ["total", "sent", "delivered", "read", "replied", "failed", "pending", "skipped"];

  function boxes() {
    return Array.from(document.querySelectorAll(".campaign-progress[data-campaign]"));
  }

  function apply(campaign) {
    for (const box of boxes()) {
      if (Number(box.dataset.campaign) !== campaign.id) continue;
      const done = campaign.total - campaign.pending;
      const percent = campaign.total ? Math.floor((100 * done) / campaign.total) : 0;
      box.querySelector(".campaign-bar").style.width = percent + "%";
      box.querySelector(".campaign-percent").textContent = String(percent);
      box.querySelector(".campaign-status").textContent = campaign.status;
      for (const name of FUNNEL) {
        const cell = box.querySelector('[data-counter="' + name + '"]');
        if (cell && campaign[name] !== undefined) cell.textContent = String(campaign[name]);
      }
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(scheme + "://" + location.host + "/ws/desktop/");
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "campaign.progress") apply(message.data.campaign);
    };
    socket.onclose = () => setTimeout(connect, 3000);
  }

  async function poll() {
    for (const box of boxes()) {
      try {
        const response = await fetch(box.dataset.api, { credentials: "same-origin" });
        if (response.ok) apply(await response.json());
      } catch (error) {
        // The socket carries the updates; a failed poll waits for the next round.
      }
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!boxes().length) return;
    connect();
    setInterval(poll, 5000);
  });
})();
