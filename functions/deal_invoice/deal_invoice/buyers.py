"""Who a deal bills: the deal's company (or, without one, its primary contact) as a Billomat buyer.

Client look-up order (see :mod:`autopilot.client_matching`):

1. our reference ``hubspot:<portal>:company:<id>`` (``…:contact:<id>`` for a deal without a
   company), remembered in the workflow table and kept in the client's ``customfield``;
2. else the Billomat client with exactly the company's name and the contact's e-mail (for a
   person: the e-mail);
3. else a new client with name, address, country and the contact's e-mail.

HubSpot's ``country`` is free text as someone typed it ("Deutschland", "Germany", "DE",
"Österreich"): :func:`country_code` reads the usual German and English names and ISO codes
of the EU, the EEA, Switzerland, the UK and the US. Anything else is left to Billomat's default
country (and logged), never guessed.
"""

from __future__ import annotations

import logging

from autopilot.billomat import ClientDraft
from autopilot.client_matching import Buyer
from autopilot.hubspot import Company, Contact

log = logging.getLogger("autopilot.deal_invoice")

_COUNTRY_NAMES: dict[str, tuple[str, ...]] = {
    "DE": ("deutschland", "germany", "bundesrepublik deutschland", "brd"),
    "AT": ("österreich", "oesterreich", "austria"),
    "CH": ("schweiz", "switzerland", "suisse", "svizzera"),
    "LI": ("liechtenstein",),
    "BE": ("belgien", "belgium", "belgique"),
    "BG": ("bulgarien", "bulgaria"),
    "HR": ("kroatien", "croatia"),
    "CY": ("zypern", "cyprus"),
    "CZ": ("tschechien", "tschechische republik", "czechia", "czech republic"),
    "DK": ("dänemark", "daenemark", "denmark"),
    "EE": ("estland", "estonia"),
    "FI": ("finnland", "finland"),
    "FR": ("frankreich", "france"),
    "GR": ("griechenland", "greece"),
    "HU": ("ungarn", "hungary"),
    "IE": ("irland", "ireland"),
    "IT": ("italien", "italy", "italia"),
    "LV": ("lettland", "latvia"),
    "LT": ("litauen", "lithuania"),
    "LU": ("luxemburg", "luxembourg"),
    "MT": ("malta",),
    "NL": ("niederlande", "netherlands", "the netherlands", "holland"),
    "PL": ("polen", "poland"),
    "PT": ("portugal",),
    "RO": ("rumänien", "rumaenien", "romania"),
    "SK": ("slowakei", "slovakia"),
    "SI": ("slowenien", "slovenia"),
    "ES": ("spanien", "spain", "españa"),
    "SE": ("schweden", "sweden"),
    "NO": ("norwegen", "norway"),
    "IS": ("island", "iceland"),
    "GB": ("vereinigtes königreich", "großbritannien", "united kingdom", "great britain", "uk"),
    "US": ("usa", "vereinigte staaten", "united states", "united states of america"),
}
_BY_NAME = {
    name: code for code, names in _COUNTRY_NAMES.items() for name in (code.casefold(), *names)
}


def country_code(text: str | None) -> str | None:
    """The ISO code for a country as typed in HubSpot, or None when it is not a known one."""
    if not text or not text.strip():
        return None
    code = _BY_NAME.get(" ".join(text.split()).casefold())
    if code is None:
        log.warning("unknown country %r: the client gets Billomat's default country", text[:80])
    return code


def deal_buyer(portal_id: int, company: Company | None, contact: Contact | None) -> Buyer:
    """The buyer of a deal; ValueError when the deal has neither a company nor a contact."""
    email = contact.email if contact else None
    first = contact.first_name if contact else None
    last = contact.last_name if contact else None
    if company is not None:
        street = ", ".join(p for p in (company.address, company.address2) if p) or None
        name = company.name or f"HubSpot-Firma {company.id}"
        reference = f"hubspot:{portal_id}:company:{company.id}"
        draft = ClientDraft(
            name=name,
            first_name=first,
            last_name=last,
            street=street,
            zip=company.zip,
            city=company.city,
            country_code=country_code(company.country),
            email=email,
            phone=contact.phone if contact else None,
            customfield=reference,
        )
        return Buyer(reference=reference, email=email, draft=draft, name=name)
    if contact is not None:
        reference = f"hubspot:{portal_id}:contact:{contact.id}"
        person = " ".join(p for p in (first, last) if p) or email or f"HubSpot-Kontakt {contact.id}"
        draft = ClientDraft(
            name=person,
            first_name=first,
            last_name=last,
            email=email,
            phone=contact.phone,
            customfield=reference,
        )
        return Buyer(reference=reference, email=email, draft=draft)
    raise ValueError("Der Deal hat weder eine Firma noch einen Kontakt.")
