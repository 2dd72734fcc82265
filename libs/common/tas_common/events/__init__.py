from .base import EventPayload
from .envelope import CloudEvent, new_event
from .schemas import EVENT_TYPES, payload_model

__all__ = ["EVENT_TYPES", "CloudEvent", "EventPayload", "new_event", "payload_model"]
