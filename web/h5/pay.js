// pay.js: paying. For my parents, my payables, declaring an amount and
// paying it (the sandbox cashier, Alipay's WAP cashier, WeChat Pay JSAPI
// inside WeChat), and the waiting screen, which never times out on its own.
"use strict";
(function () {
  const el = LB.el, t = LB.t;
  const PARAMS = "lb.h5.pay.";

  // payableCard shows what one person owes for one scheme and year.
  function payableCard(person, p, level) {
    const payable = (p.status === "open" || p.status === "declared") && p.in_collection_period && p.options.length > 0;
    return el("li", { "class": "card" },
      el(level, { "class": "mn-text" }, t("h5.scheme." + p.scheme)),
      el("dl", { "class": "summary" },
        H5.kv("h5.payables.person", p.person_name_masked),
        H5.kv("h5.payables.year", H5.num(p.year)),
        H5.kv("h5.payables.periods", H5.num(H5.period(p.period_from) + " – " + H5.period(p.period_to))),
        H5.kv("h5.payables.status", el("span", { "class": "mn-text status-" + p.status }, t("h5.payable." + p.status))),
        p.amount_fen !== undefined ? H5.kv(p.period_unit === "month" ? "h5.payables.monthly" : "h5.payables.amount", H5.money(p.amount_fen, true)) : null,
        p.due_by ? H5.kv("h5.payables.dueBy", H5.num(p.due_by)) : null),
      p.not_payable_reason ? H5.text(p.not_payable_reason, "note") : null,
      (p.notices || []).map(function (n) { return H5.text(n, "hint"); }),
      payable ? H5.link("h5.payables.pay", "#/declare/" + encodeURIComponent(person) + "/" + encodeURIComponent(p.payable_id), "primary") : null);
  }

  async function payablesOf(person) {
    return (await H5.call("POST", "/payables/query", { body: { person: person } })).items;
  }

  // payablesBlock lists a person's payables; a person not yet enrolled
  // gets the API's words and the way to enrol instead of an error page.
  async function payablesBlock(person, level) {
    let items;
    try { items = await payablesOf(person); } catch (e) {
      if (e.code !== "NOT_ENROLLED") throw e;
      return el("div", null, el("div", { "class": "note-box" }, H5.text(e.message), e.reason ? H5.text(e.reason, "hint") : null),
        H5.link("h5.family.enrol", "#/enrol?person=" + encodeURIComponent(person), "primary"));
    }
    return items.length ? el("ul", { "class": "list" }, items.map(function (p) { return payableCard(person, p, level); }))
      : el("div", null, H5.p("h5.payables.none"), H5.link("h5.family.enrol", "#/enrol?person=" + encodeURIComponent(person), "secondary"));
  }

  // For my parents: the first tap from the start page lands here, the
  // second on a parent's 缴费 button.
  H5.route("parents", async function () {
    const fam = await H5.call("GET", "/me/family");
    const parents = fam.items.filter(function (m) { return m.relation === "parent"; });
    if (!parents.length) {
      H5.screen("h5.parents.title", H5.p("h5.parents.none"), H5.link("h5.parents.add", "#/family/add", "primary"), H5.nav());
      return;
    }
    const blocks = [];
    for (const m of parents) {
      blocks.push(el("section", { "class": "person" },
        el("h2", { "class": "mn-text" }, el("span", null, t("h5.relation.parent")), " ", m.name_masked),
        await payablesBlock(m.member_id, "h3")));
    }
    H5.screen("h5.parents.title", blocks, H5.link("h5.parents.add", "#/family/add", "secondary"), H5.nav());
  }, { verified: true });

  // My payables (or a family member's: #/payables/{member_id}).
  H5.route("payables", async function (args) {
    const person = args[0] || "self";
    H5.screen(person === "self" ? "h5.payables.title" : "h5.payables.titleOther", await payablesBlock(person, "h2"), H5.nav());
  }, { verified: true });

  // Declare: choose the grade and up to which month, see the amount, then
  // pay. One decision per step.
  H5.route("declare", async function (args) {
    const person = args[0], id = args[1];
    const p = (await payablesOf(person)).find(function (x) { return x.payable_id === id; });
    if (!p) { H5.go("#/payables/" + encodeURIComponent(person)); return; }
    const opt = H5.select({ name: "option" }, p.options.map(function (o) {
      return [o.code, o.label + " " + LB.yuan(o.amount_fen) + (p.period_unit === "month" ? t("h5.declare.perMonth") : "")];
    }));
    const fields = [H5.field("h5.declare.option", opt)];
    let to = null;
    if (p.period_unit === "month" && p.unpaid_periods.length > 1) {
      to = H5.select({ name: "period_to" }, p.unpaid_periods.map(function (x) { return [x, H5.period(x)]; }));
      to.value = p.unpaid_periods[p.unpaid_periods.length - 1];
      fields.push(H5.field("h5.declare.until", to, "h5.declare.untilHint"));
    }
    const step2 = el("section", { "class": "result", hidden: true, "aria-labelledby": "decl-h" });
    H5.screen("h5.declare.title",
      el("p", { "class": "who mn-text" }, el("span", null, t("h5.scheme." + p.scheme)), " ", p.person_name_masked),
      H5.form(fields, "h5.declare.submit", async function (f) {
        const body = { payable_id: p.payable_id, option_code: opt.value };
        if (to) { body.period_from = p.unpaid_periods[0]; body.period_to = to.value; }
        const d = await H5.call("POST", "/declarations", { body: body, idempotencyKey: LB.newKey() });
        f.hidden = true;
        showDeclaration(step2, d);
      }), step2, H5.nav());
  }, { verified: true });

  function showDeclaration(box, d) {
    const err = el("div", { "class": "error", role: "alert", hidden: true });
    const key = LB.newKey(); // one key for this button: a double tap pays once
    const pay = H5.btn("h5.declare.pay", async function () {
      pay.disabled = true; err.hidden = true;
      try {
        const order = await H5.call("POST", "/payments", { body: payBody(d.declaration_id), idempotencyKey: key });
        try { sessionStorage.setItem(PARAMS + order.order_no, JSON.stringify(order.pay_params || {})); } catch (e) { /* the pay screen asks again */ }
        H5.pendingOrder(order.order_no);
        H5.go("#/pay/" + encodeURIComponent(order.order_no));
      } catch (e) { H5.showError(err, e); pay.disabled = false; }
    }, "primary big");
    box.hidden = false;
    box.replaceChildren(
      el("h2", { id: "decl-h", "class": "mn-text", tabindex: "-1" }, t("h5.declare.confirm")),
      el("dl", { "class": "summary" },
        H5.kv("h5.payables.person", d.person_name_masked),
        H5.kv("h5.payables.periods", H5.num(H5.period(d.period_from) + " – " + H5.period(d.period_to))),
        H5.kv("h5.declare.months", H5.num(d.months)),
        H5.kv("h5.declare.total", H5.money(d.amount_fen, true))),
      err, pay);
    LB.apply(box);
    box.querySelector("h2").focus();
  }

  // payBody picks the channel the page runs in: WeChat Pay inside WeChat,
  // the sandbox cashier on a sandbox server, Alipay's WAP cashier elsewhere.
  function payBody(declarationId) {
    if (H5.inWechat && !H5.sandbox) return { declaration_id: declarationId, channel: "wechat" };
    return { declaration_id: declarationId, channel: H5.sandbox ? "sandbox" : "alipay", h5: true };
  }

  // wechatPay hands the JSAPI parameters to WeChat's in-app cashier.
  function wechatPay(params, done) {
    const call = function () {
      window.WeixinJSBridge.invoke("getBrandWCPayRequest", params, function (res) { done(res && res.err_msg); });
    };
    if (window.WeixinJSBridge) call();
    else document.addEventListener("WeixinJSBridgeReady", call, { once: true });
  }

  // The waiting screen: it asks the API for the order's state every two
  // seconds for a minute (H5.pollLimit asks), then asks the person whether
  // to keep waiting instead of giving up on them.
  H5.pollLimit = 30;
  H5.route("pay", async function (args) {
    const no = args[0];
    let order = await H5.call("GET", "/payments/" + encodeURIComponent(no));
    let params = order.pay_params;
    if (!params) { try { params = JSON.parse(sessionStorage.getItem(PARAMS + no) || "null"); } catch (e) { params = null; } }
    const status = el("p", { "class": "mn-text status", id: "pay-status", role: "status", tabindex: "-1" });
    const actions = el("div", { "class": "actions" });
    const more = el("div", { "class": "actions" });
    H5.screen("h5.pay.title",
      el("dl", { "class": "summary" },
        H5.kv("h5.payables.person", order.person_name_masked),
        H5.kv("h5.pay.scheme", el("span", { "class": "mn-text" }, t("h5.scheme." + order.scheme))),
        H5.kv("h5.payables.periods", H5.num(H5.period(order.period_from) + " – " + H5.period(order.period_to))),
        H5.kv("h5.declare.total", H5.money(order.amount_fen, true)),
        H5.kv("h5.pay.orderNo", H5.num(order.order_no))),
      status, actions, more, H5.nav());
    let polls = 0;
    const draw = function () {
      const st = order.status;
      status.textContent = t("h5.order." + st);
      actions.replaceChildren();
      more.replaceChildren();
      if (st !== "paying" && st !== "created" && H5.pendingOrder() === order.order_no) H5.pendingOrder("");
      if (st === "paid" || st === "partially_refunded" || st === "refunded") {
        actions.append(H5.link("h5.pay.records", "#/records/self", "primary"), H5.link("h5.pay.voucher", "#/certs?order=" + encodeURIComponent(order.order_no), "secondary"));
        if (order.notice) actions.append(H5.text(order.notice, "note"));
        return;
      }
      if (st !== "paying" && st !== "created") {
        actions.append(H5.link("h5.pay.again", "#/payables/self", "primary"));
        return;
      }
      if (params && params.cashier_url) actions.append(el("a", { "class": "btn primary big", href: params.cashier_url, id: "cashier" }, t("h5.pay.cashier")));
      else if (params && params.url) actions.append(el("a", { "class": "btn primary big", href: params.url, id: "cashier" }, t("h5.pay.alipay")));
      else if (params && params.paySign) actions.append(H5.btn("h5.pay.wechat", function () { wechatPay(params, function () { poll(); }); }, "primary big"));
      actions.append(H5.p("h5.pay.expires", { at: H5.when(order.expires_at) }, "hint"));
      if (polls >= H5.pollLimit) {
        more.append(H5.p("h5.pay.stillWaiting"), H5.btn("h5.pay.keepWaiting", function () { polls = 0; draw(); status.focus(); H5.timers.push(setTimeout(poll, 2000)); }, "secondary"));
      }
      LB.apply(actions);
    };
    const poll = async function () {
      try { order = await H5.call("GET", "/payments/" + encodeURIComponent(no)); } catch (e) { /* keep the last state; the next poll tries again */ }
      polls++;
      const before = status.textContent;
      draw();
      if (status.textContent !== before) H5.say(status.textContent);
      if ((order.status === "paying" || order.status === "created") && polls < H5.pollLimit) H5.timers.push(setTimeout(poll, 2000));
    };
    draw();
    if (order.status === "paying" || order.status === "created") H5.timers.push(setTimeout(poll, 2000));
  }, { verified: true });
})();
