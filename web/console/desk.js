// The anomaly queue of the money checks (each role its own; the auditor
// reads all) and the hall's counter payment (the tax window declares for a
// person at the window and opens a payment the hall's POS confirms).
"use strict";
(function (C) {
  const el = C.el, t = C.t;
  const RESOLUTIONS = ["refunded", "booked", "no_discrepancy", "other"];
  const view = { status: "open" };

  C.screens.anomalies = function (args) {
    if (args[0]) return anomaly(args[0]);
    anomalies();
  };

  async function anomalies() {
    const m = C.screen("console.anomalies.title");
    const box = el("p", { class: "error", role: "alert" });
    const status = C.select("status", [["open", t("console.anomalies.open")], ["resolved", t("console.anomalies.resolved")], ["all", t("console.all")]], view.status);
    const list = el("div");
    const more = el("button", { type: "button", class: "secondary", hidden: true }, t("console.more"));
    m.append(el("form", { class: "filters" }, C.field(t("console.refunds.status"), status)), box, list, more);
    let items = [], next = "";
    const load = async function (reset) {
      const q = new URLSearchParams({ status: view.status, page_size: "50" });
      if (!reset && next) q.set("page_token", next);
      const res = await C.api("GET", "/anomalies?" + q.toString());
      items = reset ? res.items : items.concat(res.items);
      next = res.next_page_token;
      more.hidden = !next;
      list.replaceChildren(items.length ? C.table(t("console.anomalies.caption"),
        [t("console.anomalies.kind"), t("console.anomalies.order"), t("console.case.amount"), t("console.anomalies.opened"), t("console.refunds.status"), t("console.anomalies.owner")],
        items.map(function (a) {
          return [el("a", { href: "#/anomalies/" + encodeURIComponent(a.anomaly_id) }, a.kind_name), a.order_no || a.refund_no, LB.yuan(a.amount_fen),
            C.time(a.opened_at), t("console.anomalies." + a.status), t("console.role." + a.owner_role)];
        })) : el("p", null, t("console.none")));
    };
    status.addEventListener("change", function () { view.status = status.value; C.run(null, box, function () { return load(true); }); });
    more.addEventListener("click", function () { C.run(more, box, function () { return load(false); }); });
    await C.run(null, box, function () { return load(true); });
  }

  async function anomaly(id) {
    const m = C.screen("console.anomaly.title");
    const box = el("p", { class: "error", role: "alert" });
    const body = el("div");
    m.append(el("p", null, el("a", { href: "#/anomalies" }, t("common.back"))), box, body);
    const draw = function (a) {
      body.replaceChildren(C.facts([
        [t("console.anomalies.kind"), a.kind_name], [t("console.anomalies.source"), a.source], [t("console.case.channel"), a.channel],
        [t("console.anomalies.order"), a.order_no], [t("console.anomalies.refund"), a.refund_no], [t("console.case.amount"), LB.yuan(a.amount_fen)],
        [t("console.anomalies.detail"), a.detail], [t("console.anomalies.system"), a.system_action], [t("console.anomalies.opened"), C.time(a.opened_at)],
        [t("console.refunds.status"), t("console.anomalies." + a.status)], [t("console.anomalies.owner"), t("console.role." + a.owner_role)],
        [t("console.anomalies.resolution"), a.resolution_name ? a.resolution_name + (a.resolve_reason ? "：" + a.resolve_reason : "") : ""],
        [t("console.anomalies.resolved_at"), C.time(a.resolved_at)],
      ]));
      if (a.status !== "open" || a.owner_role !== C.role()) return;
      const how = C.select("resolution", RESOLUTIONS.map(function (r) { return [r, t("console.resolution." + r)]; }), "no_discrepancy");
      const reason = el("textarea", { name: "reason", rows: "3", minlength: "2", maxlength: "500", required: true });
      const submit = el("button", { type: "submit", class: "primary" }, t("console.anomaly.resolve"));
      const form = el("form", { class: "resolve" }, el("h2", null, t("console.anomaly.resolve")),
        C.field(t("console.anomalies.resolution"), how), C.field(t("console.anomaly.reason"), reason), submit);
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        C.run(submit, box, async function () {
          draw(await C.api("POST", "/anomalies/" + encodeURIComponent(id) + "/resolve", { body: { resolution: how.value, reason: reason.value } }));
          C.say(t("console.anomaly.resolved"));
        });
      });
      body.append(form);
    };
    await C.run(null, box, async function () { draw(await C.api("GET", "/anomalies/" + encodeURIComponent(id))); });
  }

  // The counter payment: look the person up (identity checked by the
  // registry), pick the payable, option and months, record the payer's
  // consent, and open the order the hall's POS then confirms.
  C.screens.hall = function () {
    const m = C.screen("console.hall.title");
    const box = el("p", { class: "error", role: "alert" });
    const name = el("input", { name: "name", autocomplete: "off", required: true });
    const idn = el("input", { name: "id_number", autocomplete: "off", required: true, maxlength: "18", spellcheck: "false" });
    const find = el("button", { type: "submit", class: "primary" }, t("console.hall.lookup"));
    const out = el("div");
    const lookup = el("form", { class: "filters" }, C.field(t("console.hall.name"), name), C.field(t("console.hall.id_number"), idn), find);
    m.append(el("p", { class: "hint" }, t("console.hall.hint")), lookup, box, out);
    lookup.addEventListener("submit", function (ev) {
      ev.preventDefault();
      C.run(find, box, async function () {
        const who = { name: name.value.trim(), id_number: idn.value.trim() };
        const p = await C.api("POST", "/hall/people/lookup", { body: who });
        out.replaceChildren(el("h2", null, t("console.hall.person", { name: p.person_name_masked, id: p.id_number_masked })));
        const open = (p.items || []).filter(function (pb) { return (pb.options || []).length && (pb.unpaid_periods || []).length; });
        if (!open.length) { out.append(el("p", null, t("console.hall.nothing"))); return; }
        open.forEach(function (pb) { out.append(payForm(who, pb)); });
      });
    });
  };

  function payForm(who, pb) {
    const box = el("p", { class: "error", role: "alert" });
    const periods = pb.unpaid_periods.map(function (x) { return [x, x]; });
    const option = C.select("option_code", pb.options.map(function (o) { return [o.code, o.label + " · " + LB.yuan(o.amount_fen)]; }), pb.options[0].code);
    const from = C.select("period_from", periods, periods[0][0]);
    const to = C.select("period_to", periods, periods[0][0]);
    const payer = el("input", { name: "payer_name", required: true, autocomplete: "off" });
    const relation = C.select("relation", ["self", "family", "other"].map(function (r) { return [r, t("console.hall.relation." + r)]; }), "self");
    const method = C.select("method", ["signature", "verbal"].map(function (r) { return [r, t("console.hall.method." + r)]; }), "signature");
    const submit = el("button", { type: "submit", class: "primary" }, t("console.hall.pay"));
    const result = el("div", { role: "status" });
    // A yearly scheme is paid for its whole year; a monthly one for the
    // months chosen.
    const yearly = pb.period_unit === "year";
    const form = el("form", { class: "pay" }, el("h3", null, pb.scheme_name + " · " + pb.year),
      C.field(t("console.hall.option"), option),
      yearly ? null : C.field(t("console.hall.from"), from), yearly ? null : C.field(t("console.hall.to"), to),
      el("fieldset", null, el("legend", null, t("console.hall.consent")), C.field(t("console.hall.payer"), payer),
        C.field(t("console.hall.relation"), relation), C.field(t("console.hall.method"), method)), box, submit, result);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      C.run(submit, box, async function () {
        const o = await C.api("POST", "/hall/payments", { body: Object.assign({}, who, { payable_id: pb.payable_id, option_code: option.value,
          period_from: yearly ? pb.period_from : from.value, period_to: yearly ? pb.period_to : to.value, consent: { payer_name: payer.value.trim(), relation: relation.value, method: method.value } }) });
        result.replaceChildren(el("p", { class: "ok" }, t("console.hall.opened", { order: o.order_no, amount: LB.yuan(o.amount_fen) })));
        submit.hidden = true; // one order per consent: a new payment starts from the look-up
      });
    });
    return form;
  }
})(window.Console);
