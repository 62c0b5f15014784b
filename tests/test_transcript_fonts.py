"""The PDF transcript draws emoji and non-Latin scripts with embedded fonts, not as boxes."""
from __future__ import annotations

import io
import logging

import pytest
from pypdf import PdfReader

from apps.interactions.transcripts import transcript_pdf, with_emoji_font
from apps.users.models import User
from tests.factories import InteractionFactory, MessageFactory, NoteFactory, UserFactory

pytestmark = pytest.mark.django_db

GREETINGS = {
    "emoji": "Thanks 😀👍",
    "cyrillic": "Привет, спасибо",
    "greek": "Καλημέρα",
    "arabic": "مرحبا",
    "hebrew": "שלום",
    "georgian": "გამარჯობა",
    "vietnamese": "Xin chào, cảm ơn",
}


def emoji_span(text: str) -> str:
    return f'<span class="emoji">{text}</span>'


@pytest.fixture
def supervisor():
    return UserFactory(username="sofia", role=User.Role.SUPERVISOR)


@pytest.fixture
def rendering(supervisor, caplog):
    """The transcript's PDF, and what xhtml2pdf warned about while rendering it."""
    interaction = InteractionFactory(customer_name="Анна 🌻")
    for text in GREETINGS.values():
        MessageFactory(interaction=interaction, text=text)
    MessageFactory(interaction=interaction, direction="out", text="Glad to help ❤️ 👨‍👩‍👧 🇫🇷", sender=supervisor)
    NoteFactory(interaction=interaction, author=supervisor, text="Kunde zufrieden ✅")
    with caplog.at_level(logging.WARNING, logger="xhtml2pdf"):
        data = transcript_pdf(interaction=interaction, user=supervisor)
    # Read here: caplog keeps the records of each test phase apart, and this is the setup.
    return PdfReader(io.BytesIO(data)), [record.getMessage() for record in caplog.records]


@pytest.fixture
def pdf(rendering):
    return rendering[0]


def page_fonts(reader: PdfReader) -> set[str]:
    return {str(font["/BaseFont"]) for page in reader.pages for font in page["/Resources"]["/Font"].values()}


def test_the_emoji_and_text_fonts_are_embedded(pdf):
    fonts = page_fonts(pdf)
    assert any(name.endswith("+NotoEmoji-Regular") for name in fonts), fonts
    assert any(name.endswith("+DejaVuSans") for name in fonts), fonts
    assert any(name.endswith("+DejaVuSans-Bold") for name in fonts), fonts


def test_emoji_and_cyrillic_come_out_of_the_pdf_as_written(pdf):
    text = "".join(page.extract_text() for page in pdf.pages)
    for expected in ("Thanks 😀👍", "Привет, спасибо", "Καλημέρα", "Анна 🌻", "✅"):
        assert expected in text
    for emoji in ("❤", "👨", "👩", "👧", "🇫", "🇷"):
        assert emoji in text


def test_no_character_of_the_transcript_lacks_a_glyph(rendering):
    # xhtml2pdf says so for every character that no font of the document can draw: it is a box.
    _, warnings = rendering
    assert [message for message in warnings if "can draw" in message] == []


def test_emoji_get_the_emoji_font_and_text_keeps_the_text_font():
    assert with_emoji_font("Thanks 😀👍!") == f"Thanks {emoji_span('😀👍')}!"
    assert with_emoji_font("Привет ⌚") == f"Привет {emoji_span('⌚')}"


def test_a_text_style_symbol_becomes_an_emoji_only_when_asked():
    assert with_emoji_font("I ❤ it, Acme™ #1 ↔ 2") == "I ❤ it, Acme™ #1 ↔ 2"
    assert with_emoji_font("I ❤️ it") == f"I {emoji_span('❤️')} it"
    assert with_emoji_font("press 1️⃣") == f"press {emoji_span('1️⃣')}"
    assert with_emoji_font("watch ⌚︎") == "watch ⌚︎"


def test_a_multi_code_point_emoji_stays_in_one_font():
    for emoji in ("👍🏽", "👨‍👩‍👧", "👩‍❤️‍👨", "🇫🇷", "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f", "🧑🏿‍💻"):
        assert with_emoji_font(f"a {emoji} b") == f"a {emoji_span(emoji)} b"


def test_regional_indicators_pair_into_flags():
    assert with_emoji_font("🇫🇷🇩🇪") == emoji_span("🇫🇷🇩🇪")
    assert with_emoji_font("🇫🇷 🇩🇪") == f"{emoji_span('🇫🇷')} {emoji_span('🇩🇪')}"


def test_tags_and_their_attributes_are_left_alone():
    html = '<p title="😀">a&amp;b 😀</p><br>'
    assert with_emoji_font(html) == f'<p title="😀">a&amp;b {emoji_span("😀")}</p><br>'


def test_a_joiner_between_letters_is_not_taken_for_an_emoji():
    assert with_emoji_font("ل\u200dا 😀") == f"ل\u200dا {emoji_span('😀')}"
