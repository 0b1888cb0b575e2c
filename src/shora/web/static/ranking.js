// Ranked ballots: drag an option to reorder, and the numbers follow the new order.
// The numbers alone work without this script; it only adds the dragging.
"use strict";
(function () {
  function renumber(list) {
    var ranked = 0;
    list.querySelectorAll("[data-rank-item]").forEach(function (item) {
      var input = item.querySelector("input");
      if (input && (input.value.trim() !== "" || item.dataset.moved === "1")) {
        ranked += 1;
        input.value = String(ranked);
      }
    });
  }
  document.querySelectorAll("[data-rank-list]").forEach(function (list) {
    var dragged = null;
    var hint = list.parentElement.querySelector("[data-rank-hint]");
    if (hint) { hint.hidden = false; }
    // Show the options in the order of the numbers already given.
    var items = Array.prototype.slice.call(list.querySelectorAll("[data-rank-item]"));
    items.sort(function (a, b) {
      var x = parseInt(a.querySelector("input").value, 10) || 1e9;
      var y = parseInt(b.querySelector("input").value, 10) || 1e9;
      return x - y;
    });
    items.forEach(function (item) { list.appendChild(item); });
    list.addEventListener("dragstart", function (event) {
      dragged = event.target.closest("[data-rank-item]");
      if (dragged) { dragged.classList.add("dragging"); }
    });
    list.addEventListener("dragend", function () {
      if (dragged) { dragged.classList.remove("dragging"); }
      dragged = null;
    });
    list.addEventListener("dragover", function (event) {
      var over = event.target.closest("[data-rank-item]");
      if (!dragged || !over || over === dragged) { return; }
      event.preventDefault();
      var box = over.getBoundingClientRect();
      var after = event.clientY > box.top + box.height / 2;
      list.insertBefore(dragged, after ? over.nextSibling : over);
    });
    list.addEventListener("drop", function (event) {
      event.preventDefault();
      // The dragged option and every option above it are ranked, in this order.
      var reached = false;
      list.querySelectorAll("[data-rank-item]").forEach(function (item) {
        if (!reached) { item.dataset.moved = "1"; }
        if (item === dragged) { reached = true; }
      });
      renumber(list);
    });
  });
})();
