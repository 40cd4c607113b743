from django.urls import path

from factors.api import entity_views, passkey_views, push_views, views
from verify_platform.lib.api import converters  # noqa: F401  (registers <sid:> and <text:>)

urlpatterns = [
    path(
        "Services/<sid:service_sid>/Entities",
        entity_views.EntityListView.as_view(),
        name="entity-list",
    ),
    path(
        "Services/<sid:service_sid>/Entities/<text:identity>",
        entity_views.EntityDetailView.as_view(),
        name="entity-detail",
    ),
    path(
        "Services/<sid:service_sid>/Entities/<text:identity>/Factors",
        views.FactorListView.as_view(),
        name="factor-list",
    ),
    path(
        "Services/<sid:service_sid>/Entities/<text:identity>/Factors/<sid:sid>",
        views.FactorDetailView.as_view(),
        name="factor-detail",
    ),
    path(
        "Services/<sid:service_sid>/AccessTokens",
        push_views.AccessTokenListView.as_view(),
        name="access-token-list",
    ),
    path(
        "Services/<sid:service_sid>/AccessTokens/<sid:sid>",
        push_views.AccessTokenDetailView.as_view(),
        name="access-token-detail",
    ),
    path(
        "Services/<sid:service_sid>/Passkeys/Factors",
        passkey_views.PasskeyFactorCreateView.as_view(),
        name="passkey-factor-create",
    ),
    path(
        "Services/<sid:service_sid>/Passkeys/VerifyFactor",
        passkey_views.PasskeyFactorVerifyView.as_view(),
        name="passkey-factor-verify",
    ),
    path("Forms/<text:form_type>", push_views.FormView.as_view(), name="form-detail"),
]
