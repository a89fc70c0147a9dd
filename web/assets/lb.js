// lb.js: what the H5 and the console share. The API client (JSON, errors
// as the API words them, in the page's language), the language and mode
// preferences (remembered in localStorage: they are preferences, never
// credentials), the page strings and a small DOM helper. No framework: a
// newcomer reads this file in five minutes.
"use strict";
(function () {
  const prefs = {
    get(name, fallback) {
      try { return localStorage.getItem("lb." + name) || fallback; } catch (e) { return fallback; }
    },
    set(name, value) {
      try { localStorage.setItem("lb." + name, value); } catch (e) { /* private mode: not remembered */ }
    },
  };

  // The language: ?lang=mn|zh in the address wins and is remembered, then
  // the remembered choice, then the browser's languages.
  function pickLang() {
    const q = new URLSearchParams(location.search).get("lang");
    if (q === "mn" || q === "mn-Mong") { prefs.set("lang", "mn-Mong"); return "mn-Mong"; }
    if (q === "zh" || q === "zh-CN") { prefs.set("lang", "zh-CN"); return "zh-CN"; }
    const saved = prefs.get("lang", "");
    if (saved === "mn-Mong" || saved === "zh-CN") return saved;
    const nav = (navigator.languages || [navigator.language || ""]).map(function (l) { return String(l).toLowerCase(); });
    return nav.some(function (l) { return l === "mn" || l.indexOf("mn-") === 0; }) ? "mn-Mong" : "zh-CN";
  }

  let lang = pickLang();
  let strings = {};

  async function loadStrings(l) {
    const res = await fetch("/assets/i18n/" + l + ".json", { credentials: "same-origin" });
    if (!res.ok) throw new Error("strings " + res.status);
    strings = await res.json();
    lang = l;
    document.documentElement.lang = l;
  }

  // t(id) is the string of id; a missing id shows as "⟦id⟧" so tests and
  // reviewers see it at once instead of a silent Chinese fallback.
  function t(id, vars) {
    let s = strings[id];
    if (s === undefined) return "⟦" + id + "⟧";
    if (vars) s = s.replace(/\{\{\.?(\w+)\}\}/g, function (_, k) { return vars[k] === undefined ? "" : String(vars[k]); });
    return s;
  }

  // apply fills every [data-i18n] (text), [data-i18n-placeholder],
  // [data-i18n-label] (aria-label) and [data-i18n-title] under root.
  function apply(root) {
    (root || document).querySelectorAll("[data-i18n]").forEach(function (n) { n.textContent = t(n.dataset.i18n); });
    (root || document).querySelectorAll("[data-i18n-placeholder]").forEach(function (n) { n.placeholder = t(n.dataset.i18nPlaceholder); });
    (root || document).querySelectorAll("[data-i18n-label]").forEach(function (n) { n.setAttribute("aria-label", t(n.dataset.i18nLabel)); });
    (root || document).querySelectorAll("[data-i18n-title]").forEach(function (n) { n.title = t(n.dataset.i18nTitle); });
  }

  // ApiError carries the API's error: code for logic, message (already in
  // the page's language) and reason for people.
  class ApiError extends Error {
    constructor(status, body) {
      const e = (body && body.error) || {};
      super(e.message || t("common.error.network"));
      this.status = status;
      this.code = e.code || "NETWORK";
      this.reason = e.reason || "";
      this.requestId = e.request_id || "";
      this.problems = e.problems || [];
    }
  }

  // api(method, path, opts): opts.body (JSON), opts.token (a citizen's
  // bearer token), opts.csrf (the staff console's CSRF token; its session
  // is an HttpOnly cookie the script never sees), opts.idempotencyKey.
  async function api(method, path, opts) {
    opts = opts || {};
    const headers = { "Accept": "application/json", "Accept-Language": lang };
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    if (opts.token) headers["Authorization"] = "Bearer " + opts.token;
    if (opts.csrf) headers["X-CSRF-Token"] = opts.csrf;
    if (opts.idempotencyKey) headers["Idempotency-Key"] = opts.idempotencyKey;
    let res;
    try {
      res = await fetch(path, {
        method: method, headers: headers, credentials: "same-origin", cache: "no-store",
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      });
    } catch (e) {
      throw new ApiError(0, null);
    }
    if (opts.raw) {
      if (!res.ok) throw new ApiError(res.status, await res.json().catch(function () { return null; }));
      return res;
    }
    const text = await res.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
    if (!res.ok) throw new ApiError(res.status, body);
    return body;
  }

  // el("button", {class: "primary", onclick: f}, "text", child…) builds
  // DOM without innerHTML, so no API string is ever parsed as markup.
  function el(tag, attrs) {
    const n = document.createElement(tag);
    for (const k in (attrs || {})) {
      const v = attrs[k];
      if (v === undefined || v === null || v === false) continue;
      if (k.indexOf("on") === 0 && typeof v === "function") n.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(n.dataset, v);
      else if (v === true) n.setAttribute(k, "");
      else n.setAttribute(k, String(v));
    }
    for (let i = 2; i < arguments.length; i++) {
      const c = arguments[i];
      if (c === undefined || c === null || c === false) continue;
      (Array.isArray(c) ? c : [c]).forEach(function (x) {
        if (x === undefined || x === null || x === false) return;
        n.append(x instanceof Node ? x : document.createTextNode(String(x)));
      });
    }
    return n;
  }

  // yuan formats fen as "¥1,234.56" without floating point.
  function yuan(fen) {
    const neg = fen < 0; let f = Math.abs(Math.trunc(Number(fen) || 0));
    const y = Math.floor(f / 100), c = f % 100;
    return (neg ? "-" : "") + "¥" + y.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "." + (c < 10 ? "0" : "") + c;
  }

  // newKey is an idempotency key for one user action (retries reuse it).
  function newKey() {
    const b = new Uint8Array(16); crypto.getRandomValues(b);
    return Array.from(b, function (x) { return x.toString(16).padStart(2, "0"); }).join("");
  }

  window.LB = {
    prefs: prefs, api: api, ApiError: ApiError, el: el, t: t, apply: apply, yuan: yuan, newKey: newKey,
    lang: function () { return lang; },
    loadStrings: loadStrings,
    // setLang switches language and re-renders through the caller's render.
    setLang: async function (l, render) { prefs.set("lang", l); await loadStrings(l); apply(); if (render) render(); },
    initialLang: function () { return lang; },
  };
})();
