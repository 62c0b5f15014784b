// @ts-check
/* The chime for a new offer or transfer: two short notes through Web Audio, no sound file. */

import { on } from "../store.js";

/** @type {AudioContext | null} */
let audioCtx = null;

function ensureAudio() {
  const Ctx = window.AudioContext || /** @type {any} */ (window).webkitAudioContext;
  if (!Ctx) return null;
  if (!audioCtx) {
    try {
      audioCtx = new Ctx();
    } catch (e) {
      return null;
    }
  }
  // Autoplay policy: a context starts suspended until the user interacts with the page.
  if (audioCtx && audioCtx.state === "suspended") audioCtx.resume().catch(() => {});
  return audioCtx;
}

function chime() {
  const ctx = audioCtx;
  if (!ctx || ctx.state !== "running") return;
  const t = ctx.currentTime;
  [
    [880, 0],
    [1318.5, 0.14],
  ].forEach(([freq, delay]) => {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, t + delay);
    gain.gain.exponentialRampToValueAtTime(0.22, t + delay + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + delay + 0.45);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t + delay);
    osc.stop(t + delay + 0.5);
  });
}

export function initAudio() {
  for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, ensureAudio, { capture: true, passive: true });
  on("chime", chime);
}
