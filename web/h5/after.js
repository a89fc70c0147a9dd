// after.js: after paying. Records with each month's steps (paid → 入库 →
// 记账), certificates (issue, download with the token, verify), refund
// applications with their timeline, and messages.
"use strict";
(function () {
  const el = LB.el, t = LB.t;

  // steps shows a month's way through the treasury: done steps with their
  // time, the next one waiting.
  function steps(r) {
    const step = function (id, at) {
      return el("li", { "class": at ? "done" : "todo" }, el("span", { "class": "mn-text" }, t(id)), at ? el("span", { "class": "num when" }, H5.when(at)) : el("span", { "class": "mn-text hint" }, t("h5.records.waiting")));
    };
    return el("ol", { "class": "steps", "aria-label": t("h5.records.steps") },
      step("h5.records.paid", r.paid_at), step("h5.records.credited", r.credited_at), step("h5.records.booked", r.booked_at));
  }

  H5.route("records", async function (args) {
    const person = args[0] || "self";
    const res = await H5.call("GET", "/records?person=" + encodeURIComponent(person));
    const list = el("ul", { "class": "list", id: "records" }, res.items.map(function (r) {
      return el("li", { "class": "card record status-" + r.status },
        el("h2", { "class": "mn-text" }, H5.num(H5.period(r.period) + (r.period_to ? " – " + H5.period(r.period_to) : "")), " ", el("span", { "class": "mn-text" }, t("h5.scheme." + r.scheme))),
        el("dl", { "class": "summary" },
          H5.kv("h5.records.amount", H5.money(r.amount_fen, true)),
          H5.kv("h5.records.status", el("span", { "class": "mn-text state" }, t("h5.record." + r.status))),
          H5.kv("h5.records.payer", r.payer_masked)),
        steps(r));
    }));
    H5.screen("h5.records.title",
      res.items.length ? list : H5.p("h5.records.none"),
      H5.btn("h5.records.refresh", function () { H5.render(); }, "secondary"),
      H5.link("h5.start.certs", "#/certs", "secondary"),
      H5.nav());
  }, { verified: true });

  // Certificates: issue one, list them, download a PDF (fetched with the
  // token, saved from a blob: the token never goes into a link) and open
  // the public verification page anyone can check it on.
  H5.route("certs", async function (args, query) {
    const [certs, pays] = await Promise.all([H5.call("GET", "/certificates"), H5.call("GET", "/payments")]);
    const paid = pays.items.filter(function (o) { return o.status === "paid" || o.status === "partially_refunded"; });
    const kind = H5.select({ name: "kind" }, ["payment_voucher", "contribution_proof", "tax_payment_certificate"].map(function (k) { return [k, t("h5.cert." + k)]; }));
    const order = H5.select({ name: "order_no" }, paid.map(function (o) { return [o.order_no, o.person_name_masked + " " + t("h5.scheme." + o.scheme) + " " + LB.yuan(o.amount_fen)]; }));
    if (query.get("order")) order.value = query.get("order");
    const scheme = H5.select({ name: "scheme" }, ["flexible_pension", "flexible_medical", "resident_medical", "resident_pension"].map(function (s) { return [s, t("h5.scheme." + s)]; }));
    const year = String(new Date().getFullYear());
    const from = H5.input({ name: "period_from", inputmode: "numeric", value: year + "01", "class": "num-input" });
    const to = H5.input({ name: "period_to", inputmode: "numeric", value: year + "12", "class": "num-input" });
    const orderField = H5.field("h5.cert.order", order);
    const rangeFields = el("div", null, H5.field("h5.enrol.scheme", scheme), H5.field("h5.cert.from", from, "h5.cert.periodHint"), H5.field("h5.cert.to", to));
    const sync = function () { const v = kind.value === "payment_voucher"; orderField.hidden = !v; rangeFields.hidden = v; };
    kind.addEventListener("change", sync); sync();
    const status = el("p", { "class": "mn-text status", role: "status", id: "cert-status" });
    H5.screen("h5.cert.title",
      H5.form([H5.field("h5.cert.kind", kind), orderField, rangeFields], "h5.cert.issue", async function () {
        const body = { kind: kind.value };
        if (kind.value === "payment_voucher") body.order_no = order.value;
        else Object.assign(body, { person: "self", scheme: scheme.value, period_from: from.value.trim(), period_to: to.value.trim() });
        await H5.call("POST", "/certificates", { body: body });
        H5.say(t("h5.cert.issued"));
        H5.render();
      }),
      status,
      H5.h2("h5.cert.mine"),
      certs.items.length ? el("ul", { "class": "list", id: "certs" }, certs.items.map(function (c) {
        return el("li", { "class": "card cert" },
          el("h3", { "class": "mn-text" }, c.title),
          el("dl", { "class": "summary" },
            H5.kv("h5.cert.no", H5.num(c.certificate_no)),
            H5.kv("h5.cert.code", H5.num(c.verify_code)),
            H5.kv("h5.cert.issuedAt", H5.num(H5.when(c.issued_at))),
            H5.kv("h5.declare.total", H5.money(c.total_fen, true))),
          el("div", { "class": "actions" },
            el("button", { type: "button", "class": "btn primary download", onclick: function () { download(c, status); } }, t("h5.cert.download")),
            el("a", { "class": "btn secondary verify", href: c.verify_url, target: "_blank", rel: "noopener" }, t("h5.cert.verify"))));
      })) : H5.p("h5.cert.none"),
      H5.nav());
  }, { verified: true });

  async function download(c, status) {
    status.textContent = t("common.loading");
    try {
      const res = await H5.call("GET", "/certificates/" + encodeURIComponent(c.certificate_no) + "/pdf", { raw: true });
      const blob = await res.blob();
      const url = URL.createObjectURL(blob);
      const a = el("a", { href: url, download: c.certificate_no + ".pdf", hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
      status.textContent = t("h5.cert.downloaded", { no: c.certificate_no, kb: Math.max(1, Math.round(blob.size / 1024)) });
      status.dataset.bytes = String(blob.size);
    } catch (e) {
      status.replaceChildren(H5.errorBox(e));
    }
  }

  // Refunds: the list, a new application, one application's timeline.
  H5.route("refunds", async function () {
    const res = await H5.call("GET", "/refunds");
    H5.screen("h5.refund.title",
      H5.link("h5.refund.new", "#/refund/new", "primary"),
      res.items.length ? el("ul", { "class": "list" }, res.items.map(function (r) {
        return el("li", { "class": "card" },
          el("a", { "class": "row", href: "#/refund/" + encodeURIComponent(r.refund_no) },
            el("span", { "class": "mn-text" }, t("h5.scheme." + r.scheme)), " ", H5.money(r.refund_fen), " ",
            el("span", { "class": "mn-text tag" }, t("h5.refundStatus." + r.status))));
      })) : H5.p("h5.refund.none"),
      H5.link("h5.start.messages", "#/messages", "secondary"),
      H5.nav());
  }, { verified: true });

  H5.route("refund", async function (args, query) {
    if (args[0] === "new") return newRefund(query.get("person") || "self");
    const r = await H5.call("GET", "/refunds/" + encodeURIComponent(args[0]));
    const err = el("div", { "class": "error", role: "alert", hidden: true });
    H5.screen("h5.refund.case",
      el("dl", { "class": "summary" },
        H5.kv("h5.refund.no", H5.num(r.refund_no)),
        H5.kv("h5.records.status", el("span", { "class": "mn-text", id: "refund-status" }, t("h5.refundStatus." + r.status))),
        H5.kv("h5.refund.holder", el("span", { "class": "mn-text" }, t("h5.holder." + (r.holder || "none")))),
        H5.kv("h5.refund.amount", H5.money(r.refund_fen, true)),
        H5.kv("h5.refund.reason", el("span", { "class": "mn-text" }, t("h5.refundReason." + r.reason))),
        H5.kv("h5.refund.route", el("span", { "class": "mn-text" }, t("h5.refundRoute." + r.route)))),
      (r.reasons || []).length ? el("ul", { "class": "plain note" }, r.reasons.map(function (x) { return el("li", { "class": "mn-text" }, x); })) : null,
      H5.h2("h5.refund.timeline"),
      el("ol", { "class": "timeline", id: "timeline" }, r.timeline.map(function (s) {
        return el("li", null,
          el("p", { "class": "mn-text" }, el("strong", null, t("h5.refundStatus." + s.status)), " ", H5.num(H5.when(s.at))),
          el("p", { "class": "mn-text hint" }, t("h5.refund.heldBy", { who: t("h5.holder." + (s.holder || "none")) })),
          (s.reasons || []).map(function (x) { return H5.text(x, "note"); }),
          s.note ? H5.text(s.note, "hint") : null);
      })),
      err,
      r.can_withdraw ? H5.btn("h5.refund.withdraw", async function () {
        try { await H5.call("POST", "/refunds/" + encodeURIComponent(r.refund_no) + "/withdraw", { body: {} }); H5.render(); } catch (e) { H5.showError(err, e); }
      }, "secondary") : null,
      H5.btn("h5.records.refresh", function () { H5.render(); }, "secondary"),
      H5.link("h5.start.messages", "#/messages", "secondary"),
      H5.nav());
  }, { verified: true });

  // newRefund asks back money of one order already credited to the
  // treasury (only that can be refunded); the bank account is optional
  // (without it the money goes back the way it came). person is whose
  // money it was: the payer's own (their records, whoever paid), or a
  // family member's they paid for. The server lists what it would take
  // (listRefundable: the same owners, only what this user may ask back,
  // less what was refunded or is held by applications), so the form
  // never offers an order it would refuse. An order still waiting for
  // the treasury's credit is offered, marked: the application asks the
  // treasury first. A scheme with an application being handled waits.
  async function newRefund(person) {
    const persons = await H5.persons();
    if (!persons.some(function (p) { return p[0] === person; })) person = "self";
    const who = H5.select({ name: "person" }, persons);
    who.value = person;
    who.addEventListener("change", function () { H5.refine("#/refund/new?person=" + encodeURIComponent(who.value), who); });
    const whoField = H5.field("h5.refund.person", who);
    const res = await H5.call("GET", "/refunds/refundable?person=" + encodeURIComponent(person));
    const orders = {};
    const list = res.items.filter(function (o) { return o.state !== "open_application"; });
    list.forEach(function (o) { orders[o.order_no] = o; });
    const waiting = res.items.length > list.length
      ? [H5.p("h5.refund.openElsewhere", null, "hint"), H5.link("h5.refund.seeOpen", "#/refunds", "secondary")] : [];
    if (!list.length) { H5.screen("h5.refund.new", whoField, H5.p("h5.refund.nothing"), waiting, H5.nav()); return; }
    const order = H5.select({ name: "order_no" }, list.map(function (o) {
      const months = o.period_from === o.period_to ? H5.period(o.period_from) : H5.period(o.period_from) + "–" + H5.period(o.period_to);
      return [o.order_no, (o.state === "awaiting_credit" ? t("h5.refund.awaitingCredit") : "") +
        t("h5.scheme." + o.scheme) + " " + months + " " + LB.yuan(o.refundable_fen)];
    }));
    order.setAttribute("aria-describedby", "refund-order-note");
    const amount = H5.input({ name: "refund_yuan", inputmode: "decimal", value: (list[0].refundable_fen / 100).toFixed(2), "class": "num-input" });
    // What the chosen order allows, said next to the choice: waiting for
    // the treasury, or past its channel's refund window (a bank account
    // is then needed).
    const note = el("p", { "class": "mn-text hint", id: "refund-order-note", "aria-live": "polite" });
    const reason = H5.select({ name: "reason" }, ["overpaid", "wrongly_collected", "policy"].map(function (r) { return [r, t("h5.refundReason." + r)]; }));
    const detail = el("textarea", { name: "reason_detail", rows: "3", maxlength: "500" });
    const bank = H5.input({ name: "bank_name" }), holder = H5.input({ name: "account_name" }), acct = H5.input({ name: "account_no", inputmode: "numeric", "class": "num-input" });
    const bankLegend = el("legend", { "class": "mn-text" }), bankHint = el("p", { "class": "mn-text hint" });
    // An order past its channel's refund window can only go back to a
    // bank account: the account is then asked for, not optional.
    const describe = function () {
      const o = orders[order.value];
      note.textContent = [o.state === "awaiting_credit" ? t("h5.refund.awaitingCreditHint") : "",
        o.original_route ? "" : t("h5.refund.bankNeeded")].filter(Boolean).join(" ");
      [bank, holder, acct].forEach(function (x) { x.required = !o.original_route; });
      bankLegend.textContent = t(o.original_route ? "h5.refund.bank" : "h5.refund.bankRequired");
      bankHint.hidden = !o.original_route;
      bankHint.textContent = t("h5.refund.bankHint");
    };
    describe();
    order.addEventListener("change", function () { amount.value = (orders[order.value].refundable_fen / 100).toFixed(2); describe(); });
    H5.screen("h5.refund.new", H5.p("h5.refund.why"), waiting, H5.form([
      whoField,
      H5.field("h5.refund.order", order), note,
      H5.field("h5.refund.amountYuan", amount),
      H5.field("h5.refund.reason", reason),
      H5.field("h5.refund.detail", detail),
      el("fieldset", null, bankLegend, bankHint,
        H5.field("h5.refund.bankName", bank), H5.field("h5.refund.accountName", holder), H5.field("h5.refund.accountNo", acct)),
    ], "h5.refund.submit", async function () {
      const o = orders[order.value];
      const body = { person: person, scheme: o.scheme, order_no: o.order_no, refund_fen: H5.yuanToFen(amount.value), reason: reason.value, reason_detail: detail.value.trim() };
      if (acct.value.trim()) body.bank_account = { bank_name: bank.value.trim(), account_name: holder.value.trim(), account_no: acct.value.trim() };
      const r = await H5.call("POST", "/refunds", { body: body, idempotencyKey: LB.newKey() });
      H5.say(t("h5.refund.submitted"));
      H5.go("#/refund/" + encodeURIComponent(r.refund_no));
    }), H5.nav());
  }

  H5.route("messages", async function () {
    const res = await H5.call("GET", "/me/messages");
    H5.screen("h5.messages.title",
      res.items.length ? el("ul", { "class": "list", id: "messages" }, res.items.map(function (m) {
        return el("li", { "class": "card" },
          el("h2", { "class": "mn-text" }, m.title),
          H5.text(m.body),
          el("p", { "class": "hint mn-horizontal" }, H5.num(H5.when(m.created_at))),
          m.refund_no ? el("a", { "class": "btn secondary", href: "#/refund/" + encodeURIComponent(m.refund_no) }, t("h5.messages.open")) : null);
      })) : H5.p("h5.messages.none"),
      H5.nav());
  }, { verified: true });
})();
