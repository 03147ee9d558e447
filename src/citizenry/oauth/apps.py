"""Apps (OAuth clients): registration, redirect URI rules, and the view Authlib works with."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.util import list_to_scope, scope_to_list
from sqlalchemy import select
from sqlalchemy.orm import Session

from citizenry import audit
from citizenry.oauth.digests import digest, new_hex_token
from citizenry.store.models import App, Nation, RedirectUri

logger = logging.getLogger(__name__)

#: Scopes an app may be granted. NationBuilder documents none; clients send "default" or nothing.
SUPPORTED_SCOPES = frozenset({"default"})
MAX_REDIRECT_URI_LENGTH = 2000
MAX_REDIRECT_URIS = 10
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "[::1]", "localhost"})


class InvalidApp(ValueError):
    """An app name or redirect URI that cannot be registered."""


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    # RFC 6761 section 6.3: "localhost" and every name under it resolve to loopback.
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate_redirect_uri(uri: str) -> str:
    """Return ``uri`` if it may be registered, else raise :class:`InvalidApp`.

    RFC 6749 section 3.1.2 and RFC 9700 section 2.6: absolute, no fragment, https,
    except plain http on a loopback host for native apps (RFC 8252 section 7.3).
    """
    if len(uri) > MAX_REDIRECT_URI_LENGTH:
        raise InvalidApp(f"the callback URL is longer than {MAX_REDIRECT_URI_LENGTH} characters")
    if any(ch.isspace() for ch in uri):
        raise InvalidApp(f"the callback URL {uri!r} contains white space")
    try:
        parts = urlsplit(uri)
        hostname = parts.hostname
    except ValueError:
        raise InvalidApp(f"the callback URL {uri!r} is not a valid URL") from None
    if "#" in uri:
        raise InvalidApp(f"the callback URL {uri!r} must not contain a fragment ('#')")
    if parts.scheme not in {"https", "http"} or not hostname:
        raise InvalidApp(f"the callback URL {uri!r} must be an absolute https:// URL")
    if parts.username is not None or parts.password is not None:
        raise InvalidApp(f"the callback URL {uri!r} must not contain a user name or password")
    if parts.scheme == "http" and not is_loopback_host(hostname):
        raise InvalidApp(
            f"the callback URL {uri!r} must use https; plain http is allowed only on a loopback "
            "address such as 127.0.0.1"
        )
    return uri


def _without_port(uri: str) -> tuple[str, str, str, str, str] | None:
    """Split a loopback http URI into its parts with the port dropped, or None if it is not one."""
    try:
        parts = urlsplit(uri)
        hostname = parts.hostname
        parts.port  # noqa: B018  (raises ValueError for a malformed port)
    except ValueError:
        return None
    if parts.scheme != "http" or not is_loopback_host(hostname) or "@" in parts.netloc:
        return None
    host = parts.netloc.rsplit(":", 1)[0] if not parts.netloc.endswith("]") else parts.netloc
    return parts.scheme, host, parts.path, parts.query, parts.fragment


@dataclass(frozen=True)
class OAuthClient(ClientMixin):  # type: ignore[misc]
    """A registered app, as Authlib's client interface."""

    app_id: int
    client_id: str
    name: str
    #: None for a public app.
    secret_digest: bytes | None
    redirect_uris: tuple[str, ...]
    legacy_tokens: bool = False
    allow_plain_pkce: bool = False
    strict_profile: bool = False

    @classmethod
    def from_app(cls, app: App) -> OAuthClient:
        return cls(
            app_id=app.id,
            client_id=app.client_id,
            name=app.name,
            secret_digest=app.client_secret_digest,
            redirect_uris=tuple(r.uri for r in app.redirect_uris),
            legacy_tokens=app.legacy_tokens,
            allow_plain_pkce=app.allow_plain_pkce,
            strict_profile=app.strict_profile,
        )

    @property
    def is_public(self) -> bool:
        return self.secret_digest is None

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # RFC 6749 section 3.1.2.3: with several registered URIs the request must name one.
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        # Unknown scope values are dropped rather than refused, as NationBuilder's clients expect.
        if not scope:
            return ""
        return list_to_scope([s for s in scope_to_list(scope) if s in SUPPORTED_SCOPES]) or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact string match; a loopback http URI may differ only in its port (RFC 8252 section 7.3)."""
        if redirect_uri in self.redirect_uris:
            return True
        requested = _without_port(redirect_uri)
        if requested is None:
            return False
        return any(_without_port(registered) == requested for registered in self.redirect_uris)

    def check_client_secret(self, client_secret: str) -> bool:
        # A blank secret never authenticates, and neither does anything for a public app.
        if not client_secret or self.secret_digest is None:
            return False
        return hmac.compare_digest(digest(client_secret), self.secret_digest)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        # A confidential app authenticates with its secret, in the body or by Basic; a public
        # app only identifies itself, and may not introspect tokens.
        if self.is_public:
            return method == "none" and endpoint != "introspection"
        return method in {"client_secret_basic", "client_secret_post"}

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in {"authorization_code", "refresh_token"}


def find_client(session: Session, client_id: str) -> OAuthClient | None:
    if not client_id or len(client_id) > 64:
        return None
    app = session.scalar(select(App).where(App.client_id == client_id))
    return OAuthClient.from_app(app) if app else None


def _validated_uris(redirect_uris: list[str]) -> list[str]:
    uris = list(dict.fromkeys(u.strip() for u in redirect_uris if u.strip()))
    if not uris:
        raise InvalidApp("the app needs at least one OAuth callback URL")
    if len(uris) > MAX_REDIRECT_URIS:
        raise InvalidApp(f"an app may have at most {MAX_REDIRECT_URIS} callback URLs")
    for uri in uris:
        validate_redirect_uri(uri)
    return uris


def _validated_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidApp("the app needs a name")
    if len(name) > 255:
        raise InvalidApp("the app name is longer than 255 characters")
    return name


@dataclass(frozen=True)
class AppOptions:
    """The token and PKCE behaviour an app's developer chooses."""

    legacy_tokens: bool = False
    allow_plain_pkce: bool = False
    strict_profile: bool = False


def register_app(
    session: Session,
    *,
    nation: Nation,
    name: str,
    redirect_uris: list[str],
    public: bool = False,
    options: AppOptions | None = None,
    actor_user_id: int | None = None,
) -> tuple[App, str | None]:
    """Register an app owned by ``nation``. Return it with its client secret, which is not stored.

    A public app gets no secret (None) and must use PKCE.
    """
    options = options or AppOptions()
    name = _validated_name(name)
    uris = _validated_uris(redirect_uris)
    secret = None if public else new_hex_token()
    app = App(
        nation_id=nation.id,
        name=name,
        client_id=new_hex_token(),
        client_secret_digest=digest(secret) if secret else None,
        legacy_tokens=options.legacy_tokens,
        allow_plain_pkce=options.allow_plain_pkce,
        strict_profile=options.strict_profile,
        redirect_uris=[RedirectUri(uri=u) for u in uris],
    )
    session.add(app)
    session.flush()
    audit.record(
        session,
        nation_id=nation.id,
        kind="app.registered",
        actor_user_id=actor_user_id,
        app_id=app.id,
        name=name,
        client_id=app.client_id,
        public=public,
    )
    return app, secret


def update_app(
    session: Session,
    app: App,
    *,
    name: str,
    redirect_uris: list[str],
    options: AppOptions,
    actor_user_id: int | None = None,
) -> App:
    app.name = _validated_name(name)
    uris = _validated_uris(redirect_uris)
    kept = {r.uri: r for r in app.redirect_uris}
    app.redirect_uris = [kept.get(u) or RedirectUri(uri=u) for u in uris]
    app.legacy_tokens = options.legacy_tokens
    app.allow_plain_pkce = options.allow_plain_pkce
    app.strict_profile = options.strict_profile
    session.flush()
    audit.record(
        session,
        nation_id=app.nation_id,
        kind="app.updated",
        actor_user_id=actor_user_id,
        app_id=app.id,
        name=app.name,
        client_id=app.client_id,
    )
    return app


def regenerate_secret(session: Session, app: App, *, actor_user_id: int | None = None) -> str:
    """Give a confidential app a new secret; the old one stops working at once."""
    if app.is_public:
        raise InvalidApp("a public app has no secret")
    secret = new_hex_token()
    app.client_secret_digest = digest(secret)
    session.flush()
    audit.record(
        session,
        nation_id=app.nation_id,
        kind="app.secret_regenerated",
        actor_user_id=actor_user_id,
        app_id=app.id,
        name=app.name,
        client_id=app.client_id,
    )
    return secret


def delete_app(session: Session, app: App, *, actor_user_id: int | None = None) -> None:
    """Delete an app with its codes and tokens on every nation."""
    audit.record(
        session,
        nation_id=app.nation_id,
        kind="app.deleted",
        actor_user_id=actor_user_id,
        app_id=None,
        name=app.name,
        client_id=app.client_id,
    )
    session.delete(app)
    session.flush()


def list_apps(session: Session, nation: Nation) -> list[App]:
    return list(session.scalars(select(App).where(App.nation_id == nation.id).order_by(App.id)))


def find_app(session: Session, nation: Nation, app_id: int) -> App | None:
    return session.scalar(select(App).where(App.nation_id == nation.id, App.id == app_id))
