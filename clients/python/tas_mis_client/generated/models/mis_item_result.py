from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.mis_item_result_status import MisItemResultStatus
from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.mis_item_result_errors_type_0_item import MisItemResultErrorsType0Item





T = TypeVar("T", bound="MisItemResult")



@_attrs_define
class MisItemResult:
    """ 
        Attributes:
            index (int):
            mis_record_id (None | str):
            status (MisItemResultStatus): `created`; `duplicate` (the record id was sent before with the same content);
                `updated` (sent before with changed content: a new version of the concern); `conflict` (the re-send would change
                whose concern it is, its family contacts, or stand down safeguarding: those fields, in `conflicts`, were not
                applied; any others, in `changed`, were); `invalid` (see `errors`)
            changed (list[str] | None | Unset): `updated`/`conflict`: the fields this re-send changed (names, never values)
            concern_id (None | str | Unset):
            conflicts (list[str] | None | Unset): `conflict`: the fields that differ but a re-send may not change (names
                only)
            errors (list[MisItemResultErrorsType0Item] | None | Unset):
            version (int | None | Unset): The concern's version after this item
     """

    index: int
    mis_record_id: None | str
    status: MisItemResultStatus
    changed: list[str] | None | Unset = UNSET
    concern_id: None | str | Unset = UNSET
    conflicts: list[str] | None | Unset = UNSET
    errors: list[MisItemResultErrorsType0Item] | None | Unset = UNSET
    version: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.mis_item_result_errors_type_0_item import MisItemResultErrorsType0Item # noqa: PLC0415
        index = self.index

        mis_record_id: None | str
        mis_record_id = self.mis_record_id

        status = self.status.value

        changed: list[str] | None | Unset
        if isinstance(self.changed, Unset):
            changed = UNSET
        elif isinstance(self.changed, list):
            changed = self.changed


        else:
            changed = self.changed

        concern_id: None | str | Unset
        if isinstance(self.concern_id, Unset):
            concern_id = UNSET
        else:
            concern_id = self.concern_id

        conflicts: list[str] | None | Unset
        if isinstance(self.conflicts, Unset):
            conflicts = UNSET
        elif isinstance(self.conflicts, list):
            conflicts = self.conflicts


        else:
            conflicts = self.conflicts

        errors: list[dict[str, Any]] | None | Unset
        if isinstance(self.errors, Unset):
            errors = UNSET
        elif isinstance(self.errors, list):
            errors = []
            for errors_type_0_item_data in self.errors:
                errors_type_0_item = errors_type_0_item_data.to_dict()
                errors.append(errors_type_0_item)


        else:
            errors = self.errors

        version: int | None | Unset
        if isinstance(self.version, Unset):
            version = UNSET
        else:
            version = self.version


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "index": index,
            "mis_record_id": mis_record_id,
            "status": status,
        })
        if changed is not UNSET:
            field_dict["changed"] = changed
        if concern_id is not UNSET:
            field_dict["concern_id"] = concern_id
        if conflicts is not UNSET:
            field_dict["conflicts"] = conflicts
        if errors is not UNSET:
            field_dict["errors"] = errors
        if version is not UNSET:
            field_dict["version"] = version

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.mis_item_result_errors_type_0_item import MisItemResultErrorsType0Item # noqa: PLC0415
        d = dict(src_dict)
        index = d.pop("index")

        def _parse_mis_record_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        mis_record_id = _parse_mis_record_id(d.pop("mis_record_id"))


        status = MisItemResultStatus(d.pop("status"))




        def _parse_changed(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                changed_type_0 = cast(list[str], data)

                return changed_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        changed = _parse_changed(d.pop("changed", UNSET))


        def _parse_concern_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        concern_id = _parse_concern_id(d.pop("concern_id", UNSET))


        def _parse_conflicts(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                conflicts_type_0 = cast(list[str], data)

                return conflicts_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        conflicts = _parse_conflicts(d.pop("conflicts", UNSET))


        def _parse_errors(data: object) -> list[MisItemResultErrorsType0Item] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                errors_type_0 = []
                _errors_type_0 = data
                for errors_type_0_item_data in (_errors_type_0):
                    errors_type_0_item = MisItemResultErrorsType0Item.from_dict(errors_type_0_item_data)



                    errors_type_0.append(errors_type_0_item)

                return errors_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[MisItemResultErrorsType0Item] | None | Unset, data)

        errors = _parse_errors(d.pop("errors", UNSET))


        def _parse_version(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        version = _parse_version(d.pop("version", UNSET))


        mis_item_result = cls(
            index=index,
            mis_record_id=mis_record_id,
            status=status,
            changed=changed,
            concern_id=concern_id,
            conflicts=conflicts,
            errors=errors,
            version=version,
        )


        mis_item_result.additional_properties = d
        return mis_item_result

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
