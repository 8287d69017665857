// Questions revealed beneath a radio answer (the GOV.UK conditional reveal), without the
// aria-expanded that GOV.UK Frontend puts on the radio buttons: ARIA does not allow it on a
// radio (axe-core's aria-allowed-attr, a critical violation). The revealed question follows its
// answer, so it is read next; aria-controls still ties the two together.
for (const group of document.querySelectorAll('[data-module="ooc-reveal"]')) {
  const radios = group.querySelectorAll('input[type="radio"]')
  for (const radio of radios) {
    if (radio.dataset.ariaControls) {
      radio.setAttribute("aria-controls", radio.dataset.ariaControls)
      radio.removeAttribute("data-aria-controls")
    }
  }
  const sync = () => {
    for (const radio of radios) {
      const target = document.getElementById(radio.getAttribute("aria-controls"))
      target?.classList.toggle("govuk-radios__conditional--hidden", !radio.checked)
    }
  }
  for (const radio of radios) radio.addEventListener("change", sync)
  sync()
}
