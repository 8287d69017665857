"""The ooc web application: GOV.UK-styled pages and a JSON API over the `ooc` engine."""
