from .envelope import CloudEvent, new_event
from .schemas import EVENT_TYPES, EventPayload, payload_model

__all__ = ["CloudEvent", "new_event", "EVENT_TYPES", "EventPayload", "payload_model"]
