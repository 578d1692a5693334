// "Invite by name": a search field over the directory (name, address, unit; diacritics optional) above the
// invitees box. Picked people become removable chips; on submit they join the box's own lines, where external
// addresses may still be typed. Without JavaScript the box alone works as before.
(function () {
  "use strict";

  function setUp(root) {
    var input = root.querySelector("input[type=search]");
    var list = root.querySelector(".people-results");
    var chips = root.querySelector(".people-chips");
    var box = document.getElementById(root.dataset.target);
    var form = root.closest("form");
    if (!input || !list || !chips || !box || !form) {
      return;
    }
    var picked = [];
    var timer = null;
    var asked = 0;

    function line(p) { return p.name + " <" + p.email + ">"; }

    function render() {
      chips.textContent = "";
      picked.forEach(function (p, i) {
        var chip = document.createElement("span");
        chip.className = "chip";
        chip.dataset.email = p.email;
        chip.appendChild(document.createTextNode(p.name + " "));
        var small = document.createElement("small");
        small.textContent = p.email;
        chip.appendChild(small);
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "chip-remove";
        remove.setAttribute("aria-label", root.dataset.removeLabel + " " + p.name);
        remove.textContent = "×";
        remove.addEventListener("click", function () { picked.splice(i, 1); render(); });
        chip.appendChild(remove);
        chips.appendChild(chip);
      });
    }

    function show(people) {
      list.textContent = "";
      people.forEach(function (p) {
        var item = document.createElement("li");
        var pick = document.createElement("button");
        pick.type = "button";
        pick.className = "person";
        pick.textContent = p.name;
        var detail = document.createElement("small");
        detail.textContent = " " + p.email + (p.unit ? " · " + p.unit : "");
        pick.appendChild(detail);
        pick.addEventListener("click", function () {
          if (!picked.some(function (q) { return q.email === p.email; })) {
            picked.push(p);
            render();
          }
          list.textContent = "";
          input.value = "";
          input.focus();
        });
        item.appendChild(pick);
        list.appendChild(item);
      });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      var text = input.value.trim();
      if (text.length < 2) {
        list.textContent = "";
        return;
      }
      timer = setTimeout(function () {
        var mine = ++asked;
        fetch(root.dataset.url + "?q=" + encodeURIComponent(text), { credentials: "same-origin" })
          .then(function (response) { return response.ok ? response.json() : []; })
          .then(function (people) { if (mine === asked) { show(people); } })
          .catch(function () { list.textContent = ""; });
      }, 200);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault(); // Enter picks from the list, it does not submit the booking
        var first = list.querySelector("button.person");
        if (first) { first.click(); }
      }
    });
    form.addEventListener("submit", function () {
      var typed = box.value.trim();
      var lines = picked.map(line);
      box.value = (typed ? typed + "\n" : "") + lines.join("\n");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-people-picker]").forEach(setUp);
  });
})();
