""" Contains all the data models used in inputs/outputs """

from .delivery_public import DeliveryPublic
from .delivery_public_payload import DeliveryPublicPayload
from .delivery_public_status import DeliveryPublicStatus
from .field_error import FieldError
from .list_webhook_deliveries_status_type_0 import ListWebhookDeliveriesStatusType0
from .mis_concern_status import MisConcernStatus
from .mis_concern_status_status import MisConcernStatusStatus
from .mis_item_result import MisItemResult
from .mis_item_result_errors_type_0_item import MisItemResultErrorsType0Item
from .mis_item_result_status import MisItemResultStatus
from .mis_push_result import MisPushResult
from .mis_referral_status import MisReferralStatus
from .page_delivery_public import PageDeliveryPublic
from .page_mis_concern_status import PageMisConcernStatus
from .problem import Problem
from .push_concerns_body_type_0 import PushConcernsBodyType0
from .push_concerns_body_type_1 import PushConcernsBodyType1
from .push_concerns_body_type_1_items_item import PushConcernsBodyType1ItemsItem
from .webhook_create import WebhookCreate
from .webhook_create_event_types_item import WebhookCreateEventTypesItem
from .webhook_created import WebhookCreated
from .webhook_created_status import WebhookCreatedStatus
from .webhook_public import WebhookPublic
from .webhook_public_status import WebhookPublicStatus

__all__ = (
    "DeliveryPublic",
    "DeliveryPublicPayload",
    "DeliveryPublicStatus",
    "FieldError",
    "ListWebhookDeliveriesStatusType0",
    "MisConcernStatus",
    "MisConcernStatusStatus",
    "MisItemResult",
    "MisItemResultErrorsType0Item",
    "MisItemResultStatus",
    "MisPushResult",
    "MisReferralStatus",
    "PageDeliveryPublic",
    "PageMisConcernStatus",
    "Problem",
    "PushConcernsBodyType0",
    "PushConcernsBodyType1",
    "PushConcernsBodyType1ItemsItem",
    "WebhookCreate",
    "WebhookCreated",
    "WebhookCreatedStatus",
    "WebhookCreateEventTypesItem",
    "WebhookPublic",
    "WebhookPublicStatus",
)
