from __future__ import annotations

import pytest

from apps.contacts import vcards

CARD_30 = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:card-30\r\nFN:Jeanne Martin\r\nN:Martin;Jeanne;Marie;Dr;\r\n"
    "NICKNAME:Jo\r\nORG:Acme;Research\r\nTITLE:Chemist\r\n"
    "EMAIL;TYPE=INTERNET,WORK,PREF:jeanne@acme.test\r\nEMAIL;TYPE=HOME:jeanne@home.test\r\n"
    "TEL;TYPE=CELL:+33 6 12 34 56 78\r\nADR;TYPE=HOME:;;1 rue de la Paix;Paris;;75002;France\r\n"
    "URL:https://acme.test/jeanne\r\nBDAY:1980-04-21\r\nNOTE:Met at the fair\r\nCATEGORIES:Work,Chemistry\r\n"
    "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQ==\r\n"
    "X-CUSTOM-THING;X-PARAM=keep:secret value\r\nIMPP;X-SERVICE-TYPE=Jabber:xmpp:jeanne@acme.test\r\n"
    "END:VCARD\r\n"
)
CARD_40 = (
    "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:40\r\nFN:Jean Dupont\r\nN:Dupont;Jean;;;\r\n"
    'EMAIL;TYPE=work;PREF=1:jean@acme.test\r\nTEL;VALUE=uri;TYPE="voice,cell":tel:+33-1-23-45\r\n'
    "RELATED;TYPE=spouse:urn:uuid:99\r\nX-ABLABEL:custom\r\nEND:VCARD\r\n"
)


def test_vcard_30_fields_are_read() -> None:
    fields = vcards.read_fields(vcards.parse_card(CARD_30))
    assert (fields.full_name, fields.given, fields.family, fields.nickname) == (
        "Jeanne Martin",
        "Jeanne",
        "Martin",
        "Jo",
    )
    assert (fields.organisation, fields.title) == ("Acme", "Chemist")
    assert [(e.value, e.types) for e in fields.emails] == [
        ("jeanne@acme.test", ["internet", "work", "pref"]),
        ("jeanne@home.test", ["home"]),
    ]
    assert fields.phones[0].value == "+33 6 12 34 56 78"
    assert fields.urls[0].value == "https://acme.test/jeanne"
    assert (fields.birthday, fields.note, fields.categories) == ("1980-04-21", "Met at the fair", ["Work", "Chemistry"])
    assert vcards.addresses(vcards.parse_card(CARD_30))[0].value == "1 rue de la Paix, 75002, Paris, France"


def test_vcard_40_fields_are_read_and_derived() -> None:
    card = vcards.parse_card(CARD_40)
    fields = vcards.read_fields(card)
    assert fields.emails[0].value == "jean@acme.test"
    assert fields.phones[0].value == "+33-1-23-45"
    assert fields.phones[0].types == ["voice", "cell"]
    derived = vcards.derive(CARD_40, card)
    assert (derived.uid, derived.full_name, derived.sort_key, derived.email) == (
        "urn:uuid:40",
        "Jean Dupont",
        "dupont jean",
        "jean@acme.test",
    )
    assert "+33-1-23-45" in derived.search_text


@pytest.mark.parametrize("text", [CARD_30, CARD_40])
def test_round_trip_without_changes_keeps_every_property(text: str) -> None:
    fields = vcards.read_fields(vcards.parse_card(text))
    again = vcards.read_fields(vcards.parse_card(vcards.edit_card(text, fields)))
    assert again == fields


def test_edit_keeps_properties_ruche_does_not_show() -> None:
    fields = vcards.read_fields(vcards.parse_card(CARD_30))
    fields.title = "Head chemist"
    fields.emails = [fields.emails[0], vcards.Typed("new@acme.test", ["work"])]
    edited = vcards.edit_card(CARD_30, fields)
    assert "X-CUSTOM-THING;X-PARAM=keep:secret value" in edited
    assert "IMPP;X-SERVICE-TYPE=Jabber:xmpp:jeanne@acme.test" in edited
    assert "1 rue de la Paix" in edited
    assert "/9j/4AAQSkZJRgABAQ==" in edited
    card = vcards.parse_card(edited)
    # The middle name and prefix the form does not show are kept in N.
    assert card.n.value.additional == "Marie"
    assert card.n.value.prefix == "Dr"
    result = vcards.read_fields(card)
    assert result.title == "Head chemist"
    assert [e.value for e in result.emails] == ["jeanne@acme.test", "new@acme.test"]
    assert "jeanne@home.test" not in edited
    # The kept mail keeps its own parameters.
    assert result.emails[0].types == ["internet", "work", "pref"]


def test_edit_of_40_card_keeps_related_and_x_properties() -> None:
    fields = vcards.read_fields(vcards.parse_card(CARD_40))
    fields.nickname = "JD"
    edited = vcards.edit_card(CARD_40, fields)
    assert "RELATED;TYPE=spouse:urn:uuid:99" in edited
    assert "X-ABLABEL:custom" in edited
    assert "VERSION:4.0" in edited
    assert "tel:+33-1-23-45" in edited
    assert vcards.read_fields(vcards.parse_card(edited)).nickname == "JD"


def test_new_card_is_a_readable_vcard_40() -> None:
    text = vcards.new_card(vcards.CardFields(full_name="Ana Lima", emails=[vcards.Typed("ana@x.test", ["home"])]))
    card = vcards.parse_card(text)
    assert "VERSION:4.0" in text
    assert vcards.read_fields(card).emails == [vcards.Typed("ana@x.test", ["home"])]
    assert vcards.derive(text, card).uid.startswith("urn:uuid:")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("hello", "not a vCard"),
        ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:broken\r\n", "cannot be read"),
        ("BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Old\r\nEND:VCARD\r\n", "3.0 and 4.0"),
        ("BEGIN:VCARD\r\nVERSION:4.0\r\nEMAIL:a@b.test\r\nEND:VCARD\r\n", "no name"),
        ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\nBEGIN:VCARD", "not a vCard"),
    ],
)
def test_malformed_cards_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(vcards.VCardError, match=reason):
        vcards.parse_card(text)


def test_huge_card_is_refused() -> None:
    photo = "A" * (vcards.MAX_CARD_CHARS + 1)
    text = f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Big\r\nPHOTO;ENCODING=b:{photo}\r\nEND:VCARD\r\n"
    with pytest.raises(vcards.VCardError, match="larger than"):
        vcards.parse_card(text)


def test_split_cards_keeps_each_card_apart() -> None:
    chunks = list(vcards.split_cards(CARD_30 + "garbage\n" + CARD_40.replace("\r\n", "\n")))
    assert len(chunks) == 2
    assert chunks[1].startswith("BEGIN:VCARD\r\nVERSION:4.0")


def test_a_card_without_any_name_is_refused_before_writing() -> None:
    with pytest.raises(vcards.VCardError, match="no name"):
        vcards.new_card(vcards.CardFields(note="who?"))


LOSSY_FOR_VOBJECT = (
    "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:lossy-1\r\nFN:Ana Lima\r\nN:Lima;Ana;;;\r\n"
    "NICKNAME:Ana,Anita\r\nURL:https://lima.test/?a=1,2\r\nX-CUSTOM:one,two\r\n"
    "RELATED;TYPE=friend:urn:uuid:a,b\r\nIMPP:xmpp:ana@lima.test\r\n"
    "PHOTO:data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2O\r\n"
    " UAAAAABJRU5ErkJggg==\r\nEND:VCARD\r\n"
)


def test_a_browser_edit_rewrites_only_the_changed_properties() -> None:
    # vobject reads NICKNAME, URL, X-… and 4.0 data: URIs as one text cut at the first comma:
    # an edit of the name must leave those lines exactly as the client wrote them.
    fields = vcards.read_fields(vcards.parse_card(LOSSY_FOR_VOBJECT))
    assert vcards.edit_card(LOSSY_FOR_VOBJECT, fields) == LOSSY_FOR_VOBJECT
    fields.full_name = "Ana Lima-Costa"
    edited = vcards.edit_card(LOSSY_FOR_VOBJECT, fields)
    assert "FN:Ana Lima-Costa\r\n" in edited
    for line in LOSSY_FOR_VOBJECT.split("\r\n")[4:-2]:
        assert line in edited.split("\r\n")
    assert "FN:Ana Lima\r\n" not in edited


def test_a_new_property_goes_before_the_end_and_the_rest_stays() -> None:
    fields = vcards.read_fields(vcards.parse_card(LOSSY_FOR_VOBJECT))
    fields.note = "Met at the fair, 2026"
    edited = vcards.edit_card(LOSSY_FOR_VOBJECT, fields)
    assert edited.endswith("NOTE:Met at the fair\\, 2026\r\nEND:VCARD\r\n")
    assert edited.startswith(LOSSY_FOR_VOBJECT.removesuffix("END:VCARD\r\n"))
