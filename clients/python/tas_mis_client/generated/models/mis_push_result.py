from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.mis_item_result import MisItemResult





T = TypeVar("T", bound="MisPushResult")



@_attrs_define
class MisPushResult:
    """ 
        Attributes:
            created (int):
            duplicates (int):
            invalid (int):
            results (list[MisItemResult]):
            conflicts (int | Unset):  Default: 0.
            updated (int | Unset):  Default: 0.
     """

    created: int
    duplicates: int
    invalid: int
    results: list[MisItemResult]
    conflicts: int | Unset = 0
    updated: int | Unset = 0
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.mis_item_result import MisItemResult # noqa: PLC0415
        created = self.created

        duplicates = self.duplicates

        invalid = self.invalid

        results = []
        for results_item_data in self.results:
            results_item = results_item_data.to_dict()
            results.append(results_item)



        conflicts = self.conflicts

        updated = self.updated


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created": created,
            "duplicates": duplicates,
            "invalid": invalid,
            "results": results,
        })
        if conflicts is not UNSET:
            field_dict["conflicts"] = conflicts
        if updated is not UNSET:
            field_dict["updated"] = updated

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.mis_item_result import MisItemResult # noqa: PLC0415
        d = dict(src_dict)
        created = d.pop("created")

        duplicates = d.pop("duplicates")

        invalid = d.pop("invalid")

        results = []
        _results = d.pop("results")
        for results_item_data in (_results):
            results_item = MisItemResult.from_dict(results_item_data)



            results.append(results_item)


        conflicts = d.pop("conflicts", UNSET)

        updated = d.pop("updated", UNSET)

        mis_push_result = cls(
            created=created,
            duplicates=duplicates,
            invalid=invalid,
            results=results,
            conflicts=conflicts,
            updated=updated,
        )


        mis_push_result.additional_properties = d
        return mis_push_result

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
