"""A signed-in admin driving the control panel over HTTP, and reads of the rows the pages wrote."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from tests.factory import Factory, NationInfo, UserInfo
from tests.flows import hidden_field, sign_in
from tests.panel.html_tree import Node, parse


@dataclass
class AdminBrowser:
    client: TestClient
    factory: Factory
    nation: NationInfo
    user: UserInfo
    csrf: str

    def url(self, path: str) -> str:
        return self.nation.prefix + path

    def get(self, path: str, **params: str) -> Any:
        return self.client.get(self.url(path), params=params)

    def page(self, path: str, **params: str) -> Node:
        """Open a page that must load, and return its parsed HTML."""
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return parse(response.text)

    def follow(self, link: str) -> Node:
        """Open a link of a page; links already carry the nation's prefix."""
        response = self.client.get(link)
        assert response.status_code == 200, response.text
        return parse(response.text)

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True) -> Any:
        form = {**({"csrf_token": self.csrf} if csrf else {}), **(data or {})}
        return self.client.post(self.url(path), data=form)

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        token = self.factory.test_token(self.nation, self.user)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        return self.client.request(method, self.url(path), headers=headers, **kwargs)

    def rows(self, table: str, **where: Any) -> list[dict[str, Any]]:
        """Return the rows of ``table`` that match ``where``, oldest first."""

        def read(session: Session) -> list[dict[str, Any]]:
            reflected = sa.Table(table, sa.MetaData(), autoload_with=session.connection())
            query = sa.select(reflected).order_by(reflected.c.id)
            for name, value in where.items():
                query = query.where(reflected.c[name] == value)
            return [dict(row._mapping) for row in session.execute(query)]

        return self.factory.database.transaction(read)

    def audit_events(self, kind_prefix: str = "") -> list[dict[str, Any]]:
        return [
            event
            for event in self.rows("audit_events", nation_id=self.nation.id)
            if event["kind"].startswith(kind_prefix)
        ]


def signed_in_admin(client: TestClient, factory: Factory, *, level: str = "admin") -> AdminBrowser:
    nation = factory.nation()
    user = factory.user(nation, level=level)
    assert sign_in(client, nation.prefix, user.email).status_code == 303
    csrf = hidden_field(client.get(f"{nation.prefix}/admin").text, "csrf_token")
    return AdminBrowser(client=client, factory=factory, nation=nation, user=user, csrf=csrf)
