/* LAPOR! Statistik: draw each `.chart` box from the numbers of the table it names (Chart.js).
   The table stays the page and what a screen reader reads; the chart only draws its `data-value` cells,
   so the picture cannot say anything the table does not. No inline script or style anywhere (CSP). */
(function () {
  "use strict";
  var COLOURS = ["#0b4f9c", "#1b7f3b", "#a36a00", "#b3121a", "#4a4f57"];

  function number(cell) {
    var value = cell ? cell.getAttribute("data-value") : null;
    return value === null || value === "" ? null : Number(value);
  }

  function list(text) {
    return (text || "").split(",").filter(Boolean).map(Number);
  }

  function draw(box) {
    var table = document.getElementById(box.getAttribute("data-table"));
    if (!table || !table.tHead || !table.tBodies.length) {
      return;
    }
    var only = box.getAttribute("data-rows");
    var rows = Array.prototype.filter.call(table.tBodies[0].rows, function (row) {
      return !only || row.classList.contains(only);
    });
    var heads = table.tHead.rows[0].cells;
    var kind = box.getAttribute("data-kind");
    var percent = list(box.getAttribute("data-percent"));
    var series = list(box.getAttribute("data-series"));
    var datasets = series.map(function (column, n) {
      var onPercent = percent.indexOf(column) >= 0;
      return {
        label: heads[column].textContent.trim(),
        data: rows.map(function (row) { return number(row.cells[column]); }),
        backgroundColor: COLOURS[n % COLOURS.length],
        borderColor: COLOURS[n % COLOURS.length],
        // a rate beside counts reads as a line on its own 0-100 axis
        type: kind === "bar" && onPercent && series.length > 1 ? "line" : undefined,
        yAxisID: onPercent && series.length > 1 ? "percent" : undefined
      };
    });
    var horizontal = kind === "hbar";
    var scales = {};
    var valueAxis = horizontal ? "x" : "y";
    scales[valueAxis] = {beginAtZero: true, ticks: {precision: 0}};  // counts are whole reports
    if (horizontal) {  // long names would be cut at the canvas edge on a phone: shortened, the table has them whole
      scales.y = {ticks: {autoSkip: false, callback: function (index) {
        var name = this.getLabelForValue(index);
        return name.length > 22 ? name.slice(0, 21) + "\u2026" : name;
      }}};
    }
    if (percent.length && series.length === percent.length) {
      scales[valueAxis].max = 100;  // only rates: the whole scale is percent
    } else if (percent.length) {
      scales.percent = {position: "right", beginAtZero: true, max: 100, grid: {drawOnChartArea: false}};
    }
    var canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", box.getAttribute("data-label"));
    canvas.textContent = box.getAttribute("data-label");
    box.appendChild(canvas);
    box.classList.add("drawn");
    if (horizontal) {  // one bar a row, whatever the count of rows (CSSOM, which the policy allows)
      box.style.height = (4 + 2 * rows.length) + "rem";
    }
    new window.Chart(canvas, {
      type: kind === "hbar" ? "bar" : kind,
      data: {
        labels: rows.map(function (row) { return row.querySelector("th").textContent.trim(); }),
        datasets: datasets
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: scales,
        plugins: {legend: {display: datasets.length > 1}}
      }
    });
  }

  if (window.Chart) {
    document.querySelectorAll(".chart[data-table]").forEach(draw);
  }
}());
