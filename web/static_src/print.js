// "Print this page" buttons (a file of its own: the pages run no inline script).
for (const button of document.querySelectorAll('[data-module="ooc-print"]')) {
  button.addEventListener("click", () => window.print())
}
