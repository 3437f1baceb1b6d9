/* Monthly trend charts: each <canvas class="trend"> carries its labels and values as JSON in
   data attributes (no inline script, so the Content-Security-Policy allows only files). */
(function () {
  "use strict";
  if (typeof window.Chart === "undefined") {
    return;
  }
  document.querySelectorAll("canvas.trend").forEach(function (canvas) {
    var labels = JSON.parse(canvas.dataset.labels || "[]");
    var values = JSON.parse(canvas.dataset.values || "[]");
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: labels,
        datasets: [{
          label: canvas.dataset.label,
          data: values,
          borderColor: canvas.dataset.color,
          backgroundColor: canvas.dataset.color,
          spanGaps: false,
          tension: 0
        }]
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: {
          y: { min: 0, max: 100, ticks: { callback: function (v) { return v + "%"; } } }
        },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: function (c) { return c.parsed.y === null ? "—" : c.parsed.y.toFixed(1) + "%"; } } }
        }
      }
    });
  });
})();
