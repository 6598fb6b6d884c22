/* Character count for the question form: progressive enhancement only.
   Without this script the hint says how many characters are allowed and the server checks.
   With it, the hint counts down as the person types, and a screen reader hears the count
   once they pause, as in the GOV.UK Design System's character count. */
(function () {
  "use strict";

  // The words come from the wrapper's data-count-* attributes, which the templates fill in
  // the page's language (templates/inquiries/_character_count_text.html); English otherwise.
  var ENGLISH = {
    "remaining-one": "You have {count} character remaining",
    "remaining-other": "You have {count} characters remaining",
    "over-one": "You have {count} character too many",
    "over-other": "You have {count} characters too many"
  };

  function message(wrapper, remaining) {
    var count = Math.abs(remaining);
    var name = (remaining >= 0 ? "remaining-" : "over-") + (count === 1 ? "one" : "other");
    var words = wrapper.getAttribute("data-count-" + name) || ENGLISH[name];
    // Thousands with a comma in both languages: Spanish pages are written for the United
    // States and Latin America, where 5,000 is five thousand (content/es uses it too).
    return words.replace("{count}", count.toLocaleString("en-GB"));
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
      var text = message(wrapper, max - length);
      hint.textContent = text;
      hint.classList.toggle("inquiry-count--over", length > max);
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        status.textContent = text;
      }, 1000);
    }

    field.addEventListener("input", update);
    hint.textContent = message(wrapper, max - field.value.replace(/\r\n/g, "\n").length);
    hint.classList.toggle("inquiry-count--over", field.value.length > max);
  }

  document.querySelectorAll("[data-module='govuk-character-count']").forEach(enhance);
})();
