from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
import datetime






T = TypeVar("T", bound="MisReferralStatus")



@_attrs_define
class MisReferralStatus:
    """ What became of a referral made from a concern the MIS pushed: the service and the decision's dates, never
    the reasons, notes or outcomes (another agency's words).

        Attributes:
            referral_id (str):
            service_id (str):
            service_name (str):
            status (str):
            submitted_at (datetime.datetime):
            closed_at (datetime.datetime | None | Unset):
            decided_at (datetime.datetime | None | Unset):
            first_contact_at (datetime.datetime | None | Unset):
     """

    referral_id: str
    service_id: str
    service_name: str
    status: str
    submitted_at: datetime.datetime
    closed_at: datetime.datetime | None | Unset = UNSET
    decided_at: datetime.datetime | None | Unset = UNSET
    first_contact_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        referral_id = self.referral_id

        service_id = self.service_id

        service_name = self.service_name

        status = self.status

        submitted_at = self.submitted_at.isoformat()

        closed_at: None | str | Unset
        if isinstance(self.closed_at, Unset):
            closed_at = UNSET
        elif isinstance(self.closed_at, datetime.datetime):
            closed_at = self.closed_at.isoformat()
        else:
            closed_at = self.closed_at

        decided_at: None | str | Unset
        if isinstance(self.decided_at, Unset):
            decided_at = UNSET
        elif isinstance(self.decided_at, datetime.datetime):
            decided_at = self.decided_at.isoformat()
        else:
            decided_at = self.decided_at

        first_contact_at: None | str | Unset
        if isinstance(self.first_contact_at, Unset):
            first_contact_at = UNSET
        elif isinstance(self.first_contact_at, datetime.datetime):
            first_contact_at = self.first_contact_at.isoformat()
        else:
            first_contact_at = self.first_contact_at


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "referral_id": referral_id,
            "service_id": service_id,
            "service_name": service_name,
            "status": status,
            "submitted_at": submitted_at,
        })
        if closed_at is not UNSET:
            field_dict["closed_at"] = closed_at
        if decided_at is not UNSET:
            field_dict["decided_at"] = decided_at
        if first_contact_at is not UNSET:
            field_dict["first_contact_at"] = first_contact_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        referral_id = d.pop("referral_id")

        service_id = d.pop("service_id")

        service_name = d.pop("service_name")

        status = d.pop("status")

        submitted_at = datetime.datetime.fromisoformat(d.pop("submitted_at"))




        def _parse_closed_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                closed_at_type_0 = datetime.datetime.fromisoformat(data)



                return closed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        closed_at = _parse_closed_at(d.pop("closed_at", UNSET))


        def _parse_decided_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                decided_at_type_0 = datetime.datetime.fromisoformat(data)



                return decided_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        decided_at = _parse_decided_at(d.pop("decided_at", UNSET))


        def _parse_first_contact_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                first_contact_at_type_0 = datetime.datetime.fromisoformat(data)



                return first_contact_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        first_contact_at = _parse_first_contact_at(d.pop("first_contact_at", UNSET))


        mis_referral_status = cls(
            referral_id=referral_id,
            service_id=service_id,
            service_name=service_name,
            status=status,
            submitted_at=submitted_at,
            closed_at=closed_at,
            decided_at=decided_at,
            first_contact_at=first_contact_at,
        )


        mis_referral_status.additional_properties = d
        return mis_referral_status

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
