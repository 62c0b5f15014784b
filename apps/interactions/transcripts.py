"""PDF transcripts of interactions (D10), rendered with xhtml2pdf from a Django template.

Customers write in every script and with emoji, and the PDF base-14 fonts know neither: Helvetica
draws Cyrillic, Greek, Arabic and every emoji as a box. So the transcript embeds the fonts in
``fonts/`` (see the README there): DejaVu Sans for text and Noto Emoji, monochrome because ReportLab
can only draw TrueType outlines, not colour bitmaps.
"""
from __future__ import annotations

import functools
import io
import re
import unicodedata
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from apps.core.exceptions import NotAllowed
from apps.core.masking import mask_name, mask_phone, masking_level_for
from apps.queues.models import Queue
from apps.users.models import User

from .selectors import note_list_for

FONT_DIR = Path(__file__).resolve().parent / "fonts"
TEXT_FONT = FONT_DIR / "DejaVuSans.ttf"
TEXT_FONT_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
EMOJI_FONT = FONT_DIR / "NotoEmoji-Regular.ttf"

ZWJ = "\u200d"
VS_TEXT = "\ufe0e"
VS_EMOJI = "\ufe0f"
KEYCAP = "\u20e3"

# The code points below U+1F000 whose default presentation is emoji (Emoji_Presentation=Yes in
# Unicode's emoji-data.txt). Every other emoji of the BMP (❤, ☺, ™, ↔, digits) is text by default
# and stays in the text font unless U+FE0F asks for the emoji. Since Emoji 1.0 new emoji all go to
# the supplementary planes, so this list does not grow.
_BMP_EMOJI_PRESENTATION = frozenset(
    cp
    for first, last in (
        (0x231A, 0x231B), (0x23E9, 0x23EC), (0x23F0, 0x23F0), (0x23F3, 0x23F3), (0x25FD, 0x25FE),
        (0x2614, 0x2615), (0x2648, 0x2653), (0x267F, 0x267F), (0x2693, 0x2693), (0x26A1, 0x26A1),
        (0x26AA, 0x26AB), (0x26BD, 0x26BE), (0x26C4, 0x26C5), (0x26CE, 0x26CE), (0x26D4, 0x26D4),
        (0x26EA, 0x26EA), (0x26F2, 0x26F3), (0x26F5, 0x26F5), (0x26FA, 0x26FA), (0x26FD, 0x26FD),
        (0x2705, 0x2705), (0x270A, 0x270B), (0x2728, 0x2728), (0x274C, 0x274C), (0x274E, 0x274E),
        (0x2753, 0x2755), (0x2757, 0x2757), (0x2795, 0x2797), (0x27B0, 0x27B0), (0x27BF, 0x27BF),
        (0x2B1B, 0x2B1C), (0x2B50, 0x2B50), (0x2B55, 0x2B55),
    )
    for cp in range(first, last + 1)
)

# Tags and text between them: only text is rewritten, so nothing lands inside an attribute.
_TAG = re.compile(r"(<[^>]*>)")


# History kinds shown in the transcript as events (X: who had the conversation when), by label.
EVENT_LABELS = {
    "created": "Conversation started by the customer",
    "started": "Conversation started by the agent",
    "accepted": "Assigned",
    "closed": "Closed",
    "recontact": "Recontact template sent",
    "transfer_requested": "Transfer requested",
    "transfer_accepted": "Transfer accepted",
    "transfer_declined": "Transfer declined",
    "transfer_declined_by_agent": "Transfer declined",
    "transfer_expired": "Transfer expired",
    "transfer_cancelled": "Transfer cancelled",
}


def _event_detail(kind: str, data: dict, users: dict[int, str], queues: dict[int, str]) -> str:
    parts = []
    if data.get("to_agent"):
        parts.append(f"to {users.get(data['to_agent'], 'an agent')}")
    if data.get("to_queue"):
        parts.append(f"to queue {queues.get(data['to_queue'], '')}".rstrip())
    if data.get("from_agent"):
        parts.append(f"from {users.get(data['from_agent'], 'an agent')}")
    if data.get("disposition"):
        parts.append(f"disposition {data['disposition']}")
    if data.get("template"):
        parts.append(f"template {data['template']}")
    return ", ".join(parts)


def transcript_pdf(*, interaction, user) -> bytes:
    """The interaction as a PDF for ``user``: 403 ``no_transcript_permission`` without the flag."""
    if not getattr(user, "can_download_transcripts", False):
        raise NotAllowed("no_transcript_permission", "You may not download transcripts: ask an administrator.")
    # Imported here, not at the top: xhtml2pdf and ReportLab take a noticeable part of a second to
    # import, and every process that imports the views would pay it without printing anything.
    from xhtml2pdf import pisa
    from xhtml2pdf.config.resources import ResourceAccessPolicy

    _fix_reportlab_to_unicode()
    level = masking_level_for(user)
    entries = [("message", m.created_at, m) for m in interaction.messages.select_related("sender")]
    # S2: the same notes the user sees on screen; every note is internal, never the customer's.
    entries += [("note", n.created_at, n) for n in note_list_for(user, interaction)]
    history = [h for h in interaction.history.select_related("actor") if h.kind in EVENT_LABELS]
    user_ids = {v for h in history for k, v in h.data.items() if k in ("to_agent", "from_agent") and isinstance(v, int)}
    users = {u.pk: u.display_name for u in User.objects.filter(pk__in=user_ids)}
    queues = dict(Queue.objects.filter(pk__in=[h.data["to_queue"] for h in history if h.data.get("to_queue")]).values_list("pk", "name"))
    for h in history:
        h.label = EVENT_LABELS[h.kind]
        h.detail = _event_detail(h.kind, h.data, users, queues)
        entries.append(("event", h.created_at, h))
    order = {"event": 0, "message": 1, "note": 2}
    entries.sort(key=lambda e: (e[1], order[e[0]]))
    agents = list(
        User.objects.filter(pk__in=[pk for pk in {interaction.first_agent_id, interaction.owner_id} if pk])
        | User.objects.filter(pk__in=interaction.messages.exclude(sender=None).values("sender"))
    )
    zone = settings.TIME_ZONE
    with timezone.override(zone):
        html = render_to_string(
            "interactions/transcript.html",
            {
                "interaction": interaction,
                "customer_phone": mask_phone(interaction.customer_phone, level),
                "customer_name": mask_name(interaction.customer_name, level),
                "contact_name": mask_name(_contact_name(interaction), level),
                "agents": sorted({a.display_name for a in agents}),
                "entries": entries,
                "generated_at": timezone.now(),
                "generated_by": user,
                "time_zone": zone,
                "fonts": {"text": TEXT_FONT, "text_bold": TEXT_FONT_BOLD, "emoji": EMOJI_FONT},
            },
        )
    out = io.BytesIO()
    # The document may read its own fonts and nothing else: no other local file, no URL.
    policy = ResourceAccessPolicy(base_dir=FONT_DIR, allow_remote=False)
    result = pisa.CreatePDF(with_emoji_font(html), dest=out, encoding="utf-8", resource_policy=policy)
    if result.err:
        raise RuntimeError("The transcript could not be rendered.")
    return out.getvalue()


def _contact_name(interaction) -> str:
    contact = interaction.contact
    if contact is None:
        return ""
    return f"{contact.first_name} {contact.last_name}".strip()


def with_emoji_font(html: str) -> str:
    """``html`` with each run of emoji wrapped in ``<span class="emoji">``.

    xhtml2pdf falls back from font to font per character, in the order of ``font-family``, so with
    the text font first an emoji that DejaVu Sans also draws (😀, ❤) comes out in DejaVu's style
    beside Noto Emoji's 👍, and the pieces of one emoji (❤ + U+FE0F, 👍 + skin tone) can land in
    different fonts. Choosing the font per emoji, here, keeps each emoji whole in the emoji font
    and leaves text-style symbols (™, ©, ↔, a plain digit) in the text font.
    """
    return "".join(part if part.startswith("<") else _wrap_emoji(part) for part in _TAG.split(html))


def _wrap_emoji(text: str) -> str:
    out: list[str] = []
    run: list[str] = []
    for cluster in _clusters(text):
        if _is_emoji(cluster):
            run.append(cluster)
            continue
        if run:
            out.append(f'<span class="emoji">{"".join(run)}</span>')
            run = []
        out.append(cluster)
    if run:
        out.append(f'<span class="emoji">{"".join(run)}</span>')
    return "".join(out)


def _clusters(text: str):
    """Split ``text`` into what a reader sees as one emoji or one character.

    A subset of Unicode's grapheme rules (UAX #29) that is enough to choose a font: a base with its
    combining marks, variation selectors, skin-tone modifiers and tag characters (subdivision
    flags); emoji joined by U+200D (family, profession); and regional indicators in pairs (flags).
    ReportLab does not shape, so a sequence that Noto Emoji would draw as one ligature (👨‍👩‍👧,
    🇫🇷, 👍🏽) is drawn as its parts, each in the emoji font; keeping the cluster together is what
    stops the parts from being split between fonts.
    """
    cluster = ""
    for char in text:
        if cluster and (_extends(char) or _joins(cluster, char)):
            cluster += char
            continue
        if cluster:
            yield cluster
        cluster = char
    if cluster:
        yield cluster


def _extends(char: str) -> bool:
    cp = ord(char)
    return (
        char == ZWJ
        or unicodedata.category(char) in ("Mn", "Me", "Mc")  # U+FE0F and U+20E3 are among these
        or 0x1F3FB <= cp <= 0x1F3FF  # skin tones
        or 0xE0020 <= cp <= 0xE007F  # tag characters
    )


def _joins(cluster: str, char: str) -> bool:
    if cluster.endswith(ZWJ):
        # Only emoji join this way; U+200D between letters (Arabic, Indic) asks for a joining form.
        return ord(char) > 0x7F and ord(char) in _emoji_coverage()
    if _is_regional_indicator(char):
        return len(cluster) == 1 and _is_regional_indicator(cluster)
    return False


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _is_emoji(cluster: str) -> bool:
    """Whether ``cluster`` is to be drawn as an emoji, by the emoji font."""
    base = ord(cluster[0])
    if base not in _emoji_coverage() or VS_TEXT in cluster:
        return False
    if VS_EMOJI in cluster or KEYCAP in cluster:
        return True
    return base >= 0x1F000 or base in _BMP_EMOJI_PRESENTATION


@functools.cache
def _emoji_coverage() -> frozenset[int]:
    from reportlab.pdfbase.ttfonts import TTFontFile

    return frozenset(TTFontFile(str(EMOJI_FONT)).charToGlyph)


@functools.cache
def _fix_reportlab_to_unicode() -> None:
    """Make the PDF's text layer say which emoji it shows.

    ReportLab (5.1 and earlier) writes a code point above U+FFFF into a font's ToUnicode map as five
    hex digits (``<1F600>``) where PDF wants UTF-16 (``<D83DDE00>``). The emoji are drawn, but
    copying, searching and text extraction read nothing for them. The replacement below differs
    only for those code points, and is left out once ReportLab gets them right.
    """
    from reportlab.pdfbase import ttfonts

    original = ttfonts.makeToUnicodeCMap
    if "<D83DDE00>" in original("probe", [0x1F600]):
        return

    def make_to_unicode_cmap(fontname: str, subset: list[int]) -> str:
        cmap = original(fontname, subset)
        for index, cp in enumerate(subset):
            if cp > 0xFFFF:
                utf16 = chr(cp).encode("utf-16-be").hex().upper()
                cmap = cmap.replace(f"<{index:02X}> <{cp:04X}>", f"<{index:02X}> <{utf16}>", 1)
        return cmap

    ttfonts.makeToUnicodeCMap = make_to_unicode_cmap
