// The printable survey's button: the browser's own print dialog (A4, see ui.css @media print).
document.getElementById("print")?.addEventListener("click", () => window.print());
