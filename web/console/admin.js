// Staff accounts (admin: list, create, disable, reset; a new or reset
// account's password and TOTP secret are shown once and never again), the
// audit log (auditor: filter, read, export as CSV) and, for everyone,
// changing one's own password.
"use strict";
(function (C) {
  const el = C.el, t = C.t;
  const ROLES = ["tax_window", "si_reviewer", "mi_reviewer", "admin", "auditor"];

  C.screens.accounts = async function () {
    const m = C.screen("console.accounts.title");
    const box = el("p", { class: "error", role: "alert" });
    const secret = el("div", { class: "secret-slot" });
    const list = el("div");
    const username = el("input", { name: "username", required: true, autocomplete: "off", spellcheck: "false", pattern: "[a-z][a-z0-9_.\\-]{2,31}" });
    const role = C.select("role", ROLES.map(function (r) { return [r, t("console.role." + r)]; }), "tax_window");
    const create = el("button", { type: "submit", class: "primary" }, t("console.accounts.create"));
    const form = el("form", { class: "filters" }, C.field(t("console.login.username"), username), C.field(t("console.accounts.role"), role), create);
    m.append(el("h2", null, t("console.accounts.new")), form, secret, box, list);

    // showOnce shows one-time credentials until handed over.
    const showOnce = function (cred) {
      C.showOnce(secret, t("console.accounts.once", { username: cred.account.username }),
        [[t("console.login.password"), el("code", { "data-secret": "password" }, cred.password)],
          [t("console.accounts.totp_secret"), el("code", { "data-secret": "totp" }, cred.totp_secret)],
          [t("console.accounts.otpauth"), el("code", null, cred.otpauth_url)]],
        t("console.accounts.once_hint"));
    };
    const load = async function () {
      const res = await C.api("GET", "/accounts?page_size=100");
      list.replaceChildren(C.table(t("console.accounts.caption"),
        [t("console.login.username"), t("console.accounts.role"), t("console.refunds.status"), t("console.accounts.last_login"), t("console.case.actions")],
        res.items.map(function (a) {
          const acts = el("span", { class: "row" });
          if (a.status === "active") {
            const reset = el("button", { type: "button", class: "secondary", "data-reset": a.username }, t("console.accounts.reset"));
            const off = el("button", { type: "button", class: "danger", "data-disable": a.username }, t("console.accounts.disable"));
            reset.addEventListener("click", function () {
              if (!confirm(t("console.accounts.reset_confirm", { username: a.username }))) return;
              C.run(reset, box, async function () { showOnce(await C.api("POST", "/accounts/" + encodeURIComponent(a.staff_id) + "/reset")); await load(); });
            });
            off.addEventListener("click", function () {
              if (!confirm(t("console.accounts.disable_confirm", { username: a.username }))) return;
              C.run(off, box, async function () { await C.api("POST", "/accounts/" + encodeURIComponent(a.staff_id) + "/disable"); await load(); });
            });
            acts.append(reset, off);
          }
          return [a.username, t("console.role." + a.role), t("console.accounts." + a.status) + (a.locked ? " · " + t("console.accounts.locked") : ""),
            C.time(a.last_login_at), acts];
        })));
    };
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      C.run(create, box, async function () {
        showOnce(await C.api("POST", "/accounts", { body: { username: username.value.trim(), role: role.value } }));
        username.value = "";
        await load();
      });
    });
    await C.run(null, box, load);
  };

  // password: the one-time password an admin handed over (a new or reset
  // account) is changed here. The server wants the current password and a
  // fresh code, and on success ends every session of the account, this
  // one included, so the console goes back to the login form and says so.
  // A wrong answer is refused without ending the session, and counts
  // towards the account's lockout as a failed login does.
  C.screens.password = function () {
    const m = C.screen("console.password.title");
    const box = el("p", { class: "error", role: "alert" });
    const cur = el("input", { name: "current_password", type: "password", autocomplete: "current-password", required: true });
    const next = el("input", { name: "new_password", type: "password", autocomplete: "new-password", minlength: "12", maxlength: "128", required: true });
    const again = el("input", { name: "new_password_again", type: "password", autocomplete: "new-password", required: true });
    const code = C.codeInput();
    const submit = el("button", { type: "submit", class: "primary" }, t("console.password.submit"));
    // The account's name, unseen, so a password manager knows which saved
    // login the new password belongs to.
    const who = el("input", { type: "text", autocomplete: "username", value: C.state.me.username, hidden: true });
    const form = el("form", { class: "login", novalidate: true },
      el("p", { class: "hint" }, t("console.password.why")), who,
      C.field(t("console.password.current"), cur), C.field(t("console.password.new"), next),
      C.field(t("console.password.again"), again), C.field(t("console.login.totp"), code),
      el("p", { class: "hint" }, t("console.password.totp_hint")), box, submit);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      // Said here, before a request: a typo in the repeat is not a
      // failed attempt on the account.
      if (Array.from(next.value).length < 12) { box.textContent = t("console.password.short"); next.focus(); return; }
      if (next.value !== again.value) { box.textContent = t("console.password.mismatch"); again.focus(); return; }
      C.run(submit, box, async function () {
        await C.api("POST", "/me/password", { body: { current_password: cur.value, totp: code.value, new_password: next.value } });
        cur.value = next.value = again.value = code.value = "";
        C.end("console.password.changed", false);
      });
    });
    m.append(form);
  };

  C.screens.audit = async function () {
    const m = C.screen("console.audit.title");
    const box = el("p", { class: "error", role: "alert" });
    const f = {
      username: el("input", { name: "username", autocomplete: "off" }),
      action: el("input", { name: "action", autocomplete: "off", placeholder: "refund.accept" }),
      from: el("input", { name: "from", type: "date" }),
      to: el("input", { name: "to", type: "date" }),
    };
    const search = el("button", { type: "submit", class: "primary" }, t("console.audit.search"));
    const exp = el("button", { type: "button", class: "secondary", id: "export" }, t("console.audit.export"));
    const form = el("form", { class: "filters" }, C.field(t("console.login.username"), f.username), C.field(t("console.audit.action"), f.action),
      C.field(t("console.audit.from"), f.from), C.field(t("console.audit.to"), f.to), search, exp);
    const list = el("div");
    const more = el("button", { type: "button", class: "secondary", hidden: true }, t("console.more"));
    m.append(form, box, list, more);
    let items = [], next = "";
    const query = function () {
      const q = new URLSearchParams();
      Object.keys(f).forEach(function (k) { if (f[k].value.trim()) q.set(k, f[k].value.trim()); });
      return q;
    };
    const load = async function (reset) {
      const q = query();
      q.set("page_size", "50");
      if (!reset && next) q.set("page_token", next);
      const res = await C.api("GET", "/audit?" + q.toString());
      items = reset ? res.items : items.concat(res.items);
      next = res.next_page_token;
      more.hidden = !next;
      list.replaceChildren(C.table(t("console.audit.caption"),
        [t("console.audit.at"), t("console.login.username"), t("console.accounts.role"), t("console.audit.action"), t("console.audit.target"),
          t("console.audit.outcome"), t("console.audit.detail"), t("console.audit.ip")],
        items.map(function (a) {
          return [C.time(a.at), a.username, a.role ? t("console.role." + a.role) : "", el("code", { "data-action": a.action }, a.action),
            a.target_id ? a.target_kind + " " + a.target_id : a.target_kind, t("console.audit." + a.outcome), a.detail, a.client_ip];
        }), "grid audit"));
    };
    form.addEventListener("submit", function (ev) { ev.preventDefault(); C.run(search, box, function () { return load(true); }); });
    more.addEventListener("click", function () { C.run(more, box, function () { return load(false); }); });
    exp.addEventListener("click", function () {
      C.run(exp, box, function () { return C.download("/audit/export?" + query().toString(), "lianban-audit.csv"); });
    });
    await C.run(null, box, function () { return load(true); });
  };
})(window.Console);
