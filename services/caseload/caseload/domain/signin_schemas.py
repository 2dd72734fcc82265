"""Bodies and answers of the family's one-time-code sign-in."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from tas_common.schemas import Strict


class CodeRequest(Strict):
    contact: str = Field(
        min_length=3,
        max_length=254,
        description="the email address or UK mobile number the school holds for you",
        examples=["jo.bloggs@example.org", "07700 900123"],
    )


class CodeRequested(BaseModel):
    detail: str = Field(description="the same answer whether or not the details are held")
    channel: str = Field(description="`email` or `sms`: where a code goes if the details are held")
    expires_in: int = Field(description="seconds a code stays valid")


class CodeExchange(Strict):
    contact: str = Field(min_length=3, max_length=254, description="the same email address or mobile number")
    code: str = Field(pattern=r"^\d{6}$", description="the 6-digit code", examples=["123456"])


class FamilyToken(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int = Field(description="seconds until the token expires")
    expires_at: datetime
    child_ids: list[str] = Field(description="the children this token is for")
    family_member_id: str = Field(description="the token's `sub`: this person's family member record (first child)")
    member_ids: list[str] = Field(description="this person's family member records, one per child")
    language: str = Field(description="the person's language preference as the school holds it (`en` or `cy`)")


class Jwk(BaseModel):
    model_config = ConfigDict(extra="allow")

    kty: str
    kid: str
    use: str
    alg: str


class Jwks(BaseModel):
    keys: list[Jwk]
