// The hall staff console: login, the menu of the signed-in role, a hash
// router (#/refunds, #/refunds/RF…, #/anomalies, #/hall, #/accounts,
// #/partners, #/audit, #/password) and the idle timer. Each area's screens
// live in their own file (refunds.js, desk.js, admin.js, partners.js) and
// register themselves in C.screens.
//
// The session: loginStaff with "cookie": true puts the session token in an
// HttpOnly cookie the script never sees; the CSRF token it returns lives in
// this closure only (never in storage or the address), and goes with every
// request. A reload forgets it, so a reload means logging in again; the
// server then ends the session the old cookie held.
"use strict";
window.Console = (function () {
  const el = LB.el, t = LB.t;
  // The server ends a staff session after 30 minutes without a request
  // (sliding); the console warns 2 minutes before and then logs out.
  const IDLE_MS = 30 * 60 * 1000, WARN_MS = 2 * 60 * 1000;

  // Each menu entry names the roles it is for; the server refuses the
  // rest anyway, the menu only keeps people from trying.
  const MENUS = [
    { id: "refunds", roles: ["tax_window", "si_reviewer", "mi_reviewer"] },
    { id: "anomalies", roles: ["tax_window", "si_reviewer", "mi_reviewer", "auditor"] },
    { id: "hall", roles: ["tax_window"] },
    { id: "accounts", roles: ["admin"] },
    { id: "partners", roles: ["admin"] },
    { id: "audit", roles: ["auditor"] },
    { id: "password", roles: ["tax_window", "si_reviewer", "mi_reviewer", "admin", "auditor"] },
  ];

  const state = { csrf: "", me: null, lastActive: 0, notice: "" };
  const C = { screens: {}, state: state, el: el, t: t };

  // api calls the staff API (path under /api/v1/staff) with the session's
  // CSRF token. A 401 once signed in means the session is over.
  C.api = async function (method, path, opts) {
    opts = Object.assign({}, opts || {}, { csrf: state.csrf });
    try {
      const r = await LB.api(method, "/api/v1/staff" + path, opts);
      state.lastActive = Date.now();
      return r;
    } catch (e) {
      if (e.status === 401 && state.csrf) end("console.session.ended", false);
      throw e;
    }
  };

  // download fetches a file through the API (cookie and CSRF token, so it
  // never needs a token in a link) and hands it to the browser.
  C.download = async function (path, fallbackName) {
    const res = await C.api("GET", path, { raw: true });
    const m = /filename="?([^";]+)"?/.exec(res.headers.get("Content-Disposition") || "");
    const name = m ? m[1] : fallbackName;
    const url = URL.createObjectURL(await res.blob());
    const a = el("a", { href: url, download: name, class: "visually-hidden" }, name);
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
    C.say(t("console.downloaded", { name: name }));
  };

  C.say = function (msg) { document.getElementById("status").textContent = msg; };

  C.time = function (iso) {
    if (!iso) return "";
    return new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
  };

  // errorBox is the API's message (already in the page's language) with
  // its reason, for role="alert" areas.
  C.errorText = function (e) { return e.reason ? e.message + "（" + e.reason + "）" : e.message; };

  // run disables button while fn runs and shows a failure in box.
  C.run = async function (button, box, fn) {
    if (button) button.disabled = true;
    if (box) box.textContent = "";
    try { await fn(); } catch (e) {
      if (box && e instanceof LB.ApiError) box.textContent = C.errorText(e);
      else if (!(e instanceof LB.ApiError)) throw e;
    } finally { if (button && button.isConnected) button.disabled = false; }
  };

  // table builds a table with a caption, column headers and rows of cells.
  C.table = function (caption, heads, rows, cls) {
    return el("table", { class: cls || "grid" },
      el("caption", null, caption),
      el("thead", null, el("tr", null, heads.map(function (h) { return el("th", { scope: "col" }, h); }))),
      el("tbody", null, rows.map(function (r) { return el("tr", null, r.map(function (c) { return el("td", null, c); })); })));
  };

  // facts is a definition list of [label, value] pairs (empty values left out).
  C.facts = function (pairs) {
    const dl = el("dl", { class: "facts" });
    pairs.forEach(function (p) {
      if (p[1] === undefined || p[1] === null || p[1] === "") return;
      dl.append(el("div", null, el("dt", null, p[0]), el("dd", null, p[1])));
    });
    return dl;
  };

  // showOnce shows one-time secrets in slot until the admin confirms they
  // were handed over; then they are gone from the page.
  C.showOnce = function (slot, title, facts, hint) {
    const done = el("button", { type: "button", class: "primary" }, t("console.accounts.noted"));
    done.addEventListener("click", function () { slot.replaceChildren(); });
    slot.replaceChildren(el("div", { class: "secret", role: "alert" }, el("h3", null, title), C.facts(facts), el("p", { class: "hint" }, hint), done));
    done.focus();
  };

  // codeInput is the field for a TOTP code (login, password change).
  C.codeInput = function () {
    return el("input", { name: "totp", inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: "6", required: true });
  };

  C.field = function (label, input) { return el("label", { class: "field" }, el("span", null, label), input); };

  C.select = function (name, options, value) {
    return el("select", { name: name }, options.map(function (o) {
      return el("option", { value: o[0], selected: o[0] === value }, o[1]);
    }));
  };

  C.role = function () { return state.me ? state.me.role : ""; };
  C.may = function (menu) {
    const m = MENUS.find(function (x) { return x.id === menu; });
    return !!m && m.roles.indexOf(C.role()) >= 0;
  };

  const main = function () { return document.getElementById("app"); };

  // screen replaces the main area with a titled screen and returns it.
  C.screen = function (titleId) {
    const m = main();
    m.replaceChildren(el("h1", { id: "screen-title", class: "mn-text" }, t(titleId)));
    document.title = t(titleId) + " · " + t("console.title");
    return m;
  };

  function renderNav() {
    const nav = document.getElementById("nav");
    const who = document.getElementById("who");
    const out = document.getElementById("logout");
    if (!state.me) {
      nav.hidden = who.hidden = out.hidden = true;
      nav.replaceChildren();
      return;
    }
    const here = (location.hash.split("/")[1] || "");
    nav.replaceChildren(el("ul", null, MENUS.filter(function (m) { return C.may(m.id); }).map(function (m) {
      return el("li", null, el("a", { href: "#/" + m.id, "data-nav": m.id, "aria-current": m.id === here ? "page" : undefined },
        t("console.nav." + m.id)));
    })));
    who.textContent = t("console.who", { username: state.me.username, role: t("console.role." + state.me.role) });
    nav.hidden = who.hidden = out.hidden = false;
  }

  function route() {
    renderNav();
    if (!state.me) return login();
    const parts = location.hash.replace(/^#\/?/, "").split("/");
    const first = MENUS.find(function (m) { return C.may(m.id); });
    const name = parts[0] && C.may(parts[0]) ? parts[0] : first && first.id;
    if (!name) {
      C.screen("console.title").append(el("p", null, t("console.nothing")));
      return;
    }
    if (name !== parts[0]) { location.hash = "#/" + name; return; }
    C.screens[name](parts.slice(1).map(decodeURIComponent));
    main().focus();
  }
  C.route = route;
  C.go = function (hash) { if (location.hash === hash) route(); else location.hash = hash; };

  function login() {
    const m = C.screen("console.login.title");
    const box = el("p", { class: "error", role: "alert" });
    const user = el("input", { name: "username", autocomplete: "username", required: true, autocapitalize: "off", spellcheck: "false" });
    const pass = el("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
    const code = C.codeInput();
    const submit = el("button", { type: "submit", class: "primary" }, t("console.login.submit"));
    const form = el("form", { class: "login", novalidate: true },
      state.notice ? el("p", { class: "notice" }, t(state.notice)) : null,
      C.field(t("console.login.username"), user), C.field(t("console.login.password"), pass),
      C.field(t("console.login.totp"), code), el("p", { class: "hint" }, t("console.login.totp_hint")), box, submit);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      C.run(submit, box, async function () {
        const res = await LB.api("POST", "/api/v1/staff/sessions", { body: { username: user.value, password: pass.value, totp: code.value, cookie: true } });
        state.csrf = res.csrf_token;
        state.lastActive = Date.now();
        state.me = await C.api("GET", "/me");
        state.notice = "";
        pass.value = code.value = "";
        C.say(t("console.login.done", { username: state.me.username }));
        C.go("#/");
      });
    });
    m.append(form);
    user.focus();
  }

  // end forgets the session: on logout, on the server's 401 and when the
  // idle time is up (then the server is told too, in case its clock and
  // ours differ).
  async function end(notice, tellServer) {
    const csrf = state.csrf;
    state.csrf = "";
    state.me = null;
    state.notice = notice || "";
    C.say("");
    const d = document.getElementById("idle");
    if (d.open) d.close();
    if (tellServer && csrf) {
      try { await LB.api("DELETE", "/api/v1/staff/sessions/current", { csrf: csrf }); } catch (e) { /* already over */ }
    }
    if (location.hash && location.hash !== "#/") location.hash = "#/"; else route();
  }
  C.end = end;

  // The idle watch runs every second on Date.now(), so it keeps time
  // through a sleeping laptop and a test can move it.
  function watchIdle() {
    if (!state.csrf) return;
    const left = IDLE_MS - (Date.now() - state.lastActive);
    const d = document.getElementById("idle");
    if (left <= 0) { end("console.idle.ended", true); return; }
    if (left <= WARN_MS) {
      document.getElementById("idle-text").textContent = t("console.idle.text", { seconds: Math.ceil(left / 1000) });
      if (!d.open) d.showModal();
    } else if (d.open) d.close();
  }

  async function start() {
    await LB.loadStrings(LB.initialLang());
    LB.apply();
    document.querySelectorAll("[data-lang]").forEach(function (b) {
      b.addEventListener("click", function () { LB.setLang(b.dataset.lang, route); });
    });
    document.getElementById("logout").addEventListener("click", async function () {
      try { await C.api("DELETE", "/sessions/current"); } catch (e) { /* over anyway */ }
      end("console.logout.done", false);
    });
    document.getElementById("idle-continue").addEventListener("click", async function () {
      try { await C.api("GET", "/me"); watchIdle(); } catch (e) { /* the 401 already ended it */ }
    });
    window.addEventListener("hashchange", route);
    setInterval(watchIdle, 1000);
    route();
  }
  document.addEventListener("DOMContentLoaded", start);
  return C;
})();
