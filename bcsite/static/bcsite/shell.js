// Keyboard comfort for the shell. Everything here is optional: the pages work without it.
(function () {
  "use strict";

  function tellMeInput() {
    return document.getElementById("tellme-input");
  }

  function dropdown() {
    return document.getElementById("tellme-dropdown");
  }

  function closeDropdown() {
    var box = dropdown();
    if (box) box.innerHTML = "";
  }

  function closeMenus(except) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (menu !== except) menu.removeAttribute("open");
    });
  }

  document.addEventListener("keydown", function (event) {
    // Alt+Q as in Business Central; AltGr (Ctrl+Alt) types characters on some layouts.
    if (event.altKey && !event.ctrlKey && !event.metaKey && event.code === "KeyQ") {
      var input = tellMeInput();
      if (input) {
        event.preventDefault();
        input.focus();
        input.select();
      }
      return;
    }
    var box = dropdown();
    var inTellMe = box && (box.contains(document.activeElement) || document.activeElement === tellMeInput());
    if (!inTellMe) {
      if (event.key === "Escape") closeMenus(null);
      return;
    }
    var items = Array.prototype.slice.call(box.querySelectorAll("a"));
    var index = items.indexOf(document.activeElement);
    if (event.key === "Escape") {
      closeDropdown();
      tellMeInput().focus();
    } else if (event.key === "ArrowDown" && items.length) {
      event.preventDefault();
      items[Math.min(index + 1, items.length - 1)].focus();
    } else if (event.key === "ArrowUp" && index >= 0) {
      event.preventDefault();
      if (index === 0) tellMeInput().focus();
      else items[index - 1].focus();
    }
  });

  document.addEventListener("click", function (event) {
    var form = event.target.closest && event.target.closest(".tellme");
    if (!form) closeDropdown();
    closeMenus(event.target.closest && event.target.closest("details[data-menu]"));
  });
})();
