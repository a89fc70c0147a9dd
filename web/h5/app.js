// The citizen H5.
"use strict";
(async function () {
  await LB.loadStrings(LB.initialLang());
  LB.apply();
})();
