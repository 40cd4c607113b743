"""Delivery of one-time codes: adapters, message templates and provider status callbacks.

What the OTP engine uses (and nothing else from here):
- `channels.base`: `OutboundMessage` in, `SendResult` out; `ChannelTemporaryError` (retry the
  same channel; `retry_after` may carry the provider's hint; its subclass
  `ChannelOutcomeUnknownError` means the provider may already have the message),
  `ChannelPermanentError` (fall back now); `DeliveryStatus`.
- `channels.registry.get_adapter(channel).send(message)`: the adapter configured in
  `VERIFY_CHANNELS` for that channel. Call it outside any transaction.
- `channels.status.default_status_callback_url(attempt_sid)` (or `status_callback_url(base,
  attempt_sid)`): the value for `OutboundMessage.status_callback_url`.
- The setting `VERIFY_DELIVERY_STATUS_HANDLER`: dotted path of a callable the status callback
  view calls as `handler(attempt_sid=, provider_message_id=, status=DeliveryStatus,
  error_code=)`; it must tolerate duplicates and reordering.

This package imports no domain app.
"""
