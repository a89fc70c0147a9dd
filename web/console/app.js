// The hall staff console.
"use strict";
(async function () {
  await LB.loadStrings(LB.initialLang());
  LB.apply();
})();
