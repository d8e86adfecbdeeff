// Page comfort that needs script; every page works without it.
// - "Select all" in a list's header checks or clears the row checkboxes. It stays hidden
//   without script, since it could do nothing then.
(function () {
  "use strict";

  function rowBoxes(selectAll) {
    var form = selectAll.closest("form");
    return form ? Array.prototype.slice.call(form.querySelectorAll('input[type="checkbox"][name="selected"]')) : [];
  }

  function sync(selectAll) {
    var boxes = rowBoxes(selectAll);
    var checked = boxes.filter(function (box) { return box.checked; }).length;
    selectAll.checked = boxes.length > 0 && checked === boxes.length;
    selectAll.indeterminate = checked > 0 && checked < boxes.length;
    selectAll.disabled = boxes.length === 0;
  }

  function init(root) {
    if (!root || !root.querySelectorAll) return;
    root.querySelectorAll("[data-select-all]").forEach(function (selectAll) {
      selectAll.hidden = false;
      sync(selectAll);
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-select-all]")) {
      rowBoxes(target).forEach(function (box) { box.checked = target.checked; });
      sync(target);
    } else if (target.matches('input[type="checkbox"][name="selected"]')) {
      var form = target.closest("form");
      var selectAll = form && form.querySelector("[data-select-all]");
      if (selectAll) sync(selectAll);
    }
  });

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  // A list sorted or paged with htmx brings a new header.
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
