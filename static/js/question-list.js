/* "My question list" on the Questions to ask page: progressive enhancement only.
   Without this script the page prints as it is: every question, with a box to tick by pen.
   With it, each question gets a checkbox, a reader can add questions of their own, and
   "Print my list" prints only the ticked and added ones, in large type, with lines for the
   answers. What they tick and type stays in the page: nothing is sent, stored or put in the
   address (no request, no cookie, no storage, no form that could be submitted). */
(function () {
  "use strict";

  var lists = document.querySelectorAll(".checklist ul");
  if (!lists.length || typeof window.print !== "function") {
    return;
  }
  var numbered = 0;
  var status;
  // The words come from data-question-list-* attributes that the page's template fills in
  // the page's language (templates/pages/_question_list_text.html); English otherwise.
  var wordsHolder = document.querySelector("[data-question-list-title]");

  function words(name, english) {
    var value = wordsHolder && wordsHolder.getAttribute("data-question-list-" + name);
    return value || english;
  }

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  // A question becomes a checkbox with the question as its label.
  function addCheckbox(item, checked) {
    numbered += 1;
    var id = "question-" + numbered;
    var box = element("input", { type: "checkbox", id: id, "class": "question-list__box" });
    box.checked = checked;
    var label = element("label", { "for": id, "class": "question-list__label" });
    while (item.firstChild) {
      label.appendChild(item.firstChild);
    }
    // A link inside a question would take the reader away from their list (a click on the
    // question ticks it): keep the words only.
    label.querySelectorAll("a").forEach(function (link) {
      link.replaceWith(document.createTextNode(link.textContent));
    });
    item.classList.add("question-list__item");
    item.appendChild(box);
    item.appendChild(label);
    box.addEventListener("change", updateCount);
    return label;
  }

  function chosen() {
    var questions = [];
    document.querySelectorAll(".question-list__box:checked").forEach(function (box) {
      var label = document.querySelector("label[for='" + box.id + "']");
      var text = label ? label.textContent.replace(/\s+/g, " ").trim() : "";
      if (text) {
        questions.push(text);
      }
    });
    return questions;
  }

  function updateCount() {
    var count = chosen().length;
    // Printing the whole page shows the reader's own questions, but not the empty tools.
    tools.classList.toggle("no-print", !ownList.children.length);
    counter.textContent = count === 1
      ? words("count-one", "1 question in your list.")
      : words("count-other", "{count} questions in your list.").replace("{count}", count);
  }

  function addOwnQuestion() {
    var text = field.value.replace(/\s+/g, " ").trim();
    if (!text) {
      error.hidden = false;
      field.setAttribute("aria-invalid", "true");
      field.focus();
      return;
    }
    error.hidden = true;
    field.removeAttribute("aria-invalid");
    var item = element("li", {}, text);
    ownList.appendChild(item);
    ownWrap.hidden = false;
    var label = addCheckbox(item, true);
    label.id = "own-" + numbered;
    var remove = element("button", {
      type: "button",
      "class": "question-list__remove no-print",
      "aria-describedby": label.id
    }, words("remove", "Remove"));
    remove.addEventListener("click", function () {
      item.remove();
      ownWrap.hidden = !ownList.children.length;
      updateCount();
      announce(words("removed", "Removed."));
      field.focus();
    });
    item.appendChild(remove);
    field.value = "";
    updateCount();
    announce(words("added", "Added to your list: {question}").replace("{question}", function () {
      return text; // a function: "$&" and the like in what the reader typed stay as typed
    }));
  }

  function announce(text) {
    status.textContent = text;
  }

  // The printed list: built fresh from what is ticked, shown only by the print rules while
  // <body> has the class print-my-list.
  function buildPrintedList(questions) {
    var old = document.querySelector(".my-question-list");
    if (old) {
      old.remove();
    }
    var section = element("section", { "class": "my-question-list", hidden: "" });
    section.appendChild(element("h1", {}, words("printed-title", "My questions for my care team")));
    var list = element("ol");
    questions.forEach(function (question) {
      var item = element("li");
      item.appendChild(element("p", { "class": "my-question-list__question" }, question));
      var lines = element("div", { "class": "my-question-list__answer" });
      for (var line = 0; line < 4; line += 1) {
        lines.appendChild(element("span", { "class": "my-question-list__line" }));
      }
      item.appendChild(lines);
      list.appendChild(item);
    });
    section.appendChild(list);
    document.body.appendChild(section);
  }

  function printMyList() {
    var questions = chosen();
    if (!questions.length) {
      announce(words("none", "Tick at least one question, or add your own, then choose Print my list."));
      return;
    }
    announce("");
    buildPrintedList(questions);
    document.body.classList.add("print-my-list");
    window.print();
  }

  // Printing from the browser's own menu afterwards prints the whole page again.
  window.addEventListener("afterprint", function () {
    document.body.classList.remove("print-my-list");
  });

  lists.forEach(function (list) {
    list.closest(".checklist").classList.add("question-list");
    Array.prototype.forEach.call(list.children, function (item) {
      addCheckbox(item, false);
    });
  });

  // The tools go after the last list of questions.
  var lastList = lists[lists.length - 1].closest(".checklist");
  var tools = element("section", { "class": "question-tools", "aria-labelledby": "question-tools-title" });
  tools.appendChild(element("h2", { id: "question-tools-title" }, words("title", "Your own questions")));
  tools.appendChild(element("p", { "class": "no-print" }, words("intro", "Type a question of your own and choose Add. It goes in your list, ticked.")));

  var ownWrap = element("div", { "class": "checklist question-list" });
  ownWrap.hidden = true;
  var ownList = element("ul", { "aria-label": words("title", "Your own questions") });
  ownWrap.appendChild(ownList);
  tools.appendChild(ownWrap);

  var add = element("div", { "class": "question-tools__add no-print" });
  add.appendChild(element("label", { "for": "own-question", "class": "question-tools__label" }, words("label", "Your question")));
  var error = element("p", { id: "own-question-error", "class": "question-tools__error" }, words("error", "Error: type a question first."));
  error.hidden = true;
  add.appendChild(error);
  var row = element("div", { "class": "question-tools__row" });
  var field = element("input", {
    type: "text",
    id: "own-question",
    "class": "govuk-input",
    autocomplete: "off",
    maxlength: "300",
    "aria-describedby": "own-question-error"
  });
  field.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      addOwnQuestion();
    }
  });
  var addButton = element("button", { type: "button" }, words("add", "Add"));
  addButton.addEventListener("click", addOwnQuestion);
  row.appendChild(field);
  row.appendChild(addButton);
  add.appendChild(row);
  tools.appendChild(add);

  var printing = element("div", { "class": "question-tools__print no-print" });
  printing.appendChild(element("h2", {}, words("print-title", "Print your list")));
  printing.appendChild(element("p", {}, words("print-intro", "\u201cPrint my list\u201d prints only the questions you ticked or added, in large type, with space to write the answers.")));
  printing.appendChild(element("p", {}, words("privacy", "What you tick and type stays on this page. It is not sent to us or saved, and it is gone when you leave the page.")));
  var counter = element("p", { "class": "question-tools__count" });
  printing.appendChild(counter);
  var printButton = element("button", { type: "button" }, words("print", "Print my list"));
  printButton.addEventListener("click", printMyList);
  printing.appendChild(printButton);
  status = element("p", { "class": "question-tools__status", role: "status" });
  printing.appendChild(status);
  tools.appendChild(printing);

  lastList.parentNode.insertBefore(tools, lastList.nextSibling);
  document.querySelectorAll(".question-list-help").forEach(function (help) {
    help.hidden = false;
  });
  updateCount();
})();
