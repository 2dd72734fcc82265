from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.webhook_public_status import WebhookPublicStatus
from typing import cast
import datetime






T = TypeVar("T", bound="WebhookPublic")



@_attrs_define
class WebhookPublic:
    """ 
        Attributes:
            created_at (datetime.datetime):
            description (str):
            event_types (list[str]):
            id (str):
            status (WebhookPublicStatus):
            url (str):
     """

    created_at: datetime.datetime
    description: str
    event_types: list[str]
    id: str
    status: WebhookPublicStatus
    url: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        description = self.description

        event_types = self.event_types



        id = self.id

        status = self.status.value

        url = self.url


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "description": description,
            "event_types": event_types,
            "id": id,
            "status": status,
            "url": url,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        description = d.pop("description")

        event_types = cast(list[str], d.pop("event_types"))


        id = d.pop("id")

        status = WebhookPublicStatus(d.pop("status"))




        url = d.pop("url")

        webhook_public = cls(
            created_at=created_at,
            description=description,
            event_types=event_types,
            id=id,
            status=status,
            url=url,
        )


        webhook_public.additional_properties = d
        return webhook_public

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
