// Package locale holds what people read, one message catalog per language:
// zh-CN (the reference) and traditional Mongolian script, mn-Mong, Inner
// Mongolia's second official script. The API's error messages (ids
// "error.<CODE>") and the strings of the pages under /h5/ and /console/
// (ids "h5.…", "console.…", "common.…") come from the same catalogs, so a
// page and the API never speak two languages at once.
//
// Catalogs are go-i18n message files embedded from messages/, one file per
// area and language: errors.zh-CN.json, h5.mn-Mong.json, …. Every
// Mongolian message says in its description whether a native speaker has
// reviewed it ("review: pending" until one signs it off as
// "review: signed-off by <name> <date>"); Pending lists those awaiting
// review, and the tests hold every id of zh-CN present in mn-Mong and the
// other way round, so no page ever falls back to a raw key.
package locale
