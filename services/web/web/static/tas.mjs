// Progressive enhancement only: every page works without JavaScript. Loaded as an external module so that
// the Content-Security-Policy needs no inline script.
import { initAll } from '/static/govuk-frontend.min.js'

document.body.classList.add('js-enabled', 'govuk-frontend-supported')
initAll()
