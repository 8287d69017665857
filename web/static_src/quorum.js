// The live quorum indicator on the "Record a panel meeting" form.
//
// The rule comes from the page: data attributes written from the workflow definition (the
// agencies that must attend and how many others are needed), so it is never repeated here.
// Without JavaScript the page still works: the result shows after the meeting is saved.
const indicator = document.getElementById("quorum-indicator")
const status = document.getElementById("quorum-status")

if (indicator && status) {
  const form = indicator.closest("form")
  const required = indicator.dataset.quorumRequired.split(" ").filter(Boolean)
  const minimumOthers = Number(indicator.dataset.quorumMinimumOthers)
  const boxes = Array.from(form.querySelectorAll('input[type="checkbox"][name="agencies"]'))
  const labelOf = (code) => {
    const box = boxes.find((b) => b.value === code)
    const label = box && form.querySelector(`label[for="${box.id}"]`)
    return label ? label.textContent.trim() : code
  }

  const tag = (text, colour) => {
    const strong = document.createElement("strong")
    strong.className = `govuk-tag govuk-tag--${colour}`
    strong.textContent = text
    return strong
  }

  const update = () => {
    const present = boxes.filter((b) => b.checked).map((b) => b.value)
    if (present.length === 0) {
      status.replaceChildren("Tick the agencies present to see whether the meeting is quorate.")
      return
    }
    // The same checks, in the same words, as the engine's quorum rule.
    const problems = required.filter((code) => !present.includes(code))
      .map((code) => `${labelOf(code)} did not attend`)
    const others = present.filter((code) => !required.includes(code)).length
    if (others < minimumOthers) {
      problems.push(`it needs at least ${minimumOthers} other agencies and had ${others}`)
    }
    if (problems.length === 0) {
      status.replaceChildren(tag("Quorate", "green"), " The meeting is quorate.")
    } else {
      status.replaceChildren(tag("Not quorate", "red"),
        ` The meeting is not quorate: ${problems.join("; ")}.`)
    }
  }

  boxes.forEach((box) => box.addEventListener("change", update))
  update()
}
