// app.js: starts the citizen H5. The two switches (language, 长辈版) are
// preferences remembered in localStorage through LB.prefs; ?lang=mn and
// ?mode=elder in the address set them too (a link from a 蒙速办 or
// 长辈版 entry opens the page the way the person needs it).
"use strict";
(async function () {
  const langBtn = document.getElementById("sw-lang");
  const elderBtn = document.getElementById("sw-elder");

  function pickMode() {
    const q = new URLSearchParams(location.search).get("mode");
    if (q === "elder" || q === "standard") LB.prefs.set("mode", q);
    return LB.prefs.get("mode", "standard");
  }

  function applyMode(mode) {
    document.documentElement.classList.toggle("elder", mode === "elder");
    elderBtn.setAttribute("aria-pressed", mode === "elder" ? "true" : "false");
  }

  // The language switch names the other language in its own script.
  function drawLangButton() {
    const other = LB.lang() === "mn-Mong" ? "zh-CN" : "mn-Mong";
    langBtn.lang = other;
    langBtn.textContent = LB.t(other === "mn-Mong" ? "common.lang.mn" : "common.lang.zh");
  }

  applyMode(pickMode());
  await LB.loadStrings(LB.initialLang());
  LB.apply();
  drawLangButton();

  langBtn.addEventListener("click", async function () {
    await LB.setLang(LB.lang() === "mn-Mong" ? "zh-CN" : "mn-Mong");
    drawLangButton();
    await H5.render();
  });
  elderBtn.addEventListener("click", function () {
    const mode = document.documentElement.classList.contains("elder") ? "standard" : "elder";
    LB.prefs.set("mode", mode);
    applyMode(mode);
    H5.say(LB.t(mode === "elder" ? "h5.switch.elderOn" : "h5.switch.elderOff"));
  });

  // Sandbox or not is the server's word (X-Lianban-Sandbox on every answer).
  try {
    const res = await LB.api("GET", "/healthz", { raw: true });
    H5.sandbox = res.headers.get("X-Lianban-Sandbox") === "true";
  } catch (e) { H5.sandbox = false; }
  document.getElementById("sandbox-banner").hidden = !H5.sandbox;

  await H5.finishLogin();
  window.addEventListener("hashchange", function () { H5.render(); });
  await H5.render();
  if (H5.pendingError) {
    document.getElementById("app").prepend(H5.errorBox(H5.pendingError));
    H5.pendingError = null;
  }
})();
