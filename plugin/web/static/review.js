/* dwcoder reviewer pages: keyboard shortcuts (no key is taken while typing in a field).
   Queue: j/k select the next/previous case, Enter opens it, / goes to the filters.
   Case:  j/k next/previous case, n/p next/previous line, a approve the line, r reject it (reason list),
          e edit it (code field), x the explanation, u the queue. ? shows or hides the key line. */
(function () {
  "use strict";
  function typing(el) {
    if (!el) { return false; }
    if (el.isContentEditable || el.tagName === "SELECT" || el.tagName === "TEXTAREA") { return true; }
    return el.tagName === "INPUT" && !/^(submit|button|checkbox|radio|hidden)$/.test(el.type);
  }
  function page() { return document.body.getAttribute("data-page"); }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("table.queue tbody tr")); }
  function lines() { return Array.prototype.slice.call(document.querySelectorAll("section.line")); }
  var current = -1;
  function select(list, i, cls) {
    if (!list.length) { return; }
    i = Math.max(0, Math.min(list.length - 1, i));
    list.forEach(function (el) { el.classList.remove(cls); });
    list[i].classList.add(cls);
    current = i;
    return list[i];
  }
  function selectRow(i) {
    var row = select(rows(), i, "selected");
    if (row) { var a = row.querySelector("a.case-link"); if (a) { a.focus(); } }
  }
  function selectLine(i) {
    var line = select(lines(), i, "current");
    if (line) { line.focus(); line.scrollIntoView({block: "nearest"}); }
  }
  function currentLine() {
    var list = lines();
    if (current < 0 || current >= list.length) { return null; }
    return list[current];
  }
  function follow(key) {
    var a = document.querySelector('[data-key="' + key + '"]');
    if (a) { a.click(); return true; }
    return false;
  }
  function start() {
    if (page() === "case") {
      var list = lines();
      var wanted = list.findIndex(function (el) { return el.hasAttribute("data-focus"); });
      if (wanted < 0) { wanted = list.findIndex(function (el) { return el.classList.contains("open"); }); }
      if (wanted >= 0) { selectLine(wanted); }
      var msg = document.getElementById("message");
      if (msg) { msg.setAttribute("tabindex", "-1"); msg.focus(); }
    } else if (page() === "queue" && rows().length) {
      select(rows(), 0, "selected");
    }
    document.querySelectorAll("table.queue tbody tr").forEach(function (tr) {
      tr.addEventListener("click", function (ev) { if (ev.target.tagName !== "A") { window.location = tr.getAttribute("data-href"); } });
    });
  }
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(document.activeElement)) { return; }
    var k = ev.key, p = page(), line;
    if (k === "?") { document.getElementById("keys").classList.toggle("hidden"); ev.preventDefault(); return; }
    if (p === "queue") {
      if (k === "j") { selectRow(current + 1); } else if (k === "k") { selectRow(current - 1); }
      else if (k === "Enter" && current >= 0 && document.activeElement === document.body) { window.location = rows()[current].getAttribute("data-href"); }
      else if (k === "/") { var f = document.querySelector(".filters select, .filters input:not([type=hidden])"); if (f) { f.focus(); } }
      else { return; }
      ev.preventDefault();
      return;
    }
    if (p !== "case" && p !== "explain") { return; }
    if (k === "j" || k === "k" || k === "u" || k === "x") { if (follow(k)) { ev.preventDefault(); } return; }
    if (k === "n") { selectLine(current + 1); ev.preventDefault(); return; }
    if (k === "p") { selectLine(current - 1); ev.preventDefault(); return; }
    line = currentLine();
    if (!line) { return; }
    if (k === "a") { var b = line.querySelector(".f-approve button"); if (b && !b.disabled) { b.form.requestSubmit(b); } }
    else if (k === "r") { var s = line.querySelector(".f-reject select"); if (s) { s.focus(); } }
    else if (k === "e") { var c = line.querySelector(".f-edit input[name=code]"); if (c) { c.focus(); c.select(); } }
    else { return; }
    ev.preventDefault();
  });
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
