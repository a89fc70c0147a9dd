// core.js: what every screen of the citizen H5 uses. The session (a
// bearer token in sessionStorage: it dies with the tab and never enters a
// URL or localStorage), the hash router, the API wrapper that turns errors
// into the API's own words, and small builders so a screen is a list of
// elements. The screens live in account.js, pay.js and after.js; app.js
// starts the page.
"use strict";
(function () {
  const el = LB.el, t = LB.t;
  const TOKEN = "lb.h5.token";

  const H5 = {
    routes: {},
    // sandbox: the server said X-Lianban-Sandbox: true (sandbox login and
    // the sandbox cashier are offered only then).
    sandbox: false,
    me: null,
    // timers of the current screen, stopped when another screen starts.
    timers: [],
    // keepFocus: {hash, name} of the control refine keeps the focus on.
    keepFocus: null,
  };

  // session: the token lives only in sessionStorage, per tab.
  H5.token = function () {
    try { return sessionStorage.getItem(TOKEN) || ""; } catch (e) { return ""; }
  };
  H5.setToken = function (tok) {
    try { if (tok) sessionStorage.setItem(TOKEN, tok); else sessionStorage.removeItem(TOKEN); } catch (e) { /* no storage: logged out on reload */ }
    if (!tok) H5.me = null;
  };

  // call is LB.api with the citizen's token; a dead session sends the
  // person to the login screen instead of showing an error they cannot fix.
  H5.call = async function (method, path, opts) {
    opts = Object.assign({}, opts || {});
    const tok = H5.token();
    if (tok) opts.token = tok;
    try {
      return await LB.api(method, "/api/v1" + path, opts);
    } catch (e) {
      if (e.status === 401 && tok) {
        // The session ended (2 h without use): log in again and come back
        // to the same screen.
        H5.setToken("");
        H5.returnTo(location.hash);
        H5.go("#/login");
      }
      throw e;
    }
  };

  // returnTo keeps the screen to come back to after a login.
  H5.returnTo = function (hash) {
    try {
      if (hash !== undefined) { sessionStorage.setItem("lb.h5.return", hash); return ""; }
      const h = sessionStorage.getItem("lb.h5.return") || "";
      sessionStorage.removeItem("lb.h5.return");
      return /^#\/[A-Za-z]/.test(h) && h.indexOf("#/login") !== 0 ? h : "";
    } catch (e) { return ""; }
  };

  H5.loadMe = async function () {
    if (!H5.token()) { H5.me = null; return null; }
    if (!H5.me) H5.me = await H5.call("GET", "/me");
    return H5.me;
  };

  // route registers a screen: fn(args, query) renders into the page.
  H5.route = function (name, fn, opts) { H5.routes[name] = { fn: fn, auth: !(opts && opts.public), verified: !!(opts && opts.verified) }; };

  H5.go = function (hash) {
    if (location.hash === hash) H5.render(); else location.hash = hash;
  };

  // refine redraws the screen for a choice made in one of its controls
  // (whose money, which region) and gives the focus back to that control
  // on the new screen, found by name: the person is still choosing, and
  // a jump to the heading would throw a keyboard or screen-reader user
  // out of the form (WCAG 3.2.2, on input).
  H5.refine = function (hash, control) {
    H5.keepFocus = { hash: hash, name: control.name };
    H5.go(hash);
  };

  function parseHash() {
    const h = location.hash.replace(/^#\/?/, "");
    const q = h.indexOf("?");
    const path = q >= 0 ? h.slice(0, q) : h;
    const query = new URLSearchParams(q >= 0 ? h.slice(q + 1) : "");
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    return { name: parts[0] || "start", args: parts.slice(1), query: query };
  }

  // render draws the screen of the current hash. Each screen is one task;
  // focus moves to its heading so a screen reader announces the change.
  H5.render = async function () {
    H5.timers.forEach(function (x) { clearTimeout(x); });
    H5.timers = [];
    const r = parseHash();
    const route = H5.routes[r.name] || H5.routes.start;
    const main = document.getElementById("app");
    try {
      if (route.auth && !H5.token()) { H5.returnTo(location.hash); H5.go("#/login"); return; }
      if (route.auth) await H5.loadMe();
      if (route.verified && H5.me && !H5.me.real_name_verified) { H5.go("#/identity"); return; }
      await route.fn(r.args, r.query);
    } catch (e) {
      if (e.status === 401 && !H5.token()) return; // on the way to the login screen
      H5.screen("h5.error.title", H5.errorBox(e), H5.nav());
    }
    LB.apply(main);
  };

  // screen replaces the page's content: a heading and the children.
  H5.screen = function (titleId) {
    const main = document.getElementById("app");
    main.replaceChildren();
    const h1 = el("h1", { "class": "mn-text", tabindex: "-1" }, t(titleId));
    main.append(h1);
    for (let i = 1; i < arguments.length; i++) {
      const c = arguments[i];
      if (c) (Array.isArray(c) ? c : [c]).forEach(function (x) { if (x) main.append(x); });
    }
    document.title = t(titleId) + " · " + t("common.app.name");
    // Only on the screen refine asked for; any other screen (a redirect
    // to the login, the next task) ends the request. It stays for redraws
    // of that screen: two quick choices draw it twice, and the earlier
    // draw may finish after the address already names the later one.
    const want = H5.keepFocus;
    if (want && want.hash !== location.hash) H5.keepFocus = null;
    const keep = H5.keepFocus ? main.querySelector('[name="' + CSS.escape(want.name) + '"]') : null;
    (keep || h1).focus();
    return main;
  };

  // say announces a result to assistive technology.
  H5.say = function (text) {
    const live = document.getElementById("live");
    live.textContent = "";
    setTimeout(function () { live.textContent = text; }, 50);
  };

  // errorBox shows the API's message (already in the page's language) and,
  // when the API gave one, its reason.
  H5.errorBox = function (e) {
    const box = el("div", { "class": "error", role: "alert" });
    H5.showError(box, e);
    return box;
  };
  H5.showError = function (box, e) {
    box.hidden = false;
    // replaceChildren would write a null out as the text "null".
    box.replaceChildren(el("p", { "class": "mn-text msg" }, (e && e.message) || t("common.error.network")));
    if (e && e.reason) box.append(el("p", { "class": "mn-text reason" }, e.reason));
  };

  // confirmBtn is a button for a step one tap should not take alone
  // (removing a family member, ending a grant). The first tap asks in
  // place, the consequence in words, and only the yes button acts; focus
  // goes to the question, and back to the button on no, so a screen
  // reader follows. act's error shows under the question.
  H5.confirmBtn = function (id, askId, yesId, noId, act) {
    const box = el("div", { "class": "confirm" });
    const err = el("div", { "class": "error", role: "alert", hidden: true });
    const ask = el("p", { "class": "mn-text ask", tabindex: "-1" }, t(askId));
    const open = H5.btn(id, function () {
      box.replaceChildren(ask, err, el("div", { "class": "actions" }, yes, no));
      LB.apply(box);
      ask.focus();
    }, "secondary");
    const yes = H5.btn(yesId, async function () {
      yes.disabled = true;
      try { await act(); } catch (e) {
        // Gone already (ended on another phone): show what is there now.
        if (e && e.status === 404) { H5.render(); return; }
        H5.showError(err, e);
      } finally { yes.disabled = false; }
    }, "primary");
    const no = H5.btn(noId, function () {
      err.hidden = true;
      box.replaceChildren(open);
      open.focus();
    }, "secondary");
    box.append(open);
    return box;
  };

  // Builders. Text blocks carry mn-text: in Mongolian they turn vertical.
  H5.p = function (id, vars, cls) { return el("p", { "class": "mn-text" + (cls ? " " + cls : "") }, t(id, vars)); };
  H5.h2 = function (id, vars) { return el("h2", { "class": "mn-text" }, t(id, vars)); };
  H5.text = function (s, cls) { return el("p", { "class": "mn-text" + (cls ? " " + cls : "") }, s); };
  H5.link = function (id, href, cls) { return el("a", { "class": "btn " + (cls || ""), href: href }, t(id)); };
  H5.btn = function (id, onclick, cls) { return el("button", { type: "button", "class": "btn " + (cls || ""), onclick: onclick }, t(id)); };
  // money is an amount: horizontal in every script, larger in 长辈版.
  H5.money = function (fen, big) { return el("span", { "class": "num amount" + (big ? " big" : "") }, LB.yuan(fen)); };
  H5.num = function (s) { return el("span", { "class": "num" }, String(s)); };
  // period "202612" reads as 2026-12.
  H5.period = function (p) { p = String(p || ""); return p.length === 6 ? p.slice(0, 4) + "-" + p.slice(4) : p; };
  H5.when = function (iso) {
    if (!iso) return "";
    const d = new Date(iso);
    const z = function (n) { return (n < 10 ? "0" : "") + n; };
    return d.getFullYear() + "-" + z(d.getMonth() + 1) + "-" + z(d.getDate()) + " " + z(d.getHours()) + ":" + z(d.getMinutes());
  };
  // kv is one labelled value of a summary list.
  H5.kv = function (labelId, value) {
    return el("div", { "class": "kv" }, el("dt", { "class": "mn-text" }, t(labelId)), el("dd", null, value));
  };

  let fieldSeq = 0;
  // field is a labelled input; hint (an id) is tied to it by aria-describedby.
  H5.field = function (labelId, input, hintId) {
    const id = input.id || ("f" + (++fieldSeq));
    input.id = id;
    const hint = hintId ? el("p", { "class": "hint mn-text", id: id + "-hint" }, t(hintId)) : null;
    if (hint) input.setAttribute("aria-describedby", id + "-hint");
    return el("div", { "class": "field" }, el("label", { "for": id, "class": "mn-text" }, t(labelId)), hint, input);
  };
  H5.input = function (attrs) { return el("input", Object.assign({ type: "text" }, attrs)); };
  // select builds a <select> of [value, label] pairs.
  H5.select = function (attrs, options) {
    return el("select", attrs, options.map(function (o) { return el("option", { value: o[0] }, o[1]); }));
  };

  // form wires a submit: the button is busy while the call runs, the
  // error box shows the API's words, success is announced.
  H5.form = function (children, submitId, onsubmit) {
    const err = el("div", { "class": "error", role: "alert", hidden: true });
    const btn = el("button", { type: "submit", "class": "btn primary" }, t(submitId));
    const f = el("form", { novalidate: true }, children, err, btn);
    f.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      if (btn.disabled) return;
      btn.disabled = true; err.hidden = true;
      try { await onsubmit(f); } catch (e) { H5.showError(err, e); err.scrollIntoView({ block: "nearest" }); } finally { btn.disabled = false; }
    });
    return f;
  };

  // nav is the way back to the start page at the foot of every screen.
  H5.nav = function () {
    return el("nav", { "class": "foot", "aria-label": t("h5.nav.label") }, H5.link("h5.nav.home", "#/", "secondary"));
  };

  // persons lists "self" and the family members as [value, label].
  H5.persons = async function () {
    const fam = await H5.call("GET", "/me/family");
    return [["self", t("h5.person.self")]].concat(fam.items.map(function (m) {
      return [m.member_id, t("h5.relation." + m.relation) + " " + m.name_masked];
    }));
  };

  // yuanToFen reads "12.3" as 1230 fen without floating point.
  H5.yuanToFen = function (s) {
    const m = /^\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(String(s || ""));
    if (!m) return 0;
    return Number(m[1]) * 100 + Number(((m[2] || "") + "00").slice(0, 2));
  };

  // pendingOrder is the order this tab last sent to a cashier, so a person
  // coming back from Alipay's cashier (or a closed tab of it) finds it.
  H5.pendingOrder = function (no) {
    try {
      if (no === undefined) return sessionStorage.getItem("lb.h5.pending") || "";
      if (no) sessionStorage.setItem("lb.h5.pending", no); else sessionStorage.removeItem("lb.h5.pending");
    } catch (e) { /* no storage: the records screen still shows it */ }
    return "";
  };

  H5.inWechat = /MicroMessenger/i.test(navigator.userAgent);
  H5.inAlipay = /AlipayClient/i.test(navigator.userAgent);

  window.H5 = H5;
})();
