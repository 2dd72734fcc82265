from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.push_concerns_body_type_1_items_item import PushConcernsBodyType1ItemsItem





T = TypeVar("T", bound="PushConcernsBodyType1")



@_attrs_define
class PushConcernsBodyType1:
    """ 
        Attributes:
            items (list[PushConcernsBodyType1ItemsItem]):
     """

    items: list[PushConcernsBodyType1ItemsItem]





    def to_dict(self) -> dict[str, Any]:
        from ..models.push_concerns_body_type_1_items_item import PushConcernsBodyType1ItemsItem # noqa: PLC0415
        items = []
        for items_item_data in self.items:
            items_item = items_item_data.to_dict()
            items.append(items_item)




        field_dict: dict[str, Any] = {}

        field_dict.update({
            "items": items,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.push_concerns_body_type_1_items_item import PushConcernsBodyType1ItemsItem # noqa: PLC0415
        d = dict(src_dict)
        items = []
        _items = d.pop("items")
        for items_item_data in (_items):
            items_item = PushConcernsBodyType1ItemsItem.from_dict(items_item_data)



            items.append(items_item)


        push_concerns_body_type_1 = cls(
            items=items,
        )

        return push_concerns_body_type_1

