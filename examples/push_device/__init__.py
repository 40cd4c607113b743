"""A reference Verify Push device: what Twilio's Android and iOS Verify Push SDKs send, in
Python, so a server can be checked against the SDKs' protocol without a phone.

Use it as a library (`Device`) or on the command line (`python -m push_device`, see
README.md). It depends on `cryptography`, `PyJWT` and `requests` only.
"""

from .device import Device, DeviceError, FetchedChallenge, api_root
from .keys import DeviceKey
from .payload import PushChallenge, parse
from .state import DeviceState, FactorRecord
from .transport import ApiError

__all__ = [
    "ApiError",
    "Device",
    "DeviceError",
    "DeviceKey",
    "DeviceState",
    "FactorRecord",
    "FetchedChallenge",
    "PushChallenge",
    "api_root",
    "parse",
]
