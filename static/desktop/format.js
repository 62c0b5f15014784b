// @ts-check
/* Pure formatting helpers: no state, no DOM. */

/** @typedef {import("./types.js").Message} Message */

/** @param {number | null | undefined} n */
export function fmtBytes(n) {
  if (n === null || n === undefined) return "";
  const MB = 1024 * 1024;
  if (n >= MB) return `${+(n / MB).toFixed(n % MB === 0 ? 0 : 1)} MB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(n % 1024 === 0 ? 0 : 1)} KB`;
  return `${n} bytes`;
}

/** @param {string | null | undefined} iso */
export function fmtTime(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** @param {string | Date} iso */
export function dayKey(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

/** @param {string} iso */
export function fmtDay(iso) {
  const d = new Date(iso);
  const today = new Date();
  const yesterday = new Date(Date.now() - 86400000);
  if (dayKey(d) === dayKey(today)) return "Today";
  if (dayKey(d) === dayKey(yesterday)) return "Yesterday";
  return d.toLocaleDateString([], { weekday: "short", day: "numeric", month: "short", year: "numeric" });
}

/** @param {number} ms */
export function fmtCountdown(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** @param {number} n */
export function fmtCount(n) {
  return n.toLocaleString("en");
}

/** @param {{customer_name?: string, customer_phone?: string} | null | undefined} obj */
export function customerLabel(obj) {
  return (obj && (obj.customer_name || obj.customer_phone)) || "Customer";
}

/** @param {string} text */
export function initial(text) {
  const ch = (text || "?").replace(/^\+/, "").trim().charAt(0);
  return (ch || "?").toUpperCase();
}

/**
 * Attachments are absolute on PUBLIC_BASE_URL; fetch them from this origin so the session applies.
 * @param {string} url
 */
export function relativeUrl(url) {
  if (!url) return url;
  try {
    const u = new URL(url, location.href);
    return u.pathname + u.search;
  } catch (e) {
    return url;
  }
}

/**
 * The length WhatsApp and our server count: characters (code points), not UTF-16 units, so an
 * emoji counts once; and the server trims the text before it counts.
 * @param {string} text
 */
export function textLength(text) {
  return Array.from(text.trim()).length;
}

/** @param {Message | null | undefined} m */
export function previewText(m) {
  if (!m) return "";
  const label = /** @type {Record<string, string>} */ ({
    image: "Photo",
    sticker: "Sticker",
    audio: "Audio",
    voice: "Voice message",
    video: "Video",
    document: "Document",
    location: "Location",
    template: "Template",
    unsupported: "Unsupported message",
  })[m.kind];
  if (m.text) return label && m.kind !== "text" && m.kind !== "template" ? `${label}: ${m.text}` : m.text;
  if (m.kind === "document" && m.attachment) return `Document: ${m.attachment.filename}`;
  return label || "";
}
