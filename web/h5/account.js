// account.js: the start page, login (sandbox, 微信城市服务, Alipay H5, 蒙速办),
// real-name binding, the service guide, family members and enrolment.
"use strict";
(function () {
  const el = LB.el, t = LB.t;
  const WX_STATE = "lb.h5.wxstate", ALI_STATE = "lb.h5.alistate", MSB_LOGIN = "lb.h5.msb";
  const MSB_CALLBACK = "/h5/mengsuban/callback";

  // The start page: the three things people come for first, big; "pay
  // for my parents" is one tap from here.
  H5.route("start", async function () {
    if (!H5.token()) {
      H5.screen("h5.start.title",
        H5.p("h5.start.welcome"),
        el("nav", { "class": "tiles", "aria-label": t("h5.start.tasks") },
          H5.link("h5.start.login", "#/login", "primary tile"),
          H5.link("h5.start.guide", "#/guide", "tile")));
      return;
    }
    const me = await H5.loadMe();
    const tiles = me.real_name_verified ? [
      H5.link("h5.start.parents", "#/parents", "primary tile"),
      H5.link("h5.start.payables", "#/payables/self", "primary tile"),
      H5.link("h5.start.guide", "#/guide", "tile"),
      H5.link("h5.start.enrol", "#/enrol", "tile"),
      H5.link("h5.start.family", "#/family", "tile"),
      H5.link("h5.start.records", "#/records/self", "tile"),
      H5.link("h5.start.certs", "#/certs", "tile"),
      H5.link("h5.start.refunds", "#/refunds", "tile"),
      H5.link("h5.start.messages", "#/messages", "tile"),
    ] : [
      H5.link("h5.start.identity", "#/identity", "primary tile"),
      H5.link("h5.start.guide", "#/guide", "tile"),
    ];
    const pending = H5.pendingOrder();
    H5.screen("h5.start.title",
      me.real_name_verified ? el("p", { "class": "mn-text" }, t("h5.start.hello", { name: "" }), el("span", { "class": "num" }, me.name_masked)) : H5.p("h5.start.verifyFirst"),
      pending ? H5.link("h5.start.pending", "#/pay/" + encodeURIComponent(pending), "primary") : null,
      el("nav", { "class": "tiles", "aria-label": t("h5.start.tasks") }, tiles),
      H5.btn("h5.logout", async function () {
        try { await H5.call("DELETE", "/sessions/current"); } catch (e) { /* the session is dropped here either way */ }
        H5.setToken("");
        H5.go("#/");
      }, "secondary"));
  }, { public: true });

  // Login. Each way appears only where it can work: on a server that has
  // it (listLoginMethods), and for WeChat's web OAuth and Alipay's web
  // authorization only inside their apps. 蒙速办's sign-in (OpenID
  // Connect) works in any browser and in 蒙速办's own app. If the server
  // cannot be asked, every way that fits the browser is offered, and one
  // the server lacks says so when tapped.
  H5.route("login", async function () {
    // At most 3 seconds: the screen needed no network before, and a hung
    // answer must not leave it blank.
    let methods = null;
    try {
      methods = (await Promise.race([LB.api("GET", "/api/v1/sessions/methods"),
        new Promise(function (_, reject) { setTimeout(function () { reject(new Error("timeout")); }, 3000); })])).methods;
    } catch (e) { methods = null; }
    const has = function (m) { return !methods || methods.indexOf(m) >= 0; };
    const inWechat = H5.inWechat && has("wechat_web"), inAlipay = H5.inAlipay && has("alipay_web");
    const parts = [];
    if (H5.sandbox) {
      const subject = H5.input({ name: "subject", autocomplete: "username", value: "h5-" + LB.newKey().slice(0, 8) });
      parts.push(H5.h2("h5.login.sandbox"), H5.form([H5.field("h5.login.subject", subject, "h5.login.subjectHint")], "h5.login.submit", async function () {
        const res = await LB.api("POST", "/api/v1/sessions/sandbox", { body: { subject: subject.value.trim() } });
        loggedIn(res);
      }));
    }
    if (inWechat) {
      const err = el("div", { "class": "error", role: "alert", hidden: true });
      parts.push(H5.h2("h5.login.wechat"), err, H5.btn("h5.login.wechatGo", async function () {
        try { await redirectStart("wechat-web", WX_STATE); } catch (e) { H5.showError(err, e); }
      }, "primary"));
    }
    if (inAlipay) {
      const err = el("div", { "class": "error", role: "alert", hidden: true });
      parts.push(H5.h2("h5.login.alipay"), err, H5.btn("h5.login.alipayGo", async function () {
        try { await redirectStart("alipay-web", ALI_STATE); } catch (e) { H5.showError(err, e); }
      }, "primary"));
    }
    if (has("mengsuban")) {
      const msbErr = el("div", { "class": "error", role: "alert", hidden: true });
      parts.push(H5.h2("h5.login.mengsuban"), msbErr, H5.btn("h5.login.mengsubanGo", async function () {
        try { await mengsubanStart(); } catch (e) { H5.showError(msbErr, e); }
      }, inWechat || inAlipay ? "secondary" : "primary"));
    }
    // Pointing to the apps only where that would work: outside them, on a
    // server that has their web logins.
    const elsewhere = (!H5.inWechat && has("wechat_web")) || (!H5.inAlipay && has("alipay_web"));
    if (!H5.sandbox && !inWechat && !inAlipay && elsewhere) parts.push(H5.p("h5.login.openInApp"));
    if (!parts.length) parts.push(H5.p("h5.login.noneHere"));
    H5.screen("h5.login.title", parts, H5.nav());
  }, { public: true });

  function loggedIn(res) {
    H5.setToken(res.token);
    H5.me = res.user;
    H5.say(t("h5.login.done"));
    const back = H5.returnTo();
    H5.go(!res.user.real_name_verified ? "#/identity" : back || "#/");
  }

  // redirectStart sends the person to WeChat's authorize page or Alipay's
  // web authorization page (login is "wechat-web" or "alipay-web"). The
  // server issues the URL and its one-time state, which this tab keeps
  // under key (login CSRF: a code is only posted back with the state this
  // tab was given).
  async function redirectStart(login, key) {
    const back = location.origin + location.pathname;
    const start = await LB.api("POST", "/api/v1/sessions/" + login + "/authorize", { body: { redirect_uri: back } });
    try { sessionStorage.setItem(key, start.state || ""); } catch (e) { /* then the return is refused */ }
    location.assign(start.authorization_url);
  }

  // mengsubanStart sends the person to 蒙速办's sign-in with PKCE: the
  // verifier never leaves this tab until the code comes back, and the
  // server only hands its one-time state to the tab that started.
  async function mengsubanStart() {
    const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
    const back = location.origin + MSB_CALLBACK;
    const start = await LB.api("POST", "/api/v1/sessions/mengsuban/authorize",
      { body: { redirect_uri: back, code_challenge: b64url(new Uint8Array(digest)) } });
    try {
      sessionStorage.setItem(MSB_LOGIN, JSON.stringify({ state: start.state, verifier: verifier, redirect_uri: back }));
    } catch (e) {
      // Without it the return would be refused: say so before sending
      // the person to sign in for nothing.
      throw new LB.ApiError(0, { error: { message: t("h5.login.noStorage") } });
    }
    location.assign(start.authorization_url);
  }

  // b64url is unpadded base64url (PKCE's verifier and challenge).
  function b64url(bytes) {
    let s = "";
    bytes.forEach(function (b) { s += String.fromCharCode(b); });
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // takeState returns the state this tab kept under key and forgets it:
  // a state serves one return.
  function takeState(key) {
    try { const kept = sessionStorage.getItem(key) || ""; sessionStorage.removeItem(key); return kept; } catch (e) { return ""; }
  }

  // finishLogin runs once at start: WeChat (code, state) or Alipay
  // (auth_code, state) sent the person back here. The code is taken out
  // of the address at once, then posted.
  H5.finishLogin = async function () {
    const q = new URLSearchParams(location.search);
    const code = q.get("code"), authCode = q.get("auth_code"), state = q.get("state");
    const mismatch = function () { return new LB.ApiError(401, { error: { message: t("h5.login.stateMismatch") } }); };
    if (location.pathname === MSB_CALLBACK) {
      // 蒙速办 sent the person back: the address becomes the H5's own
      // at once, and the code is posted only with this tab's state and
      // verifier.
      history.replaceState(null, "", "/h5/" + location.hash);
      let kept = null;
      try { kept = JSON.parse(sessionStorage.getItem(MSB_LOGIN) || "null"); sessionStorage.removeItem(MSB_LOGIN); } catch (e) { kept = null; }
      try {
        if (q.get("error")) throw new LB.ApiError(401, { error: { message: t("h5.login.mengsubanRefused") } });
        if (!code) return;
        if (!kept || !state || state !== kept.state) throw mismatch();
        loggedIn(await LB.api("POST", "/api/v1/sessions/mengsuban",
          { body: { code: code, state: state, redirect_uri: kept.redirect_uri, code_verifier: kept.verifier } }));
      } catch (e) {
        H5.pendingError = e;
      }
      return;
    }
    if (!code && !authCode) return;
    history.replaceState(null, "", location.pathname + location.hash);
    try {
      if (authCode) {
        // Only with the state this tab was given: a bare auth_code (a
        // link anyone can make with their own) is dropped unposted.
        const mine = takeState(ALI_STATE);
        if (!state) return;
        if (state !== mine) throw mismatch();
        loggedIn(await LB.api("POST", "/api/v1/sessions/alipay-web", { body: { auth_code: authCode, state: state } }));
        return;
      }
      const kept = takeState(WX_STATE);
      if (state && state !== kept) throw mismatch();
      const body = { code: code };
      if (state) body.state = state;
      loggedIn(await LB.api("POST", "/api/v1/sessions/wechat-web", { body: body }));
    } catch (e) {
      H5.pendingError = e;
    }
  };

  // Real-name binding: the sandbox accepts its demo people and any new
  // valid ID number; real channels check a face ticket server-side.
  H5.route("identity", async function () {
    const name = H5.input({ name: "name", autocomplete: "name" });
    const idn = H5.input({ name: "id_number", inputmode: "text", autocomplete: "off", "class": "num-input" });
    const phone = H5.input({ name: "phone", type: "tel", inputmode: "numeric", autocomplete: "tel", "class": "num-input" });
    H5.screen("h5.identity.title", H5.p("h5.identity.why"), H5.form([
      H5.field("h5.identity.name", name),
      H5.field("h5.identity.idNumber", idn),
      H5.field("h5.identity.phone", phone, "h5.identity.phoneHint"),
    ], "h5.identity.submit", async function () {
      const body = { name: name.value.trim(), id_number: idn.value.trim() };
      if (phone.value.trim()) body.phone = phone.value.trim();
      H5.me = await H5.call("POST", "/me/identity", { body: body });
      H5.say(t("h5.identity.done"));
      H5.go("#/");
    }), H5.nav());
  });

  // The service guide: the hall's businesses, then one business with its
  // conditions, materials and steps, and the region's fee standards.
  H5.route("guide", async function (args, query) {
    const res = await LB.api("GET", "/api/v1/services");
    if (!args[0]) {
      H5.screen("h5.guide.title", H5.p("h5.guide.intro"),
        el("ul", { "class": "list" }, res.items.map(function (s) {
          return el("li", null, el("a", { "class": "row", href: "#/guide/" + encodeURIComponent(s.code) },
            el("span", { "class": "mn-text" }, s.name), el("span", { "class": "tag" }, t("h5.dept." + s.department))));
        })), H5.nav());
      return;
    }
    const s = res.items.find(function (x) { return x.code === args[0]; });
    if (!s) { H5.go("#/guide"); return; }
    const list = function (items) { return el("ul", { "class": "plain" }, items.map(function (x) { return el("li", { "class": "mn-text" }, x); })); };
    const region = query.get("region") || "150100";
    const policy = await LB.api("GET", "/api/v1/policy?region=" + encodeURIComponent(region));
    const regionSel = H5.select({ name: "region" }, policy.regions.map(function (r) { return [r.code, r.name]; }));
    regionSel.value = policy.region_code;
    regionSel.addEventListener("change", function () { H5.refine("#/guide/" + encodeURIComponent(s.code) + "?region=" + regionSel.value, regionSel); });
    H5.screen("h5.guide.detail",
      el("h2", { "class": "mn-text" }, s.name),
      el("dl", { "class": "summary" },
        H5.kv("h5.guide.dept", t("h5.dept." + s.department)),
        H5.kv("h5.guide.who", s.who),
        H5.kv("h5.guide.timeLimit", s.time_limit),
        H5.kv("h5.guide.delivery", s.result_delivery)),
      H5.h2("h5.guide.conditions"), list(s.conditions),
      H5.h2("h5.guide.materials"), s.materials.length ? list(s.materials.map(function (m) { return m.name + " × " + m.copies + (m.note ? "（" + m.note + "）" : ""); })) : H5.p("h5.guide.noMaterials"),
      H5.h2("h5.guide.steps"), el("ol", { "class": "plain" }, s.steps.map(function (x) { return el("li", { "class": "mn-text" }, x); })),
      H5.h2("h5.guide.policy"),
      H5.field("h5.guide.region", regionSel),
      el("dl", { "class": "summary" },
        H5.kv("h5.guide.year", H5.num(policy.year)),
        H5.kv("h5.guide.residentMedical", H5.money(policy.resident_medical.amount_fen, true)),
        H5.kv("h5.guide.pensionBase", el("span", null, H5.money(policy.flexible_pension.base_min_fen), " – ", H5.money(policy.flexible_pension.base_max_fen)))),
      policy.provisional ? H5.p("h5.guide.provisional", null, "note") : null,
      H5.text(policy.source, "hint"),
      H5.token() ? H5.link("h5.guide.enrol", "#/enrol", "primary") : H5.link("h5.start.login", "#/login", "primary"),
      H5.nav());
  }, { public: true });

  // Family: who the person pays for. Knowing a name and ID number only
  // lets one pay; the API's note says what else a link allows.
  H5.route("family", async function (args) {
    if (args[0] === "add") {
      const name = H5.input({ name: "name", autocomplete: "off" });
      const idn = H5.input({ name: "id_number", autocomplete: "off", "class": "num-input" });
      const rel = H5.select({ name: "relation" }, ["parent", "spouse", "child", "other"].map(function (r) { return [r, t("h5.relation." + r)]; }));
      H5.screen("h5.family.add", H5.p("h5.family.addWhy"), H5.form([
        H5.field("h5.family.relation", rel),
        H5.field("h5.identity.name", name),
        H5.field("h5.identity.idNumber", idn),
      ], "h5.family.addSubmit", async function () {
        const m = await H5.call("POST", "/me/family", { body: { name: name.value.trim(), id_number: idn.value.trim(), relation: rel.value } });
        H5.say(t("h5.family.added"));
        H5.go(rel.value === "parent" ? "#/parents" : "#/family?added=" + encodeURIComponent(m.member_id));
      }), H5.nav());
      return;
    }
    const fam = await H5.call("GET", "/me/family");
    H5.screen("h5.family.title",
      fam.items.length ? el("ul", { "class": "list" }, fam.items.map(function (m) {
        return el("li", { "class": "card" },
          el("p", { "class": "who mn-text" }, el("span", null, t("h5.relation." + m.relation)), " ", m.name_masked, " ", H5.num(m.id_number_masked)),
          el("p", { "class": "mn-text hint" }, m.records_access_note),
          el("div", { "class": "actions" },
            H5.link("h5.family.payables", "#/payables/" + encodeURIComponent(m.member_id), "primary"),
            H5.link("h5.family.enrol", "#/enrol?person=" + encodeURIComponent(m.member_id), "secondary"),
            m.records_access !== "none" ? H5.link("h5.start.records", "#/records/" + encodeURIComponent(m.member_id), "secondary") : null,
            m.guardianship === "registry" ? H5.link("h5.guardians.title", "#/guardians/" + encodeURIComponent(m.member_id), "secondary") : null),
          H5.confirmBtn("h5.family.remove", m.guardianship === "registry" ? "h5.family.removeAskGuardian" : "h5.family.removeAsk", "h5.family.removeYes", "h5.family.keep", async function () {
            await H5.call("DELETE", "/me/family/" + encodeURIComponent(m.member_id));
            H5.say(t("h5.family.removed"));
            H5.render();
          }));
      })) : H5.p("h5.family.none"),
      H5.link("h5.family.add", "#/family/add", "primary"),
      H5.link("h5.grants.title", "#/grants", "secondary"),
      H5.nav());
  }, { verified: true });

  // Grants: who may see the person's own records and certificates (a son
  // looking after an elderly mother's contributions), once they have the
  // person among their family. A grant names a person by ID number and
  // covers every account of theirs; ending one takes effect on the
  // grantee's next request.
  H5.route("grants", async function () {
    // Every page: the list is oldest first with ended grants in it, and a
    // live grant on a later page must not look like none.
    const list = { items: [] };
    let token = "";
    do {
      const page = await H5.call("GET", "/me/grants?page_size=200" + (token ? "&page_token=" + encodeURIComponent(token) : ""));
      list.items = list.items.concat(page.items);
      token = page.next_page_token;
    } while (token);
    const idn = H5.input({ name: "grantee_id_number", autocomplete: "off", "class": "num-input" });
    const live = list.items.filter(function (g) { return !g.revoked_at; });
    const ended = list.items.filter(function (g) { return g.revoked_at; });
    const card = function (g) {
      return el("li", { "class": "card" },
        g.grantee_id_number_masked ? el("p", { "class": "who mn-horizontal" }, H5.num(g.grantee_id_number_masked)) : el("p", { "class": "who mn-text" }, t("h5.grants.anAccount")),
        el("p", { "class": "mn-text hint" }, g.revoked_at ? t("h5.grants.endedAt", { at: H5.when(g.revoked_at) }) : t("h5.grants.since", { at: H5.when(g.created_at) })),
        g.revoked_at ? null : H5.confirmBtn("h5.grants.revoke", "h5.grants.revokeAsk", "h5.grants.revokeYes", "h5.grants.keep", async function () {
          await H5.call("DELETE", "/me/grants/" + encodeURIComponent(g.grant_id));
          H5.say(t("h5.grants.revoked"));
          H5.render();
        }));
    };
    H5.screen("h5.grants.title", H5.p("h5.grants.why"),
      live.length ? el("ul", { "class": "list", id: "grants" }, live.map(card)) : H5.p("h5.grants.none"),
      H5.form([H5.field("h5.grants.idNumber", idn, "h5.grants.idHint")], "h5.grants.submit", async function () {
        await H5.call("POST", "/me/grants", { body: { grantee_id_number: idn.value.trim() } });
        H5.say(t("h5.grants.done"));
        H5.render();
      }),
      ended.length ? [H5.h2("h5.grants.ended"), el("ul", { "class": "list", id: "grants-ended" }, ended.map(card))] : null,
      H5.nav());
  }, { verified: true });

  // Guardians of a minor: a guardian the household registry names may let
  // another verified person (the other parent, a grandparent) be one too,
  // and end such a consent.
  H5.route("guardians", async function (args) {
    const id = encodeURIComponent(args[0]);
    const list = await H5.call("GET", "/me/family/" + id + "/guardians");
    const idn = H5.input({ name: "guardian_id_number", autocomplete: "off", "class": "num-input" });
    H5.screen("h5.guardians.title", H5.p("h5.guardians.why"),
      el("ul", { "class": "list" }, list.items.map(function (g) {
        const err = el("div", { "class": "error", role: "alert", hidden: true });
        return el("li", { "class": "card" },
          el("p", { "class": "who mn-horizontal" }, g.name_masked, " ", H5.num(g.id_number_masked)),
          el("p", { "class": "mn-text hint" }, t("h5.guardians.kind." + (g.revoked_at ? "revoked" : g.source))),
          err,
          g.source === "consent" && !g.revoked_at ? H5.btn("h5.guardians.revoke", async function () {
            try { await H5.call("DELETE", "/me/family/" + id + "/guardians/" + encodeURIComponent(g.guardian_id)); H5.render(); } catch (e) { H5.showError(err, e); }
          }, "secondary") : null);
      })),
      H5.form([H5.field("h5.guardians.idNumber", idn, "h5.guardians.idHint")], "h5.guardians.submit", async function () {
        await H5.call("POST", "/me/family/" + id + "/guardians", { body: { guardian_id_number: idn.value.trim() } });
        H5.say(t("h5.guardians.done"));
        H5.render();
      }), H5.nav());
  }, { verified: true });

  // Enrolment (参保登记) for the person or a family member.
  H5.route("enrol", async function (args, query) {
    const persons = await H5.persons();
    const policy = await LB.api("GET", "/api/v1/policy");
    const who = H5.select({ name: "person" }, persons);
    if (query.get("person")) who.value = query.get("person");
    const scheme = H5.select({ name: "scheme" }, ["flexible_pension", "flexible_medical", "resident_medical", "resident_pension"].map(function (s) { return [s, t("h5.scheme." + s)]; }));
    const region = H5.select({ name: "region" }, policy.regions.map(function (r) { return [r.code, r.name]; }));
    region.value = policy.region_code;
    const option = H5.select({ name: "medical_option" }, ["combined", "pooling_only"].map(function (o) { return [o, t("h5.medical." + o)]; }));
    const optField = H5.field("h5.enrol.medicalOption", option);
    const sync = function () { optField.hidden = scheme.value !== "flexible_medical"; };
    scheme.addEventListener("change", sync); sync();
    const done = el("div", { "class": "result", hidden: true });
    const current = el("div");
    const showCurrent = async function () {
      const list = await H5.call("GET", "/enrolments?person=" + encodeURIComponent(who.value));
      current.replaceChildren(H5.h2("h5.enrol.current"), list.items.length ? el("ul", { "class": "list" }, list.items.map(function (e) {
        return el("li", { "class": "card" }, el("span", { "class": "mn-text" }, t("h5.scheme." + e.scheme)), " ", e.region_name, e.receipt_no ? el("span", { "class": "hint" }, " ", H5.num(e.receipt_no)) : null);
      })) : H5.p("h5.enrol.none"));
      LB.apply(current);
    };
    who.addEventListener("change", showCurrent);
    H5.screen("h5.enrol.title", H5.p("h5.enrol.why"), H5.form([
      H5.field("h5.enrol.person", who),
      H5.field("h5.enrol.scheme", scheme),
      H5.field("h5.enrol.region", region),
      optField,
    ], "h5.enrol.submit", async function () {
      const body = { person: who.value, scheme: scheme.value, region_code: region.value };
      if (scheme.value === "flexible_medical") body.medical_option = option.value;
      const e = await H5.call("POST", "/enrolments", { body: body });
      done.hidden = false;
      done.replaceChildren(H5.p("h5.enrol.done", { scheme: t("h5.scheme." + e.scheme) }), e.receipt_no ? el("p", { "class": "mn-horizontal" }, H5.num(e.receipt_no)) : null,
        H5.link("h5.family.payables", "#/payables/" + encodeURIComponent(who.value), "primary"));
      H5.say(t("h5.enrol.done", { scheme: t("h5.scheme." + e.scheme) }));
      await showCurrent();
    }), done, current, H5.nav());
    await showCurrent();
  }, { verified: true });
})();
