// Partners of the counter API (admin): the banks, 云POS, 裕农通 points and
// the hall's POS that sign /partner/v1 requests. An admin makes a partner
// with its first key, adds a key when the partner rotates, retires the old
// one once its terminals have moved over, and stops or restarts a partner.
// A key's secret is shown once, when it is made, until the admin says it
// was handed over; the list shows key ids and states, never a secret.
"use strict";
(function (C) {
  const el = C.el, t = C.t;
  const CHANNELS = ["bank_counter", "yun_pos", "yunongtong", "hall_pos"];

  C.screens.partners = async function () {
    const m = C.screen("console.partners.title");
    const box = el("p", { class: "error", role: "alert" });
    const secret = el("div", { class: "secret-slot" });
    const list = el("div");
    const more = el("button", { type: "button", class: "secondary", hidden: true }, t("console.more"));
    const id = el("input", { name: "partner_id", required: true, autocomplete: "off", spellcheck: "false", pattern: "[a-z][a-z0-9\\-]{2,39}" });
    const name = el("input", { name: "name", required: true, autocomplete: "off", maxlength: "64" });
    const boxes = CHANNELS.map(function (c) { return el("input", { type: "checkbox", name: "channels", value: c }); });
    const channels = el("fieldset", { class: "checks" }, el("legend", null, t("console.partners.channels")),
      CHANNELS.map(function (c, i) { return el("label", null, boxes[i], " ", t("console.channel." + c)); }));
    const create = el("button", { type: "submit", class: "primary" }, t("console.accounts.create"));
    const form = el("form", { class: "filters" }, C.field(t("console.partners.id"), id), C.field(t("console.partners.name"), name), channels, create);
    m.append(el("h2", null, t("console.partners.new")), el("p", { class: "hint" }, t("console.partners.id_hint")), form, secret, box, list, more);

    // showOnce shows a new key's secret until handed over.
    const showOnce = function (k) {
      C.showOnce(secret, t("console.partners.once", { partner: k.partner_id }),
        [[t("console.partners.id"), el("code", null, k.partner_id)], [t("console.partners.key"), el("code", null, k.key_id)],
          [t("console.partners.secret"), el("code", { "data-secret": "partner" }, k.secret)],
          [t("console.partners.retired_now"), (k.retired_key_ids || []).join(", ")]],
        t("console.partners.once_hint"));
    };

    let items = [], next = "";
    const draw = function () {
      list.replaceChildren(C.table(t("console.partners.caption"),
        [t("console.partners.id"), t("console.partners.name"), t("console.partners.channels"), t("console.refunds.status"), t("console.partners.keys"), t("console.case.actions")],
        items.map(function (p) {
          const live = p.keys.filter(function (k) { return k.status === "live"; });
          const keys = el("ul", { class: "plain" }, p.keys.map(function (k) {
            const li = el("li", null, el("code", null, k.key_id), " ", t("console.partners.key_" + k.status), " · ", C.time(k.created_at));
            // The only live key is not retired here: rotate first, or
            // stop the partner (the server refuses it too).
            if (k.status === "live" && live.length > 1) {
              const retire = el("button", { type: "button", class: "secondary", "data-retire": k.key_id }, t("console.partners.retire"));
              retire.addEventListener("click", function () {
                if (!confirm(t("console.partners.retire_confirm", { key: k.key_id, partner: p.partner_id }))) return;
                C.run(retire, box, async function () {
                  await C.api("DELETE", "/partners/" + encodeURIComponent(p.partner_id) + "/keys/" + encodeURIComponent(k.key_id));
                  C.say(t("console.partners.retired", { key: k.key_id }));
                  await load(true);
                });
              });
              li.append(" ", retire);
            }
            return li;
          }));
          const acts = el("span", { class: "row" });
          const rotate = el("button", { type: "button", class: "secondary", "data-rotate": p.partner_id }, t("console.partners.rotate"));
          rotate.addEventListener("click", function () {
            if (!confirm(t(live.length > 1 ? "console.partners.rotate_confirm_two" : "console.partners.rotate_confirm", { partner: p.partner_id }))) return;
            C.run(rotate, box, async function () {
              showOnce(await C.api("POST", "/partners/" + encodeURIComponent(p.partner_id) + "/keys"));
              await load(true);
            });
          });
          const on = p.status === "active";
          const toggle = el("button", { type: "button", class: on ? "danger" : "secondary", "data-toggle": p.partner_id },
            t(on ? "console.partners.disable" : "console.partners.enable"));
          toggle.addEventListener("click", function () {
            if (!confirm(t(on ? "console.partners.disable_confirm" : "console.partners.enable_confirm", { partner: p.partner_id }))) return;
            C.run(toggle, box, async function () {
              await C.api("POST", "/partners/" + encodeURIComponent(p.partner_id) + (on ? "/disable" : "/enable"));
              await load(true);
            });
          });
          if (on) acts.append(rotate);
          acts.append(toggle);
          return [el("code", null, p.partner_id), p.name, p.channels.map(function (c) { return t("console.channel." + c); }).join("、"),
            t("console.partners." + p.status), keys, acts];
        })));
    };
    const load = async function (reset) {
      const q = new URLSearchParams({ page_size: "100" });
      if (!reset && next) q.set("page_token", next);
      const res = await C.api("GET", "/partners?" + q.toString());
      items = reset ? res.items : items.concat(res.items);
      next = res.next_page_token;
      more.hidden = !next;
      draw();
    };
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      const picked = boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
      if (!picked.length) { box.textContent = t("console.partners.pick_channel"); boxes[0].focus(); return; }
      C.run(create, box, async function () {
        showOnce(await C.api("POST", "/partners", { body: { partner_id: id.value.trim(), name: name.value.trim(), channels: picked } }));
        id.value = name.value = "";
        boxes.forEach(function (b) { b.checked = false; });
        await load(true);
      });
    });
    more.addEventListener("click", function () { C.run(more, box, function () { return load(false); }); });
    await C.run(null, box, function () { return load(true); });
  };
})(window.Console);
