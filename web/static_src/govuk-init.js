// Starts GOV.UK Frontend's components (the header menu, conditional reveals, the error summary).
// A file of its own: the Content-Security-Policy lets the pages run no inline script.
import { initAll } from "/static/govuk/govuk-frontend.min.js"

initAll()
