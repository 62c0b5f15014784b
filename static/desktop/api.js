// @ts-check
/* REST calls: one fetch wrapper that sends the CSRF token and turns every refusal into an ApiError
 * carrying the server's ``code`` (CONTRACT.md: every error is JSON with a ``code``). */

let base = "/api/v1/";

/** @param {string} apiBase */
export function setApiBase(apiBase) {
  base = apiBase || base;
}

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} detail
   * @param {any} [body]
   */
  constructor(status, code, detail, body) {
    super(detail);
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.body = body;
  }
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

/** @param {any} errors */
function firstFieldError(errors) {
  if (!errors || typeof errors !== "object") return null;
  for (const [field, value] of Object.entries(errors)) {
    const text = Array.isArray(value) ? value[0] : value;
    if (typeof text === "string") return field === "non_field_errors" ? text : `${field}: ${text}`;
  }
  return null;
}

/**
 * @param {"GET" | "POST" | "PATCH" | "DELETE"} method
 * @param {string} path relative to the API base, or absolute from "/"
 * @param {any} [body] JSON, or FormData for an upload
 * @returns {Promise<any>}
 */
export async function api(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json" };
  /** @type {RequestInit} */
  const opts = { method, credentials: "same-origin", headers };
  if (body instanceof FormData) opts.body = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  let res;
  try {
    res = await fetch(path.startsWith("/") ? path : base + path, opts);
  } catch (e) {
    throw new ApiError(0, "network", "The server cannot be reached: check your connection.");
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      data = null;
    }
  }
  if (!res.ok) {
    const code = (data && data.code) || "error";
    if (res.status === 401 || code === "not_authenticated") {
      location.href = "/login/?next=/desktop/";
    }
    let detail = data && data.detail;
    if (!detail || (code === "invalid" && data.errors)) detail = firstFieldError(data && data.errors) || detail;
    if (res.status === 413) detail = detail || "The file is too large for the server.";
    throw new ApiError(res.status, code, detail || `The request failed (${res.status}).`, data);
  }
  return data;
}

/**
 * The items of a list answer, paginated or not.
 * @param {any} data
 * @returns {any[]}
 */
export function listOf(data) {
  if (Array.isArray(data)) return data;
  return (data && data.results) || [];
}
