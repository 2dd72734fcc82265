from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.mis_concern_status_status import MisConcernStatusStatus
from ..types import UNSET, Unset
from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.mis_referral_status import MisReferralStatus





T = TypeVar("T", bound="MisConcernStatus")



@_attrs_define
class MisConcernStatus:
    """ 
        Attributes:
            concern_id (str):
            mis_record_id (str):
            safeguarding (bool):
            school_urn (str):
            status (MisConcernStatusStatus): `stored`; `linked` once caseload has matched or created the child's record
            stored_at (datetime.datetime):
            version (int):
            referrals (list[MisReferralStatus] | Unset): Its referrals and their decisions. A safeguarding concern's are not
                shown (the DSL follows them in TAS): `referrals_withheld` is true
            referrals_withheld (bool | Unset):  Default: False.
            updated_at (datetime.datetime | None | Unset):
     """

    concern_id: str
    mis_record_id: str
    safeguarding: bool
    school_urn: str
    status: MisConcernStatusStatus
    stored_at: datetime.datetime
    version: int
    referrals: list[MisReferralStatus] | Unset = UNSET
    referrals_withheld: bool | Unset = False
    updated_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.mis_referral_status import MisReferralStatus # noqa: PLC0415
        concern_id = self.concern_id

        mis_record_id = self.mis_record_id

        safeguarding = self.safeguarding

        school_urn = self.school_urn

        status = self.status.value

        stored_at = self.stored_at.isoformat()

        version = self.version

        referrals: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.referrals, Unset):
            referrals = []
            for referrals_item_data in self.referrals:
                referrals_item = referrals_item_data.to_dict()
                referrals.append(referrals_item)



        referrals_withheld = self.referrals_withheld

        updated_at: None | str | Unset
        if isinstance(self.updated_at, Unset):
            updated_at = UNSET
        elif isinstance(self.updated_at, datetime.datetime):
            updated_at = self.updated_at.isoformat()
        else:
            updated_at = self.updated_at


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "concern_id": concern_id,
            "mis_record_id": mis_record_id,
            "safeguarding": safeguarding,
            "school_urn": school_urn,
            "status": status,
            "stored_at": stored_at,
            "version": version,
        })
        if referrals is not UNSET:
            field_dict["referrals"] = referrals
        if referrals_withheld is not UNSET:
            field_dict["referrals_withheld"] = referrals_withheld
        if updated_at is not UNSET:
            field_dict["updated_at"] = updated_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.mis_referral_status import MisReferralStatus # noqa: PLC0415
        d = dict(src_dict)
        concern_id = d.pop("concern_id")

        mis_record_id = d.pop("mis_record_id")

        safeguarding = d.pop("safeguarding")

        school_urn = d.pop("school_urn")

        status = MisConcernStatusStatus(d.pop("status"))




        stored_at = datetime.datetime.fromisoformat(d.pop("stored_at"))




        version = d.pop("version")

        _referrals = d.pop("referrals", UNSET)
        referrals: list[MisReferralStatus] | Unset = UNSET
        if _referrals is not UNSET:
            referrals = []
            for referrals_item_data in _referrals:
                referrals_item = MisReferralStatus.from_dict(referrals_item_data)



                referrals.append(referrals_item)


        referrals_withheld = d.pop("referrals_withheld", UNSET)

        def _parse_updated_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                updated_at_type_0 = datetime.datetime.fromisoformat(data)



                return updated_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        updated_at = _parse_updated_at(d.pop("updated_at", UNSET))


        mis_concern_status = cls(
            concern_id=concern_id,
            mis_record_id=mis_record_id,
            safeguarding=safeguarding,
            school_urn=school_urn,
            status=status,
            stored_at=stored_at,
            version=version,
            referrals=referrals,
            referrals_withheld=referrals_withheld,
            updated_at=updated_at,
        )


        mis_concern_status.additional_properties = d
        return mis_concern_status

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
