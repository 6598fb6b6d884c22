/* Character count for the question form: progressive enhancement only.
   Without this script the hint says how many characters are allowed and the server checks.
   With it, the hint counts down as the person types, and a screen reader hears the count
   once they pause, as in the GOV.UK Design System's character count. */
(function () {
  "use strict";

  function plural(n, word) {
    return n.toLocaleString("en-GB") + " " + word + (n === 1 ? "" : "s");
  }

  function message(remaining) {
    if (remaining >= 0) {
      return "You have " + plural(remaining, "character") + " remaining";
    }
    return "You have " + plural(-remaining, "character") + " too many";
  }

  function enhance(wrapper) {
    var max = parseInt(wrapper.getAttribute("data-maxlength"), 10);
    var field = wrapper.querySelector("textarea");
    if (!max || !field) {
      return;
    }
    var hint = document.getElementById(field.id + "-info");
    if (!hint) {
      return;
    }
    // The visible count changes on every key; the announcement waits for a pause.
    hint.removeAttribute("aria-live");
    hint.setAttribute("aria-hidden", "true");
    var status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("aria-live", "polite");
    hint.parentNode.insertBefore(status, hint.nextSibling);
    var timer = null;

    function update() {
      // Count a line break as one character, as the server does.
      var length = field.value.replace(/\r\n/g, "\n").length;
      var text = message(max - length);
      hint.textContent = text;
      hint.classList.toggle("inquiry-count--over", length > max);
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        status.textContent = text;
      }, 1000);
    }

    field.addEventListener("input", update);
    hint.textContent = message(max - field.value.replace(/\r\n/g, "\n").length);
    hint.classList.toggle("inquiry-count--over", field.value.length > max);
  }

  document.querySelectorAll("[data-module='govuk-character-count']").forEach(enhance);
})();
