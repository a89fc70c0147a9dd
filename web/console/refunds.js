// Refund cases (persons' and units', one path): the queue by department
// and status, applications filed by someone neither the payer nor the
// person first; the case page with its timeline, attachments and the step
// the signed-in role takes (受理 / 不予受理 with every reason at once,
// 社保/医保 复核, 退费).
"use strict";
(function (C) {
  const el = C.el, t = C.t;
  const STATUSES = ["submitted", "accepted", "refused", "forwarded", "approved", "rejected", "refunding", "refunded", "withdrawn"];
  const DEPTS = ["social_insurance", "medical_insurance"];
  // The checklist of 不予受理 reasons; the clerk ticks every one that
  // applies and may add more, and they go to the applicant all at once.
  const REFUSALS = ["materials", "form", "identity", "bank", "not_credited", "amount", "duplicate"];

  const view = { status: "", dept: "", units: false };

  C.screens.refunds = function (args) {
    if (args[0]) return caseScreen(args[0]);
    queue();
  };

  async function queue() {
    const m = C.screen("console.refunds.title");
    const box = el("p", { class: "error", role: "alert" });
    const status = C.select("status", [["", t("console.all")]].concat(STATUSES.map(function (s) { return [s, t("console.status." + s)]; })), view.status);
    const filters = el("form", { class: "filters" }, C.field(t("console.refunds.status"), status));
    let dept = null, units = null;
    if (C.role() === "tax_window") {
      // A reviewer sees its own department only; the window sees both.
      dept = C.select("department", [["", t("console.all")]].concat(DEPTS.map(function (d) { return [d, t("console.dept." + d)]; })), view.dept);
      filters.append(C.field(t("console.refunds.department"), dept));
    }
    units = el("input", { type: "checkbox", name: "units", checked: view.units });
    filters.append(el("label", { class: "check" }, units, el("span", null, t("console.refunds.units_only"))));
    const first = el("section", { "aria-labelledby": "rf-first" });
    const rest = el("section", { "aria-labelledby": "rf-rest" });
    const more = el("button", { type: "button", class: "secondary", hidden: true }, t("console.more"));
    m.append(filters, box, first, rest, more);
    let items = [], next = "";
    const draw = function () {
      const shown = items.filter(function (r) {
        return (!view.dept || r.department === view.dept) && (!view.units || !!r.unit_name);
      });
      const row = function (r) {
        return [el("a", { href: "#/refunds/" + encodeURIComponent(r.refund_no), "data-refund": r.refund_no }, r.refund_no),
          r.unit_name ? el("span", null, el("span", { class: "tag" }, t("console.refunds.unit")), " ", r.unit_name) : r.person_name_masked,
          t("console.applicant." + (r.applicant_role || "other")), r.scheme_name, t("console.dept." + r.department),
          el("span", { class: "state state-" + r.status }, t("console.status." + r.status)), LB.yuan(r.refund_fen), C.time(r.created_at)];
      };
      const heads = [t("console.refunds.no"), t("console.refunds.who"), t("console.refunds.applicant"), t("console.refunds.scheme"),
        t("console.refunds.department"), t("console.refunds.status"), t("console.refunds.amount"), t("console.refunds.created")];
      // Within the flagged group, an applicant who is neither the payer
      // nor the person ("other") comes before a payer applying for someone.
      const flagged = shown.filter(function (r) { return r.review_first; }).sort(function (a, b) {
        return (a.applicant_role === "other" ? 0 : 1) - (b.applicant_role === "other" ? 0 : 1);
      });
      const other = shown.filter(function (r) { return !r.review_first; });
      first.replaceChildren(el("h2", { id: "rf-first" }, t("console.refunds.first", { n: flagged.length })),
        el("p", { class: "hint" }, t("console.refunds.first_hint")),
        flagged.length ? C.table(t("console.refunds.first_caption"), heads, flagged.map(row), "grid flagged") : el("p", null, t("console.none")));
      rest.replaceChildren(el("h2", { id: "rf-rest" }, t("console.refunds.rest", { n: other.length })),
        other.length ? C.table(t("console.refunds.rest_caption"), heads, other.map(row)) : el("p", null, t("console.none")));
      more.hidden = !next;
    };
    const load = async function (reset) {
      const q = new URLSearchParams({ page_size: "50" });
      if (view.status) q.set("status", view.status);
      if (!reset && next) q.set("page_token", next);
      const res = await C.api("GET", "/refunds?" + q.toString());
      items = reset ? res.items : items.concat(res.items);
      next = res.next_page_token;
      draw();
    };
    status.addEventListener("change", function () { view.status = status.value; C.run(null, box, function () { return load(true); }); });
    if (dept) dept.addEventListener("change", function () { view.dept = dept.value; draw(); });
    units.addEventListener("change", function () { view.units = units.checked; draw(); });
    more.addEventListener("click", function () { C.run(more, box, function () { return load(false); }); });
    await C.run(null, box, function () { return load(true); });
  }

  async function caseScreen(no) {
    const m = C.screen("console.case.title");
    const box = el("p", { class: "error", role: "alert" });
    m.append(el("p", null, el("a", { href: "#/refunds" }, t("common.back"))), box);
    const body = el("div", { class: "case" });
    m.append(body);
    await C.run(null, box, async function () { draw(await C.api("GET", "/refunds/" + encodeURIComponent(no))); });

    function draw(r) {
      const money = LB.yuan;
      // el() drops the parts that are null; replaceChildren would print them.
      body.replaceChildren(el("div", null,
        el("h2", { id: "case-head" }, r.refund_no, " ", el("span", { class: "state state-" + r.status, "data-status": r.status }, t("console.status." + r.status))),
        r.holder_name ? el("p", null, t("console.case.holder", { holder: r.holder_name })) : null,
        (r.applicant_warnings || []).length ? el("div", { class: "warn", role: "note" },
          el("h3", null, t("console.case.warnings")), el("ul", null, r.applicant_warnings.map(function (w) { return el("li", null, w); }))) : null,
        C.facts([
          [t("console.case.unit"), r.unit_name ? r.unit_name + (r.unit_uscc ? " · " + r.unit_uscc : "") : ""],
          [t("console.case.person"), r.person_name_masked ? r.person_name_masked + " · " + r.person_id_number_masked : ""],
          [t("console.case.applicant"), (r.applicant_masked || "") + " · " + t("console.applicant." + (r.applicant_role || "other"))],
          [t("console.refunds.scheme"), r.scheme_name], [t("console.refunds.department"), r.department_name],
          [t("console.case.amount"), money(r.refund_fen)], [t("console.case.refunded"), money(r.refunded_fen)],
          [t("console.case.reason"), r.reason_name + (r.reason_detail ? "：" + r.reason_detail : "")],
          [t("console.case.route"), t("console.route." + r.route)],
          [t("console.case.bank"), r.bank_account ? r.bank_account.bank_name + " " + r.bank_account.account_name_masked + " " + r.bank_account.account_no_masked : ""],
          [t("console.refunds.created"), C.time(r.created_at)],
        ]),
        C.table(t("console.case.items"), [t("console.case.period"), t("console.case.amount"), t("console.case.record"), t("console.case.channel"),
          t("console.case.order"), t("console.case.paid_at")],
          (r.staff_items || []).map(function (i) {
            return [i.period, money(i.amount_fen), t("console.record." + i.record_status), i.channel, i.order_no, C.time(i.paid_at)];
          })),
        attachments(r), timeline(r), payouts(r), actions(r)));
    }

    function attachments(r) {
      const s = el("section", { "aria-labelledby": "case-att" }, el("h3", { id: "case-att" }, t("console.case.attachments")));
      const list = el("ul", { class: "files" });
      (r.attachments || []).forEach(function (a) { list.append(el("li", null, t("console.attachment." + a.kind), "：", a.name)); });
      (r.uploads || []).forEach(function (u) {
        const b = el("button", { type: "button", class: "secondary", "data-upload": u.upload_id }, t("console.case.download"));
        const ebox = el("span", { class: "error", role: "alert" });
        b.addEventListener("click", function () {
          C.run(b, ebox, function () { return C.download("/refunds/" + encodeURIComponent(r.refund_no) + "/attachments/" + encodeURIComponent(u.upload_id), u.upload_id); });
        });
        list.append(el("li", null, (u.kind ? t("console.attachment." + u.kind) : u.upload_id) + " · " + u.content_type + " · " + Math.ceil(u.size / 1024) + " KB ", b, ebox));
      });
      if (!list.children.length) list.append(el("li", null, t("console.none")));
      s.append(list);
      if ((r.materials_missing || []).length) {
        s.append(el("p", { class: "warn-text" }, t("console.case.missing"), r.materials_missing.join("、")));
      }
      return s;
    }

    function timeline(r) {
      return el("section", { "aria-labelledby": "case-tl" }, el("h3", { id: "case-tl" }, t("console.case.timeline")),
        el("ol", { class: "timeline" }, (r.staff_timeline || []).map(function (s) {
          return el("li", { "data-step": s.status },
            el("strong", null, t("console.status." + s.status)), " ", el("time", { datetime: s.at }, C.time(s.at)),
            [s.department_name, s.actor_name].filter(Boolean).map(function (x) { return " · " + x; }).join(""),
            (s.reasons || []).length ? el("ul", null, s.reasons.map(function (x) { return el("li", null, x); })) : null,
            s.note ? el("p", null, s.note) : null);
        })));
    }

    function payouts(r) {
      if (!(r.payouts || []).length) return null;
      return C.table(t("console.case.payouts"), [t("console.case.payout"), t("console.case.channel"), t("console.case.amount"), t("console.refunds.status"), t("console.case.attempts")],
        r.payouts.map(function (p) {
          return [p.payout_no, p.kind === "bank" ? t("console.route.bank") : p.channel, LB.yuan(p.amount_fen),
            el("span", { "data-payout": p.status }, t("console.payout." + p.status)), String(p.attempts) + (p.last_error ? " · " + p.last_error : "")];
        }));
    }

    // actions is the step the signed-in role may take now. The server
    // checks the role and the status again.
    function actions(r) {
      const s = el("section", { class: "actions", "aria-labelledby": "case-act" }, el("h3", { id: "case-act" }, t("console.case.actions")));
      const abox = el("p", { class: "error", role: "alert" });
      const role = C.role();
      const path = "/refunds/" + encodeURIComponent(r.refund_no);
      const after = function (msg) { return function (res) { draw(res); C.say(t(msg, { no: r.refund_no })); }; };
      if (role === "tax_window" && r.status === "submitted") {
        const accept = el("button", { type: "button", class: "primary", id: "accept" }, t("console.case.accept"));
        accept.addEventListener("click", function () { C.run(accept, abox, async function () { after("console.case.accepted")(await C.api("POST", path + "/accept")); }); });
        const boxes = REFUSALS.map(function (k) {
          return el("label", { class: "check" }, el("input", { type: "checkbox", name: "reason", value: t("console.refuse." + k) }), el("span", null, t("console.refuse." + k)));
        });
        const other = el("textarea", { name: "other", rows: "3", maxlength: "1000" });
        const refuse = el("button", { type: "submit", class: "danger", id: "refuse" }, t("console.case.refuse"));
        const form = el("form", { class: "refuse" }, el("fieldset", null, el("legend", null, t("console.case.refuse_legend")), boxes,
          C.field(t("console.case.refuse_other"), other)), el("p", { class: "hint" }, t("console.case.refuse_hint")), refuse);
        form.addEventListener("submit", function (ev) {
          ev.preventDefault();
          const reasons = Array.from(form.querySelectorAll("input[name=reason]:checked")).map(function (i) { return i.value; })
            .concat(other.value.split("\n").map(function (x) { return x.trim(); }).filter(Boolean));
          C.run(refuse, abox, async function () { after("console.case.refused")(await C.api("POST", path + "/refuse", { body: { reasons: reasons } })); });
        });
        s.append(el("div", { class: "row" }, accept), form);
      } else if ((role === "si_reviewer" || role === "mi_reviewer") && r.status === "forwarded") {
        const yes = el("input", { type: "radio", name: "verdict", value: "approve", checked: true });
        const no = el("input", { type: "radio", name: "verdict", value: "reject" });
        const reason = el("textarea", { name: "reason", rows: "3", maxlength: "500" });
        const submit = el("button", { type: "submit", class: "primary", id: "review" }, t("console.case.review_submit"));
        const form = el("form", { class: "review" }, el("fieldset", null, el("legend", null, t("console.case.review_legend")),
          el("label", { class: "check" }, yes, el("span", null, t("console.case.approve"))),
          el("label", { class: "check" }, no, el("span", null, t("console.case.reject")))),
        C.field(t("console.case.review_reason"), reason), submit);
        form.addEventListener("submit", function (ev) {
          ev.preventDefault();
          C.run(submit, abox, async function () {
            after("console.case.reviewed")(await C.api("POST", path + "/review", { body: { approve: yes.checked, reason: reason.value } }));
          });
        });
        s.append(form);
      } else if (role === "tax_window" && (r.status === "approved" || r.status === "refunding")) {
        const exec = el("button", { type: "button", class: "primary", id: "execute" }, t("console.case.execute"));
        exec.addEventListener("click", function () { C.run(exec, abox, async function () { after("console.case.executed")(await C.api("POST", path + "/execute", { body: {} })); }); });
        s.append(el("p", { class: "hint" }, t("console.case.execute_hint")), exec);
      } else {
        s.append(el("p", null, t("console.case.no_action")));
      }
      s.append(abox);
      return s;
    }
  }
})(window.Console);
