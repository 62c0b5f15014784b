"""PDF transcripts of interactions (D10), rendered with xhtml2pdf from a Django template."""
from __future__ import annotations

import io

from django.template.loader import render_to_string
from django.utils import timezone

from apps.core.masking import mask_name, mask_phone, masking_level_for


def transcript_pdf(*, interaction, user) -> bytes:
    from xhtml2pdf import pisa

    level = masking_level_for(user)
    entries = [("message", m.created_at, m) for m in interaction.messages.select_related("sender")]
    entries += [("note", n.created_at, n) for n in interaction.notes.select_related("author")]
    entries.sort(key=lambda e: (e[1], e[0] == "note"))
    html = render_to_string(
        "interactions/transcript.html",
        {
            "interaction": interaction,
            "customer_phone": mask_phone(interaction.customer_phone, level),
            "customer_name": mask_name(interaction.customer_name, level),
            "entries": entries,
            "generated_at": timezone.now(),
            "generated_by": user,
        },
    )
    out = io.BytesIO()
    result = pisa.CreatePDF(html, dest=out, encoding="utf-8")
    if result.err:
        raise RuntimeError("The transcript could not be rendered.")
    return out.getvalue()
