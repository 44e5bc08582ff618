"""Settings: the venues table and the venue form, through the venue service."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services
from digiknow_desk.domain.venues import VenueDraft
from digiknow_desk.ui.paged_model import RECORD_ROLE
from digiknow_desk.ui.settings_page import SettingsPage, VenueDialog, VenueTableModel


def test_venue_model_passes_the_model_tester(qtmodeltester: object, services: Services) -> None:
    services.venues.add(VenueDraft("Reddish Library", "E05000797"))
    services.venues.add(VenueDraft("Marple Library", "E05000794", active=False))
    model = VenueTableModel()
    model.set_venues(services.venues.venues())
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    assert model.rowCount() == 2
    assert model.data(model.index(0, VenueTableModel.WARD)) == "Marple North"
    assert model.data(model.index(0, VenueTableModel.ACTIVE)) == "No (closed)"
    assert model.data(model.index(1, 0), RECORD_ROLE).name == "Reddish Library"


def test_adding_a_venue_through_the_form(qtbot: QtBot, services: Services) -> None:
    dialog = VenueDialog(services)
    qtbot.addWidget(dialog)
    dialog.set_values("  Brinnington   Community Centre ", "E05000783")
    dialog.save()
    assert dialog.result() == VenueDialog.DialogCode.Accepted
    assert dialog.saved is not None and dialog.saved.name == "Brinnington Community Centre"
    assert [venue.ward_name for venue in services.venues.venues()] == ["Brinnington and Central"]


def test_form_shows_refusals_and_saves_nothing(qtbot: QtBot, services: Services) -> None:
    services.venues.add(VenueDraft("Reddish Library", "E05000797"))
    dialog = VenueDialog(services)
    qtbot.addWidget(dialog)
    dialog.set_values("reddish library", "")
    dialog.save()
    assert dialog.saved is None
    assert "already a venue called" in dialog.message
    assert "Choose the venue's ward" in dialog.message
    assert len(services.venues.venues()) == 1


def test_editing_a_venue_closes_it(qtbot: QtBot, services: Services) -> None:
    venue = services.venues.add(VenueDraft("Edgeley Library", "E05000788"))
    dialog = VenueDialog(services, venue)
    qtbot.addWidget(dialog)
    dialog.set_values("Edgeley Library", "E05000788", active=False)
    dialog.save()
    assert services.venues.venues()[0].active is False


def test_page_lists_venues_and_refreshes(qtbot: QtBot, services: Services) -> None:
    page = SettingsPage(services)
    qtbot.addWidget(page)
    assert page.model.rowCount() == 0
    services.venues.add(VenueDraft("Cheadle Library", "E05000784"))
    page.refresh()
    assert page.model.rowCount() == 1
