"""The bodies of /accounts: tokens and subusers."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


# auth.models.LIST_MODES and auth.principal.SCOPES, spelled out for the document (tests/accounts/test_accounts_api.py compares).
Mode = Literal["own", "shared"]
Scope = Literal["blacklist", "blacklist:read", "blacklist:check", "accounts"]
MODE_DESCRIPTION = "`own`: the subuser's own lists, which its parent sees; `shared`: its parent's lists, and only those."
EXPIRES_DESCRIPTION = "When the token stops opening anything, to the second (RFC 3339 with an offset, or a date: midnight UTC); in the future. Absent or null: never."


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100, description="A label, to tell tokens apart.", examples=["crm"])
    scopes: list[Scope] = Field(min_length=1, max_length=4, description="What the token may do: at most the scopes of the token asking (a wider one includes the narrower).")
    expires_at: str | None = Field(default=None, max_length=40, description=EXPIRES_DESCRIPTION, examples=["2099-06-30T00:00:00Z"])
    # Bounded as the ids are (BIGINT): a larger number is no id, refused before any lookup.
    account: int | None = Field(default=None, ge=1, le=2**63 - 1, strict=True, description="A subuser's id, to mint the token for it; absent: for your own account.")


class TokenPublic(BaseModel):
    """A token as listed: never the token itself."""

    id: int
    name: str | None
    scopes: list[str]
    account: int = Field(description="The account the token acts for: yours, or a subuser's.")
    prefix: str = Field(description="The token's first characters.")
    created_at: str
    expires_at: str | None
    revoked_at: str | None


class TokenCreated(BaseModel):
    """A new token: `token` is shown this once and never again."""

    id: int
    token: str
    name: str | None
    scopes: list[str]
    account: int
    expires_at: str | None


class TokenList(BaseModel):
    size: int
    collection: list[TokenPublic]


class SubuserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="Unique on the server (the command line names accounts by it).", examples=["brand-b"])
    mode: Mode = Field(default="own", description=MODE_DESCRIPTION)


class SubuserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    mode: Mode | None = Field(default=None, description=MODE_DESCRIPTION + " A switch keeps the subuser's own entries: they are not used while it shares.")


class SubuserPublic(BaseModel):
    id: int
    name: str
    mode: Mode
    deleted_at: str | None = Field(
        description="When the subuser was deleted (its tokens revoked, its entries removed; its trail kept, for its parent to read); null while in use."
    )


class SubuserList(BaseModel):
    size: int
    collection: list[SubuserPublic]
