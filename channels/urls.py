"""Inbound provider callbacks, mounted at /channels/ (outside the Twilio-shaped /v2 API)."""

from django.urls import path

from channels import views

app_name = "verify_channels"

urlpatterns = [
    path("twilio/status", views.twilio_status, name="twilio-status"),
    path("twilio/voice", views.twilio_voice, name="twilio-voice"),
]
