"""The template language, HTML escaping and SMS fragment counting."""

from __future__ import annotations

import pytest

from notify.domain.templates import (
    MissingPersonalisation,
    Template,
    TemplateError,
    placeholders,
    plain_to_html,
    render_text,
    sms_length,
)


def test_placeholders_are_filled_and_a_missing_value_is_an_error():
    assert render_text("See ((link)) now", {"link": "https://x.example.org"}) == "See https://x.example.org now"
    with pytest.raises(MissingPersonalisation, match=r"\(\(link\)\)"):
        render_text("See ((link)) now", {})


def test_optional_block_shows_only_when_its_condition_is_truthy_and_may_hold_placeholders():
    text = "New request((urgent??, urgent: ref ((reference)))). Open ((link))"
    assert placeholders(text) == {"urgent", "reference", "link"}
    shown = render_text(text, {"urgent": True, "reference": "AB12", "link": "L"})
    hidden = render_text(text, {"urgent": "no", "reference": "AB12", "link": "L"})
    assert shown == "New request, urgent: ref AB12. Open L"
    assert hidden == "New request. Open L"
    with pytest.raises(MissingPersonalisation, match="reference"):  # inside a hidden block still required
        render_text(text, {"urgent": False, "link": "L"})
    with pytest.raises(MissingPersonalisation, match="urgent"):
        render_text(text, {"reference": "AB12", "link": "L"})


def test_malformed_placeholder_is_refused_at_validation():
    with pytest.raises(TemplateError):
        Template("x", 1, "en", "sms", "Hello ((link)").validate()
    with pytest.raises(TemplateError):
        Template("x", 1, "en", "sms", "Hello ((Bad Name))").validate()
    with pytest.raises(TemplateError, match="subject"):
        Template("x", 1, "en", "email", "Hello").validate()


def test_html_part_escapes_template_text_and_values_and_links_urls():
    body = render_text(
        "Tom & Jerry <b>((x))</b>\n\nSee https://tas.example.org/a?b=1&c=2.", {"x": "<script>alert(1)</script>"}
    )
    html = plain_to_html(body)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Tom &amp; Jerry &lt;b&gt;" in html
    assert '<a href="https://tas.example.org/a?b=1&amp;c=2">' in html
    assert html.count("<p>") == 2


@pytest.mark.parametrize(
    ("text", "encoding", "characters", "fragments"),
    [
        ("a" * 160, "gsm7", 160, 1),
        ("a" * 161, "gsm7", 161, 2),
        ("a" * 306, "gsm7", 306, 2),
        ("a" * 307, "gsm7", 307, 3),
        ("€" * 80, "gsm7", 160, 1),  # extended characters count two
        ("[" * 81, "gsm7", 162, 2),
        ("é" * 160, "gsm7", 160, 1),  # é is in the GSM-7 basic set
        ("ŵ" + "a" * 69, "ucs2", 70, 1),  # Welsh ŵ forces Unicode
        ("ŷ" + "a" * 70, "ucs2", 71, 2),
        ("â" * 134, "ucs2", 134, 2),
        ("â" * 135, "ucs2", 135, 3),
    ],
)
def test_sms_fragments(text, encoding, characters, fragments):
    length = sms_length(text)
    assert (length.encoding, length.characters, length.fragments) == (encoding, characters, fragments)


def test_sms_longer_than_the_maximum_is_refused_at_save_and_at_render():
    with pytest.raises(TemplateError, match="4 fragments"):
        Template("x", 1, "en", "sms", "a" * 460).validate(max_fragments=3)
    Template("x", 1, "en", "sms", "a" * 459).validate(max_fragments=3)
    template = Template("x", 1, "en", "sms", "((link))")
    with pytest.raises(TemplateError, match="longer"):
        template.render({"link": "ŵ" * 202}, max_fragments=3)
