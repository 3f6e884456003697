"""Phone numbers a viewer may see in full are tel: links; masked numbers are not links."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.factories import logged_in_client, make_user
from tests.reviews.test_cases import make_case
from tongban.core.security import Role
from tongban.core.templating import tel_link


def test_the_handling_liaison_can_dial_the_citizen_and_others_see_a_masked_number(
        db: Session) -> None:
    case_ = make_case(db, "tel-1", named="是", phone="13812345678")
    liaison = logged_in_client(db, make_user(db, role=Role.liaison, org="巴州区"))
    page = liaison.get(f"/reviews/cases/{case_.id}").text
    assert '<a href="tel:13812345678" data-testid="phone">13812345678</a>' in page
    analyst = logged_in_client(db, make_user(db, role=Role.analyst))
    page = analyst.get(f"/reviews/cases/{case_.id}").text
    assert '<span data-testid="phone">138****5678</span>' in page
    assert 'href="tel:' not in page


def test_users_phones_are_tel_links_for_the_admin(db: Session) -> None:
    colleague = make_user(db, role=Role.liaison, org="恩阳区", username="tel-colleague")
    colleague.phone = "13900001111"
    db.flush()
    admin = logged_in_client(db, make_user(db, role=Role.admin))
    page = admin.get("/admin/users", params={"q": "tel-colleague"}).text
    assert '<a href="tel:13900001111" data-testid="phone">13900001111</a>' in page


def test_a_masked_or_missing_number_is_never_a_link() -> None:
    assert "href" not in tel_link("138****5678") and "href" not in tel_link("")
    assert "href" not in tel_link(None) and "href" not in tel_link("****5678")
    assert 'href="tel:+862888881234"' in tel_link("+86 28-8888 1234")


def test_a_phone_that_carries_markup_is_escaped_and_its_link_holds_digits_only() -> None:
    """The number shown is the person's text (a citizen typed it): Markup.format escapes it,
    and the tel: target is rebuilt from its digits."""
    found = str(tel_link('13812345678"><script>alert(1)</script>'))
    assert "<script>" not in found and "&lt;script&gt;" in found
    assert 'href="tel:13812345678' in found and '"><' not in found.split('href="')[1][:30]
