#!/usr/bin/env bash
# Refresh the Welsh catalogue from the code and templates: new messages appear in messages.po with an empty
# msgstr (English is shown until they are translated); `tests/web/test_i18n.py` fails while any is empty.
set -euo pipefail
cd "$(dirname "$0")"
BIN=../../.venv/bin
"$BIN/pybabel" extract -F babel.cfg -k _ -k gettext_ -k N_ -k ngettext_:1,2 --no-location --sort-output \
  -o web/translations/messages.pot .
"$BIN/pybabel" update -i web/translations/messages.pot -d web/translations -l cy --no-fuzzy-matching -w 120
