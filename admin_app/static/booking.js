// The booking form asks the console, while it is filled in, which chosen points are busy at that time (and by
// which meeting) and what the nearest common free time is; "find a time" and the board's picker filter points.
(function () {
  "use strict";

  function filterPoints(input) {
    var text = input.value.trim().toLowerCase();
    document.querySelectorAll(".point-picker label.point").forEach(function (label) {
      // CSSOM, not the hidden attribute: the stylesheet's display:block on points would win over it.
      label.style.display = text !== "" && label.dataset.name.indexOf(text) === -1 ? "none" : "";
    });
  }

  function setUp() {
    var filter = document.getElementById("point-filter");
    if (filter) {
      filter.addEventListener("input", function () { filterPoints(filter); });
    }
    var form = document.querySelector("form.booking[data-availability-url]");
    var box = document.getElementById("availability");
    if (!form || !box) {
      return;
    }
    var timer = null;
    var asked = 0;

    function ask() {
      var params = new URLSearchParams();
      new FormData(form).forEach(function (value, key) {
        if (key !== "csrf_token" && typeof value === "string") {
          params.append(key, value);
        }
      });
      if (!params.get("date") || !params.get("start") || !params.get("end")) {
        box.innerHTML = "";
        return;
      }
      var mine = ++asked;
      fetch(form.dataset.availabilityUrl + "?" + params.toString(), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : ""; })
        .then(function (html) {
          if (mine === asked) {  // an older answer arriving late must not replace a newer one
            box.innerHTML = html;
            box.dataset.checked = String(mine);
          }
        })
        .catch(function () { box.innerHTML = ""; });
    }

    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, 250);
    }

    form.addEventListener("change", later);
    form.addEventListener("input", function (event) {
      if (event.target && event.target.id !== "point-filter") {
        later();
      }
    });
    box.addEventListener("click", function (event) {
      var button = event.target.closest("button.use-slot");
      if (!button) {
        return;
      }
      form.elements.date.value = button.dataset.date;
      form.elements.start.value = button.dataset.start;
      form.elements.end.value = button.dataset.end;
      ask();
    });
    ask();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
