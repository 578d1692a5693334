// The report's unit table as a tree: each unit with subunits gets a button that shows or hides them; the
// province and the units directly under it show at first. Without this script every row shows, indented.
(function () {
  "use strict";

  function setUp(table) {
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    // The tree's facts sit on each row's first cell: data-id, data-parent, data-depth.
    function facts(row) {
      return row.cells[0].dataset;
    }
    var children = {};
    rows.forEach(function (row) {
      var parent = facts(row).parent;
      if (parent) {
        (children[parent] = children[parent] || []).push(row);
      }
    });

    function show(row, visible) {
      (children[facts(row).id] || []).forEach(function (child) {
        child.hidden = !visible;
        var button = child.querySelector("button.toggle");
        // A hidden row hides its own subtree; shown again, its subtree comes back as it was left.
        show(child, visible && (!button || button.getAttribute("aria-expanded") === "true"));
      });
    }

    function setExpanded(row, expanded) {
      var button = row.querySelector("button.toggle");
      if (!button) {
        return;
      }
      button.setAttribute("aria-expanded", expanded ? "true" : "false");
      button.title = expanded ? table.dataset.collapse : table.dataset.expand;
      button.setAttribute("aria-label", button.title);
      show(row, expanded);
    }

    rows.forEach(function (row) {
      if (!children[facts(row).id]) {
        var space = document.createElement("span");
        space.className = "leaf";
        row.cells[0].insertBefore(space, row.cells[0].firstChild);
        return;
      }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "toggle";
      button.addEventListener("click", function () {
        setExpanded(row, button.getAttribute("aria-expanded") !== "true");
      });
      row.cells[0].insertBefore(button, row.cells[0].firstChild);
      row.cells[0].classList.add("has-children");
    });
    // Deepest first, so that a collapsed parent hides what its children would show.
    rows.slice().reverse().forEach(function (row) {
      setExpanded(row, Number(facts(row).depth) < 1);
    });

    var bar = document.createElement("p");
    bar.className = "tree-toolbar";
    [["expand-all", true], ["collapse-all", false]].forEach(function (item) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "link " + item[0];
      button.textContent = table.dataset[item[0] === "expand-all" ? "expandAll" : "collapseAll"];
      button.addEventListener("click", function () {
        rows.slice().reverse().forEach(function (row) {
          setExpanded(row, item[1] || Number(facts(row).depth) < 1);
        });
      });
      bar.appendChild(button);
    });
    table.parentNode.insertBefore(bar, table);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table.tree").forEach(setUp);
  });
})();
